#include "guard.h"

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

}  // namespace smallpeer::capi

extern "C" {

SP_API const char* sp_last_error_message(void) {
  return smallpeer::capi::last_error.c_str();
}

}  // extern "C"
