#!/usr/bin/env bash
# Builds the release artifacts into dist/ (docs/PACKAGES.md). Today that is the C/C++ package:
# dist/smallpeer-<version>-linux-<arch>.tar.gz, an installed prefix (include/smallpeer/, the
# library with its ABI-versioned SONAME, smallpeer.pc, the CMake package SmallPeer, bin/smallpeer).
# The other languages' artifacts (wheel, npm tarball, jar + pom) are issue 21's remaining work.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
jobs="${SMALLPEER_BUILD_JOBS:-$(nproc)}"
version=$(sed -n 's/^project(SmallPeer VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
name="smallpeer-${version}-linux-$(uname -m)"
echo "package: building the release preset (-j${jobs})"
cmake --preset release -DSMALLPEER_BUILD_TOOLS=ON >/dev/null
cmake --build --preset release -j"${jobs}" --target smallpeer smallpeer_cli
echo "package: installing into dist/${name}"
rm -rf "dist/${name}" "dist/${name}.tar.gz"
cmake --install build/release --prefix "dist/${name}" >/dev/null
tar -C dist -czf "dist/${name}.tar.gz" "${name}"
echo "package: dist/${name}.tar.gz ($(du -h "dist/${name}.tar.gz" | cut -f1))"
