// Hybrid logical clock: versions that order writes across peers even when wall clocks disagree.
#pragma once

#include <compare>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "clock/clock.h"

namespace smallpeer {

/// A hybrid logical clock reading: 48 bits of Unix milliseconds, then a 16-bit logical counter.
struct HlcTimestamp {
  uint64_t value = 0;
  /// The physical part, in Unix milliseconds.
  [[nodiscard]] uint64_t millis() const { return value >> 16; }
  /// The logical counter that breaks ties within one millisecond.
  [[nodiscard]] uint16_t counter() const { return static_cast<uint16_t>(value & 0xffff); }
  /// Builds a timestamp from its two parts.
  static HlcTimestamp from_parts(uint64_t millis, uint16_t counter) { return {(millis << 16) | counter}; }
  // NOLINTNEXTLINE(modernize-use-nullptr): false positive, clang-tidy 14 flags the 0 the defaulted <=> compares with
  auto operator<=>(const HlcTimestamp&) const = default;
};

/// Issues monotonically increasing HLC timestamps for local events and absorbs remote ones.
class HybridLogicalClock {
 public:
  /// Reads physical time from `clock`.
  explicit HybridLogicalClock(std::shared_ptr<const Clock> clock) : clock_(std::move(clock)) {}
  /// A timestamp for a local event, greater than every timestamp issued or observed so far.
  HlcTimestamp now();
  /// Absorbs a timestamp received from another peer, so later local events order after it.
  HlcTimestamp observe(HlcTimestamp remote);
  /// Makes the clock never issue anything at or below `last` (used after reopening a store).
  void restore(HlcTimestamp last);

 private:
  std::shared_ptr<const Clock> clock_;
  std::mutex mutex_;
  HlcTimestamp last_;
};

}  // namespace smallpeer
