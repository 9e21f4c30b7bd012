#!/usr/bin/env bash
# The main job. Builds, opens a small peer in a data folder, enables Small Peer Info, collects once
# and prints the document. (With the Big Peer, issue [sync], this becomes a Big Peer and a fleet.)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
data="${SMALLPEER_DATA:-$PWD/.smallpeer/demo-peer}"
echo "run: building"
cmake --preset dev >/dev/null
cmake --build --preset dev --target smallpeer_cli
echo "run: small peer in $data"
exec build/dev/tools/smallpeer spi collect --dir "$data" "$@"
