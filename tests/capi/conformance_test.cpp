// The behaviour table (tests/conformance/cases.json) run through the C header: every case, every
// op mapped to sp_* calls. This mapping is C's column of the parity table; the other five languages
// have their own runner over the same file (tests/conformance/README.md).
#include <gtest/gtest.h>
#include <simdjson.h>
#include <smallpeer/smallpeer.h>

#include <array>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <variant>
#include <vector>

#include "support/big_peer_process.h"
#include "support/gunzip.h"
#include "support/temp_dir.h"

#ifndef SMALLPEER_CONFORMANCE_CASES
#error "define SMALLPEER_CONFORMANCE_CASES as the path of tests/conformance/cases.json"
#endif

using smallpeer::test_support::BigPeerProcess;
using smallpeer::test_support::BigPeerProcessOptions;
using smallpeer::test_support::TempDir;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// ---- A small JSON value: the table's data, the engine's results, saved variables -------------

struct Json;
using JsonArray = std::vector<Json>;
using JsonObject = std::map<std::string, Json>;

struct Json {
  std::variant<std::nullptr_t, bool, double, std::string, JsonArray, JsonObject> v;
  bool integral = false;  // a number written without fraction or exponent

  [[nodiscard]] bool is_null() const { return std::holds_alternative<std::nullptr_t>(v); }
  [[nodiscard]] const JsonObject* object() const { return std::get_if<JsonObject>(&v); }
  [[nodiscard]] const JsonArray* array() const { return std::get_if<JsonArray>(&v); }
  [[nodiscard]] const std::string* string() const { return std::get_if<std::string>(&v); }
  [[nodiscard]] const Json* member(const std::string& key) const {
    const auto* o = object();
    if (o == nullptr) return nullptr;
    const auto it = o->find(key);
    return it == o->end() ? nullptr : &it->second;
  }
};

Json integer(int64_t n) {
  return Json{static_cast<double>(n), true};
}

Json from_dom(simdjson::dom::element e) {
  switch (e.type()) {
    case simdjson::dom::element_type::NULL_VALUE:
      return Json{nullptr};
    case simdjson::dom::element_type::BOOL:
      return Json{bool(e.get_bool().value())};
    case simdjson::dom::element_type::INT64:
      return integer(e.get_int64().value());
    case simdjson::dom::element_type::UINT64:
      return Json{static_cast<double>(e.get_uint64().value()), true};
    case simdjson::dom::element_type::DOUBLE:
      return Json{e.get_double().value()};
    case simdjson::dom::element_type::STRING:
      return Json{std::string(e.get_string().value())};
    case simdjson::dom::element_type::ARRAY: {
      JsonArray a;
      const simdjson::dom::array arr = e.get_array().value();  // a named handle: the range must outlive the loop
      for (auto child : arr) a.push_back(from_dom(child));
      return Json{std::move(a)};
    }
    case simdjson::dom::element_type::OBJECT: {
      JsonObject o;
      const simdjson::dom::object obj = e.get_object().value();
      for (auto field : obj) o[std::string(field.key)] = from_dom(field.value);
      return Json{std::move(o)};
    }
  }
  return Json{nullptr};
}

Json parse(std::string_view text) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto err = parser.parse(text.data(), text.size()).get(root)) {
    throw std::runtime_error("not JSON (" + std::string(simdjson::error_message(err)) + "): " + std::string(text.substr(0, 200)));
  }
  return from_dom(root);
}

void dump_to(std::string& out, const Json& j) {
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::nullptr_t>) {
          out += "null";
        } else if constexpr (std::is_same_v<T, bool>) {
          out += x ? "true" : "false";
        } else if constexpr (std::is_same_v<T, double>) {
          std::ostringstream s;
          if (j.integral) {
            s << static_cast<int64_t>(x);
          } else {
            s.precision(17);
            s << x;
          }
          out += s.str();
        } else if constexpr (std::is_same_v<T, std::string>) {
          out += '"';
          for (const char c : x) {
            if (c == '"' || c == '\\') {
              out += '\\';
              out += c;
            } else if (static_cast<unsigned char>(c) < 0x20) {
              char buf[8];
              std::snprintf(buf, sizeof buf, "\\u%04x", c);
              out += buf;
            } else {
              out += c;
            }
          }
          out += '"';
        } else if constexpr (std::is_same_v<T, JsonArray>) {
          out += '[';
          for (size_t i = 0; i < x.size(); ++i) {
            if (i > 0) out += ',';
            dump_to(out, x[i]);
          }
          out += ']';
        } else {
          out += '{';
          bool first = true;
          for (const auto& [k, value] : x) {
            if (!first) out += ',';
            first = false;
            dump_to(out, Json{k});
            out += ':';
            dump_to(out, value);
          }
          out += '}';
        }
      },
      j.v);
}

std::string dump(const Json& j) {
  std::string out;
  dump_to(out, j);
  return out;
}

bool equal(const Json& a, const Json& b) {
  if (a.v.index() != b.v.index()) return false;
  if (const auto* ao = a.object()) {
    const auto& bo = *b.object();
    if (ao->size() != bo.size()) return false;
    for (const auto& [k, value] : *ao) {
      const auto it = bo.find(k);
      if (it == bo.end() || !equal(value, it->second)) return false;
    }
    return true;
  }
  if (const auto* aa = a.array()) {
    const auto& ba = *b.array();
    if (aa->size() != ba.size()) return false;
    for (size_t i = 0; i < aa->size(); ++i) {
      if (!equal((*aa)[i], ba[i])) return false;
    }
    return true;
  }
  if (const auto* as = a.string()) return *as == *b.string();
  if (const auto* ab = std::get_if<bool>(&a.v)) return *ab == std::get<bool>(b.v);
  if (const auto* ad = std::get_if<double>(&a.v)) return *ad == std::get<double>(b.v);
  return true;  // both null
}

// Every key of `expected` is in `actual` with an equal value; nested objects compare by subset.
bool subset(const Json& expected, const Json& actual) {
  const auto* eo = expected.object();
  if (eo == nullptr) return equal(expected, actual);
  const auto* ao = actual.object();
  if (ao == nullptr) return false;
  for (const auto& [k, value] : *eo) {
    const auto it = ao->find(k);
    if (it == ao->end() || !subset(value, it->second)) return false;
  }
  return true;
}

std::string type_of(const Json& j) {
  switch (j.v.index()) {
    case 0:
      return "null";
    case 1:
      return "boolean";
    case 2:
      return j.integral ? "integer" : "number";
    case 3:
      return "string";
    case 4:
      return "array";
    default:
      return "object";
  }
}

const Json* at_path(const Json& root, const std::string& path) {
  const Json* at = &root;
  if (path.empty()) return at;
  std::stringstream parts(path);
  for (std::string part; std::getline(parts, part, '.');) {
    at = at->member(part);
    if (at == nullptr) return nullptr;
  }
  return at;
}

// ---- Failures ------------------------------------------------------------------------------

// The op failed the way the language reports it: the kind of the C status.
struct OpError {
  std::string kind;
  std::string message;
};

std::string kind_of(sp_status_t status) {
  switch (status) {
    case SP_ERR_INVALID_ARGUMENT:
      return "invalid_argument";
    case SP_ERR_VALIDATION:
      return "validation";
    case SP_ERR_NOT_FOUND:
      return "not_found";
    case SP_ERR_CLOSED:
      return "closed";
    case SP_ERR_IO:
      return "io";
    case SP_ERR_LOCKED:
      return "locked";
    case SP_ERR_STORE:
      return "store";
    case SP_ERR_INTERNAL:
      return "internal";
    default:
      return "status " + std::to_string(status);
  }
}

void check(sp_status_t status) {
  if (status != SP_OK) throw OpError{kind_of(status), sp_last_error_message()};
}

// A step that did not meet its outcome, or a malformed table.
struct CaseFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The whole content of the file at `path`.
std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CaseFailure("cannot read " + path.string());
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Owns a string the library returned.
struct Owned {
  char* p = nullptr;
  Owned() = default;
  Owned(const Owned&) = delete;
  Owned& operator=(const Owned&) = delete;
  ~Owned() { sp_free(p); }
  [[nodiscard]] std::string str() const { return p != nullptr ? p : ""; }
};

// ---- Enum names (Ditto's) <-> C values; an unknown name becomes a value no case has ----------

constexpr int32_t kNoSuchValue = 42;

int32_t scope_value(const std::string& name) {
  if (name == "LocalPeerOnly") return SP_SYNC_SCOPE_LOCAL_PEER_ONLY;
  if (name == "BigPeerOnly") return SP_SYNC_SCOPE_BIG_PEER_ONLY;
  if (name == "AllPeers") return SP_SYNC_SCOPE_ALL_PEERS;
  if (name == "SmallPeersOnly") return SP_SYNC_SCOPE_SMALL_PEERS_ONLY;
  return kNoSuchValue;
}

std::string scope_name(int32_t value) {
  for (const char* name : {"LocalPeerOnly", "BigPeerOnly", "AllPeers", "SmallPeersOnly"}) {
    if (scope_value(name) == value) return name;
  }
  return "scope " + std::to_string(value);
}

int32_t level_value(const std::string& name) {
  if (name == "error") return SP_LOG_ERROR;
  if (name == "warning") return SP_LOG_WARNING;
  if (name == "info") return SP_LOG_INFO;
  if (name == "debug") return SP_LOG_DEBUG;
  if (name == "verbose") return SP_LOG_VERBOSE;
  return kNoSuchValue;
}

std::string level_name(int32_t value) {
  for (const char* name : {"error", "warning", "info", "debug", "verbose"}) {
    if (level_value(name) == value) return name;
  }
  return "level " + std::to_string(value);
}

// ---- One case's world ----------------------------------------------------------------------

struct Recorder {
  std::mutex m;
  std::condition_variable cv;
  std::vector<std::string> items;

  void add(std::string item) {
    std::lock_guard lock(m);
    items.push_back(std::move(item));
    cv.notify_all();
  }
  // Whether an item containing `text` arrives within `wait`.
  bool saw(const std::string& text, std::chrono::milliseconds wait) {
    std::unique_lock lock(m);
    return cv.wait_for(lock, wait, [&] {
      for (const auto& item : items) {
        if (item.find(text) != std::string::npos) return true;
      }
      return false;
    });
  }
};

class CaseRun {
 public:
  explicit CaseRun(const fs::path& dir) : dir_(dir) {
    // Each case starts from the logger's defaults (console off, so the CI output stays readable).
    sp_logger_set_enabled(true);
    sp_logger_set_minimum_level(SP_LOG_INFO);
    sp_logger_set_log_file(nullptr);
    sp_logger_set_console_enabled(false);
  }
  CaseRun(const CaseRun&) = delete;
  CaseRun& operator=(const CaseRun&) = delete;
  ~CaseRun() {
    sp_token_free(log_token_);
    for (auto* token : observers_) sp_token_free(token);
    sp_ditto_free(d_);
    sp_logger_set_log_file(nullptr);
  }

  // Runs one step's op and returns its result (null when it has none).
  Json run(const std::string& op, const Json& args) {
    if (op == "open") return open(args), Json{};
    if (op == "close") return check(sp_ditto_close(ditto())), Json{};
    if (op == "reopen") {
      sp_ditto_free(d_);
      d_ = nullptr;
      check(sp_ditto_open(config_.c_str(), &d_));
      return {};
    }
    if (op == "openSecond") {
      sp_ditto_t* second = nullptr;
      const auto status = sp_ditto_open(config_.c_str(), &second);
      sp_ditto_free(second);
      check(status);
      return {};
    }
    if (op == "ditto.deviceName") return string_out([&](char** out) { return sp_spi_get_device_name(ditto(), out); });
    if (op == "ditto.setDeviceName") return check(sp_spi_set_device_name(ditto(), str(args, "value").c_str())), Json{};
    if (op == "ditto.peerKey") return string_out([&](char** out) { return sp_ditto_peer_key(ditto(), out); });
    if (op == "ditto.log") {
      return check(sp_ditto_log(ditto(), level_value(str(args, "level")), str(args, "message").c_str())), Json{};
    }
    if (op == "ditto.sendLogs") {
      const auto options = log_options(args);
      return string_out([&](char** out) { return sp_ditto_send_logs(ditto(), options.c_str(), out); });
    }

    if (op == "spi.isEnabled") {
      bool on = false;
      check(sp_spi_get_enabled(ditto(), &on));
      return Json{on};
    }
    if (op == "spi.setEnabled") return check(sp_spi_set_enabled(ditto(), boolean(args, "value"))), Json{};
    if (op == "spi.syncScope") {
      sp_sync_scope_t scope = 0;
      check(sp_spi_get_sync_scope(ditto(), &scope));
      return Json{scope_name(scope)};
    }
    if (op == "spi.setSyncScope") return check(sp_spi_set_sync_scope(ditto(), scope_value(str(args, "value")))), Json{};
    if (op == "spi.metadata")
      return parse(*string_out([&](char** out) { return sp_spi_get_metadata_json(ditto(), out); }).string());
    if (op == "spi.setMetadata") return check(sp_spi_set_metadata_json(ditto(), dump(field(args, "value")).c_str())), Json{};
    if (op == "spi.metadataJSONString") return string_out([&](char** out) { return sp_spi_get_metadata_json(ditto(), out); });
    if (op == "spi.setMetadataJSONString") return check(sp_spi_set_metadata_json(ditto(), str(args, "text").c_str())), Json{};
    if (op == "spi.collectionIntervalMs") {
      int64_t ms = 0;
      check(sp_spi_get_collection_interval_ms(ditto(), &ms));
      return integer(ms);
    }
    if (op == "spi.setCollectionIntervalMs") {
      return check(sp_spi_set_collection_interval_ms(ditto(), static_cast<int64_t>(number(args, "value")))), Json{};
    }
    if (op == "spi.collectNow") return parse(*string_out([&](char** out) { return sp_spi_collect_now(ditto(), out); }).string());
    if (op == "spi.document") return document();
    if (op == "spi.awaitNewDocument") return await_new_document(args);
    if (op == "spi.shareWithAdminDevices") {
      bool share = false;
      check(sp_spi_get_share_with_admin_devices(ditto(), &share));
      return Json{share};
    }
    if (op == "spi.setShareWithAdminDevices")
      return check(sp_spi_set_share_with_admin_devices(ditto(), boolean(args, "value"))), Json{};
    if (op == "spi.adminSigningKey") {
      const auto key = *string_out([&](char** out) { return sp_spi_get_admin_signing_key(ditto(), out); }).string();
      return key.empty() ? Json{nullptr} : Json{key};  // C's "" is "no key yet": null in the table
    }
    if (op == "spi.setAdminSigningKey") {
      const Json& value = field(args, "value");
      return check(sp_spi_set_admin_signing_key(ditto(), value.is_null() ? nullptr : value.string()->c_str())), Json{};
    }
    if (op == "spi.isAdminDevice") {
      bool is_admin = false;
      check(sp_spi_is_admin_device(ditto(), &is_admin));
      return Json{is_admin};
    }
    if (op == "spi.fleet") return parse(*string_out([&](char** out) { return sp_spi_get_fleet_json(ditto(), out); }).string());
    if (op == "spi.observeFleet") return observe_fleet(), Json{};
    if (op == "spi.awaitFleet") {
      const auto key = *string_out([&](char** out) { return sp_ditto_peer_key(ditto(), out); }).string();
      const auto deadline = std::chrono::steady_clock::now() + millis(args, "timeout_ms");
      for (;;) {
        const auto fleet = *string_out([&](char** out) { return sp_spi_get_fleet_json(ditto(), out); }).string();
        if (fleet.find(R"("_id":")" + key + '"') != std::string::npos) return {};
        if (std::chrono::steady_clock::now() > deadline)
          throw OpError{"timeout", "the fleet still lacks this device: " + fleet.substr(0, 200)};
        std::this_thread::sleep_for(100ms);
      }
    }

    if (op == "store.upsert") {
      const auto doc = dump(field(args, "document"));
      return string_out([&](char** out) { return sp_store_upsert(ditto(), str(args, "collection").c_str(), doc.c_str(), out); });
    }
    if (op == "store.get") {
      Owned out;
      const auto status = sp_store_get(ditto(), str(args, "collection").c_str(), str(args, "id").c_str(), &out.p);
      if (status == SP_ERR_NOT_FOUND) return Json{nullptr};  // "no such document" is null, as Ditto's findByID
      check(status);
      return parse(out.str());
    }
    if (op == "store.findAll") return find_all(str(args, "collection"));
    if (op == "store.execute") {
      const Json* query_args = args.member("args");
      const std::string args_json = query_args != nullptr ? dump(*query_args) : std::string();
      Owned out;
      check(sp_store_execute(ditto(), str(args, "query").c_str(), query_args != nullptr ? args_json.c_str() : nullptr, &out.p));
      return Json{*parse(out.str()).member("items")};
    }
    if (op == "store.remove") {
      bool removed = false;
      check(sp_store_remove(ditto(), str(args, "collection").c_str(), str(args, "id").c_str(), &removed));
      return Json{removed};
    }
    if (op == "store.collectionNames")
      return parse(*string_out([&](char** out) { return sp_store_collection_names(ditto(), out); }).string());
    if (op == "store.observe") return observe(str(args, "collection")), Json{};
    if (op == "store.awaitChange") {
      const auto item = str(args, "collection") + "/" + str(args, "id") + "/" + str(args, "kind");
      if (!changes_.saw(item, millis(args, "timeout_ms"))) throw OpError{"timeout", "no " + item + " change arrived"};
      return {};
    }
    if (op == "collection.syncScope") {
      sp_sync_scope_t scope = 0;
      check(sp_store_get_collection_scope(ditto(), str(args, "collection").c_str(), &scope));
      return Json{scope_name(scope)};
    }
    if (op == "collection.setSyncScope") {
      return check(sp_store_set_collection_scope(ditto(), str(args, "collection").c_str(), scope_value(str(args, "value")))),
             Json{};
    }

    if (op == "sync.transportConfig") return transport_config();
    if (op == "sync.setTransportConfig")
      return check(sp_sync_set_transport_config(ditto(), engine_transport(field(args, "value")).c_str())), Json{};
    if (op == "sync.start") return check(sp_sync_start(ditto())), Json{};
    if (op == "sync.stop") return check(sp_sync_stop(ditto())), Json{};
    if (op == "sync.isRunning") {
      bool running = false;
      check(sp_sync_is_running(ditto(), &running));
      return Json{running};
    }
    if (op == "sync.lanPort") {
      int32_t port = 0;
      check(sp_sync_lan_port(ditto(), &port));
      return port == 0 ? Json{nullptr} : integer(port);  // C's 0 is "not listening": null in the table
    }
    if (op == "presence.graph") return presence();

    if (op == "logger.enabled") {
      bool on = false;
      check(sp_logger_get_enabled(&on));
      return Json{on};
    }
    if (op == "logger.setEnabled") return check(sp_logger_set_enabled(boolean(args, "value"))), Json{};
    if (op == "logger.minimumLogLevel") {
      sp_log_level_t level = 0;
      check(sp_logger_get_minimum_level(&level));
      return Json{level_name(level)};
    }
    if (op == "logger.setMinimumLogLevel") return check(sp_logger_set_minimum_level(level_value(str(args, "value")))), Json{};
    if (op == "logger.setLogFile") {
      const Json& path = field(args, "path");
      const auto full = path.is_null() ? std::string() : (dir_ / *path.string()).string();
      return check(sp_logger_set_log_file(path.is_null() ? nullptr : full.c_str())), Json{};
    }
    if (op == "logger.setCustomLogCallback") {
      sp_token_free(log_token_);
      log_token_ = nullptr;
      check(
          sp_logger_add_callback([](void* ud, sp_log_level_t, const char* message) { static_cast<Recorder*>(ud)->add(message); },
                                 &log_, nullptr, &log_token_));
      return {};
    }
    if (op == "logger.unsetCustomLogCallback") {
      sp_token_free(log_token_);
      log_token_ = nullptr;
      return {};
    }
    if (op == "logger.awaitCallbackMessage") {
      if (!log_.saw(str(args, "contains"), millis(args, "timeout_ms"))) {
        throw OpError{"timeout", "the callback never saw '" + str(args, "contains") + "'"};
      }
      return {};
    }
    if (op == "logger.callbackSaw") return Json{log_.saw(str(args, "contains"), millis(args, "wait_ms"))};
    if (op == "logger.exportToFile") {
      const auto options = log_options(args);
      const auto path = (dir_ / str(args, "path")).string();
      uint64_t bytes = 0;
      check(sp_logger_export_to_file(path.c_str(), options.c_str(), &bytes));
      return integer(static_cast<int64_t>(bytes));
    }

    if (op == "file.contains") return Json{read_file(dir_ / str(args, "path")).find(str(args, "text")) != std::string::npos};
    if (op == "file.gzipLines") {
      int64_t lines = 0;
      std::stringstream text(smallpeer::test_support::gunzip(read_file(dir_ / str(args, "path"))));
      for (std::string line; std::getline(text, line);) lines += line.empty() ? 0 : 1;
      return integer(lines);
    }
    if (op == "file.gzipContains") {
      return Json{smallpeer::test_support::gunzip(read_file(dir_ / str(args, "path"))).find(str(args, "text")) !=
                  std::string::npos};
    }

    if (op == "bigpeer.start") {
      BigPeerProcessOptions options;
      options.data_dir = dir_ / "bigpeer";
      bigpeer_ = std::make_unique<BigPeerProcess>(options);
      return {};
    }
    if (op == "bigpeer.awaitDevice") {
      const auto key = string_out([&](char** out) { return sp_ditto_peer_key(ditto(), out); });
      return await_http("/api/v1/collections/__small_peer_info/documents/" + *key.string(), millis(args, "timeout_ms"),
                        [](const auto& r) { return r.status == 200; });
    }
    if (op == "bigpeer.grantAdmin") {
      if (!bigpeer_) throw CaseFailure("bigpeer.* needs bigpeer.start first");
      const auto key = *string_out([&](char** out) { return sp_ditto_peer_key(ditto(), out); }).string();
      const std::time_t in_an_hour =
          std::chrono::system_clock::to_time_t(std::chrono::system_clock::now() + std::chrono::hours(1));
      std::tm utc{};
      gmtime_r(&in_an_hour, &utc);
      std::array<char, 32> expires{};
      std::strftime(expires.data(), expires.size(), "%Y-%m-%dT%H:%M:%SZ", &utc);
      const auto result = smallpeer::test_support::http_request(
          bigpeer_->port(), boost::beast::http::verb::post, "/api/v1/admin-devices", bigpeer_->admin_token(),
          R"({"peer_key":")" + key + R"(","expires_at":")" + expires.data() + R"(","label":"conformance"})");
      if (result.status != 201)
        throw CaseFailure("POST /api/v1/admin-devices answered " + std::to_string(result.status) + " " + result.body);
      return {};
    }
    if (op == "bigpeer.awaitLogUpload") {
      return await_http("/api/v1/log-requests/" + str(args, "request_id"), millis(args, "timeout_ms"), [](const auto& r) {
        if (r.status != 200) return false;
        const Json body = parse(r.body);
        const Json* state = body.member("state");
        return state != nullptr && state->string() != nullptr && *state->string() == "ready";
      });
    }
    throw CaseFailure("the C runner has no mapping for op '" + op + "'");
  }

 private:
  sp_ditto_t* ditto() const { return d_; }

  void open(const Json& args) {
    JsonObject config{{"persistence_dir", Json{(dir_ / "ditto").string()}}, {"sdk_language", Json{std::string("C")}}};
    if (const Json* name = args.member("device_name")) config["device_name"] = *name;
    const Json* online = args.member("online");
    if (online != nullptr && std::get<bool>(online->v)) {
      if (!bigpeer_) throw CaseFailure("open online needs bigpeer.start first");
      config["identity"] = Json{JsonObject{{"type", Json{std::string("online_playground")}},
                                           {"app_id", Json{bigpeer_->app_id()}},
                                           {"token", Json{bigpeer_->app_token()}}}};
    }
    config_ = dump(Json{config});
    check(sp_ditto_open(config_.c_str(), &d_));
    if (online != nullptr && std::get<bool>(online->v))
      check(sp_sync_set_transport_config(d_, bigpeer_->transport_json().c_str()));
  }

  template <typename F>
  static Json string_out(F&& call) {
    Owned out;
    check(call(&out.p));
    return Json{out.str()};
  }

  Json document() {
    Owned out;
    const auto status = sp_spi_get_document(ditto(), &out.p);
    if (status == SP_ERR_NOT_FOUND) return Json{nullptr};  // "no document yet" is null in every language
    check(status);
    return parse(out.str());
  }

  Json await_new_document(const Json& args) {
    const Json& after = field(args, "after");
    const auto deadline = std::chrono::steady_clock::now() + millis(args, "timeout_ms");
    for (;;) {
      Json doc = document();
      if (!doc.is_null()) {
        if (after.is_null()) return doc;
        if (std::get<double>(doc.member("sequence")->v) > std::get<double>(after.member("sequence")->v)) return doc;
      }
      if (std::chrono::steady_clock::now() > deadline) throw OpError{"timeout", "no new document was written"};
      std::this_thread::sleep_for(50ms);
    }
  }

  Json find_all(const std::string& collection) {
    JsonArray all;
    std::optional<std::string> after;
    for (;;) {
      Owned out;
      check(sp_store_find_all(ditto(), collection.c_str(), 1000, after ? after->c_str() : nullptr, &out.p));
      const Json page = parse(out.str());
      for (const auto& doc : *page.member("documents")->array()) all.push_back(doc);
      const Json* next = page.member("next_after");
      if (next == nullptr || next->is_null()) return Json{std::move(all)};
      after = *next->string();
    }
  }

  // Records "collection/id/kind" for store.awaitChange.
  static void record_change(void* ud, const char* coll, const char* id, sp_change_kind_t kind, const char* /*doc*/) {
    static_cast<Recorder*>(ud)->add(std::string(coll) + "/" + id + "/" + (kind == SP_CHANGE_UPSERT ? "upsert" : "remove"));
  }

  void observe(const std::string& collection) {
    sp_token_t* token = nullptr;
    check(sp_store_observe(ditto(), collection.c_str(), record_change, &changes_, nullptr, &token));
    observers_.push_back(token);
  }

  void observe_fleet() {
    sp_token_t* token = nullptr;
    check(sp_spi_observe_fleet(ditto(), record_change, &changes_, nullptr, &token));
    observers_.push_back(token);
  }

  // The table's transport shape <-> the engine's JSON.
  static std::string engine_transport(const Json& table) {
    JsonObject lan{{"listen", field(table, "lanListen")}, {"connect", field(table, "lanConnect")}};
    return dump(Json{JsonObject{{"big_peer", Json{JsonObject{{"urls", field(table, "bigPeerUrls")}}}}, {"lan", Json{lan}}}});
  }

  Json transport_config() {
    const Json engine = parse(*string_out([&](char** out) { return sp_sync_get_transport_config(ditto(), out); }).string());
    const Json* lan = engine.member("lan");
    const Json* listen = lan != nullptr ? lan->member("listen") : nullptr;
    const Json* connect = lan != nullptr ? lan->member("connect") : nullptr;
    const Json* big_peer = engine.member("big_peer");
    const Json* urls = big_peer != nullptr ? big_peer->member("urls") : nullptr;
    return Json{JsonObject{{"bigPeerUrls", urls != nullptr ? *urls : Json{JsonArray{}}},
                           {"lanListen", listen != nullptr ? *listen : Json{nullptr}},
                           {"lanConnect", connect != nullptr ? *connect : Json{JsonArray{}}}}};
  }

  Json presence() {
    const Json engine = parse(*string_out([&](char** out) { return sp_presence_get_json(ditto(), out); }).string());
    JsonArray peers;
    for (const auto& p : *engine.member("peers")->array()) {
      peers.push_back(Json{JsonObject{{"peerKey", field(p, "peer_key")},
                                      {"deviceName", field(p, "device_name")},
                                      {"transport", field(p, "transport")},
                                      {"isBigPeer", field(p, "is_big_peer")}}});
    }
    return Json{JsonObject{{"localPeerKey", field(engine, "local_peer_key")},
                           {"isConnectedToBigPeer", field(engine, "is_connected_to_big_peer")},
                           {"connectionsByTransport", field(engine, "connections_by_transport")},
                           {"bigPeerConnectionHistory", field(engine, "big_peer_connection_history")},
                           {"peers", Json{std::move(peers)}}}};
  }

  // The table's filter arguments as the C options JSON.
  static std::string log_options(const Json& args) {
    JsonObject options;
    if (const Json* v = args.member("minimumLogLevel")) options["min_level"] = *v;
    if (const Json* v = args.member("since")) options["since"] = *v;
    if (const Json* v = args.member("until")) options["until"] = *v;
    if (const Json* v = args.member("maxBytes")) options["max_bytes"] = *v;
    return dump(Json{options});
  }

  template <typename Done>
  Json await_http(const std::string& target, std::chrono::milliseconds timeout, Done done) {
    if (!bigpeer_) throw CaseFailure("bigpeer.* needs bigpeer.start first");
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string last;
    for (;;) {
      const auto result = bigpeer_->get(target);
      if (done(result)) return {};
      last = std::to_string(result.status) + " " + result.body.substr(0, 200);
      if (std::chrono::steady_clock::now() > deadline) throw OpError{"timeout", "GET " + target + " still answers " + last};
      std::this_thread::sleep_for(100ms);
    }
  }

  static const Json& field(const Json& args, const std::string& key) {
    const Json* v = args.member(key);
    if (v == nullptr) throw CaseFailure("missing argument '" + key + "'");
    return *v;
  }
  static std::string str(const Json& args, const std::string& key) {
    const auto* s = field(args, key).string();
    if (s == nullptr) throw CaseFailure("argument '" + key + "' is not a string");
    return *s;
  }
  static bool boolean(const Json& args, const std::string& key) { return std::get<bool>(field(args, key).v); }
  static double number(const Json& args, const std::string& key) { return std::get<double>(field(args, key).v); }
  static std::chrono::milliseconds millis(const Json& args, const std::string& key) {
    return std::chrono::milliseconds(static_cast<int64_t>(number(args, key)));
  }

  fs::path dir_;
  std::string config_;
  sp_ditto_t* d_ = nullptr;
  std::unique_ptr<BigPeerProcess> bigpeer_;
  Recorder log_;
  Recorder changes_;
  sp_token_t* log_token_ = nullptr;
  std::vector<sp_token_t*> observers_;
};

// ---- Arguments: saved variables and generated values -----------------------------------------

Json generate(const Json& spec) {
  const std::string kind = *spec.member("$gen")->string();
  if (kind == "object_of_bytes") {
    const auto n = static_cast<size_t>(std::get<double>(spec.member("bytes")->v));
    return Json{R"({"pad":")" + std::string(n - 10, 'x') + "\"}"};
  }
  if (kind == "nested_object") {
    const auto depth = static_cast<size_t>(std::get<double>(spec.member("depth")->v));
    std::string text;
    for (size_t i = 1; i < depth; ++i) text += R"({"a":)";
    text += "{}";
    text += std::string(depth - 1, '}');
    return Json{text};
  }
  if (kind == "string_of_bytes") return Json{std::string(static_cast<size_t>(std::get<double>(spec.member("bytes")->v)), 'x')};
  if (kind == "not_utf8") return Json{std::string("{\"k\":\"\xff\"}")};  // C passes the raw byte
  throw CaseFailure("unknown generator '" + kind + "'");
}

Json resolve(const Json& value, const std::map<std::string, Json>& vars) {
  if (const auto* o = value.object()) {
    if (o->count("$gen") != 0) return generate(value);
    if (const auto it = o->find("$var"); it != o->end()) {
      const std::string path = *it->second.string();
      const auto dot = path.find('.');
      const auto var = vars.find(path.substr(0, dot));
      if (var == vars.end()) throw CaseFailure("no saved value '" + path.substr(0, dot) + "'");
      const Json* at = dot == std::string::npos ? &var->second : at_path(var->second, path.substr(dot + 1));
      if (at == nullptr) throw CaseFailure("saved value has no '" + path + "'");
      if (const auto plus = o->find("plus"); plus != o->end()) {
        return Json{std::get<double>(at->v) + std::get<double>(plus->second.v), true};
      }
      return *at;
    }
    JsonObject out;
    for (const auto& [k, v] : *o) out[k] = resolve(v, vars);
    return Json{std::move(out)};
  }
  if (const auto* a = value.array()) {
    JsonArray out;
    for (const auto& v : *a) out.push_back(resolve(v, vars));
    return Json{std::move(out)};
  }
  return value;
}

// ---- Outcomes --------------------------------------------------------------------------------

void check_outcome(const Json& step, const Json& result, const std::map<std::string, Json>& vars) {
  if (const Json* expect = step.member("expect")) {
    const Json want = resolve(*expect, vars);
    if (!equal(want, result)) throw CaseFailure("expected " + dump(want) + ", got " + dump(result));
  }
  if (const Json* expect = step.member("expect_subset")) {
    const Json want = resolve(*expect, vars);
    if (!subset(want, result))
      throw CaseFailure("expected a superset of " + dump(want) + ", got " + dump(result).substr(0, 2000));
  }
  if (const Json* fields = step.member("expect_fields")) {
    for (const auto& [path, types] : *fields->object()) {
      const Json* at = at_path(result, path);
      if (at == nullptr) throw CaseFailure("field '" + path + "' is missing");
      const std::string actual = type_of(*at);
      bool ok = false;
      std::stringstream alternatives(*types.string());
      for (std::string t; std::getline(alternatives, t, '|');) ok = ok || t == actual || (t == "number" && actual == "integer");
      if (!ok) throw CaseFailure("field '" + path + "' is " + actual + ", expected " + *types.string());
    }
  }
  if (const Json* length = step.member("expect_length")) {
    const auto want = static_cast<size_t>(std::get<double>(length->v));
    size_t got = 0;
    if (const auto* s = result.string()) {
      got = s->size();
    } else if (const auto* a = result.array()) {
      got = a->size();
    } else {
      throw CaseFailure("expected a string or array of length " + std::to_string(want) + ", got " + dump(result));
    }
    if (got != want) throw CaseFailure("expected length " + std::to_string(want) + ", got " + std::to_string(got));
  }
  if (const Json* pattern = step.member("expect_match")) {
    const auto* s = result.string();
    if (s == nullptr || !std::regex_search(*s, std::regex(*pattern->string()))) {
      throw CaseFailure("expected a string matching /" + *pattern->string() + "/, got " + dump(result));
    }
  }
}

// Runs one case; returns "" when it passed, else what failed.
std::string run_case(const Json& c, const fs::path& dir) {
  CaseRun run(dir);
  std::map<std::string, Json> vars;
  const auto& steps = *c.member("steps")->array();
  for (size_t i = 0; i < steps.size(); ++i) {
    const Json& step = steps[i];
    const std::string op = *step.member("op")->string();
    const std::string where = "step " + std::to_string(i) + " (" + op + "): ";
    try {
      const Json* raw = step.member("args");
      const Json args = raw != nullptr ? resolve(*raw, vars) : Json{JsonObject{}};
      const Json* error = step.member("error");
      try {
        const Json result = run.run(op, args);
        if (error != nullptr)
          return where + "expected the " + *error->string() + " error, got success: " + dump(result).substr(0, 300);
        check_outcome(step, result, vars);
        if (const Json* save = step.member("save")) vars[*save->string()] = result;
      } catch (const OpError& e) {
        if (error == nullptr) return where + "failed: " + e.kind + ": " + e.message;
        if (e.kind != *error->string())
          return where + "expected the " + *error->string() + " error, got " + e.kind + ": " + e.message;
      }
    } catch (const std::exception& e) {
      return where + e.what();
    }
  }
  return "";
}

TEST(Conformance, EveryCaseOfTheTableThroughTheCHeader) {
  const Json table = parse(read_file(SMALLPEER_CONFORMANCE_CASES));
  const auto& cases = *table.member("cases")->array();
  ASSERT_FALSE(cases.empty());
  TempDir root("conformance-c");
  size_t passed = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string name = *cases[i].member("name")->string();
    const auto failure = run_case(cases[i], root.path() / ("case-" + std::to_string(i)));
    if (failure.empty()) {
      ++passed;
    } else {
      ADD_FAILURE() << "case '" << name << "': " << failure;
    }
  }
  std::cout << "conformance c: " << cases.size() << " cases, " << passed << " passed, " << cases.size() - passed << " failed"
            << std::endl;
}

}  // namespace
