// Google Benchmark programs for the engine. Each benchmark keeps its helpers in its own namespace,
// so more can be added to this file independently.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "clock/clock.h"
#include "clock/hlc.h"
#include "ditto/ditto.h"
#include "log/engine_log.h"
#include "log/user_log_output.h"
#include "query/dql.h"
#include "query/query.h"
#include "sample_log.h"
#include "spi/spi_signature.h"
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

// Signing a built document (every Small Peer Info write is signed by its owner, spi_signature.h):
// what BM_CollectionCycle pays for it, against BM_BuildDocument in the same run.
void BM_SealDocument(benchmark::State& state) {
  Peer peer;
  const std::string body = peer.ditto->small_peer_info().build_document();
  const auto identity = smallpeer::PeerIdentity::load_or_create(peer.dir.path() / "sign.key");
  uint64_t hlc = 1;
  for (auto _ : state) benchmark::DoNotOptimize(smallpeer::seal_spi_document(identity, smallpeer::HlcTimestamp{hlc++}, body));
  state.SetItemsProcessed(state.iterations());
  state.counters["doc_bytes"] = static_cast<double>(body.size());
}
BENCHMARK(BM_SealDocument)->Unit(benchmark::kMicrosecond);

// Checking one carried document's signature: what the Big Peer pays per document an admin device
// carries home (spi_signature.h).
void BM_VerifyDocument(benchmark::State& state) {
  Peer peer;
  const auto identity = smallpeer::PeerIdentity::load_or_create(peer.dir.path() / "sign.key");
  smallpeer::Document doc;
  doc.id = identity.peer_key();
  doc.version = {smallpeer::HlcTimestamp{42}, identity.peer_key()};
  doc.json = smallpeer::seal_spi_document(identity, doc.version.hlc, peer.ditto->small_peer_info().build_document());
  for (auto _ : state) {
    if (smallpeer::verify_spi_document(doc) != smallpeer::SpiSignature::valid)
      state.SkipWithError("the signature did not verify");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_VerifyDocument)->Unit(benchmark::kMicrosecond);

}  // namespace spi_bench

namespace query_bench {

using ScratchDir = smallpeer::test_support::TempDir;

// DQL over a fleet's reports (docs/QUERY.md): 10,000 SPI-shaped documents of ~1.1 KB in
// __small_peer_info of a Big Peer-tuned SQLite store, a quarter of them at each of four sites.
constexpr int kDevices = 10'000;

struct Fleet {
  ScratchDir dir;
  std::unique_ptr<smallpeer::Store> store;

  Fleet() {
    store = smallpeer::Store::open(dir.path() / "fleet.db",
                                   std::make_shared<smallpeer::HybridLogicalClock>(std::make_shared<smallpeer::SystemClock>()),
                                   "bench-big-peer", smallpeer::StoreOptions::for_big_peer());
    static constexpr const char* kSites[] = {"north", "south", "east", "west"};
    std::vector<smallpeer::Document> batch;
    for (int i = 0; i < kDevices; ++i) {
      const std::string id = fmt::format("pk{:06}", i);
      batch.push_back(smallpeer::Document{
          "__small_peer_info",
          id,
          fmt::format(R"({{"_id":"{}","device_name":"device-{}","sequence":{},"collection_interval_ms":300000,)"
                      R"("metadata":{{"site":"{}","app_version":"3.4.{}"}},"device_disk_usage":{{"device_available":{},)"
                      R"("device_total":64000000000}},"is_connected_to_big_peer":{},"pad":"{}"}})",
                      id, i, i % 97, kSites[i % 4], i % 3, (int64_t{i} * 6'400'000) % 64'000'000'000,
                      i % 5 != 0 ? "true" : "false", std::string(800, 'x')),
          {{static_cast<uint64_t>(1) << 20}, id},
          false,
          {}});
      if (batch.size() == 1000) {
        store->merge_batch(batch, {});
        batch.clear();
      }
    }
  }
};

Fleet& fleet() {
  static Fleet f;
  return f;
}

void run(benchmark::State& state, const char* query, const char* args) {
  auto& f = fleet();
  size_t items = 0;
  for (auto _ : state) {
    const auto result = smallpeer::execute_query(*f.store, query, args);
    items = result.items.size();
    benchmark::DoNotOptimize(result);
  }
  state.counters["items"] = static_cast<double>(items);
  state.counters["documents"] = kDevices;
}

// The baseline: reading every report as it is stored (the Data Browser's pages), no filter.
void BM_ListEveryReport(benchmark::State& state) {
  auto& f = fleet();
  for (auto _ : state) benchmark::DoNotOptimize(f.store->list("__small_peer_info", kDevices));
  state.counters["documents"] = kDevices;
}
BENCHMARK(BM_ListEveryReport)->Unit(benchmark::kMillisecond);

// A metadata filter, ORDER BY a nested number and LIMIT: the issue's "must show" query.
void BM_QueryMetadataFilterOrderLimit(benchmark::State& state) {
  run(state,
      "SELECT * FROM __small_peer_info WHERE metadata.site = :site ORDER BY device_disk_usage.device_available DESC LIMIT 10",
      R"({"site":"north"})");
}
BENCHMARK(BM_QueryMetadataFilterOrderLimit)->Unit(benchmark::kMillisecond);

// Devices under 1 GB free, as a projection.
void BM_QueryLowDiskProjection(benchmark::State& state) {
  run(state,
      "SELECT _id, device_disk_usage.device_available AS free FROM __small_peer_info WHERE "
      "device_disk_usage.device_available < 1000000000",
      "");
}
BENCHMARK(BM_QueryLowDiskProjection)->Unit(benchmark::kMillisecond);

// A count per site (GROUP BY).
void BM_QueryCountBySite(benchmark::State& state) {
  run(state, "SELECT metadata.site, COUNT(*) AS n FROM __small_peer_info GROUP BY metadata.site", "");
}
BENCHMARK(BM_QueryCountBySite)->Unit(benchmark::kMillisecond);

// The dashboard's page: 1,000 ids after a key, in key order. `_id` reads the indexed id column, so a
// page costs its own rows, not the collection's (the last page, after pk009000, as the first).
void BM_QueryIdPage(benchmark::State& state) {
  run(state, "SELECT _id, metadata FROM __small_peer_info WHERE _id > :after ORDER BY _id LIMIT 1000", R"({"after":"pk009000"})");
}
BENCHMARK(BM_QueryIdPage)->Unit(benchmark::kMillisecond);

// The same page by OFFSET, which reads and skips every row before it.
void BM_QueryOffsetPage(benchmark::State& state) {
  run(state, "SELECT _id, metadata FROM __small_peer_info LIMIT 1000 OFFSET 9000", "");
}
BENCHMARK(BM_QueryOffsetPage)->Unit(benchmark::kMillisecond);

// One device's history rows by their _id range (report_history.h), among 10,000 devices' reports.
void BM_QueryIdRange(benchmark::State& state) {
  run(state, "SELECT * FROM __small_peer_info WHERE _id > :low AND _id < :high ORDER BY _id",
      R"({"low":"pk004200","high":"pk004210"})");
}
BENCHMARK(BM_QueryIdRange)->Unit(benchmark::kMillisecond);

// Parsing and translating alone: the language's own cost, without SQLite.
void BM_ParseAndTranslate(benchmark::State& state) {
  const char* query =
      "SELECT * FROM __small_peer_info WHERE metadata.site = :site AND (device_disk_usage.device_available < 1000000000 OR "
      "is_connected_to_big_peer = false) ORDER BY device_disk_usage.device_available DESC LIMIT 10";
  for (auto _ : state) {
    const auto statement = smallpeer::dql::parse(query);
    benchmark::DoNotOptimize(smallpeer::dql::translate(statement, R"({"site":"north"})", smallpeer::dql::Dialect::sqlite));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseAndTranslate)->Unit(benchmark::kMicrosecond);

}  // namespace query_bench

namespace log_export_bench {

// A device's engine log, written once: the log request bench's lines (sample_log.h), ~9 MB in 1 MB files.
smallpeer::EngineLog& full_log() {
  static smallpeer::test_support::TempDir dir("log-export-bench");
  static const auto log = [] {
    smallpeer::UserLogOutput::instance().set_console_enabled(false);
    auto made =
        std::make_unique<smallpeer::EngineLog>(dir.path() / "logs", "bench-peer", std::make_shared<smallpeer::SystemClock>());
    smallpeer::bench::write_sample_log(*made, [](int) {});
    return made;
  }();
  return *log;
}

// A log bundle of the newest `range(0)` MB (10: all of it), as a device builds one for a log request.
void BM_ExportLogs(benchmark::State& state) {
  auto& log = full_log();
  smallpeer::LogFilter filter;
  filter.max_bytes = static_cast<uint64_t>(state.range(0)) * 1024 * 1024;
  const auto out = log.directory().parent_path() / "bundle.jsonl.gz";
  smallpeer::LogExportResult result;
  for (auto _ : state) result = log.export_gzip(out, filter);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(result.uncompressed_bytes));
  state.counters["bundle_bytes"] = static_cast<double>(result.compressed_bytes);
  state.counters["log_bytes"] = static_cast<double>(log.total_bytes());
}
BENCHMARK(BM_ExportLogs)->Arg(1)->Arg(10)->Unit(benchmark::kMillisecond);

}  // namespace log_export_bench

BENCHMARK_MAIN();
