#!/usr/bin/env bash
# clang-tidy (Debian's, with the root's .clang-tidy) over the C++ sources of core/, capi/, bigpeer/
# and tools/. Every warning is an error: one new finding fails the run (and scripts/test.sh).
#
#   scripts/clang_tidy.sh             the sources changed since the recorded base (scripts/clang_tidy_base),
#                                     and x.cpp (or the sources beside it) for a changed x.h; what
#                                     scripts/test.sh runs
#   scripts/clang_tidy.sh --all       every source (24 minutes of CPU, 12.6 with two jobs: README)
#   scripts/clang_tidy.sh FILE...     those files
#
# Needs build/dev/compile_commands.json (`cmake --preset dev`). Runs two clang-tidy processes at a
# time (CLANG_TIDY_JOBS to change). Why a base: the whole tree takes longer than the test run can
# spare on the 2-core CI machine; the files a change touches are where new findings appear. After
# a clean `--all` run, record the commit it ran on in scripts/clang_tidy_base.
set -euo pipefail
cd "$(dirname "$0")/.."
build=build/dev
jobs=${CLANG_TIDY_JOBS:-2}
if [[ ! -f $build/compile_commands.json ]]; then
  echo "tidy: $build/compile_commands.json is missing; run: cmake --preset dev" >&2
  exit 1
fi
scope='^(core|capi|bigpeer|tools)/.*\.cpp$'
all_sources() { git ls-files 'core/*.cpp' 'capi/*.cpp' 'bigpeer/*.cpp' 'tools/*.cpp'; }

if [[ ${1:-} == --all ]]; then
  mapfile -t files < <(all_sources)
  what="every source"
elif (($#)); then
  files=("$@")
  what="the given files"
else
  base=$(grep -Eo '^[0-9a-f]{40}' scripts/clang_tidy_base | head -1)
  if ! git cat-file -e "$base^{commit}" 2>/dev/null; then
    # A shallow clone without the base: check everything rather than nothing.
    echo "tidy: base $base is not in this clone's history; checking every source" >&2
    mapfile -t files < <(all_sources)
    what="every source (no base)"
  else
    # Changed, added or renamed since the base, committed or not (deleted files drop out below).
    mapfile -t changed < <({
      git diff --name-only --diff-filter=d "$base" --
      git ls-files --others --exclude-standard
    } | sort -u)
    files=()
    headers=()
    for f in "${changed[@]}"; do
      [[ $f =~ $scope ]] && files+=("$f")
      [[ $f =~ ^(core|capi|bigpeer|tools)/.*\.h$ ]] && headers+=("$f")
    done
    # A changed header is checked through its own source (x.h through x.cpp), or else through the
    # sources beside it that include it; HeaderFilterRegex reports a header's findings through any
    # source that includes it.
    for h in "${headers[@]}"; do
      if [[ -f ${h%.h}.cpp ]]; then
        files+=("${h%.h}.cpp")
      else
        mapfile -t -O "${#files[@]}" files < <(grep -lF "${h##*/}\"" "$(dirname "$h")"/*.cpp 2>/dev/null || true)
      fi
    done
    mapfile -t files < <(printf '%s\n' "${files[@]}" | grep -v '^$' | sort -u)
    what="the sources changed since ${base:0:12}"
  fi
fi

if ((${#files[@]} == 0)); then
  echo "tidy: no C++ source changed since the base; nothing to check"
  exit 0
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "tidy: clang-tidy on ${#files[@]} file(s), $what, $jobs at a time"
start=$SECONDS
# One log per file; a file fails when clang-tidy exits non-zero (warnings are errors). Each file
# prints a line as it finishes (a whole run takes minutes).
printf '%s\n' "${files[@]}" | xargs -P "$jobs" -I{} sh -c \
  'log="$1/$(echo "$2" | tr / _).log"; t0=$(date +%s)
   if clang-tidy -p "$3" --quiet --warnings-as-errors="*" "$2" >"$log" 2>&1; then r=clean; else r=FINDINGS; echo "$2" >>"$1/failed"; fi
   echo "$2" >>"$1/done"; echo "tidy: [$(wc -l <"$1/done")/$4] $2: $r ($(($(date +%s) - t0)) s)"' \
  sh "$out" {} "$build" "${#files[@]}"
if [[ -f $out/failed ]]; then
  mapfile -t failed < <(sort "$out/failed")
  for f in "${failed[@]}"; do
    echo "--- $f" >&2
    grep -v -E '^[0-9]+ (warnings?|errors?) (generated|treated as errors)\.?$' "$out/$(echo "$f" | tr / _).log" >&2 || true
  done
  echo "tidy: ${#failed[@]} of ${#files[@]} file(s) have findings: ${failed[*]}" >&2
  echo "tidy: fix them (or, for a false positive, a NOLINT(check) with the reason; see README)" >&2
  exit 1
fi
echo "tidy: ${#files[@]} file(s) clean in $((SECONDS - start)) s"
