#include "spi/metadata.h"

#include <fmt/format.h>
#include <simdjson.h>

#include "common/error.h"

namespace smallpeer {

namespace {
size_t depth_of(simdjson::dom::element e) {
  size_t deepest = 0;
  switch (e.type()) {
    case simdjson::dom::element_type::OBJECT:
      // Copy the handle out of the temporary result before iterating: the range must outlive the loop.
      for (simdjson::dom::object obj = e.get_object().value_unsafe(); auto field : obj) {
        deepest = std::max(deepest, depth_of(field.value));
      }
      return deepest + 1;
    case simdjson::dom::element_type::ARRAY:
      for (simdjson::dom::array arr = e.get_array().value_unsafe(); auto child : arr) {
        deepest = std::max(deepest, depth_of(child));
      }
      return deepest + 1;
    default:
      return 0;
  }
}

std::string_view type_name(simdjson::dom::element_type t) {
  switch (t) {
    case simdjson::dom::element_type::ARRAY:
      return "an array";
    case simdjson::dom::element_type::STRING:
      return "a string";
    case simdjson::dom::element_type::INT64:
    case simdjson::dom::element_type::UINT64:
    case simdjson::dom::element_type::DOUBLE:
      return "a number";
    case simdjson::dom::element_type::BOOL:
      return "a boolean";
    case simdjson::dom::element_type::NULL_VALUE:
      return "null";
    default:
      return "an object";
  }
}
}  // namespace

std::string validate_metadata(std::string_view json) {
  // Parse with a depth ceiling just above ours, so absurdly deep input fails fast with a clear message.
  simdjson::dom::parser parser;
  if (parser.allocate(std::max<size_t>(json.size(), 64), kMaxMetadataDepth + 1)) {
    throw Error(ErrorCode::internal, "cannot allocate the metadata parser");
  }
  simdjson::dom::element root;
  if (auto err = parser.parse(json.data(), json.size()).get(root)) {
    if (err == simdjson::DEPTH_ERROR) {
      throw Error(ErrorCode::validation, fmt::format("metadata is nested deeper than the limit of {} levels", kMaxMetadataDepth));
    }
    throw Error(ErrorCode::validation, fmt::format("metadata is not valid JSON: {}", simdjson::error_message(err)));
  }
  if (root.type() != simdjson::dom::element_type::OBJECT) {
    throw Error(ErrorCode::validation, fmt::format("metadata must be a JSON object, not {}", type_name(root.type())));
  }
  if (const size_t depth = depth_of(root); depth > kMaxMetadataDepth) {
    throw Error(ErrorCode::validation,
                fmt::format("metadata is nested {} levels deep; the limit is {} levels", depth, kMaxMetadataDepth));
  }
  std::string minified = simdjson::minify(root);
  if (minified.size() > kMaxMetadataBytes) {
    throw Error(ErrorCode::validation,
                fmt::format("metadata is {} bytes; the limit is {} bytes (128 KB)", minified.size(), kMaxMetadataBytes));
  }
  return minified;
}

}  // namespace smallpeer
