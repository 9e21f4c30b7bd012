#!/usr/bin/env bash
# The Swift package as a dependency of another SwiftPM package (docs/PACKAGES.md): the C library is
# `cmake --install`ed into an empty prefix, SmallPeer's package (swift/, copied out) is found by
# path, and the throwaway package swift_consumer/ builds against them with only that prefix's
# smallpeer.pc on PKG_CONFIG_PATH. Its program opens a small peer, turns Small Peer Info on with
# BigPeerOnly and syncs to a real Big Peer; the test waits for its device in GET /api/v1/devices.
# Usage: swift_package_test.sh BUILD_DIR SWIFT   (ctest package_swift passes the dev build)
set -euo pipefail
build=${1:?usage: swift_package_test.sh BUILD_DIR SWIFT}
swift=${2:?usage: swift_package_test.sh BUILD_DIR SWIFT}
here=$(cd "$(dirname "$0")" && pwd)
source_dir=$(cd "$here/../.." && pwd)
PACKAGE_TEST=package_swift
# shellcheck source=lib.sh
source "$here/lib.sh"

install_prefix "$build"
libdir=$(PKG_CONFIG_PATH=$pcdir pkg-config --variable=libdir smallpeer)

mkdir "$work/SmallPeer"
cp -r "$source_dir/swift/Package.swift" "$source_dir/swift/Sources" "$source_dir/swift/Tests" "$work/SmallPeer/"
cp -r "$here/swift_consumer" "$work/Consumer"
step "swift build of a package that depends on SmallPeer by path (PKG_CONFIG_PATH: the prefix only)"
start=$(date +%s)
if ! (cd "$work/Consumer" && PKG_CONFIG_PATH=$pcdir "$swift" build -c release -j 2 \
  --cache-path "$work/swiftpm-cache" -Xlinker -rpath -Xlinker "$libdir" >"$work/swift-build.log" 2>&1); then
  cat "$work/swift-build.log" >&2
  fail "swift build failed"
fi
consumer=$work/Consumer/.build/release/Consumer
step "built in $(($(date +%s) - start)) s"

step "starting the installed smallpeer big-peer"
start_big_peer "$prefix/bin/smallpeer"
check_consumer swift-consumer "$consumer"
step "ok"
