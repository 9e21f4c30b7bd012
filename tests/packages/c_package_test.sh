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
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

step() { echo "package_c: $*"; }

prefix=$work/prefix
step "cmake --install $build --prefix <empty prefix>"
cmake --install "$build" --prefix "$prefix" >/dev/null
for f in include/smallpeer/smallpeer.h bin/smallpeer; do
  [[ -e $prefix/$f ]] || { echo "package_c: $f is not installed" >&2; exit 1; }
done
lib=$(find "$prefix" -name 'libsmallpeer.so.*.*.*' -print -quit)
soname=$(objdump -p "$lib" | awk '/SONAME/ {print $2}')
abi=$(awk '/^#define SP_ABI_VERSION / {print $3}' "$prefix/include/smallpeer/smallpeer.h")
[[ $soname == "libsmallpeer.so.$abi" ]] || { echo "package_c: SONAME $soname, expected libsmallpeer.so.$abi" >&2; exit 1; }
step "installed $(basename "$lib") (SONAME $soname), the header, smallpeer.pc, the CMake package and bin/smallpeer"

# The project is copied out, so nothing of the source or build tree is near it.
cp -r "$here/c_consumer" "$work/project"
step "find_package(SmallPeer CONFIG): configure and build the throwaway project"
cmake -S "$work/project" -B "$work/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/cmake-build" >/dev/null
pcdir=$(dirname "$(find "$prefix" -name smallpeer.pc -print -quit)")
step "pkg-config: cc \$(pkg-config --cflags --libs smallpeer)"
# shellcheck disable=SC2046  # pkg-config's flags are words
cc -std=c11 -Wall -Werror "$work/project/main.c" -o "$work/pkg-config-consumer" \
  $(PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs smallpeer) \
  -Wl,-rpath,"$(PKG_CONFIG_PATH=$pcdir pkg-config --variable=libdir smallpeer)"

step "starting the installed smallpeer big-peer"
"$prefix/bin/smallpeer" big-peer --listen 127.0.0.1:0 --data "$work/big-peer" --app-id package-test \
  --app-token package-token --ready-file "$work/ready.json" --log-level warn >"$work/big-peer.log" 2>&1 &
pids+=($!)
for _ in $(seq 200); do [[ -s $work/ready.json ]] && break; sleep 0.1; done
[[ -s $work/ready.json ]] || { cat "$work/big-peer.log" >&2; echo "package_c: the Big Peer did not start" >&2; exit 1; }
url=$(jq -r .url "$work/ready.json")
sync_url=$(jq -r .sync_url "$work/ready.json")
token=$(jq -r .admin_token "$work/ready.json")

for consumer in "$work/cmake-build/consumer" "$work/pkg-config-consumer"; do
  name=$(basename "$consumer")
  "$consumer" "$work/peer-$name" package-test package-token "$sync_url" 60 >"$work/$name.out" 2>&1 &
  pids+=($!)
  key=""
  for _ in $(seq 100); do
    key=$(awk '/^peer_key / {print $2}' "$work/$name.out")
    [[ -n $key ]] && break
    sleep 0.1
  done
  [[ -n $key ]] || { cat "$work/$name.out" >&2; echo "package_c: $name printed no peer key" >&2; exit 1; }
  seen=""
  for _ in $(seq 200); do
    if curl -sf -H "Authorization: Bearer $token" "$url/api/v1/devices/$key" |
      jq -e '.online and .has_small_peer_info and .small_peer_info.sync_scope == "BigPeerOnly"' >/dev/null; then
      seen=yes
      break
    fi
    sleep 0.1
  done
  [[ -n $seen ]] || { cat "$work/$name.out" "$work/big-peer.log" >&2; echo "package_c: $name's device never showed in /api/v1/devices" >&2; exit 1; }
  step "$name: its device $key is online in GET /api/v1/devices with its BigPeerOnly report"
done
step "ok"
