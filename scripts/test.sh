#!/usr/bin/env bash
# Runs every test on a fresh machine: installs dependencies, builds the dev preset, runs ctest.
set -euo pipefail
cd "$(dirname "$0")/.."

# Each step prints when it starts ("test: [mm:ss] ..."); the run ends, passed or not, with the
# seconds each step took, so a slow run shows where its time went (README: under 40 minutes).
step_names=()
step_seconds=()
step_started=$SECONDS
# Closes the step under way and starts the one named "$1".
step() {
  if ((${#step_names[@]} > 0)); then step_seconds+=($((SECONDS - step_started))); fi
  step_started=$SECONDS
  step_names+=("$1")
  printf 'test: [%02d:%02d] %s\n' $((SECONDS / 60)) $((SECONDS % 60)) "$1"
}
# Prints each step's duration; the EXIT trap, so a failed run shows them up to the step that failed
# (the script's exit status stays that of the command that failed).
step_summary() {
  local status=$? i verdict=passed
  if ((${#step_seconds[@]} < ${#step_names[@]})); then step_seconds+=($((SECONDS - step_started))); fi
  if ((status != 0)); then
    verdict="FAILED (exit $status)"
    if ((${#step_names[@]} > 0)); then verdict+=" in: ${step_names[-1]}"; fi
  fi
  echo "test: $verdict; time per step ($((SECONDS / 60)) min $((SECONDS % 60)) s in all):"
  for i in "${!step_names[@]}"; do
    printf 'test:   %4d s  %s\n' "${step_seconds[$i]}" "${step_names[$i]}"
  done
}
trap step_summary EXIT

step "installing dependencies (scripts/setup.sh)"
scripts/setup.sh
# Formatting is not a review topic: an unformatted C/C++ file fails the run before anything builds.
step "checking the format"
scripts/check_format.sh
# A moved section or a renamed heading breaks the links to it: every Markdown link must resolve.
step "checking the documentation's links"
scripts/check_links.py
step "configuring (preset dev)"
cmake --preset dev >/dev/null
step "building"
cmake --build --preset dev
# clang-tidy (.clang-tidy) on the C++ sources changed since scripts/clang_tidy_base: a finding fails
# the run. After the build, so generated files exist; the scope keeps it to minutes (README).
step "clang-tidy"
scripts/clang_tidy.sh
step "running ctest"
ctest --preset dev --parallel 2 -E '^(python_package|portal_browser)$' -LE '^(binding|conformance|package)$'
# The Python sdist and the manylinux wheel built from it (docs/PACKAGES.md): the package tests install
# that wheel, and so do the Python and portal suites below (the engine is compiled for Python once).
step "building the Python sdist and wheel (scripts/package.sh python)"
scripts/package.sh python
SMALLPEER_PYTHON_WHEEL=$(find "$PWD/dist" -maxdepth 1 -name 'smallpeer-*-manylinux_*.whl' -print | sort | tail -n 1)
export SMALLPEER_PYTHON_WHEEL
# The packages as their users get them (ctest label `package`, docs/PACKAGES.md): verbose, so each
# throwaway project's steps show.
step "the packages in throwaway projects"
ctest --preset dev -L '^package$' --verbose
# Every runner of the behaviour table prints "conformance <language>: N cases, ..."; the output of
# the runs that carry them is kept, and checked at the end (scripts/conformance_summary.sh).
conformance_log=build/dev/conformance-output.log
: >"$conformance_log"
step "the behaviour table through the C header"
ctest --preset dev -L '^conformance$' --verbose | tee -a "$conformance_log"
# The language bindings' suites (ctest label `binding`) run one at a time and verbosely, so their
# own summaries (Swift Testing, JUnit, node:test, tsc) appear in this output.
step "running the language bindings' suites"
ctest --preset dev -L '^binding$' --no-tests=ignore --verbose | tee -a "$conformance_log"
# The Python package's suite is also the ctest `python_package`; run directly, its pytest summary shows.
step "running the Python package's tests"
scripts/python_test.sh | tee -a "$conformance_log"
# The portal's browser tests are also the ctest `portal_browser`; run directly, their pytest summary shows.
step "running the portal's browser tests"
scripts/portal_test.sh
# The libFuzzer targets (tests/fuzz/, their own sanitized clang build in build/fuzz): 20 s each on
# the seed corpus; a crash, leak or broken invariant fails the run (README, Fuzzing).
step "fuzzing the parsers"
scripts/fuzz.sh 20
# The same cases, passed in all six languages (README "One API in six languages").
step "the behaviour table in every language"
scripts/conformance_summary.sh "$conformance_log"
