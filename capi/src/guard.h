// The one guard around every C entry point: no exception crosses the ABI; each becomes a status
// code plus a thread-local message. The ErrorCode -> sp_status_t mapping lives in guard.cpp only.
#pragma once

#include <new>
#include <string>
#include <string_view>

#include "common/error.h"
#include "smallpeer/smallpeer.h"

namespace smallpeer::capi {

/// Records `message` as this thread's last error and returns `status`.
sp_status_t fail(sp_status_t status, std::string_view message) noexcept;
/// The status for an engine error code.
sp_status_t to_status(ErrorCode code) noexcept;

/// Runs `body`, turning every exception into a status and message.
template <typename F>
sp_status_t guard(F&& body) noexcept {
  try {
    body();
    return SP_OK;
  } catch (const Error& e) {
    return fail(to_status(e.code()), e.what());
  } catch (const std::bad_alloc&) {
    return fail(SP_ERR_INTERNAL, "out of memory");
  } catch (const std::exception& e) {
    return fail(SP_ERR_INTERNAL, std::string("internal error: ") + e.what());
  } catch (...) {
    return fail(SP_ERR_INTERNAL, "internal error: unknown exception");
  }
}

}  // namespace smallpeer::capi
