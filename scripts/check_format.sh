#!/usr/bin/env bash
# Fails when a source file is not formatted the repository's way: C/C++ with .clang-format
# (clang-format), Swift with .swift-format (the toolchain's `swift format`), Python with ruff.toml
# (`ruff format`, pinned, installed into .venv). With no arguments it checks every tracked C/C++,
# Swift and Python file; with arguments, only those files.
# Fix with: clang-format -i FILE...   /   swift format format --in-place --configuration .swift-format FILE...
#           /   .venv/bin/ruff format FILE...
# Kotlin, Java and JavaScript have no formatter from Debian or PyPI, so none is enforced (README).
set -euo pipefail
cd "$(dirname "$0")/.."
if (($#)); then
  files=("$@")
else
  mapfile -t files < <(git ls-files '*.c' '*.cc' '*.cpp' '*.h' '*.hpp' '*.swift' '*.py')
fi
cfamily=()
swift=()
python=()
for f in "${files[@]}"; do
  case $f in
    *.swift) swift+=("$f") ;;
    *.py) python+=("$f") ;;
    *) cfamily+=("$f") ;;
  esac
done
if ((${#cfamily[@]})) && ! command -v clang-format >/dev/null; then
  echo "format: clang-format is not installed (scripts/setup.sh installs it)" >&2
  exit 2
fi
bad=()
for f in "${cfamily[@]}"; do
  clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
for f in "${swift[@]}"; do
  swift format lint --strict --configuration .swift-format "$f" >/dev/null 2>&1 || bad+=("$f")
done
if ((${#python[@]})); then
  source scripts/python_env.sh
  [[ -x $VENV/bin/ruff ]] || { echo "format: installing ruff into .venv"; python_env_tools "ruff==0.17.6"; }
  for f in "${python[@]}"; do
    "$VENV/bin/ruff" format --check --quiet --config ruff.toml "$f" >/dev/null 2>&1 || bad+=("$f")
  done
fi
if ((${#bad[@]})); then
  echo "format: ${#bad[@]} of ${#files[@]} file(s) differ from .clang-format / .swift-format / ruff.toml:" >&2
  printf '  %s\n' "${bad[@]}" >&2
  echo "format: fix with clang-format -i (C/C++), swift format format --in-place --configuration .swift-format (Swift) or .venv/bin/ruff format (Python)" >&2
  exit 1
fi
echo "format: ${#cfamily[@]} C/C++, ${#swift[@]} Swift and ${#python[@]} Python file(s) formatted as .clang-format, .swift-format and ruff.toml say"
