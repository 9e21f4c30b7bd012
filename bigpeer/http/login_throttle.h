// Guessing the admin token is slowed per client address: after kMaxLoginFailures wrong tokens
// (at the login or as a bearer header) within kLoginFailureWindow, that address gets 429 with
// Retry-After until the window ends; a right token resets its count. The table of addresses is
// capped (kMaxThrottledAddresses), so a flood of addresses costs bounded memory. Per node, in
// memory: with N nodes a guesser gets N times the budget (bigpeer/README.md, "Login rate limit").
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace smallpeer::bigpeer {

/// Wrong tokens an address may send within one window before it is refused.
inline constexpr uint32_t kMaxLoginFailures = 10;
/// The window: counted from an address's first failure; its end lifts the refusal.
inline constexpr std::chrono::seconds kLoginFailureWindow{300};
/// Addresses tracked at most; beyond, the one whose window started first is forgotten.
inline constexpr size_t kMaxThrottledAddresses = 10'000;

/// Failed admin-token attempts per client address. Thread-safe.
class LoginThrottle {
 public:
  /// Seconds until `address` may try again (at least 1), or nullopt if it may try now.
  [[nodiscard]] std::optional<std::chrono::seconds> retry_after(std::string_view address);
  /// Counts a wrong token from `address`.
  void record_failure(std::string_view address);
  /// A right token from `address`: forgets its failures.
  void record_success(std::string_view address);
  /// Addresses tracked now (for tests and bounds).
  [[nodiscard]] size_t tracked() const;

  /// The key an address is counted under: itself for IPv4, its /64 prefix for IPv6 (one host
  /// usually holds a whole /64), the text as given if it is not an IP address.
  [[nodiscard]] static std::string key_of(std::string_view address);

 private:
  struct Entry {
    std::chrono::steady_clock::time_point window_start;
    uint32_t failures = 0;
  };

  mutable std::mutex mutex_;
  std::map<std::string, Entry, std::less<>> entries_;
};

}  // namespace smallpeer::bigpeer
