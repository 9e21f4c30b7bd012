// Google Benchmark programs for the engine. Each benchmark keeps its helpers in its own namespace,
// so more can be added to this file independently.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "clock/clock.h"
#include "clock/hlc.h"
#include "ditto/ditto.h"
#include "store/store.h"
#include "support/temp_dir.h"

namespace store_bench {

using ScratchDir = smallpeer::test_support::TempDir;

// Upserts of a ~1 KB document, cycling over 1,000 ids so the table (and the disk) stays bounded.
void BM_StoreUpsert(benchmark::State& state) {
  ScratchDir dir;
  auto store = smallpeer::Store::open(dir.path() / "bench.db",
                                      std::make_shared<smallpeer::HybridLogicalClock>(std::make_shared<smallpeer::SystemClock>()),
                                      "bench-peer");
  std::vector<std::string> docs;
  for (int i = 0; i < 1000; ++i) {
    docs.push_back(fmt::format(R"({{"_id":"doc-{:04}","owner":"bench","count":{},"tags":["a","b","c"],"body":"{}"}})", i, i,
                               std::string(940, 'x')));
  }
  size_t next = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(store->upsert("bench", docs[next]));
    next = (next + 1) % docs.size();
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(docs[0].size()));
  state.counters["doc_bytes"] = static_cast<double>(docs[0].size());
}
BENCHMARK(BM_StoreUpsert);

}  // namespace store_bench

namespace spi_bench {

using smallpeer::test_support::TempDir;

// A small peer like one in the field: SPI enabled, a few user collections, some metadata. The
// schedule is driven manually so only the measured collections run.
struct Peer {
  TempDir dir{"smallpeer-bench-spi"};
  std::shared_ptr<smallpeer::Ditto> ditto;
  Peer() {
    smallpeer::UserLogOutput::instance().set_console_enabled(false);
    smallpeer::DittoConfig config;
    config.persistence_dir = dir.path() / "peer";
    config.scheduler = std::make_shared<smallpeer::ManualScheduler>();
    config.device_name = "bench-device";
    ditto = smallpeer::Ditto::open(config);
    for (int i = 0; i < 200; ++i) ditto->upsert(i % 2 ? "orders" : "tasks", fmt::format(R"({{"_id":"d{}","n":{}}})", i, i));
    ditto->small_peer_info().set_metadata_json(R"({"site":"north","fleet":"forklifts","shift":2})");
    ditto->small_peer_info().set_enabled(true);
  }
};

// One collection cycle: build the document from live state and write it to __small_peer_info.
void BM_CollectionCycle(benchmark::State& state) {
  Peer peer;
  auto& spi = peer.ditto->small_peer_info();
  for (auto _ : state) benchmark::DoNotOptimize(spi.collect_now());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CollectionCycle)->Unit(benchmark::kMicrosecond);

// Building the document alone (no write): the baseline that shows what the write costs.
void BM_BuildDocument(benchmark::State& state) {
  Peer peer;
  auto& spi = peer.ditto->small_peer_info();
  for (auto _ : state) benchmark::DoNotOptimize(spi.build_document());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BuildDocument)->Unit(benchmark::kMicrosecond);

}  // namespace spi_bench

BENCHMARK_MAIN();
