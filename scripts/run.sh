#!/usr/bin/env bash
# The main job: a Big Peer on embedded SQLite and a simulated fleet of 50 small peers reporting
# Small Peer Info to it. Prints the URL and the admin token; Ctrl-C stops both.
#   SMALLPEER_PORT (default 8080), SMALLPEER_PEERS (50), SMALLPEER_INTERVAL (10 s), SMALLPEER_DATA (.smallpeer)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
port="${SMALLPEER_PORT:-8080}"
peers="${SMALLPEER_PEERS:-50}"
interval="${SMALLPEER_INTERVAL:-10}"
data="${SMALLPEER_DATA:-$PWD/.smallpeer}"
app_id=smallpeer-demo
app_token=demo-token

echo "run: building"
cmake --preset dev >/dev/null
cmake --build --preset dev --target smallpeer_cli
cli=build/dev/tools/smallpeer
mkdir -p "$data"

big_peer_out="$data/big-peer.out"
ready_file="$data/big-peer.ready.json"  # its facts as JSON once it listens (mode 0600: it holds the admin token)
rm -f "$ready_file"
"$cli" big-peer --listen "127.0.0.1:$port" --data "$data/big-peer" --app-id "$app_id" --app-token "$app_token" \
  --ready-file "$ready_file" >"$big_peer_out" 2>"$data/big-peer.log" &
big_peer_pid=$!
fleet_pid=""
cleanup() {
  [[ -n $fleet_pid ]] && kill -TERM "$fleet_pid" 2>/dev/null && wait "$fleet_pid" 2>/dev/null
  kill -TERM "$big_peer_pid" 2>/dev/null && wait "$big_peer_pid" 2>/dev/null
  echo "run: stopped"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

for _ in $(seq 1 100); do
  [[ -s $ready_file ]] && break
  kill -0 "$big_peer_pid" 2>/dev/null || { echo "run: the Big Peer did not start:"; cat "$data/big-peer.log"; exit 1; }
  sleep 0.1
done
[[ -s $ready_file ]] || { echo "run: the Big Peer did not start in 10 s:"; cat "$data/big-peer.log"; exit 1; }
admin_token=$(jq -r .admin_token "$ready_file")

"$cli" fleet --big-peer "ws://127.0.0.1:$port/sync" --app-id "$app_id" --app-token "$app_token" \
  --peers "$peers" --interval "$interval" --data "$data/fleet" &
fleet_pid=$!

cat <<INFO

  Big Peer:     http://127.0.0.1:$port/
  Admin token:  $admin_token
  Fleet:        $peers small peers, Small Peer Info every $interval s (BigPeerOnly)

  Try:  curl -H "Authorization: Bearer $admin_token" http://127.0.0.1:$port/api/v1/devices?limit=5
  Logs: $data/big-peer.log        Ctrl-C stops everything.

INFO
wait "$fleet_pid"
