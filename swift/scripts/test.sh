#!/usr/bin/env bash
# Builds and tests the Swift package against a CMake build tree (ctest's `swift_package` runs this).
#   SMALLPEER_SWIFT_BUILD_DIR  the CMake binary dir of swift/ (default build/dev/swift): holds
#                              pkgconfig/smallpeer.pc and SwiftPM's scratch path, so nothing lands in swift/
#   SMALLPEER_LIB_DIR          where libsmallpeer.so is (default build/dev/capi)
#   SMALLPEER_CLI              the `smallpeer` command line the Big Peer test starts (default build/dev/tools/smallpeer)
#   SMALLPEER_SWIFT            the swift driver (default: swift on PATH, else /opt/swift/usr/bin/swift)
#   SMALLPEER_CONFORMANCE_CASES the behaviour table ConformanceTests runs (default tests/conformance/cases.json)
# Extra arguments go to `swift test` (e.g. --filter Metadata).
set -euo pipefail
PKG="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROOT="$(cd "$PKG/.." && pwd)"
# Absolute paths: SwiftPM ignores a relative PKG_CONFIG_PATH.
BUILD="$(realpath -m "${SMALLPEER_SWIFT_BUILD_DIR:-$ROOT/build/dev/swift}")"
LIB_DIR="$(realpath -m "${SMALLPEER_LIB_DIR:-$ROOT/build/dev/capi}")"
export SMALLPEER_CLI="${SMALLPEER_CLI:-$ROOT/build/dev/tools/smallpeer}"
export SMALLPEER_CONFORMANCE_CASES="${SMALLPEER_CONFORMANCE_CASES:-$ROOT/tests/conformance/cases.json}"
SWIFT="${SMALLPEER_SWIFT:-$(command -v swift || echo /opt/swift/usr/bin/swift)}"

[[ -f "$BUILD/pkgconfig/smallpeer.pc" ]] || { echo "swift_test: $BUILD/pkgconfig/smallpeer.pc missing (configure the dev preset first)" >&2; exit 1; }
[[ -e "$LIB_DIR/libsmallpeer.so" ]] || { echo "swift_test: $LIB_DIR/libsmallpeer.so missing (build the dev preset first)" >&2; exit 1; }
[[ -x "$SMALLPEER_CLI" ]] || { echo "swift_test: $SMALLPEER_CLI missing (build the dev preset first)" >&2; exit 1; }

export PKG_CONFIG_PATH="$BUILD/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
# The test binary loads libsmallpeer.so from the build tree.
export LD_LIBRARY_PATH="$LIB_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
FLAGS=(--package-path "$PKG" --scratch-path "$BUILD/.build" --cache-path "$BUILD/.cache" -j 2)

"$SWIFT" --version | head -1
start=$(date +%s)
echo "swift_test: swift build"
"$SWIFT" build "${FLAGS[@]}"
built=$(date +%s)
echo "swift_test: swift test"
"$SWIFT" test "${FLAGS[@]}" "$@"
end=$(date +%s)
echo "swift_test: swift build $((built - start)) s, swift test (build tests + run) $((end - built)) s"
