#!/usr/bin/env bash
# Sourced by the scripts that need Python: makes (or reuses) the project's virtual environment at
# .venv and installs the smallpeer package (./python; scikit-build-core builds the engine and the
# pybind11 module) plus any PyPI packages given to python_env_install. Sets VENV and PY.
ROOT="${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}"
export PIP_DISABLE_PIP_VERSION_CHECK=1

# Installs ./python and the given PyPI packages into .venv, quietly; idempotent.
python_env_install() {
  [[ -x "$PY" ]] || python3 -m venv "$VENV"
  echo "python: installing the smallpeer package${*:+ and $*} into .venv"
  "$PY" -m pip install -q "$ROOT/python" "$@"
}

# Installs only the given PyPI tools (e.g. the formatter) into .venv, quietly; idempotent, and
# without building the smallpeer package.
python_env_tools() {
  [[ -x "$PY" ]] || python3 -m venv "$VENV"
  "$PY" -m pip install -q "$@"
}
