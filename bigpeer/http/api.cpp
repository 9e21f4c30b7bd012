#include "bigpeer/http/api.h"

#include <fmt/format.h>
#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>
#include <charconv>
#include <fstream>
#include <optional>
#include <vector>

#include "bigpeer/http/portal.h"
#include "common/error.h"
#include "common/json.h"
#include "spi/small_peer_info_collector.h"

#ifndef SMALLPEER_VERSION
#define SMALLPEER_VERSION "0.0.0"
#endif

namespace smallpeer::bigpeer {

namespace http = boost::beast::http;

namespace {

/// Thrown by handlers for a request the API refuses; becomes an error response.
struct ApiError {
  http::status status;
  std::string code;
  std::string message;
};

ApiError bad_parameter(std::string message) {
  return {http::status::bad_request, "invalid_parameter", std::move(message)};
}
ApiError not_found(std::string message) {
  return {http::status::not_found, "not_found", std::move(message)};
}

// User input echoed in messages is cut short, so an error never carries a megabyte back.
std::string_view shortened(std::string_view text) {
  return text.substr(0, 80);
}

HttpResponse json_response(http::status status, std::string body) {
  HttpResponse response{status, 11};
  response.set(http::field::content_type, "application/json");
  response.set(http::field::cache_control, "no-store");
  add_security_headers(response);
  response.body() = std::move(body);
  return response;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 3986 percent-decoding; '+' means a space only in a query (HTML forms).
std::string percent_decode(std::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%') {
      const int hi = i + 2 < in.size() ? hex_digit(in[i + 1]) : -1;
      const int lo = i + 2 < in.size() ? hex_digit(in[i + 2]) : -1;
      if (hi < 0 || lo < 0)
        throw ApiError{http::status::bad_request, "bad_request", "malformed percent-encoding in the request target"};
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (in[i] == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

/// A request target split into decoded path segments and query parameters.
struct Target {
  std::vector<std::string> segments;
  std::vector<std::pair<std::string, std::string>> query;

  /// The last value given for `name`, if any.
  [[nodiscard]] std::optional<std::string_view> param(std::string_view name) const {
    for (auto it = query.rbegin(); it != query.rend(); ++it) {
      if (it->first == name) return it->second;
    }
    return std::nullopt;
  }
};

Target parse_target(std::string_view target) {
  if (target.empty() || target.front() != '/') {
    throw ApiError{http::status::bad_request, "bad_request", "the request target must be an absolute path"};
  }
  Target out;
  const auto question = target.find('?');
  const std::string_view path = target.substr(1, question == std::string_view::npos ? std::string_view::npos : question - 1);
  for (size_t start = 0;;) {
    const auto slash = path.find('/', start);
    out.segments.push_back(percent_decode(path.substr(start, slash - start), false));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (question != std::string_view::npos) {
    std::string_view query = target.substr(question + 1);
    while (!query.empty()) {
      const auto amp = query.find('&');
      const auto pair = query.substr(0, amp);
      query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
      if (pair.empty()) continue;
      const auto eq = pair.find('=');
      out.query.emplace_back(percent_decode(pair.substr(0, eq), true),
                             eq == std::string_view::npos ? std::string() : percent_decode(pair.substr(eq + 1), true));
    }
  }
  return out;
}

size_t parse_limit(const Target& target) {
  const auto text = target.param("limit");
  if (!text) return kDefaultPageSize;
  size_t value = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size() || value < 1 || value > kMaxPageSize) {
    throw bad_parameter(fmt::format("limit must be an integer from 1 to {}, got '{}'", kMaxPageSize, shortened(*text)));
  }
  return value;
}

std::optional<bool> parse_online(const Target& target) {
  const auto text = target.param("online");
  if (!text) return std::nullopt;
  if (*text == "true") return true;
  if (*text == "false") return false;
  throw bad_parameter(fmt::format("online must be true or false, got '{}'", shortened(*text)));
}

std::string lower_ascii(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

/// The fields of a Small Peer Info document the fleet list shows.
struct SpiSummary {
  std::optional<std::string> device_name, last_updated_at, sdk_language, sdk_version, sdk_platform, sync_scope;
  std::optional<int64_t> sequence;
  std::optional<std::string> os_json, connections_json;  // minified objects
};

SpiSummary summarize(std::string_view json) {
  // One parser per thread: its buffers are reused across documents and requests.
  thread_local simdjson::dom::parser parser;
  SpiSummary s;
  simdjson::dom::object doc;
  if (parser.parse(json.data(), json.size()).get_object().get(doc) != simdjson::SUCCESS) return s;
  const auto text = [&](const char* key, std::optional<std::string>& out) {
    std::string_view v;
    if (doc[key].get_string().get(v) == simdjson::SUCCESS) out = std::string(v);
  };
  const auto object = [&](const char* key, std::optional<std::string>& out) {
    simdjson::dom::object v;
    if (doc[key].get_object().get(v) == simdjson::SUCCESS) out = simdjson::minify(v);
  };
  text("device_name", s.device_name);
  text("last_updated_at", s.last_updated_at);
  text("ditto_sdk_language", s.sdk_language);
  text("ditto_sdk_version", s.sdk_version);
  text("ditto_sdk_platform", s.sdk_platform);
  text("sync_scope", s.sync_scope);
  int64_t sequence = 0;
  if (doc["sequence"].get_int64().get(sequence) == simdjson::SUCCESS) s.sequence = sequence;
  object("os", s.os_json);
  object("connections_by_transport", s.connections_json);
  return s;
}

/// One device as the fleet sees it: its last report and its live connection, either may be missing.
struct DeviceView {
  std::string peer_key;
  std::optional<SpiSummary> spi;
  const PeerConnectionState* connection = nullptr;

  [[nodiscard]] bool online() const { return connection && connection->online; }

  [[nodiscard]] std::optional<std::string> device_name() const {
    if (spi && spi->device_name) return spi->device_name;
    if (connection && !connection->device_name.empty()) return connection->device_name;
    return std::nullopt;
  }

  // Online devices are seen now; otherwise the later of their last report and their last disconnect.
  [[nodiscard]] std::optional<TimePoint> last_seen(TimePoint now) const {
    if (online()) return now;
    std::optional<TimePoint> seen;
    if (spi && spi->last_updated_at) seen = parse_rfc3339(*spi->last_updated_at);
    if (connection && connection->disconnected_at && (!seen || *connection->disconnected_at > *seen)) {
      seen = connection->disconnected_at;
    }
    return seen;
  }

  [[nodiscard]] bool matches(const std::string& q_lower, std::optional<bool> online_filter) const {
    if (online_filter && *online_filter != online()) return false;
    if (q_lower.empty()) return true;
    if (lower_ascii(peer_key).find(q_lower) != std::string::npos) return true;
    const auto name = device_name();
    return name && lower_ascii(*name).find(q_lower) != std::string::npos;
  }

  // Writes the fields (the caller opens and closes the object).
  void write_fields(JsonWriter& w, TimePoint now) const {
    const auto from_spi_or_hello = [&](std::optional<std::string> SpiSummary::*field, std::string PeerConnectionState::*hello) {
      if (spi && (*spi).*field) return (*spi).*field;
      if (connection && !(connection->*hello).empty()) return std::optional<std::string>(connection->*hello);
      return std::optional<std::string>();
    };
    w.key("peer_key").value(peer_key);
    w.key("device_name").value_or_null(device_name());
    w.key("online").value(online());
    w.key("last_seen").value_or_null(format_rfc3339(last_seen(now)));
    w.key("last_updated_at").value_or_null(spi ? spi->last_updated_at : std::nullopt);
    w.key("sequence").value_or_null(spi ? spi->sequence : std::nullopt);
    w.key("ditto_sdk_language").value_or_null(from_spi_or_hello(&SpiSummary::sdk_language, &PeerConnectionState::sdk_language));
    w.key("ditto_sdk_version").value_or_null(from_spi_or_hello(&SpiSummary::sdk_version, &PeerConnectionState::sdk_version));
    w.key("ditto_sdk_platform").value_or_null(from_spi_or_hello(&SpiSummary::sdk_platform, &PeerConnectionState::platform));
    w.key("sync_scope").value_or_null(spi ? spi->sync_scope : std::nullopt);
    w.key("os");
    if (spi && spi->os_json) {
      w.raw(*spi->os_json);
    } else {
      w.null();
    }
    w.key("connections_by_transport");
    if (spi && spi->connections_json) {
      w.raw(*spi->connections_json);
    } else {
      w.null();
    }
    w.key("has_small_peer_info").value(spi.has_value());
    w.key("connection");
    if (online()) {
      w.begin_object()
          .key("remote_address")
          .value(connection->remote_address)
          .key("connected_at")
          .value(format_rfc3339(connection->connected_at))
          .key("sessions")
          .value(static_cast<uint64_t>(connection->sessions))
          .end_object();
    } else {
      w.null();
    }
    w.key("last_disconnected_at").value_or_null(format_rfc3339(connection ? connection->disconnected_at : std::nullopt));
  }
};

enum class RouteId {
  metrics,
  sync,
  health,
  collections,
  documents,
  document,
  devices,
  device,
  device_log_requests,
  log_request,
  log_request_download
};

struct Route {
  RouteId id;
  bool needs_admin = true;
  std::vector<std::string_view> captures;
  bool allows_post = false;  // every route answers GET; these also POST
};

std::optional<Route> match(const std::vector<std::string>& s) {
  if (s.size() == 1 && s[0] == "metrics") return Route{RouteId::metrics, false, {}};
  if (s.size() == 1 && s[0] == "sync") return Route{RouteId::sync, false, {}};
  if (s.size() < 3 || s[0] != "api" || s[1] != "v1") return std::nullopt;
  const size_t n = s.size() - 2;
  const auto at = [&](size_t i) -> const std::string& { return s[i + 2]; };
  if (n == 1 && at(0) == "health") return Route{RouteId::health, false, {}};
  if (n == 1 && at(0) == "collections") return Route{RouteId::collections, true, {}};
  if (n == 3 && at(0) == "collections" && at(2) == "documents") return Route{RouteId::documents, true, {at(1)}};
  if (n == 4 && at(0) == "collections" && at(2) == "documents") return Route{RouteId::document, true, {at(1), at(3)}};
  if (n == 1 && at(0) == "devices") return Route{RouteId::devices, true, {}};
  if (n == 2 && at(0) == "devices") return Route{RouteId::device, true, {at(1)}};
  if (n == 3 && at(0) == "devices" && at(2) == "log-requests") return Route{RouteId::device_log_requests, true, {at(1)}, true};
  if (n == 2 && at(0) == "log-requests") return Route{RouteId::log_request, true, {at(1)}};
  if (n == 3 && at(0) == "log-requests" && at(2) == "download") return Route{RouteId::log_request_download, true, {at(1)}};
  return std::nullopt;
}

}  // namespace

HttpResponse error_response(http::status status, std::string_view code, std::string_view message) {
  JsonWriter w;
  w.begin_object().key("error").begin_object().key("code").value(code).key("message").value(message).end_object().end_object();
  return json_response(status, w.take());
}

HttpApi::HttpApi(const Store& store, const ConnectionRegistry& registry, LogRequests& log_requests, AdminAuth auth,
                 std::shared_ptr<const Clock> clock, std::function<std::string()> metrics_text, const Portal* portal)
    : store_(store),
      registry_(registry),
      log_requests_(log_requests),
      auth_(std::move(auth)),
      clock_(std::move(clock)),
      metrics_text_(std::move(metrics_text)),
      portal_(portal) {}

HttpResponse HttpApi::handle(const HttpRequest& request) const {
  try {
    if (portal_) {
      if (auto response = portal_->handle(request)) return std::move(*response);
    }
    const Target target = parse_target(to_std(request.target()));
    const auto route = match(target.segments);
    if (!route) throw not_found(fmt::format("no such endpoint: {}", shortened(to_std(request.target()))));
    const bool post = request.method() == http::verb::post && route->allows_post;
    if (request.method() != http::verb::get && !post) {
      const char* allowed = route->allows_post ? "GET, POST" : "GET";
      auto response = error_response(http::status::method_not_allowed, "method_not_allowed",
                                     fmt::format("{} only answers {}", shortened(to_std(request.target())), allowed));
      response.set(http::field::allow, allowed);
      return response;
    }
    if (route->needs_admin) {
      if (const auto result = auth_.check(request); result != AdminAuth::Result::allowed) {
        auto response = error_response(http::status::unauthorized, "unauthorized",
                                       result == AdminAuth::Result::missing
                                           ? "missing admin token: send the header 'Authorization: Bearer <admin token>'"
                                           : "wrong admin token");
        response.set(http::field::www_authenticate, "Bearer realm=\"smallpeer\"");
        return response;
      }
    }
    const TimePoint now = clock_->now();
    JsonWriter w;
    switch (route->id) {
      case RouteId::metrics: {
        HttpResponse response{http::status::ok, 11};
        response.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
        response.set(http::field::cache_control, "no-store");
        response.body() = metrics_text_();
        return response;
      }
      case RouteId::sync: {
        auto response = error_response(http::status::upgrade_required, "upgrade_required",
                                       "/sync is the small peers' WebSocket endpoint; send a WebSocket upgrade");
        response.set(http::field::upgrade, "websocket");
        return response;
      }
      case RouteId::health:
        w.begin_object().key("status").value("ok").key("version").value(SMALLPEER_VERSION).end_object();
        break;
      case RouteId::collections: {
        const auto counts = store_.user_collection_counts(SIZE_MAX);
        w.begin_object().key("collections").begin_array();
        for (const bool system : {false, true}) {
          for (const auto& name : store_.collection_names(system)) {
            w.begin_object().key("name").value(name).key("system").value(system);
            // Live document counts are kept for user collections only.
            if (!system) {
              const auto it = counts.find(name);
              w.key("document_count").value(it == counts.end() ? uint64_t{0} : it->second);
            }
            w.end_object();
          }
        }
        w.end_array().end_object();
        break;
      }
      case RouteId::documents:
      case RouteId::document: {
        const std::string collection(route->captures[0]);
        const auto names = store_.collection_names(Store::is_system_collection(collection));
        if (std::find(names.begin(), names.end(), collection) == names.end()) {
          throw not_found(fmt::format("no collection named '{}'", shortened(collection)));
        }
        if (route->id == RouteId::document) {
          const std::string id(route->captures[1]);
          const auto doc = store_.get(collection, id);
          if (!doc) throw not_found(fmt::format("no document '{}' in collection '{}'", shortened(id), shortened(collection)));
          w.begin_object().key("collection").value(collection).key("id").value(doc->id);
          // The HLC is a string: at 64 bits it does not fit a JavaScript number.
          w.key("version")
              .begin_object()
              .key("hlc")
              .value(std::to_string(doc->version.hlc.value))
              .key("time")
              .value(format_rfc3339(TimePoint(std::chrono::milliseconds(doc->version.hlc.millis()))))
              .key("origin")
              .value(doc->version.origin)
              .end_object();
          w.key("document").raw(doc->json).end_object();
          break;
        }
        const size_t limit = parse_limit(target);
        const auto page = store_.list(collection, limit, target.param("after").value_or(""));
        w.begin_object().key("collection").value(collection).key("documents").begin_array();
        for (const auto& doc : page.documents) w.raw(doc.json);
        w.end_array();
        w.key("next_after").value_or_null(page.next_after);
        w.end_object();
        break;
      }
      case RouteId::devices: {
        const size_t limit = parse_limit(target);
        const auto online = parse_online(target);
        const std::string q = lower_ascii(target.param("q").value_or(""));
        const std::string after(target.param("after").value_or(""));
        const auto connections = registry_.peers();
        // Devices are the union of Small Peer Info reporters and peers that connected, merged by
        // peer key. online=true only needs the connected ones, so it skips the stored fleet.
        const bool online_only = online == true;
        auto live = connections.upper_bound(after);
        Page page;
        size_t next = 0;
        std::string store_after = after;
        bool more_stored = !online_only;
        std::vector<DeviceView> chosen;
        std::optional<std::string> next_after;
        for (;;) {
          if (next == page.documents.size() && more_stored) {
            page = store_.list(kSmallPeerInfoCollection, 256, store_after);
            next = 0;
            more_stored = page.next_after.has_value();
            if (more_stored) store_after = *page.next_after;
          }
          const Document* doc = next < page.documents.size() ? &page.documents[next] : nullptr;
          const bool has_live = live != connections.end();
          if (!doc && !has_live) break;
          const bool take_doc = doc && (!has_live || doc->id <= live->first);
          const bool take_live = has_live && (!doc || live->first <= doc->id);
          DeviceView view;
          if (take_doc) {
            view.peer_key = doc->id;
            view.spi = summarize(doc->json);
            ++next;
          }
          if (take_live) {
            view.peer_key = live->first;
            view.connection = &live->second;
            if (online_only && live->second.online) {
              if (const auto stored = store_.get(kSmallPeerInfoCollection, live->first)) view.spi = summarize(stored->json);
            }
            ++live;
          }
          if (!view.matches(q, online)) continue;
          if (chosen.size() == limit) {
            next_after = chosen.back().peer_key;
            break;
          }
          chosen.push_back(std::move(view));
        }
        w.begin_object().key("devices").begin_array();
        for (const auto& view : chosen) {
          w.begin_object();
          view.write_fields(w, now);
          w.end_object();
        }
        w.end_array();
        w.key("next_after").value_or_null(next_after);
        w.end_object();
        break;
      }
      case RouteId::device: {
        const std::string key(route->captures[0]);
        const auto doc = store_.get(kSmallPeerInfoCollection, key);
        const auto connection = registry_.peer(key);
        if (!doc && !connection) throw not_found(fmt::format("no device with peer key '{}'", shortened(key)));
        DeviceView view;
        view.peer_key = key;
        if (doc) view.spi = summarize(doc->json);
        view.connection = connection ? &*connection : nullptr;
        w.begin_object();
        view.write_fields(w, now);
        w.key("small_peer_info");
        if (doc) {
          w.raw(doc->json);
        } else {
          w.null();
        }
        w.end_object();
        break;
      }
      case RouteId::device_log_requests: {
        const std::string key(route->captures[0]);
        if (post) return create_log_request(key, request);
        if (!store_.get(kSmallPeerInfoCollection, key) && !registry_.peer(key))
          throw not_found(fmt::format("no device with peer key '{}'", shortened(key)));
        w.begin_object().key("log_requests").begin_array();
        for (const auto& record : log_requests_.for_peer(key)) w.raw(record.to_json());
        w.end_array().end_object();
        break;
      }
      case RouteId::log_request: {
        const auto record = log_requests_.get(std::string(route->captures[0]));
        if (!record) throw not_found(fmt::format("no log request '{}'", shortened(route->captures[0])));
        return json_response(http::status::ok, record->to_json());
      }
      case RouteId::log_request_download:
        return download_log_bundle(std::string(route->captures[0]));
    }
    return json_response(http::status::ok, w.take());
  } catch (const ApiError& e) {
    return error_response(e.status, e.code, e.message);
  } catch (const Error& e) {
    if (e.code() == ErrorCode::invalid_argument) return error_response(http::status::bad_request, "invalid_parameter", e.what());
    spdlog::error("http: {} {} failed: {}", to_std(request.method_string()), to_std(request.target()), e.what());
    return error_response(http::status::internal_server_error, "internal", e.what());
  } catch (const std::exception& e) {
    spdlog::error("http: {} {} failed: {}", to_std(request.method_string()), to_std(request.target()), e.what());
    return error_response(http::status::internal_server_error, "internal", "internal error");
  }
}

HttpResponse HttpApi::create_log_request(const std::string& peer_key, const HttpRequest& request) const {
  LogRequestFilters filters;
  std::chrono::seconds ttl = kDefaultLogRequestTtl;
  const std::string& body = request.body();
  if (!body.empty()) {
    simdjson::dom::parser parser;
    simdjson::dom::object obj;
    if (auto err = parser.parse(body.data(), body.size()).get(obj))
      throw bad_parameter(fmt::format("the body must be a JSON object: {}", simdjson::error_message(err)));
    for (auto field : obj) {
      const std::string_view key = field.key;
      std::string_view text;
      if (field.value.is_null()) continue;
      if (key == "min_level") {
        const auto level = field.value.get(text) ? std::nullopt : parse_log_level(text);
        if (!level) throw bad_parameter("min_level must be one of error, warning, info, debug, verbose");
        filters.min_level = *level;
      } else if (key == "since" || key == "until") {
        const auto t = field.value.get(text) ? std::nullopt : parse_rfc3339(text);
        if (!t) throw bad_parameter(fmt::format("{} must be an RFC 3339 time such as 2026-11-26T09:00:00Z", key));
        (key == "since" ? filters.since : filters.until) = *t;
      } else if (key == "max_bytes") {
        uint64_t n = 0;
        if (field.value.get(n) || n < 1024)
          throw bad_parameter("max_bytes must be an integer of at least 1024 (bytes of uncompressed log lines)");
        filters.max_bytes = n;
      } else if (key == "ttl_seconds") {
        uint64_t n = 0;
        if (field.value.get(n) || n < 1 || n > static_cast<uint64_t>(kMaxLogRequestTtl.count()))
          throw bad_parameter(fmt::format("ttl_seconds must be an integer from 1 to {}", kMaxLogRequestTtl.count()));
        ttl = std::chrono::seconds(n);
      } else {
        throw bad_parameter(
            fmt::format("unknown field '{}'; expected min_level, since, until, max_bytes, ttl_seconds", shortened(key)));
      }
    }
  }
  if (filters.since && filters.until && *filters.since > *filters.until) throw bad_parameter("since is after until");
  const auto doc = store_.get(kSmallPeerInfoCollection, peer_key);
  const auto connection = registry_.peer(peer_key);
  if (!doc && !connection) throw not_found(fmt::format("no device with peer key '{}'", shortened(peer_key)));
  std::string device_name = connection ? connection->device_name : "";
  if (doc) {
    if (auto name = summarize(doc->json).device_name) device_name = *name;
  }
  const auto record = log_requests_.create(peer_key, device_name, filters, ttl, "admin");
  auto response = json_response(http::status::accepted, record.to_json());
  response.set(http::field::location, fmt::format("/api/v1/log-requests/{}", record.id));
  return response;
}

HttpResponse HttpApi::download_log_bundle(const std::string& id) const {
  const auto record = log_requests_.get(id);
  if (!record) throw not_found(fmt::format("no log request '{}'", shortened(id)));
  if (record->state != LogRequestState::ready) {
    return error_response(http::status::conflict, "not_ready",
                          fmt::format("log request {} is {}, not ready{}{}", id, to_string(record->state),
                                      record->reason.empty() ? "" : ": ", record->reason));
  }
  std::string bundle = log_requests_.read_bundle(id);
  HttpResponse response{http::status::ok, 11};
  response.set(http::field::content_type, "application/gzip");
  response.set(http::field::cache_control, "no-store");
  response.set(http::field::content_disposition, fmt::format("attachment; filename=\"{}\"", record->file_name()));
  add_security_headers(response);
  response.body() = std::move(bundle);
  return response;
}

}  // namespace smallpeer::bigpeer
