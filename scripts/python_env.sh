#!/usr/bin/env bash
# Sourced by the scripts that need Python: makes (or reuses) the project's virtual environment at
# .venv and installs the smallpeer package (./python; scikit-build-core builds the engine and the
# pybind11 module) plus any PyPI packages given to python_env_install. Sets VENV and PY.
# With SMALLPEER_PYTHON_WHEEL set (scripts/test.sh sets it to the wheel `scripts/package.sh python`
# built), that wheel is installed instead of building ./python again.
ROOT="${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}"
export PIP_DISABLE_PIP_VERSION_CHECK=1

# Installs ./python and the given PyPI packages into .venv, quietly; idempotent.
python_env_install() {
  [[ -x "$PY" ]] || python3 -m venv "$VENV"
  if [[ -n ${SMALLPEER_PYTHON_WHEEL:-} ]]; then
    echo "python: installing $(basename "$SMALLPEER_PYTHON_WHEEL")${*:+ and $*} into .venv"
    "$PY" -m pip install -q --force-reinstall --no-deps "$SMALLPEER_PYTHON_WHEEL"
    if (($#)); then "$PY" -m pip install -q "$@"; fi
  else
    echo "python: installing the smallpeer package${*:+ and $*} into .venv"
    "$PY" -m pip install -q "$ROOT/python" "$@"
  fi
}

# Installs only the given PyPI tools (e.g. the formatter) into .venv, quietly; idempotent, and
# without building the smallpeer package.
python_env_tools() {
  [[ -x "$PY" ]] || python3 -m venv "$VENV"
  "$PY" -m pip install -q "$@"
}
