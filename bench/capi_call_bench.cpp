// The cost of single property calls through the C API: the baseline that
// bench/binding_call_bench.py (and bench/python_call_bench.py) compares each language binding's
// properties with, in the same run. Each benchmark is one C call on an open handle; every
// language's bench reports its calls under these benchmarks' names.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "smallpeer/smallpeer.h"
#include "support/temp_dir.h"

namespace capi_call_bench {

// One open small peer for the whole program (opening is not what is measured).
class OpenPeer {
 public:
  OpenPeer() {
    std::string config = R"({"persistence_dir":")" + dir_.path().string() + R"(","device_name":"bench"})";
    if (sp_ditto_open(config.c_str(), &ditto_) != SP_OK) {
      std::fprintf(stderr, "capi_call_bench: sp_ditto_open failed: %s\n", sp_last_error_message());
      std::exit(1);
    }
  }
  ~OpenPeer() { sp_ditto_free(ditto_); }
  sp_ditto_t* get() const { return ditto_; }

 private:
  smallpeer::test_support::TempDir dir_;
  sp_ditto_t* ditto_ = nullptr;
};

sp_ditto_t* peer() {
  static OpenPeer open;
  return open.get();
}

void check(sp_status_t status, benchmark::State& state) {
  if (status != SP_OK) state.SkipWithError(sp_last_error_message());
}

// small_peer_info.is_enabled (get)
void BM_SpiIsEnabledGet(benchmark::State& state) {
  bool enabled = false;
  for (auto _ : state) {
    check(sp_spi_get_enabled(peer(), &enabled), state);
    benchmark::DoNotOptimize(enabled);
  }
}
BENCHMARK(BM_SpiIsEnabledGet);

// small_peer_info.is_enabled = False (set to the current value: no document is written)
void BM_SpiIsEnabledSet(benchmark::State& state) {
  for (auto _ : state) check(sp_spi_set_enabled(peer(), false), state);
}
BENCHMARK(BM_SpiIsEnabledSet);

// DittoLogger.minimum_log_level (get)
void BM_LoggerMinimumLevelGet(benchmark::State& state) {
  sp_log_level_t level = 0;
  for (auto _ : state) {
    check(sp_logger_get_minimum_level(&level), state);
    benchmark::DoNotOptimize(level);
  }
}
BENCHMARK(BM_LoggerMinimumLevelGet);

// DittoLogger.minimum_log_level = LogLevel.INFO (set)
void BM_LoggerMinimumLevelSet(benchmark::State& state) {
  for (auto _ : state) check(sp_logger_set_minimum_level(SP_LOG_INFO), state);
}
BENCHMARK(BM_LoggerMinimumLevelSet);

}  // namespace capi_call_bench

BENCHMARK_MAIN();
