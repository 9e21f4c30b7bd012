"""The cost of a property get and set through the Python package against the same C call.

Runs the C baseline (smallpeer_capi_call_bench, Google Benchmark) and the Python properties
(timeit, best of several repeats) in one run, then prints one row per call with both costs, the
Python overhead, and the target: under 1 microsecond per Python call. bench/binding_call_bench.py
uses c_baseline and measure_python to put Python beside the other bindings.

    .venv/bin/python bench/python_call_bench.py --c-bench build/release/bench/smallpeer_capi_call_bench
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import timeit
from typing import Callable, Dict, List, Tuple

import smallpeer
from smallpeer import Ditto, DittoLogger, LogLevel

TARGET_NS = 1000.0
NUMBER = 200_000
REPEAT = 7


def c_baseline(c_bench: str) -> Dict[str, float]:
    """Runs the C benchmark and returns nanoseconds per call by benchmark name (median of 5)."""
    out = subprocess.run(
        [c_bench, "--benchmark_format=json", "--benchmark_repetitions=5", "--benchmark_report_aggregates_only=true"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: Dict[str, float] = {}
    for b in json.loads(out)["benchmarks"]:
        if b.get("aggregate_name") == "median":
            assert b["time_unit"] == "ns", b["time_unit"]
            result[b["run_name"]] = float(b["real_time"])
    return result


def python_ns(fn: Callable[[], object], number: int = NUMBER, repeat: int = REPEAT) -> float:
    """Nanoseconds per call of `fn`: the best of `repeat` timeit runs of `number` calls."""
    fn()  # warm up, and fail loudly before timing if the call raises
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e9


def measure_python() -> List[Tuple[str, str, float]]:
    """Times the Python calls on a fresh small peer: (C benchmark name, Python spelling, ns per call) each."""
    with tempfile.TemporaryDirectory(prefix="smallpeer-bench-") as tmp, Ditto(tmp, device_name="bench") as ditto:
        spi = ditto.small_peer_info

        def set_enabled() -> None:
            spi.is_enabled = False

        def set_level() -> None:
            DittoLogger.minimum_log_level = LogLevel.INFO

        rows: List[Tuple[str, str, Callable[[], object]]] = [
            ("BM_SpiIsEnabledGet", "small_peer_info.is_enabled (get)", lambda: spi.is_enabled),
            ("BM_SpiIsEnabledSet", "small_peer_info.is_enabled = False (set)", set_enabled),
            ("BM_LoggerMinimumLevelGet", "DittoLogger.minimum_log_level (get)", lambda: DittoLogger.minimum_log_level),
            ("BM_LoggerMinimumLevelSet", "DittoLogger.minimum_log_level = INFO (set)", set_level),
        ]
        return [(c_name, spelling, python_ns(fn)) for c_name, spelling, fn in rows]


def main() -> int:
    """Prints the comparison table (a MISS is reported, not an error)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--c-bench", required=True, help="path to smallpeer_capi_call_bench")
    args = parser.parse_args()

    print(f"python_call_bench: smallpeer {smallpeer.__version__}, Python {sys.version.split()[0]}")
    print("python_call_bench: measuring the C baseline (Google Benchmark, median of 5)")
    c = c_baseline(args.c_bench)
    print(f"python_call_bench: measuring the Python properties (timeit, best of {REPEAT} x {NUMBER:,} calls)")
    print()
    print(f"{'call':<44}{'C ns':>9}{'Python ns':>11}{'overhead ns':>13}  target < {TARGET_NS:.0f} ns")
    for c_name, label, py in measure_python():
        base = c[c_name]
        verdict = "PASS" if py < TARGET_NS else "MISS"
        print(f"{label:<44}{base:>9.1f}{py:>11.1f}{py - base:>13.1f}  {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
