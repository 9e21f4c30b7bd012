#!/usr/bin/env bash
# Proves scripts/check_format.sh refuses a misformatted C++, Swift or Python file and accepts a formatted one.
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
cp "$root/ruff.toml" "$tmp/"
printf 'def f( x ):\n  return x\n' >"$tmp/bad.py"
printf 'def f(x):\n    return x\n' >"$tmp/good.py"
if "$root/scripts/check_format.sh" "$tmp/bad.py" 2>"$tmp/err"; then
  echo "FAIL: a misformatted Python file passed the format check" >&2
  exit 1
fi
grep -q "bad.py" "$tmp/err" || { echo "FAIL: the refusal does not name the Python file" >&2; cat "$tmp/err" >&2; exit 1; }
"$root/scripts/check_format.sh" "$tmp/good.py" >/dev/null || { echo "FAIL: a formatted Python file was refused" >&2; exit 1; }
echo "check_format_test: misformatted C++, Swift and Python files refused, formatted ones accepted"
