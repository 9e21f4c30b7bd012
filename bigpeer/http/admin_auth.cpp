#include "bigpeer/http/admin_auth.h"

#include <sodium.h>

#include <array>
#include <boost/beast/http/field.hpp>

#include "common/base64.h"

namespace smallpeer::bigpeer {

namespace http = boost::beast::http;

namespace {
// Sessions are kept by a hash of their id, so looking one up reveals nothing about a guess's bytes.
std::string session_key(std::string_view id) {
  std::array<unsigned char, crypto_generichash_BYTES> hash{};
  crypto_generichash(hash.data(), hash.size(), reinterpret_cast<const unsigned char*>(id.data()), id.size(), nullptr, 0);
  return {reinterpret_cast<const char*>(hash.data()), hash.size()};
}
}  // namespace

AdminAuth::Sessions::Sessions() {
  randombytes_buf(csrf_key.data(), csrf_key.size());
}

AdminAuth::AdminAuth(std::string token) : token_(std::move(token)), sessions_(std::make_shared<Sessions>()) {}

AdminAuth::Result AdminAuth::check(const http::request<http::string_body>& request, std::string_view client_address) const {
  const auto header = request.find(http::field::authorization);
  if (header != request.end()) {
    const auto token = bearer_token(to_std(header->value()));
    return check_login(token.value_or(std::string_view()), client_address);
  }
  const auto cookies = request.equal_range(http::field::cookie);
  for (auto it = cookies.first; it != cookies.second; ++it) {
    if (const auto id = cookie_value(to_std(it->value()), kSessionCookie)) {
      return session_valid(*id) ? Result::allowed : Result::wrong;
    }
  }
  return Result::missing;
}

AdminAuth::Credential AdminAuth::presented(const http::request<http::string_body>& request) {
  if (request.find(http::field::authorization) != request.end()) return Credential::bearer;
  const auto cookies = request.equal_range(http::field::cookie);
  for (auto it = cookies.first; it != cookies.second; ++it) {
    if (cookie_value(to_std(it->value()), kSessionCookie)) return Credential::session;
  }
  return Credential::none;
}

bool AdminAuth::token_matches(std::string_view token) const {
  return constant_time_equal(token, token_);
}

AdminAuth::Result AdminAuth::check_login(std::string_view token, std::string_view client_address) const {
  auto& throttle = sessions_->throttle;
  if (throttle.retry_after(client_address)) return Result::throttled;
  if (!token.empty() && token_matches(token)) {
    throttle.record_success(client_address);
    return Result::allowed;
  }
  throttle.record_failure(client_address);
  return Result::wrong;
}

std::optional<std::chrono::seconds> AdminAuth::retry_after(std::string_view client_address) const {
  return sessions_->throttle.retry_after(client_address);
}

std::optional<std::string> AdminAuth::csrf_token(const http::request<http::string_body>& request) const {
  const auto cookies = request.equal_range(http::field::cookie);
  for (auto it = cookies.first; it != cookies.second; ++it) {
    const auto id = cookie_value(to_std(it->value()), kSessionCookie);
    if (!id) continue;
    if (!session_valid(*id)) return std::nullopt;
    std::array<unsigned char, 32> mac{};
    crypto_generichash(mac.data(), mac.size(), reinterpret_cast<const unsigned char*>(id->data()), id->size(),
                       sessions_->csrf_key.data(), sessions_->csrf_key.size());
    return base64url_encode(mac);
  }
  return std::nullopt;
}

std::string AdminAuth::open_session() const {
  std::string id = random_base64url(32);
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(sessions_->mutex);
  auto& expiry = sessions_->expiry;
  std::erase_if(expiry, [&](const auto& entry) { return entry.second <= now; });
  if (expiry.size() >= kMaxSessions) {
    // Every session has the same lifetime, so the one ending first is the oldest.
    auto oldest = expiry.begin();
    for (auto it = expiry.begin(); it != expiry.end(); ++it) {
      if (it->second < oldest->second) oldest = it;
    }
    expiry.erase(oldest);
  }
  expiry.emplace(session_key(id), now + kSessionLifetime);
  return id;
}

void AdminAuth::close_session(const http::request<http::string_body>& request) const {
  const auto cookies = request.equal_range(http::field::cookie);
  for (auto it = cookies.first; it != cookies.second; ++it) {
    if (const auto id = cookie_value(to_std(it->value()), kSessionCookie)) {
      std::lock_guard lock(sessions_->mutex);
      sessions_->expiry.erase(session_key(*id));
    }
  }
}

bool AdminAuth::session_valid(std::string_view id) const {
  const auto key = session_key(id);
  std::lock_guard lock(sessions_->mutex);
  const auto it = sessions_->expiry.find(key);
  if (it == sessions_->expiry.end()) return false;
  if (it->second <= std::chrono::steady_clock::now()) {
    sessions_->expiry.erase(it);
    return false;
  }
  return true;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && (a.empty() || sodium_memcmp(a.data(), b.data(), a.size()) == 0);
}

}  // namespace smallpeer::bigpeer
