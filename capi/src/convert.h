// Conversions at the C boundary: the handle's engine, C strings and out-parameters in, log levels,
// and malloc'd strings out (which the caller frees with sp_free). Each throws Error, for guard().
#pragma once

#include <memory>
#include <string_view>

#include "ditto/ditto.h"
#include "log/log_level.h"
#include "smallpeer/smallpeer.h"

/// What an sp_ditto_t handle holds.
struct sp_ditto {
  std::shared_ptr<smallpeer::Ditto> ditto;
};

namespace smallpeer::capi {

/// The engine behind a handle; throws Error(invalid_argument) for NULL.
Ditto& engine(sp_ditto_t* handle);
/// `text` as a string_view; throws Error(invalid_argument) naming `what` for NULL.
std::string_view required(const char* text, std::string_view what);
/// Throws Error(invalid_argument) naming `what` if `out` is NULL.
void require_out(const void* out, std::string_view what);
/// The level for an SP_LOG_* value; throws Error(invalid_argument) for any other value.
LogLevel log_level_from(sp_log_level_t value);
/// Copies `value` into a malloc'd NUL-terminated string the caller frees with sp_free.
char* to_c_string(std::string_view value);

}  // namespace smallpeer::capi
