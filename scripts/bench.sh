#!/usr/bin/env bash
# Runs the benchmarks under bench/ on an optimised build and prints their figures:
#   1. smallpeer_core_bench   (Google Benchmark: store upserts, SPI collection cycles)
#   2. smallpeer_ingest_bench (a real Big Peer fed by a 1,000-peer fleet, against the store ceiling),
#      then again with --compare-backends (SQLite vs PostgreSQL, two PostgreSQL nodes vs one)
#   3. bench/binding_call_bench.py (a property get/set in Python, JS, Kotlin, Java and Swift against the same C call)
#   4. smallpeer_log_request_bench (log request -> downloadable, 1 MB and 10 MB, against a local export)
# Arguments starting with --benchmark_ go to the core bench (e.g. --benchmark_filter=Collection),
# all others to the ingest bench (e.g. --peers 200 --seconds 10).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

core_args=()
ingest_args=()
for arg in "$@"; do
  if [[ $arg == --benchmark_* ]]; then core_args+=("$arg"); else ingest_args+=("$arg"); fi
done

jobs="${SMALLPEER_BUILD_JOBS:-$(nproc)}"
echo "bench: configuring and building the release preset (-j${jobs})"
cmake --preset release -DSMALLPEER_BUILD_BENCH=ON -DSMALLPEER_BUILD_TOOLS=ON >/dev/null
cmake --build --preset release -j"${jobs}" --target smallpeer_core_bench smallpeer_ingest_bench smallpeer_cli \
  smallpeer_capi_call_bench smallpeer_log_request_bench \
  smallpeer_node_package smallpeer_jvm_call_bench smallpeer_swift_call_bench

echo
echo "bench: [1/4] smallpeer_core_bench"
build/release/bench/smallpeer_core_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \
  ${core_args[@]+"${core_args[@]}"}

echo
echo "bench: [2/4] smallpeer_ingest_bench ${ingest_args[*]+${ingest_args[*]}}"
build/release/bench/smallpeer_ingest_bench ${ingest_args[@]+"${ingest_args[@]}"}
echo
echo "bench: [2/4] smallpeer_ingest_bench --compare-backends ${ingest_args[*]+${ingest_args[*]}}"
build/release/bench/smallpeer_ingest_bench --compare-backends ${ingest_args[@]+"${ingest_args[@]}"}

echo
echo "bench: [3/4] binding_call_bench (each binding's property vs the same C call)"
# shellcheck source=python_env.sh
source scripts/python_env.sh
python_env_install
"$PY" bench/binding_call_bench.py --build-dir build/release

echo
echo "bench: [4/4] smallpeer_log_request_bench"
build/release/bench/smallpeer_log_request_bench
