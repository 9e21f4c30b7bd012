#include "sync/admission.h"

#include <algorithm>

#include "common/error.h"

namespace smallpeer::sync {

struct HandshakeAdmission::Ticket::Counts {
  std::mutex mutex;
  size_t total = 0;
  std::map<std::string, size_t> by_address;
};

void HandshakeAdmission::Ticket::release() {
  if (released_) return;
  released_ = true;
  std::lock_guard lock(counts_->mutex);
  --counts_->total;
  if (auto it = counts_->by_address.find(address_); it != counts_->by_address.end() && --it->second == 0) {
    counts_->by_address.erase(it);
  }
}

HandshakeAdmission::HandshakeAdmission(AdmissionLimits limits) : limits_(limits), counts_(std::make_shared<Ticket::Counts>()) {
  if (limits_.total == 0 || limits_.per_address == 0) {
    throw Error(ErrorCode::invalid_argument, "handshake limits (total and per address) must be at least 1");
  }
}

std::shared_ptr<HandshakeAdmission::Ticket> HandshakeAdmission::admit(const std::string& address) {
  std::lock_guard lock(counts_->mutex);
  if (counts_->total >= limits_.total) return nullptr;
  auto& from_address = counts_->by_address[address];
  if (from_address >= limits_.per_address) return nullptr;
  ++from_address;
  ++counts_->total;
  return std::shared_ptr<Ticket>(new Ticket(counts_, address));
}

size_t HandshakeAdmission::pending() const {
  std::lock_guard lock(counts_->mutex);
  return counts_->total;
}

std::chrono::milliseconds AcceptBackoff::failed() {
  delay_ = delay_.count() == 0 ? kFirst : std::min(kMax, delay_ * 2);
  return delay_;
}

}  // namespace smallpeer::sync
