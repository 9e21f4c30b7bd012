// Errors raised by the engine. capi/src/guard.cpp maps each ErrorCode to one sp_status_t.
#pragma once

#include <stdexcept>
#include <string>

namespace smallpeer {

/// What kind of failure an Error is; the C ABI turns each into one status code.
enum class ErrorCode {
  invalid_argument,  // a parameter is malformed (null, empty, unknown enum value)
  validation,        // well-formed input that breaks a documented limit (metadata size, depth)
  not_found,         // the document, collection or id does not exist
  closed,            // the handle was closed
  io,                // the file system refused (permissions, missing directory, disk full)
  locked,            // the persistence directory is used by another open instance
  store,             // SQLite reported an error
  internal,          // a bug: an invariant did not hold
};

/// The one exception type the engine throws on purpose; `what()` is the user-facing message.
class Error : public std::runtime_error {
 public:
  /// Makes an error of `code` whose message names the problem.
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  /// The kind of failure.
  [[nodiscard]] ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace smallpeer
