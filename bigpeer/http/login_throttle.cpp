#include "bigpeer/http/login_throttle.h"

#include <algorithm>
#include <boost/asio/ip/address.hpp>

namespace smallpeer::bigpeer {

std::string LoginThrottle::key_of(std::string_view address) {
  boost::system::error_code ec;
  const auto ip = boost::asio::ip::make_address(std::string(address), ec);
  if (ec) return std::string(address);
  if (ip.is_v6() && !ip.to_v6().is_v4_mapped()) {
    auto bytes = ip.to_v6().to_bytes();
    std::fill(bytes.begin() + 8, bytes.end(), 0);
    return boost::asio::ip::address_v6(bytes).to_string() + "/64";
  }
  if (ip.is_v6()) return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, ip.to_v6()).to_string();
  return ip.to_string();
}

std::optional<std::chrono::seconds> LoginThrottle::retry_after(std::string_view address) {
  const auto now = std::chrono::steady_clock::now();
  const auto key = key_of(address);
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  const auto end = it->second.window_start + kLoginFailureWindow;
  if (now >= end) {
    entries_.erase(it);
    return std::nullopt;
  }
  if (it->second.failures < kMaxLoginFailures) return std::nullopt;
  return std::max(std::chrono::seconds(1), std::chrono::ceil<std::chrono::seconds>(end - now));
}

void LoginThrottle::record_failure(std::string_view address) {
  const auto now = std::chrono::steady_clock::now();
  auto key = key_of(address);
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it != entries_.end() && now >= it->second.window_start + kLoginFailureWindow) {
    it->second = Entry{now, 0};
  }
  if (it == entries_.end()) {
    if (entries_.size() >= kMaxThrottledAddresses) {
      std::erase_if(entries_, [&](const auto& entry) { return now >= entry.second.window_start + kLoginFailureWindow; });
    }
    if (entries_.size() >= kMaxThrottledAddresses) {
      // Still full of live windows: forget the oldest, so memory stays bounded.
      entries_.erase(std::min_element(entries_.begin(), entries_.end(), [](const auto& a, const auto& b) {
        return a.second.window_start < b.second.window_start;
      }));
    }
    it = entries_.emplace(std::move(key), Entry{now, 0}).first;
  }
  it->second.failures = std::min(it->second.failures + 1, kMaxLoginFailures);
}

void LoginThrottle::record_success(std::string_view address) {
  const auto key = key_of(address);
  std::lock_guard lock(mutex_);
  entries_.erase(key);
}

size_t LoginThrottle::tracked() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace smallpeer::bigpeer
