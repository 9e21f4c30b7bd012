#!/usr/bin/env bash
# The Python wheel as a user gets it (docs/PACKAGES.md): the manylinux wheel scripts/package.sh put
# in DIST is installed with `pip install --no-index` into a fresh virtual environment in a temporary
# directory, with nothing on PATH (so no compiler: a wheel that needed a build would fail), and its
# program opens a small peer, turns Small Peer Info on with BigPeerOnly and syncs to a real Big
# Peer; the test waits for its device in GET /api/v1/devices.
# Usage: python_package_test.sh DIST SMALLPEER_CLI   (ctest package_python: <source>/dist, the dev CLI)
set -euo pipefail
dist=${1:?usage: python_package_test.sh DIST SMALLPEER_CLI}
cli=${2:?usage: python_package_test.sh DIST SMALLPEER_CLI}
here=$(cd "$(dirname "$0")" && pwd)
PACKAGE_TEST=package_python
# shellcheck source=lib.sh
source "$here/lib.sh"

wheel=$(find "$dist" -maxdepth 1 -name 'smallpeer-*-manylinux_*.whl' -print | sort | tail -n 1)
[[ -n $wheel ]] || fail "no manylinux wheel in $dist: run scripts/package.sh python first"
step "$(basename "$wheel")"
[[ -f $dist/$(basename "$wheel" | cut -d- -f1-2).tar.gz ]] || fail "no sdist beside $(basename "$wheel")"

python3 -m venv "$work/venv"
# An empty folder is the whole PATH: no cc, c++, cmake or make can be found by anything pip starts.
mkdir "$work/empty-path"
for tool in cc c++ gcc g++ cmake make ninja; do
  if PATH=$work/empty-path command -v "$tool" >/dev/null; then fail "$tool is on the test's PATH"; fi
done
run() { env -i HOME="$work" PATH="$work/empty-path" "$@"; }
step "pip install --no-index <wheel> into a fresh venv, no compiler on PATH"
run "$work/venv/bin/python" -m pip install -q --no-index --disable-pip-version-check "$wheel"
# The engine's libraries come from the wheel (auditwheel grafted them into smallpeer.libs/).
module=$(find "$work/venv/lib" -name '_smallpeer*.so' -print -quit)
missing=$(ldd "$module" "$(dirname "$module")"/libsmallpeer.so.* | grep 'not found' || true)
[[ -z $missing ]] || fail "unresolved libraries: $missing"

cp "$here/python_consumer/consumer.py" "$work/consumer.py"
step "starting the Big Peer"
start_big_peer "$cli"
check_consumer python-consumer run "$work/venv/bin/python" "$work/consumer.py"
step "ok"
