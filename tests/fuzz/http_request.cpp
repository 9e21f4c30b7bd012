// Fuzzes the Big Peer's HTTP API with raw request bytes: Beast parses them (as the server does),
// then HttpApi::handle (with the portal in front, as served) splits the target into path segments
// and query parameters, checks the bearer token or the session cookie, and answers. Also fuzzes
// cookie_value and bearer_token directly on the Cookie and Authorization headers. Invariants: no
// request gets a 500 (every refusal is a 4xx that names the problem), and the credential parsers
// return a piece of their input.
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "bigpeer/admin_auth.h"
#include "bigpeer/fleet_history.h"
#include "bigpeer/http_api.h"
#include "bigpeer/log_requests.h"
#include "bigpeer/portal.h"
#include "bigpeer/registry.h"
#include "clock/clock.h"
#include "clock/hlc.h"
#include "fuzz_check.h"
#include "spi/small_peer_info_collector.h"
#include "store/store.h"

using smallpeer::fuzz::require;
namespace bp = smallpeer::bigpeer;
namespace http = boost::beast::http;

namespace {

/// The admin token the seed corpus's authorised requests carry.
constexpr std::string_view kAdminToken = "fuzz-admin-token";

/// One Big Peer's HTTP side over a real SQLite store in a temporary directory (removed at exit).
struct Api {
  std::filesystem::path dir;
  std::shared_ptr<smallpeer::ManualClock> clock = std::make_shared<smallpeer::ManualClock>();
  std::unique_ptr<smallpeer::Store> store;
  bp::ConnectionRegistry registry;
  std::unique_ptr<bp::LogRequests> log_requests;
  std::unique_ptr<bp::FleetHistory> history;
  std::unique_ptr<bp::Portal> portal;
  std::unique_ptr<bp::HttpApi> api;

  Api() {
    std::string pattern = (std::filesystem::temp_directory_path() / "smallpeer-fuzz-http-XXXXXX").string();
    require(mkdtemp(pattern.data()) != nullptr, "a temporary directory can be created");
    dir = pattern;
    store = smallpeer::Store::open(dir / "store.db", std::make_shared<smallpeer::HybridLogicalClock>(clock), "fuzz-big-peer");
    // One known device, so the device and log request routes get past "no such device".
    store->upsert(smallpeer::kSmallPeerInfoCollection,
                  R"({"_id":"fuzzpeer","device_name":"fuzz device","last_updated_at":"2026-11-26T09:00:00Z"})");
    store->upsert("items", R"({"_id":"a","n":1})");
    log_requests = std::make_unique<bp::LogRequests>(*store, bp::make_file_bundle_store(dir / "log-bundles"), registry, clock);
    history = std::make_unique<bp::FleetHistory>([] { return bp::FleetSample{{}, 1, 1}; }, clock, std::chrono::hours(1));
    const bp::AdminAuth auth{std::string(kAdminToken)};
    portal = std::make_unique<bp::Portal>(auth, *history, false);
    api = std::make_unique<bp::HttpApi>(
        *store, registry, *log_requests, auth, clock, [] { return std::string("# metrics\n"); }, portal.get());
  }
  ~Api() {
    api.reset();
    portal.reset();
    history.reset();
    log_requests.reset();
    store.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

Api& api() {
  static Api instance;
  return instance;
}

bool within(std::string_view part, std::string_view whole) {
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)api();  // set up once; the static's destructor removes the directory when the run exits
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  http::request_parser<http::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(64 * 1024);
  parser.eager(true);
  boost::system::error_code ec;
  parser.put(boost::asio::buffer(data, size), ec);
  if (!ec && !parser.is_done()) parser.put_eof(ec);
  if (ec || !parser.is_done()) return 0;
  const auto& request = parser.get();

  for (const auto& field : request) {
    const std::string_view value = bp::to_std(field.value());
    if (field.name() == http::field::cookie) {
      if (const auto id = bp::cookie_value(value, bp::kSessionCookie))
        require(within(*id, value), "a cookie value is part of the header");
    } else if (field.name() == http::field::authorization) {
      if (const auto token = bp::bearer_token(value)) {
        require(within(*token, value), "a bearer token is part of the header");
        require(!token->empty() && token->front() != ' ' && token->back() != ' ', "a bearer token is trimmed and not empty");
      }
    }
  }

  const auto response = api().api->handle(request);
  require(response.result() != http::status::internal_server_error, "no request makes the API fail with a 500");
  return 0;
}
