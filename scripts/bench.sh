#!/usr/bin/env bash
# Runs the benchmarks under bench/ on an optimised build and prints their figures.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake --preset release -DSMALLPEER_BUILD_BENCH=ON >/dev/null
cmake --build --preset release --target smallpeer_core_bench
build/release/bench/smallpeer_core_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true "$@"
