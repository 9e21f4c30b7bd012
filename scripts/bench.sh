#!/usr/bin/env bash
# Runs the benchmarks under bench/ on an optimised build and prints their figures:
#   1. smallpeer_core_bench   (Google Benchmark: store upserts, SPI collection cycles, DQL queries, log exports),
#      then smallpeer_bigpeer_bench (the Big Peer's CPU work per received report on a session's thread)
#   2. smallpeer_ingest_bench (a real Big Peer fed by a 1,000-peer fleet, against the store ceiling),
#      then again with --compare-backends (SQLite vs PostgreSQL, two PostgreSQL nodes vs one)
#   3. bench/binding_call_bench.py (a property get/set in Python, JS, Kotlin, Java and Swift against the same C call)
#   4. smallpeer_log_request_bench (log request -> downloadable, 1 MB and 10 MB, against a local export)
#   5. smallpeer_anchor_bench (the Big Peer alone under the lean sync load generator, side by side
#      with Mosquitto under an MQTT generator of the same shape; bigpeer/README.md, Benchmarks)
# Arguments starting with --benchmark_ go to the core bench (e.g. --benchmark_filter=Collection),
# all others to the ingest bench (e.g. --peers 200 --seconds 10).
# `scripts/bench.sh anchor [ARGS]` runs only step 5, passing ARGS to it (e.g. --rounds 3 --idle 0).
set -euo pipefail
cd "$(dirname "$0")/.."
# Bench-only Debian packages, installed by setup.sh with the rest: the Mosquitto anchor
# (bench/mqtt_anchor.h) runs Debian's broker and drives it with libmosquitto. Installing mosquitto
# may also start the system's own broker service on port 1883; harmless, the bench starts a broker
# of its own on a free port with its own config.
scripts/setup.sh mosquitto libmosquitto-dev

jobs="${SMALLPEER_BUILD_JOBS:-$(nproc)}"
if [[ ${1:-} == anchor ]]; then
  shift
  echo "bench: configuring and building smallpeer_anchor_bench in the release preset (-j${jobs})"
  cmake --preset release -DSMALLPEER_BUILD_BENCH=ON -DSMALLPEER_BUILD_TOOLS=ON >/dev/null
  cmake --build --preset release -j"${jobs}" --target smallpeer_anchor_bench smallpeer_cli
  exec build/release/bench/smallpeer_anchor_bench "$@"
fi

core_args=()
ingest_args=()
for arg in "$@"; do
  if [[ $arg == --benchmark_* ]]; then core_args+=("$arg"); else ingest_args+=("$arg"); fi
done

echo "bench: configuring and building the release preset (-j${jobs})"
cmake --preset release -DSMALLPEER_BUILD_BENCH=ON -DSMALLPEER_BUILD_TOOLS=ON >/dev/null
cmake --build --preset release -j"${jobs}" --target smallpeer_core_bench smallpeer_bigpeer_bench smallpeer_ingest_bench smallpeer_cli \
  smallpeer_capi_call_bench smallpeer_log_request_bench smallpeer_anchor_bench \
  smallpeer_node_package smallpeer_jvm_call_bench smallpeer_swift_call_bench

echo
echo "bench: [1/5] smallpeer_core_bench"
build/release/bench/smallpeer_core_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \
  ${core_args[@]+"${core_args[@]}"}
echo
echo "bench: [1/5] smallpeer_bigpeer_bench"
build/release/bench/smallpeer_bigpeer_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true

echo
echo "bench: [2/5] smallpeer_ingest_bench ${ingest_args[*]+${ingest_args[*]}}"
build/release/bench/smallpeer_ingest_bench ${ingest_args[@]+"${ingest_args[@]}"}
echo
echo "bench: [2/5] smallpeer_ingest_bench --compare-backends ${ingest_args[*]+${ingest_args[*]}}"
build/release/bench/smallpeer_ingest_bench --compare-backends ${ingest_args[@]+"${ingest_args[@]}"}

echo
echo "bench: [3/5] binding_call_bench (each binding's property vs the same C call)"
# shellcheck source=python_env.sh
source scripts/python_env.sh
python_env_install
"$PY" bench/binding_call_bench.py --build-dir build/release

echo
echo "bench: [4/5] smallpeer_log_request_bench"
build/release/bench/smallpeer_log_request_bench

echo
echo "bench: [5/5] smallpeer_anchor_bench (the Big Peer alone, against Mosquitto)"
build/release/bench/smallpeer_anchor_bench
