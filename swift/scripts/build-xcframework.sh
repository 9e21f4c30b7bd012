#!/usr/bin/env bash
# MACOS ONLY — UNTESTED. This script cannot run on the Linux machine the project is developed and
# tested on (it needs Xcode, xcodebuild and the iOS SDKs); it has never been run. It is the plan for
# how iOS apps will consume SmallPeer: a CSmallPeer.xcframework (device + simulator slices) that
# replaces the pkg-config system-library target by a SwiftPM `binaryTarget` of the same name.
#
# What it does, per slice (iOS device arm64; iOS simulator arm64 + x86_64; macOS arm64 + x86_64):
#   1. configures the engine and libsmallpeer with CMake for that SDK (no tests, tools, benchmarks,
#      bindings), its dependencies (SQLite, simdjson, spdlog, fmt, Boost headers, OpenSSL, libsodium,
#      zlib) coming from vcpkg as static libraries for the matching triplet;
#   2. builds the static libraries and merges them with every dependency into one libsmallpeer.a;
# then wraps the slices, the header and a module map for module `CSmallPeer` into an XCFramework,
# zips it and prints the checksum and the `binaryTarget` line for the release Package.swift.
#
# Needs: Xcode 16+ (Swift 6), CMake 3.25+, Ninja, and vcpkg (VCPKG_ROOT) with the triplets
# arm64-ios, arm64-ios-simulator, x64-ios-simulator (community triplets), arm64-osx and x64-osx.
# Usage: swift/scripts/build-xcframework.sh [output-dir]   (default: build/xcframework)
set -euo pipefail

[[ "$(uname -s)" == "Darwin" ]] || { echo "build-xcframework: macOS only (needs Xcode and the iOS SDKs)" >&2; exit 1; }
command -v xcodebuild >/dev/null || { echo "build-xcframework: xcodebuild not found (install Xcode)" >&2; exit 1; }
[[ -n "${VCPKG_ROOT:-}" ]] || { echo "build-xcframework: set VCPKG_ROOT to a vcpkg checkout" >&2; exit 1; }

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="${1:-$ROOT/build/xcframework}"
DEPS=(sqlite3 simdjson spdlog fmt boost-asio boost-beast openssl libsodium zlib)
IOS_MIN=15.0
MACOS_MIN=12.0
rm -rf "$OUT"
mkdir -p "$OUT"

# build_slice NAME SYSTEM SYSROOT ARCH TRIPLET DEPLOYMENT_TARGET
build_slice() {
  local name=$1 system=$2 sysroot=$3 arch=$4 triplet=$5 min=$6
  local dir="$OUT/build-$name"
  echo "build-xcframework: $name ($sysroot $arch, vcpkg $triplet)"
  "$VCPKG_ROOT/vcpkg" install --triplet "$triplet" "${DEPS[@]}"
  cmake -S "$ROOT" -B "$dir" -G Ninja \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_SYSTEM_NAME="$system" \
    -DCMAKE_OSX_SYSROOT="$sysroot" \
    -DCMAKE_OSX_ARCHITECTURES="$arch" \
    -DCMAKE_OSX_DEPLOYMENT_TARGET="$min" \
    -DCMAKE_TOOLCHAIN_FILE="$VCPKG_ROOT/scripts/buildsystems/vcpkg.cmake" \
    -DVCPKG_TARGET_TRIPLET="$triplet" \
    -DBUILD_SHARED_LIBS=OFF \
    -DSMALLPEER_BUILD_TESTS=OFF -DSMALLPEER_BUILD_BENCH=OFF -DSMALLPEER_BUILD_TOOLS=OFF \
    -DSMALLPEER_BUILD_PYTHON=OFF -DSMALLPEER_BUILD_SWIFT=OFF
  # libsmallpeer is a SHARED library in CMake; Apple slices link the engine statically instead.
  cmake --build "$dir" --target smallpeer_core
  cmake --build "$dir" --target smallpeer
  local objects=("$dir"/capi/CMakeFiles/smallpeer.dir/src/*.o)
  libtool -static -o "$dir/libsmallpeer.a" "${objects[@]}" "$dir/core/libsmallpeer_core.a" \
    "$VCPKG_ROOT/installed/$triplet/lib/"*.a
}

build_slice ios-arm64 iOS iphoneos arm64 arm64-ios "$IOS_MIN"
build_slice ios-sim-arm64 iOS iphonesimulator arm64 arm64-ios-simulator "$IOS_MIN"
build_slice ios-sim-x86_64 iOS iphonesimulator x86_64 x64-ios-simulator "$IOS_MIN"
build_slice macos-arm64 Darwin macosx arm64 arm64-osx "$MACOS_MIN"
build_slice macos-x86_64 Darwin macosx x86_64 x64-osx "$MACOS_MIN"

# One library per platform: the simulator and macOS slices are fat (arm64 + x86_64).
mkdir -p "$OUT/ios-sim" "$OUT/macos"
lipo -create "$OUT/build-ios-sim-arm64/libsmallpeer.a" "$OUT/build-ios-sim-x86_64/libsmallpeer.a" -output "$OUT/ios-sim/libsmallpeer.a"
lipo -create "$OUT/build-macos-arm64/libsmallpeer.a" "$OUT/build-macos-x86_64/libsmallpeer.a" -output "$OUT/macos/libsmallpeer.a"

# Headers: smallpeer.h and a module map naming the module CSmallPeer, as the Linux system-library target does.
HEADERS="$OUT/headers"
mkdir -p "$HEADERS/smallpeer"
cp "$ROOT/capi/include/smallpeer/smallpeer.h" "$HEADERS/smallpeer/"
cat > "$HEADERS/module.modulemap" <<'MAP'
module CSmallPeer {
    header "smallpeer/smallpeer.h"
    link "c++"
    export *
}
MAP

xcodebuild -create-xcframework \
  -library "$OUT/build-ios-arm64/libsmallpeer.a" -headers "$HEADERS" \
  -library "$OUT/ios-sim/libsmallpeer.a" -headers "$HEADERS" \
  -library "$OUT/macos/libsmallpeer.a" -headers "$HEADERS" \
  -output "$OUT/CSmallPeer.xcframework"

(cd "$OUT" && ditto -c -k --sequesterRsrc --keepParent CSmallPeer.xcframework CSmallPeer.xcframework.zip)
CHECKSUM="$(swift package compute-checksum "$OUT/CSmallPeer.xcframework.zip")"
echo "build-xcframework: $OUT/CSmallPeer.xcframework.zip"
echo "build-xcframework: in the release Package.swift, replace the systemLibrary target with:"
echo "  .binaryTarget(name: \"CSmallPeer\", url: \"https://<release host>/CSmallPeer-<version>.xcframework.zip\", checksum: \"$CHECKSUM\"),"
