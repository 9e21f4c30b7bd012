#!/usr/bin/env bash
# Proves scripts/check_format.sh refuses a misformatted C++, Swift or Python file (naming it) and
# accepts a formatted one.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$root/.clang-format" "$tmp/"  # clang-format finds its style beside the file; the others are given theirs

# expect_checked EXT LANGUAGE MISFORMATTED FORMATTED: the first refused and named, the second accepted.
expect_checked() {
  local ext=$1 language=$2
  printf '%b' "$3" >"$tmp/bad.$ext"
  printf '%b' "$4" >"$tmp/good.$ext"
  if "$root/scripts/check_format.sh" "$tmp/bad.$ext" 2>"$tmp/err"; then
    echo "FAIL: a misformatted $language file passed the format check" >&2
    exit 1
  fi
  grep -q "bad.$ext" "$tmp/err" || { echo "FAIL: the refusal does not name the $language file" >&2; cat "$tmp/err" >&2; exit 1; }
  "$root/scripts/check_format.sh" "$tmp/good.$ext" >/dev/null || { echo "FAIL: a formatted $language file was refused" >&2; exit 1; }
}

expect_checked cpp C++ 'int  main( ){return 0;}\n' 'int main() {\n  return 0;\n}\n'
expect_checked swift Swift 'func  f( )->Int{return 0}\n' 'func f() -> Int { return 0 }\n'
expect_checked py Python 'def f( x ):\n  return x\n' 'def f(x):\n    return x\n'
echo "check_format_test: misformatted C++, Swift and Python files refused, formatted ones accepted"
