// Wall-clock time behind an interface, so tests drive five-minute cycles in microseconds.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace smallpeer {

using TimePoint = std::chrono::system_clock::time_point;

/// A source of wall-clock time.
class Clock {
 public:
  virtual ~Clock() = default;
  /// The current wall-clock time.
  [[nodiscard]] virtual TimePoint now() const = 0;
};

/// The operating system's clock.
class SystemClock final : public Clock {
 public:
  /// std::chrono::system_clock::now().
  [[nodiscard]] TimePoint now() const override { return std::chrono::system_clock::now(); }
};

/// A clock that only moves when a test moves it.
class ManualClock final : public Clock {
 public:
  /// Starts at `start` (by default 2026-01-01T00:00:00Z).
  explicit ManualClock(TimePoint start = TimePoint(std::chrono::seconds(1767225600))) : now_(start.time_since_epoch().count()) {}
  /// The time the test last set.
  [[nodiscard]] TimePoint now() const override { return TimePoint(TimePoint::duration(now_.load())); }
  /// Moves the clock to `t`.
  void set(TimePoint t) { now_.store(t.time_since_epoch().count()); }
  /// Moves the clock forward by `d`.
  void advance(std::chrono::nanoseconds d) { now_.fetch_add(std::chrono::duration_cast<TimePoint::duration>(d).count()); }

 private:
  std::atomic<TimePoint::rep> now_;
};

/// The operating system's clock shifted by a fixed offset: a device whose clock is wrong.
class OffsetClock final : public Clock {
 public:
  /// Reads the system clock plus `offset` (negative: behind).
  explicit OffsetClock(std::chrono::nanoseconds offset) : offset_(std::chrono::duration_cast<TimePoint::duration>(offset)) {}
  /// std::chrono::system_clock::now() + offset.
  [[nodiscard]] TimePoint now() const override { return std::chrono::system_clock::now() + offset_; }

 private:
  TimePoint::duration offset_;
};

/// The 24 characters of an RFC 3339 UTC time with milliseconds, e.g. "2026-11-26T15:14:41.123Z".
struct Rfc3339Text {
  std::array<char, 24> chars;
  /// The text, valid while this lives.
  [[nodiscard]] std::string_view view() const { return {chars.data(), chars.size()}; }
};
/// Formats `t` as RFC 3339 UTC with milliseconds, without allocating (for text written many times a second).
Rfc3339Text rfc3339_text(TimePoint t);
/// Formats `t` as RFC 3339 UTC with milliseconds, e.g. "2026-11-26T15:14:41.123Z".
inline std::string format_rfc3339(TimePoint t) {
  return std::string(rfc3339_text(t).view());
}
/// Formats `t` as format_rfc3339 does, or nullopt when `t` is empty.
inline std::optional<std::string> format_rfc3339(const std::optional<TimePoint>& t) {
  return t ? std::optional(format_rfc3339(*t)) : std::nullopt;
}
/// Parses RFC 3339 ("2026-11-26T15:14:41Z", fractional seconds and +hh:mm offsets allowed); nullopt if malformed.
std::optional<TimePoint> parse_rfc3339(std::string_view text);
/// Milliseconds since the Unix epoch.
inline int64_t to_unix_millis(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace smallpeer
