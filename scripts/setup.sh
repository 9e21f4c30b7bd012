#!/usr/bin/env bash
# Installs everything SmallPeer needs on a fresh Debian 12 machine. Idempotent and quiet:
# it only runs apt-get when a package is missing, and prints one line per step.
# Arguments are further Debian packages a caller needs besides these (scripts/bench.sh passes its
# bench-only ones), installed the same way.
set -euo pipefail

APT_PACKAGES=(
  cmake ninja-build pkg-config g++
  libsqlite3-dev libsimdjson-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libsodium-dev zlib1g-dev libcli11-dev libboost-dev libssl-dev
  clang-format clang-tidy
  clang-14 libclang-rt-14-dev  # the fuzz targets (preset fuzz, scripts/fuzz.sh): clang's libFuzzer and sanitizer runtimes
  python3 python3-venv python3-dev
  swig openjdk-17-jdk-headless kotlin junit5 libgoogle-gson-java  # JVM binding: SWIG JNI layer, kotlinc, JUnit 5, Gson
  # Node binding (js/): node, tsc, and npm + N-API headers only where the installed nodejs lacks them (Debian's does)
  nodejs node-typescript $(command -v npm >/dev/null || echo npm) $([[ -e /usr/include/node/node_api.h ]] || echo libnode-dev)
  libjemalloc-dev  # the allocator linked into the smallpeer command and the ingest bench (bigpeer/BENCHMARKS.md, the fleet bench)
  libpq-dev postgresql-15  # the Big Peer's PostgreSQL storage (libpq) and the real server its tests start
  libjs-chart.js chromium  # the portal: Chart.js embedded in the Big Peer; headless Chromium for its browser tests
  jq curl  # the scripts read the Big Peer's ready file (--ready-file) and API answers
)

APT_PACKAGES+=("$@")
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done

if ((${#missing[@]})); then
  echo "setup: installing ${#missing[@]} Debian package(s): ${missing[*]}"
  SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "setup: Debian packages present"
fi
