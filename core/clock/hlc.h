// Hybrid logical clock: versions that order writes across peers even when wall clocks disagree.
// Bounded: a remote timestamp can pull the clock at most `max_offset` ahead of this machine's wall
// clock, so one peer with a wrong (or hostile) clock cannot push every peer's versions to the top.
#pragma once

#include <chrono>
#include <compare>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "clock/clock.h"

namespace smallpeer {

/// How far ahead of the receiver's wall clock a remote HLC may be before it is refused (SYNC.md).
inline constexpr std::chrono::milliseconds kDefaultMaxClockOffset{60'000};

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
  /// Reads physical time from `clock`; remote timestamps more than `max_offset` (at least 1 ms)
  /// ahead of it are out of bounds. Throws Error(invalid_argument) for a non-positive offset.
  explicit HybridLogicalClock(std::shared_ptr<const Clock> clock, std::chrono::milliseconds max_offset = kDefaultMaxClockOffset);
  /// A timestamp for a local event, greater than every timestamp issued or observed so far.
  HlcTimestamp now();
  /// Absorbs a timestamp received from another peer, so later local events order after it; a
  /// timestamp beyond limit() moves the clock only up to limit(), never further.
  HlcTimestamp observe(HlcTimestamp remote);
  /// Absorbs `remote` and returns a timestamp to store it at, greater than it and than every
  /// timestamp issued or observed so far; nullopt, the clock unchanged, when `remote` is beyond
  /// limit(). One wall clock reading, where beyond_bound(), observe() and now() take three.
  std::optional<HlcTimestamp> receive(HlcTimestamp remote);
  /// Makes the clock never issue anything at or below `last` (used after reopening a store); a
  /// value beyond limit() is ignored (false): it came from a poisoned store or a clock gone back.
  bool restore(HlcTimestamp last);
  /// The highest timestamp a peer may send now: the wall clock plus the maximum offset.
  [[nodiscard]] HlcTimestamp limit() const;
  /// How far `remote` is ahead of the wall clock, when that is more than the maximum offset.
  [[nodiscard]] std::optional<std::chrono::milliseconds> beyond_bound(HlcTimestamp remote) const;
  /// The maximum offset this clock was built with.
  [[nodiscard]] std::chrono::milliseconds max_offset() const { return max_offset_; }
  /// The wall clock it reads.
  [[nodiscard]] const std::shared_ptr<const Clock>& wall_clock() const { return clock_; }

 private:
  std::shared_ptr<const Clock> clock_;
  std::chrono::milliseconds max_offset_;
  std::mutex mutex_;
  HlcTimestamp last_;
};

}  // namespace smallpeer
