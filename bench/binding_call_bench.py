"""The cost of a property get and set through every language binding against the same C call.

One run: the C baseline (smallpeer_capi_call_bench, Google Benchmark, median of 5), then the same
four calls through Python (python_call_bench.measure_python, in this process), JavaScript
(js_call_bench.cjs on the staged npm package), Kotlin and Java (jvm/CallBench.kt and
jvm/JavaCallBench.java on smallpeer.jar, after a JIT warm-up) and Swift (swift_call_bench, a
release build). Prints one table: per call the C ns, then each language's ns and its overhead
over C, and each language's target for a property get with PASS/MISS (both gets must meet it).
A MISS is reported, not an error; a bench that cannot run is an error.

    .venv/bin/python bench/binding_call_bench.py --build-dir build/release

The build directory needs the targets smallpeer_capi_call_bench, smallpeer_node_package,
smallpeer_jvm_call_bench and smallpeer_swift_call_bench (scripts/bench.sh builds them).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Tuple

from python_call_bench import c_baseline, measure_python

# The C benchmark's names, which every language's bench prints, in table order.
CALLS = ["BM_SpiIsEnabledGet", "BM_SpiIsEnabledSet", "BM_LoggerMinimumLevelGet", "BM_LoggerMinimumLevelSet"]
GETS = ["BM_SpiIsEnabledGet", "BM_LoggerMinimumLevelGet"]
LINE = re.compile(r"^(BM_\w+) ([0-9.]+) (.+)$")


class Language(NamedTuple):
    """One binding: its name, its target for a property get, and its figures once measured."""

    name: str
    target_ns: float
    ns: Dict[str, float]
    spelling: Dict[str, str]


def require(path: Path, target: str) -> Path:
    """`path`, or a clear error naming the CMake target that builds it."""
    if not path.exists():
        sys.exit(
            f"binding_call_bench: {path} is missing: build it with `cmake --build --preset release --target {target}`"
        )
    return path


def run_bench(
    name: str, command: List[str], env: Optional[Dict[str, str]] = None
) -> Tuple[Dict[str, float], Dict[str, str]]:
    """Runs one language's bench and parses its `name ns spelling` lines; its other output is shown only on failure."""
    proc = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **(env or {})})
    ns: Dict[str, float] = {}
    spelling: Dict[str, str] = {}
    for line in proc.stdout.splitlines():
        m = LINE.match(line)
        if m:
            ns[m.group(1)] = float(m.group(2))
            spelling[m.group(1)] = m.group(3)
    missing = [c for c in CALLS if c not in ns]
    if proc.returncode != 0 or missing:
        sys.stderr.write(proc.stdout + proc.stderr)
        sys.exit(
            f"binding_call_bench: the {name} bench failed (exit {proc.returncode}; calls missing: {missing or 'none'})"
        )
    return ns, spelling


def main() -> int:
    """Measures every binding and prints the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--build-dir", default="build/release", help="the CMake build directory (default build/release)"
    )
    args = parser.parse_args()
    build = Path(args.build_dir).resolve()
    here = Path(__file__).resolve().parent

    c_bench = require(build / "bench" / "smallpeer_capi_call_bench", "smallpeer_capi_call_bench")
    js_package = require(build / "js" / "package", "smallpeer_node_package")
    jvm_classpath = require(build / "bench" / "jvm" / "classpath", "smallpeer_jvm_call_bench").read_text().strip()
    require(build / "bench" / "jvm" / "classes.stamp", "smallpeer_jvm_call_bench")
    swift_bench = require(
        build / "bench" / "swift" / ".build" / "release" / "SwiftCallBench", "smallpeer_swift_call_bench"
    )

    print("binding_call_bench: C baseline (Google Benchmark, median of 5)", flush=True)
    c = c_baseline(str(c_bench))
    languages: List[Language] = []

    print("binding_call_bench: Python (timeit, best of 7 x 200,000 calls)", flush=True)
    py = measure_python()
    languages.append(Language("Python", 1000.0, {k: v for k, _, v in py}, {k: s for k, s, _ in py}))

    benches: List[Tuple[str, float, List[str], Dict[str, str]]] = [
        ("JS", 300.0, ["node", str(here / "js_call_bench.cjs")], {"SMALLPEER_PACKAGE": str(js_package)}),
        ("Kotlin", 100.0, ["java", "-cp", jvm_classpath, "io.smallpeer.bench.KotlinCallBench"], {}),
        ("Java", 100.0, ["java", "-cp", jvm_classpath, "io.smallpeer.bench.JavaCallBench"], {}),
        ("Swift", 50.0, [str(swift_bench)], {}),
    ]
    for name, target, command, env in benches:
        print(f"binding_call_bench: {name} ({Path(command[-1]).name})", flush=True)
        ns, spelling = run_bench(name, command, env)
        languages.append(Language(name, target, ns, spelling))

    print()
    print("ns per call (best of repeats; C: median of 5); +ovh = the language's ns minus C's")
    header = f"{'call':<26}{'C ns':>7}" + "".join(f"{lang.name + ' ns':>12}{'+ovh':>7}" for lang in languages)
    print(header)
    for call in CALLS:
        base = c[call]
        cells = "".join(f"{lang.ns[call]:>12.1f}{lang.ns[call] - base:>7.1f}" for lang in languages)
        print(f"{call:<26}{base:>7.1f}{cells}")
    targets = "".join(f"{'<= ' + format(lang.target_ns, '.0f'):>12}{'':>7}" for lang in languages)
    print(f"{'target for a get':<26}{'':>7}{targets}".rstrip())
    verdicts = "".join(
        f"{'PASS' if all(lang.ns[g] <= lang.target_ns for g in GETS) else 'MISS':>12}{'':>7}" for lang in languages
    )
    print(f"{'both gets':<26}{'':>7}{verdicts}".rstrip())
    print()
    print("the calls as each language spells them:")
    for lang in languages:
        print(f"  {lang.name + ':':<8}" + "; ".join(lang.spelling[call] for call in CALLS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
