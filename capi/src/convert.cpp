#include "convert.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "common/error.h"

namespace smallpeer::capi {

Ditto& engine(sp_ditto_t* handle) {
  if (handle == nullptr || !handle->ditto) throw Error(ErrorCode::invalid_argument, "ditto handle is NULL");
  return *handle->ditto;
}

std::string_view required(const char* text, std::string_view what) {
  if (text == nullptr) throw Error(ErrorCode::invalid_argument, std::string(what) + " is NULL");
  const std::string_view s(text);
  // The header's rule "strings are UTF-8", checked at the boundary for every string argument.
  if (!simdjson::validate_utf8(s.data(), s.size())) {
    throw Error(ErrorCode::invalid_argument, std::string(what) + " is not valid UTF-8");
  }
  return s;
}

void require_out(const void* out, std::string_view what) {
  if (out == nullptr) throw Error(ErrorCode::invalid_argument, std::string(what) + " out-parameter is NULL");
}

LogLevel log_level_from(sp_log_level_t value) {
  if (!is_valid_log_level(value)) {
    throw Error(ErrorCode::invalid_argument, fmt::format("unknown log level {}; expected 1 (error) to 5 (verbose)", value));
  }
  return static_cast<LogLevel>(value);
}

char* to_c_string(std::string_view value) {
  // NOLINTNEXTLINE(cppcoreguidelines-owning-memory): a C ABI string, freed by the caller with sp_free
  auto* p = static_cast<char*>(std::malloc(value.size() + 1));
  if (p == nullptr) throw std::bad_alloc();
  std::memcpy(p, value.data(), value.size());
  p[value.size()] = '\0';
  return p;
}

}  // namespace smallpeer::capi

extern "C" {

SP_API void sp_free(void* ptr) {
  std::free(ptr);  // NOLINT(cppcoreguidelines-owning-memory): frees what to_c_string malloc'd, across the C ABI
}

}  // extern "C"
