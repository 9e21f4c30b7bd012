#!/usr/bin/env bash
# Fails when a source file is not formatted the repository's way: C/C++ with .clang-format
# (clang-format), Swift with .swift-format (the toolchain's `swift format`). With no arguments it
# checks every tracked C/C++ and Swift file; with arguments, only those files.
# Fix with: clang-format -i FILE...   /   swift format format --in-place --configuration .swift-format FILE...
# Kotlin, Java and JavaScript have no formatter from Debian or PyPI, so none is enforced (README).
set -euo pipefail
cd "$(dirname "$0")/.."
if (($#)); then
  files=("$@")
else
  mapfile -t files < <(git ls-files '*.c' '*.cc' '*.cpp' '*.h' '*.hpp' '*.swift')
fi
cfamily=()
swift=()
for f in "${files[@]}"; do
  case $f in
    *.swift) swift+=("$f") ;;
    *) cfamily+=("$f") ;;
  esac
done
bad=()
for f in "${cfamily[@]}"; do
  clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
for f in "${swift[@]}"; do
  swift format lint --strict --configuration .swift-format "$f" >/dev/null 2>&1 || bad+=("$f")
done
if ((${#bad[@]})); then
  echo "format: ${#bad[@]} of ${#files[@]} file(s) differ from .clang-format / .swift-format:" >&2
  printf '  %s\n' "${bad[@]}" >&2
  echo "format: fix with clang-format -i (C/C++) or swift format format --in-place --configuration .swift-format (Swift)" >&2
  exit 1
fi
echo "format: ${#cfamily[@]} C/C++ and ${#swift[@]} Swift file(s) formatted as .clang-format and .swift-format say"
