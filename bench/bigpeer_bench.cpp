// Google Benchmark programs for the Big Peer's CPU work per received report on a session's
// thread (what smallpeer_anchor_bench's "Big Peer CPU us per report" is made of, besides the
// network and the store): decoding the DOCS frame, checking the document, building its history
// row, encoding the ACK. Each runs on one real Small Peer Info document.
#include <benchmark/benchmark.h>
#include <simdjson.h>

#include <memory>
#include <string>
#include <vector>

#include "bigpeer/report_history.h"
#include "clock/clock.h"
#include "spi/small_peer_info_collector.h"
#include "store/store_support.h"
#include "sync/protocol.h"
#include "sync_load.h"

namespace {

using namespace smallpeer;

// One real report, as the anchor bench's generator sends it (the same metadata).
const Document& sample_report() {
  static const Document report = [] {
    Document doc;
    doc.collection = std::string(kSmallPeerInfoCollection);
    doc.json = bench::sample_spi_document(bench::kSampleMetadata);
    doc.id = bench::spi_document_key(doc.json);
    doc.version = {HlcTimestamp{1}, doc.id};
    doc.stored_at = HlcTimestamp{1};
    return doc;
  }();
  return report;
}

// A DOCS frame of one report, decoded (the generator sends one report per frame).
void BM_DecodeDocsFrame(benchmark::State& state) {
  const std::string frame = sync::encode(sync::Docs{7, {sample_report()}});
  std::string error;
  for (auto _ : state) benchmark::DoNotOptimize(sync::decode(frame, error));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecodeDocsFrame);

// IngestQueue::submit's check of a received report (parse, minify, _id), on a copy of it.
void BM_CheckIncoming(benchmark::State& state) {
  simdjson::dom::parser parser;
  for (auto _ : state) {
    Document doc = sample_report();
    store_support::check_incoming(parser, doc);
    benchmark::DoNotOptimize(doc.json.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CheckIncoming);

// The same report with one space before it: minified again (store_support's slow path), the
// baseline for what keeping an already minified text saves.
void BM_CheckIncomingNotMinified(benchmark::State& state) {
  Document spaced = sample_report();
  spaced.json.insert(0, " ");
  simdjson::dom::parser parser;
  for (auto _ : state) {
    Document doc = spaced;
    store_support::check_incoming(parser, doc);
    benchmark::DoNotOptimize(doc.json.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CheckIncomingNotMinified);

// The copy BM_CheckIncoming makes, alone: its baseline.
void BM_CopyReport(benchmark::State& state) {
  for (auto _ : state) {
    Document doc = sample_report();
    benchmark::DoNotOptimize(doc.json.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CopyReport);

// What IngestQueue::submit does per report: the check, then the history row from its parse.
void BM_CheckIncomingAndHistoryRow(benchmark::State& state) {
  const bigpeer::ReportHistory history(bigpeer::kDefaultHistoryReports, std::make_shared<SystemClock>());
  const TimePoint now = history.now();
  simdjson::dom::parser parser;
  for (auto _ : state) {
    Document doc = sample_report();
    const auto body = store_support::check_incoming(parser, doc);
    benchmark::DoNotOptimize(history.row(doc, *body, now));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CheckIncomingAndHistoryRow);

// The history row of a report parsed on its own (ReportHistory::row's other overload): what
// sharing the check's parse saves, against BM_CheckIncomingAndHistoryRow - BM_CheckIncoming.
void BM_HistoryRowParsingAgain(benchmark::State& state) {
  const bigpeer::ReportHistory history(bigpeer::kDefaultHistoryReports, std::make_shared<SystemClock>());
  const TimePoint now = history.now();
  for (auto _ : state) benchmark::DoNotOptimize(history.row(sample_report(), now));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HistoryRowParsingAgain);

// The ACK of one batch, encoded.
void BM_EncodeAck(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(sync::encode(sync::Ack{7, {}}));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EncodeAck);

}  // namespace

BENCHMARK_MAIN();
