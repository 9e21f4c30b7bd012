#include "bigpeer/http/documents.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <cstdint>

#include "clock/clock.h"
#include "common/error.h"
#include "common/json.h"

namespace smallpeer::bigpeer {

namespace http = boost::beast::http;

namespace {

HttpResponse list_collections(const Store& store) {
  const auto counts = store.user_collection_counts(SIZE_MAX);
  JsonWriter w;
  w.begin_object().key("collections").begin_array();
  for (const bool system : {false, true}) {
    for (const auto& name : store.collection_names(system)) {
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
  return json_response(http::status::ok, w.take());
}

// Throws 404 unless `collection` exists.
void require_collection(const Store& store, const std::string& collection) {
  const auto names = store.collection_names(Store::is_system_collection(collection));
  if (std::find(names.begin(), names.end(), collection) == names.end()) {
    throw not_found(fmt::format("no collection named '{}'", shortened(collection)));
  }
}

HttpResponse list_documents(const Store& store, const ApiRequest& request) {
  const std::string& collection = request.captures[0];
  require_collection(store, collection);
  const size_t limit = parse_limit(request.target);
  const auto page = store.list(collection, limit, request.target.param("after").value_or(""));
  JsonWriter w;
  w.begin_object().key("collection").value(collection).key("documents").begin_array();
  for (const auto& doc : page.documents) w.raw(doc.json);
  w.end_array();
  w.key("next_after").value_or_null(page.next_after);
  w.end_object();
  return json_response(http::status::ok, w.take());
}

HttpResponse get_document(const Store& store, const ApiRequest& request) {
  const std::string& collection = request.captures[0];
  const std::string& id = request.captures[1];
  require_collection(store, collection);
  const auto doc = store.get(collection, id);
  if (!doc) throw not_found(fmt::format("no document '{}' in collection '{}'", shortened(id), shortened(collection)));
  JsonWriter w;
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
  return json_response(http::status::ok, w.take());
}

// POST /api/v1/query {"query": "...", "args": {...}}: a read-only DQL query. Bad queries and
// arguments are 400 invalid_query; one over a limit (length, time) is 400 query_limit.
HttpResponse run_query(const Store& store, const QueryOptions& limits, const ApiRequest& request) {
  simdjson::dom::parser parser;
  simdjson::dom::object body;
  const std::string& text = request.http.body();
  if (parser.parse(text.data(), text.size()).get_object().get(body) != simdjson::SUCCESS) {
    throw ApiError{http::status::bad_request, "invalid_query",
                   R"(the body must be a JSON object {"query": "...", "args": {...}})"};
  }
  std::string_view query;
  if (body["query"].get_string().get(query) != simdjson::SUCCESS) {
    throw ApiError{http::status::bad_request, "invalid_query", R"("query" must be a string)"};
  }
  simdjson::dom::element args;
  const std::string args_json = body["args"].get(args) == simdjson::SUCCESS ? simdjson::minify(args) : std::string();
  try {
    return json_response(http::status::ok, to_json(execute_query(store, query, args_json, limits)));
  } catch (const Error& e) {
    if (e.code() == ErrorCode::invalid_argument) throw ApiError{http::status::bad_request, "invalid_query", e.what()};
    if (e.code() == ErrorCode::validation) throw ApiError{http::status::bad_request, "query_limit", e.what()};
    throw;
  }
}

}  // namespace

void add_document_routes(Router& router, const Store& store, QueryOptions query_limits) {
  router.add(http::verb::post, "/api/v1/query", Access::admin,
             [&store, query_limits](const ApiRequest& request) { return run_query(store, query_limits, request); });
  router.add(http::verb::get, "/api/v1/collections", Access::admin,
             [&store](const ApiRequest&) { return list_collections(store); });
  router.add(http::verb::get, "/api/v1/collections/{name}/documents", Access::admin,
             [&store](const ApiRequest& request) { return list_documents(store, request); });
  router.add(http::verb::get, "/api/v1/collections/{name}/documents/{id}", Access::admin,
             [&store](const ApiRequest& request) { return get_document(store, request); });
}

}  // namespace smallpeer::bigpeer
