#include "guard.h"

#include <cstdlib>
#include <cstring>

namespace smallpeer::capi {

namespace {
thread_local std::string last_error;
}

sp_status_t fail(sp_status_t status, std::string_view message) noexcept {
  try {
    last_error.assign(message);
  } catch (...) {
    // Keep the status even if the message cannot be stored.
  }
  return status;
}

sp_status_t to_status(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::invalid_argument:
      return SP_ERR_INVALID_ARGUMENT;
    case ErrorCode::validation:
      return SP_ERR_VALIDATION;
    case ErrorCode::not_found:
      return SP_ERR_NOT_FOUND;
    case ErrorCode::closed:
      return SP_ERR_CLOSED;
    case ErrorCode::io:
      return SP_ERR_IO;
    case ErrorCode::locked:
      return SP_ERR_LOCKED;
    case ErrorCode::store:
      return SP_ERR_STORE;
    case ErrorCode::internal:
      return SP_ERR_INTERNAL;
  }
  return SP_ERR_INTERNAL;
}

Ditto& engine(sp_ditto_t* handle) {
  if (handle == nullptr || !handle->ditto) throw Error(ErrorCode::invalid_argument, "ditto handle is NULL");
  return *handle->ditto;
}

std::string_view required(const char* text, std::string_view what) {
  if (text == nullptr) throw Error(ErrorCode::invalid_argument, std::string(what) + " is NULL");
  return text;
}

void require_out(const void* out, std::string_view what) {
  if (out == nullptr) throw Error(ErrorCode::invalid_argument, std::string(what) + " out-parameter is NULL");
}

char* to_c_string(std::string_view value) {
  auto* p = static_cast<char*>(std::malloc(value.size() + 1));
  if (p == nullptr) throw std::bad_alloc();
  std::memcpy(p, value.data(), value.size());
  p[value.size()] = '\0';
  return p;
}

}  // namespace smallpeer::capi

extern "C" {

SP_API const char* sp_last_error_message(void) {
  return smallpeer::capi::last_error.c_str();
}

SP_API void sp_free(void* ptr) {
  std::free(ptr);
}

}  // extern "C"
