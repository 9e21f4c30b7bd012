#include "clock/hlc.h"

#include <fmt/format.h>

#include <algorithm>

#include "common/error.h"

namespace smallpeer {

namespace {
// 48 bits of milliseconds: the largest physical part an HLC can carry (year 10889).
constexpr uint64_t kMaxMillis = (uint64_t{1} << 48) - 1;

uint64_t physical_millis(const Clock& clock) {
  return std::min<uint64_t>(kMaxMillis, static_cast<uint64_t>(std::max<int64_t>(0, to_unix_millis(clock.now()))));
}

// The next timestamp after `last` that is not behind physical time `pt`.
HlcTimestamp advance(HlcTimestamp last, uint64_t pt) {
  if (pt > last.millis()) return HlcTimestamp::from_parts(pt, 0);
  // Counter overflow borrows the next millisecond rather than wrapping.
  if (last.counter() == 0xffff) return HlcTimestamp::from_parts(last.millis() + 1, 0);
  return HlcTimestamp{last.value + 1};
}

HlcTimestamp limit_at(uint64_t pt, std::chrono::milliseconds max_offset) {
  return HlcTimestamp::from_parts(std::min<uint64_t>(kMaxMillis, pt + static_cast<uint64_t>(max_offset.count())), 0xffff);
}
}  // namespace

HybridLogicalClock::HybridLogicalClock(std::shared_ptr<const Clock> clock, std::chrono::milliseconds max_offset)
    : clock_(std::move(clock)), max_offset_(max_offset) {
  if (!clock_) throw Error(ErrorCode::invalid_argument, "a hybrid logical clock needs a wall clock");
  if (max_offset_.count() <= 0) {
    throw Error(ErrorCode::invalid_argument,
                fmt::format("the maximum clock offset must be at least 1 ms, got {} ms", max_offset_.count()));
  }
}

HlcTimestamp HybridLogicalClock::now() {
  std::lock_guard lock(mutex_);
  last_ = advance(last_, physical_millis(*clock_));
  return last_;
}

HlcTimestamp HybridLogicalClock::observe(HlcTimestamp remote) {
  std::lock_guard lock(mutex_);
  const uint64_t pt = physical_millis(*clock_);
  last_ = advance(std::max(last_, std::min(remote, limit_at(pt, max_offset_))), pt);
  return last_;
}

bool HybridLogicalClock::restore(HlcTimestamp last) {
  std::lock_guard lock(mutex_);
  if (last > limit_at(physical_millis(*clock_), max_offset_)) return false;
  last_ = std::max(last_, last);
  return true;
}

std::optional<HlcTimestamp> HybridLogicalClock::receive(HlcTimestamp remote) {
  const uint64_t pt = physical_millis(*clock_);
  if (remote > limit_at(pt, max_offset_)) return std::nullopt;
  std::lock_guard lock(mutex_);
  last_ = advance(std::max(last_, remote), pt);
  return last_;
}

HlcTimestamp HybridLogicalClock::limit() const {
  return limit_at(physical_millis(*clock_), max_offset_);
}

std::optional<std::chrono::milliseconds> HybridLogicalClock::beyond_bound(HlcTimestamp remote) const {
  const uint64_t pt = physical_millis(*clock_);
  if (remote <= limit_at(pt, max_offset_)) return std::nullopt;
  return std::chrono::milliseconds(static_cast<int64_t>(remote.millis() - pt));
}

}  // namespace smallpeer
