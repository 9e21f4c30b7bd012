#!/usr/bin/env bash
# Runs every test on a fresh machine: installs dependencies, builds the dev preset, runs ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo "test: configuring (preset dev)"
cmake --preset dev >/dev/null
echo "test: building"
cmake --build --preset dev
echo "test: running ctest"
ctest --preset dev --parallel 2 -E '^python_package$'
# The Python package's suite is also the ctest `python_package`; run directly, its pytest summary shows.
echo "test: running the Python package's tests"
scripts/python_test.sh
