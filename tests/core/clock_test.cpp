#include <gtest/gtest.h>

#include "clock/clock.h"
#include "clock/hlc.h"

using namespace smallpeer;
using namespace std::chrono_literals;

TEST(Rfc3339, FormatsUtcWithMilliseconds) {
  const TimePoint t = TimePoint(std::chrono::milliseconds(1764170081123));
  EXPECT_EQ(format_rfc3339(t), "2025-11-26T15:14:41.123Z");
}

TEST(Rfc3339, ParsesWhatItFormatsAndOffsets) {
  const TimePoint t = TimePoint(std::chrono::milliseconds(1764170081123));
  EXPECT_EQ(parse_rfc3339(format_rfc3339(t)), t);
  EXPECT_EQ(parse_rfc3339("2025-11-26T16:14:41.123+01:00"), t);
  EXPECT_EQ(parse_rfc3339("2025-11-26T15:14:41Z"), TimePoint(std::chrono::seconds(1764170081)));
}

TEST(Rfc3339, RejectsMalformedText) {
  for (const char* bad : {"", "2025-11-26", "2025-11-26T15:14:41", "2025-13-26T15:14:41Z", "2025-11-26T15:14:41Zjunk", "yesterday"})
    EXPECT_FALSE(parse_rfc3339(bad).has_value()) << bad;
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
