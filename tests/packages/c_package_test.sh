#!/usr/bin/env bash
# The C package as a user gets it (docs/PACKAGES.md): `cmake --install` of a build into an empty
# prefix, then a throwaway project in a temporary directory that sees only that prefix, built twice
# (find_package(SmallPeer CONFIG), and plain cc with pkg-config). Each program opens a small peer,
# turns Small Peer Info on with BigPeerOnly and syncs to a real Big Peer (the installed `smallpeer`
# command), and the test waits for its device in GET /api/v1/devices.
# Usage: c_package_test.sh BUILD_DIR   (ctest package_c passes the dev build)
set -euo pipefail
build=${1:?usage: c_package_test.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
PACKAGE_TEST=package_c
# shellcheck source=lib.sh
source "$here/lib.sh"

install_prefix "$build"
for f in include/smallpeer/smallpeer.h bin/smallpeer; do
  [[ -e $prefix/$f ]] || fail "$f is not installed"
done
lib=$(find "$prefix" -name 'libsmallpeer.so.*.*.*' -print -quit)
soname=$(objdump -p "$lib" | awk '/SONAME/ {print $2}')
abi=$(awk '/^#define SP_ABI_VERSION / {print $3}' "$prefix/include/smallpeer/smallpeer.h")
[[ $soname == "libsmallpeer.so.$abi" ]] || fail "SONAME $soname, expected libsmallpeer.so.$abi"
step "installed $(basename "$lib") (SONAME $soname), the header, smallpeer.pc, the CMake package and bin/smallpeer"

# The project is copied out, so nothing of the source or build tree is near it.
cp -r "$here/c_consumer" "$work/project"
step "find_package(SmallPeer CONFIG): configure and build the throwaway project"
cmake -S "$work/project" -B "$work/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/cmake-build" >/dev/null
step "pkg-config: cc \$(pkg-config --cflags --libs smallpeer)"
# shellcheck disable=SC2046  # pkg-config's flags are words
cc -std=c11 -Wall -Werror "$work/project/main.c" -o "$work/pkg-config-consumer" \
  $(PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs smallpeer) \
  -Wl,-rpath,"$(PKG_CONFIG_PATH=$pcdir pkg-config --variable=libdir smallpeer)"

step "starting the installed smallpeer big-peer"
start_big_peer "$prefix/bin/smallpeer"
check_consumer consumer "$work/cmake-build/consumer"
check_consumer pkg-config-consumer "$work/pkg-config-consumer"
step "ok"
