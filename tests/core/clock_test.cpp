#include "clock/clock.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>

#include "clock/hlc.h"
#include "common/error.h"

using namespace smallpeer;
using namespace std::chrono_literals;

TEST(Rfc3339, FormatsUtcWithMilliseconds) {
  const TimePoint t = TimePoint(std::chrono::milliseconds(1764170081123));
  EXPECT_EQ(format_rfc3339(t), "2025-11-26T15:14:41.123Z");
}

// gmtime_r and printf, independent of format_rfc3339's calendar arithmetic.
std::string reference_rfc3339(int64_t unix_ms) {
  int64_t secs = unix_ms / 1000, ms = unix_ms % 1000;
  if (ms < 0) ms += 1000, secs -= 1;
  const std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char text[64];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return text;
}

TEST(Rfc3339, FormatsEveryRepresentableTimeAsGmtimeDoes) {
  // A TimePoint holds nanoseconds in 64 bits: 1677-09-21 to 2262-04-11.
  const int64_t first = std::chrono::floor<std::chrono::milliseconds>(TimePoint::min()).time_since_epoch().count() + 1;
  const int64_t last = std::chrono::floor<std::chrono::milliseconds>(TimePoint::max()).time_since_epoch().count();
  std::vector<int64_t> cases = {first,
                                last,
                                -1,
                                0,
                                1,
                                951'782'400'000 /* 2000-02-29 */,
                                4'107'542'399'999 /* 2100-02-28T23:59:59.999 */,
                                -2'208'988'800'001 /* 1899 */};
  std::mt19937_64 random(20261127);
  std::uniform_int_distribution<int64_t> any(first, last);
  for (int i = 0; i < 20'000; ++i) cases.push_back(any(random));
  for (const int64_t ms : cases) ASSERT_EQ(format_rfc3339(TimePoint(std::chrono::milliseconds(ms))), reference_rfc3339(ms)) << ms;
}

TEST(Rfc3339, ParsesWhatItFormatsAndOffsets) {
  const TimePoint t = TimePoint(std::chrono::milliseconds(1764170081123));
  EXPECT_EQ(parse_rfc3339(format_rfc3339(t)), t);
  EXPECT_EQ(parse_rfc3339("2025-11-26T16:14:41.123+01:00"), t);
  EXPECT_EQ(parse_rfc3339("2025-11-26T15:14:41Z"), TimePoint(std::chrono::seconds(1764170081)));
}

// parse_rfc3339 does its own calendar arithmetic: it must give what timegm gives for every field
// it accepts, days past the month's end (Feb 31) and second 60 normalised alike.
TEST(Rfc3339, ParsesEveryAcceptedTimeAsTimegmDoes) {
  std::mt19937_64 random(20261206);
  const auto pick = [&](int low, int high) { return std::uniform_int_distribution<int>(low, high)(random); };
  for (int i = 0; i < 20'000; ++i) {
    std::tm tm{};
    tm.tm_year = pick(1678, 2261) - 1900;
    tm.tm_mon = pick(0, 11);
    tm.tm_mday = pick(1, 31);
    tm.tm_hour = pick(0, 23);
    tm.tm_min = pick(0, 59);
    tm.tm_sec = pick(0, 60);
    const int offset = pick(-23 * 60 - 59, 23 * 60 + 59);
    char text[64];
    std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.25%c%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec, offset < 0 ? '-' : '+', std::abs(offset) / 60, std::abs(offset) % 60);
    const TimePoint expected =
        TimePoint(std::chrono::seconds(timegm(&tm))) - std::chrono::minutes(offset) + std::chrono::milliseconds(250);
    ASSERT_EQ(parse_rfc3339(text), expected) << text;
  }
}

TEST(Rfc3339, RejectsMalformedText) {
  for (const char* bad :
       {"", "2025-11-26", "2025-11-26T15:14:41", "2025-13-26T15:14:41Z", "2025-11-26T15:14:41Zjunk", "yesterday"})
    EXPECT_FALSE(parse_rfc3339(bad).has_value()) << bad;
}

// Found by the log_filter fuzz target: year 0001 overflowed TimePoint's 64-bit nanoseconds (UB).
TEST(Rfc3339, RejectsYearsATimePointCannotHoldAndBadOffsets) {
  for (const char* bad : {"0001-01-01T00:00:00Z", "1677-12-31T23:59:59Z", "2262-01-01T00:00:00Z",
                          "9999-12-31T23:59:59.999999999Z", "2025-11-26T15:14:41+24:00", "2025-11-26T15:14:41-00:60"})
    EXPECT_FALSE(parse_rfc3339(bad).has_value()) << bad;
  const auto first = parse_rfc3339("1678-01-01T00:00:00+23:59");
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(format_rfc3339(*first), "1677-12-31T00:01:00.000Z");
  const auto last = parse_rfc3339("2261-12-31T23:59:59.999-23:59");
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(format_rfc3339(*last), "2262-01-01T23:58:59.999Z");
}

TEST(HybridLogicalClock, IsMonotonicWhenWallClockStandsStillOrGoesBack) {
  auto clock = std::make_shared<ManualClock>();
  HybridLogicalClock hlc(clock);
  const auto a = hlc.now();
  const auto b = hlc.now();
  clock->advance(-10s);
  const auto c = hlc.now();
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
}

TEST(HybridLogicalClock, OrdersAfterObservedRemoteTimestamps) {
  auto clock = std::make_shared<ManualClock>();
  HybridLogicalClock hlc(clock);
  const auto remote = HlcTimestamp::from_parts(static_cast<uint64_t>(to_unix_millis(clock->now())) + 60'000, 5);
  hlc.observe(remote);
  EXPECT_GT(hlc.now(), remote);
}

TEST(HybridLogicalClock, NeverJumpsBeyondTheMaximumOffset) {
  auto clock = std::make_shared<ManualClock>();
  HybridLogicalClock hlc(clock, 60s);
  const auto wall = static_cast<uint64_t>(to_unix_millis(clock->now()));
  const HlcTimestamp top{(uint64_t{1} << 63) - 2};
  ASSERT_TRUE(hlc.beyond_bound(top).has_value());
  EXPECT_FALSE(hlc.beyond_bound(HlcTimestamp::from_parts(wall + 60'000, 0xffff)).has_value()) << "the bound is inclusive";
  EXPECT_EQ(hlc.beyond_bound(HlcTimestamp::from_parts(wall + 3'600'000, 0)), std::chrono::milliseconds(3'600'000));
  hlc.observe(top);
  EXPECT_LE(hlc.now().millis(), wall + 60'001) << "observe moved the clock at most to the bound";
  clock->advance(10min);
  EXPECT_EQ(hlc.now().millis(), wall + 600'000) << "and the wall clock takes over again";
}

TEST(HybridLogicalClock, ReceiveStoresAfterTheRemoteAndRefusesWhatIsBeyondTheBound) {
  auto clock = std::make_shared<ManualClock>();
  HybridLogicalClock hlc(clock, 60s);
  const auto wall = static_cast<uint64_t>(to_unix_millis(clock->now()));
  const auto issued = hlc.now();
  EXPECT_FALSE(hlc.receive(HlcTimestamp::from_parts(wall + 60'001, 0)).has_value());
  EXPECT_EQ(hlc.now(), HlcTimestamp{issued.value + 1}) << "a refused timestamp leaves the clock where it was";
  const auto bound = hlc.limit();
  const auto stored = hlc.receive(bound);
  ASSERT_TRUE(stored.has_value()) << "the bound is inclusive";
  EXPECT_GT(*stored, bound);
  EXPECT_GT(hlc.now(), *stored);
  const auto older = hlc.receive(HlcTimestamp::from_parts(wall - 1'000, 0));
  ASSERT_TRUE(older.has_value());
  EXPECT_GT(*older, *stored) << "an older remote still gets a timestamp after everything issued";
}

TEST(HybridLogicalClock, RestoreIgnoresValuesBeyondTheBound) {
  auto clock = std::make_shared<ManualClock>();
  HybridLogicalClock hlc(clock, 60s);
  const auto wall = static_cast<uint64_t>(to_unix_millis(clock->now()));
  EXPECT_FALSE(hlc.restore(HlcTimestamp{(uint64_t{1} << 63) - 2}));
  EXPECT_EQ(hlc.now().millis(), wall);
  EXPECT_TRUE(hlc.restore(HlcTimestamp::from_parts(wall + 30'000, 0))) << "within the bound: kept, so versions keep growing";
  EXPECT_EQ(hlc.now().millis(), wall + 30'000);
}

TEST(HybridLogicalClock, RefusesANonPositiveOffset) {
  EXPECT_THROW(HybridLogicalClock(std::make_shared<ManualClock>(), 0ms), Error);
}
