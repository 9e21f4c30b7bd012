#!/usr/bin/env bash
# Fails when a C/C++ file is not formatted with the repository's .clang-format.
# With no arguments it checks every tracked C/C++ file; with arguments, only those files.
# Fix with: clang-format -i FILE...
set -euo pipefail
cd "$(dirname "$0")/.."
if (($#)); then
  files=("$@")
else
  mapfile -t files < <(git ls-files '*.c' '*.cc' '*.cpp' '*.h' '*.hpp')
fi
bad=()
for f in "${files[@]}"; do
  clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if ((${#bad[@]})); then
  echo "format: ${#bad[@]} of ${#files[@]} C/C++ file(s) differ from .clang-format:" >&2
  printf '  %s\n' "${bad[@]}" >&2
  echo "format: fix with: clang-format -i ${bad[*]}" >&2
  exit 1
fi
echo "format: ${#files[@]} C/C++ file(s) formatted as .clang-format says"
