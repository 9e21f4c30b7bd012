#!/usr/bin/env bash
# Proves scripts/check_format.sh refuses a misformatted C++ or Swift file and accepts a formatted one.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$root/.clang-format" "$tmp/"
printf 'int  main( ){return 0;}\n' >"$tmp/bad.cpp"
printf 'int main() {\n  return 0;\n}\n' >"$tmp/good.cpp"
if "$root/scripts/check_format.sh" "$tmp/bad.cpp" 2>"$tmp/err"; then
  echo "FAIL: a misformatted file passed the format check" >&2
  exit 1
fi
grep -q "bad.cpp" "$tmp/err" || { echo "FAIL: the refusal does not name the file" >&2; cat "$tmp/err" >&2; exit 1; }
"$root/scripts/check_format.sh" "$tmp/good.cpp" >/dev/null || { echo "FAIL: a formatted file was refused" >&2; exit 1; }
printf 'func  f( )->Int{return 0}\n' >"$tmp/bad.swift"
printf 'func f() -> Int { return 0 }\n' >"$tmp/good.swift"
if "$root/scripts/check_format.sh" "$tmp/bad.swift" 2>"$tmp/err"; then
  echo "FAIL: a misformatted Swift file passed the format check" >&2
  exit 1
fi
grep -q "bad.swift" "$tmp/err" || { echo "FAIL: the refusal does not name the Swift file" >&2; cat "$tmp/err" >&2; exit 1; }
"$root/scripts/check_format.sh" "$tmp/good.swift" >/dev/null || { echo "FAIL: a formatted Swift file was refused" >&2; exit 1; }
echo "check_format_test: misformatted C++ and Swift files refused, formatted ones accepted"
