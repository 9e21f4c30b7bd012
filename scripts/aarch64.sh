#!/usr/bin/env bash
# ARM64 (aarch64), the CPU of the phones SmallPeer ships to. Cross-builds the C library, the
# `smallpeer` command and the engine's suites with Debian's multiarch (the preset aarch64,
# cmake/aarch64-linux-gnu.cmake), then runs them under qemu-user: the engine (smallpeer_core_tests,
# smallpeer_unit_tests: store, clock, scheduler, SPI, frames, rules), the C ABI
# (smallpeer_capi_tests, the pure-C header test), the behaviour table through the C header against
# an arm64 Big Peer (conformance_c) and the sync suites between arm64 processes.
# Installs what it needs (the arm64 architecture, the cross compiler, qemu-user-static, the :arm64
# development packages), idempotently. Too slow for scripts/test.sh's budget: run it by hand; its
# last result is in docs/PACKAGES.md ("ARM64").
# Usage: scripts/aarch64.sh [ctest arguments...]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SUDO=""
[[ $(id -u) -eq 0 ]] || SUDO="sudo"

if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  echo "aarch64: adding Debian's arm64 architecture"
  $SUDO dpkg --add-architecture arm64
  $SUDO apt-get update -qq >/dev/null
fi
# libsimdjson-dev, libpq-dev and libjemalloc-dev cannot be installed for two architectures at once:
# the host's give the headers, these their arm64 runtime libraries (cmake/aarch64/ describes them).
scripts/setup.sh crossbuild-essential-arm64 qemu-user-static \
  libsqlite3-dev:arm64 libspdlog-dev:arm64 libfmt-dev:arm64 libgtest-dev:arm64 libgmock-dev:arm64 \
  libsodium-dev:arm64 zlib1g-dev:arm64 libssl-dev:arm64 libboost-dev:arm64 \
  libsimdjson14:arm64 libpq5:arm64 libjemalloc2:arm64

# The suites start arm64 child processes (the Big Peer, the crash writer): the kernel runs them
# through qemu once qemu-aarch64 is registered with binfmt_misc ("F": the interpreter is opened now,
# so it also works in other mount namespaces). That needs root; without it those tests are skipped.
binfmt=/proc/sys/fs/binfmt_misc
register_binfmt() {
  [[ -e $binfmt/qemu-aarch64 ]] && return 0
  [[ -e $binfmt/register ]] || $SUDO mount -t binfmt_misc binfmt_misc "$binfmt" 2>/dev/null || return 1
  sed 's|:[^:]*:[A-Z]*$|:/usr/bin/qemu-aarch64-static:F|' /usr/lib/binfmt.d/qemu-aarch64.conf |
    $SUDO tee "$binfmt/register" >/dev/null 2>&1 || return 1
}
skip=()
if register_binfmt; then
  echo "aarch64: arm64 programs run through qemu-aarch64-static (binfmt_misc)"
else
  skip=(-E '^(conformance_c|StoreTest\.AcknowledgedWritesSurviveSigkill)$' -LE '^sync$')
  echo "aarch64: SKIPPED conformance_c, StoreTest.AcknowledgedWritesSurviveSigkill and the sync suites: they" \
    "start arm64 child processes, which need qemu-aarch64 registered with binfmt_misc (root)"
fi

jobs="${SMALLPEER_BUILD_JOBS:-$(nproc)}"
echo "aarch64: configuring (preset aarch64)"
cmake --preset aarch64 >/dev/null
echo "aarch64: building the library, the smallpeer command and the suites (-j${jobs})"
cmake --build --preset aarch64 -j"${jobs}"
file build/aarch64/tools/smallpeer | cut -d, -f1-2
echo "aarch64: running the engine, C-ABI, conformance and sync suites under qemu-user"
start=$(date +%s)
ctest --preset aarch64 --parallel "${jobs}" "${skip[@]}" "$@"
echo "aarch64: suites passed in $(($(date +%s) - start)) s"
