#!/usr/bin/env bash
# The Python package's tests: (re)uses .venv at the repo root, installs ./python (scikit-build-core
# builds the engine and the pybind11 module), runs mypy on the tests, then pytest against the real
# `smallpeer` command line (SMALLPEER_CLI, default build/dev/tools/smallpeer).
# Extra arguments go to pytest. pytest's exit status 5 (no tests collected) fails this script like any other failure.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# shellcheck source=python_env.sh
source "$ROOT/scripts/python_env.sh"
python_env_install pytest mypy

export SMALLPEER_CLI="${SMALLPEER_CLI:-$ROOT/build/dev/tools/smallpeer}"
[[ -x "$SMALLPEER_CLI" ]] || { echo "python_test: $SMALLPEER_CLI not found (build the dev preset first)" >&2; exit 1; }

echo "python_test: mypy"
# The bench scripts use the public API too: type-checked here so a rename cannot leave it broken.
(cd python && "$PY" -m mypy tests ../bench/python_call_bench.py ../bench/binding_call_bench.py)

echo "python_test: pytest"
set +e
(cd python && "$PY" -m pytest -q -p no:cacheprovider tests "$@")
rc=$?
set -e
if [[ $rc -eq 5 ]]; then
  echo "python_test: pytest collected no tests" >&2
  exit 1
fi
exit $rc
