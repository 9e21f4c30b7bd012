#include "clock/hlc.h"

#include <algorithm>

namespace smallpeer {

namespace {
uint64_t physical_millis(const Clock& clock) {
  return static_cast<uint64_t>(std::max<int64_t>(0, to_unix_millis(clock.now())));
}

// The next timestamp after `last` that is not behind physical time `pt`.
HlcTimestamp advance(HlcTimestamp last, uint64_t pt) {
  if (pt > last.millis()) return HlcTimestamp::from_parts(pt, 0);
  // Counter overflow borrows the next millisecond rather than wrapping.
  if (last.counter() == 0xffff) return HlcTimestamp::from_parts(last.millis() + 1, 0);
  return HlcTimestamp{last.value + 1};
}
}  // namespace

HlcTimestamp HybridLogicalClock::now() {
  std::lock_guard lock(mutex_);
  last_ = advance(last_, physical_millis(*clock_));
  return last_;
}

HlcTimestamp HybridLogicalClock::observe(HlcTimestamp remote) {
  std::lock_guard lock(mutex_);
  last_ = advance(std::max(last_, remote), physical_millis(*clock_));
  return last_;
}

void HybridLogicalClock::restore(HlcTimestamp last) {
  std::lock_guard lock(mutex_);
  last_ = std::max(last_, last);
}

}  // namespace smallpeer
