// The engine log the log benchmarks export: the same lines in both (bench/core_bench.cpp's
// BM_ExportLogs and bench/log_request_bench.cpp), so their figures compare.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <random>

#include "log/log_level.h"

namespace smallpeer::bench {

/// How many lines write_sample_log writes: about 11 MB of JSON Lines, more than the engine keeps.
inline constexpr int kSampleLogLines = 52'000;

/// Writes kSampleLogLines realistic lines (a warning in ten) through `log` (an EngineLog or a
/// Ditto), calling `progress(i)` every 10,000 lines.
template <typename Log, typename Progress>
void write_sample_log(Log& log, Progress&& progress) {
  std::mt19937_64 rng(7);
  const char* components[] = {"sync", "store", "app", "spi", "presence"};
  for (int i = 0; i < kSampleLogLines; ++i) {
    log.log(i % 10 == 0 ? LogLevel::warning : LogLevel::info, components[i % 5],
            fmt::format("order {} synced in {} ms from peer pk{:016x}; queue depth {}", i, rng() % 500, rng(), rng() % 64));
    if (i % 10'000 == 0) progress(i);
  }
}

}  // namespace smallpeer::bench
