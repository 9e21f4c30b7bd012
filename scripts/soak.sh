#!/usr/bin/env bash
# Soak test: a real Big Peer and `smallpeer fleet` with 1,000 small peers on loopback for 10
# minutes, with log requests (HTTP API) and reconnects mixed in; samples both processes' RSS every
# 10 s into a CSV and ends by saying whether RSS stayed flat after warm-up. Stops by itself.
#
#   scripts/soak.sh [seconds]        default 600; needs build/dev/tools/smallpeer (cmake --build --preset dev --target smallpeer_cli)
#
# The 1,000 peers are two fleets: a steady one (SOAK_PEERS - SOAK_CHURN_PEERS peers) that runs the
# whole time, and a churn fleet (SOAK_CHURN_PEERS, same data directory every round, so the same
# peer keys) restarted every SOAK_CHURN_SECONDS: each round is that many disconnects and
# reconnects. Every SOAK_LOG_SECONDS a log request goes to a random online device.
# Environment (defaults): SOAK_PEERS=1000 SOAK_CHURN_PEERS=100 SOAK_CHURN_SECONDS=60
# SOAK_LOG_SECONDS=15 SOAK_SAMPLE_SECONDS=10 SOAK_RSS_TOLERANCE=10 (percent) SOAK_OUT=build/soak
# Verdict: the mean RSS of the last third of the samples is within SOAK_RSS_TOLERANCE percent of
# the middle third's (the first third is warm-up), for the Big Peer and the steady fleet. Exit 0
# when flat, 1 when not, 2 when the run itself failed.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-600}
peers=${SOAK_PEERS:-1000}
churn_peers=${SOAK_CHURN_PEERS:-100}
churn_seconds=${SOAK_CHURN_SECONDS:-60}
log_seconds=${SOAK_LOG_SECONDS:-15}
sample_seconds=${SOAK_SAMPLE_SECONDS:-10}
tolerance=${SOAK_RSS_TOLERANCE:-10}
out=${SOAK_OUT:-build/soak}
cli=${SMALLPEER_CLI:-build/dev/tools/smallpeer}
[[ -x $cli ]] || { echo "soak: $cli is missing; build it: cmake --build --preset dev --target smallpeer_cli" >&2; exit 2; }
((churn_peers < peers)) || { echo "soak: SOAK_CHURN_PEERS must be below SOAK_PEERS" >&2; exit 2; }
steady_peers=$((peers - churn_peers))

mkdir -p "$out"
work=$(mktemp -d "${TMPDIR:-/tmp}/smallpeer-soak-XXXXXX")
csv=$out/soak_rss.csv
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 2' INT TERM
# 1,000 peers hold a few thousand descriptors between them.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

admin_token=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
"$cli" big-peer --listen 127.0.0.1:0 --data "$work/big-peer" --app-id soak --app-token soak-app-token \
  --admin-token "$admin_token" --log-level warn --ready-file "$work/ready.json" >"$out/big_peer.log" 2>&1 &
big_pid=$!
pids+=("$big_pid")
for _ in $(seq 300); do
  [[ -s $work/ready.json ]] && break
  kill -0 "$big_pid" 2>/dev/null || { cat "$out/big_peer.log" >&2; exit 2; }
  sleep 0.1
done
base=$(jq -r '.url // empty' "$work/ready.json" 2>/dev/null || true)
[[ -n $base ]] || { echo "soak: the Big Peer did not report its address" >&2; exit 2; }
sync_url=${base/http:/ws:}/sync
echo "soak: Big Peer $base (pid $big_pid), $peers peers ($steady_peers steady, $churn_peers reconnecting every ${churn_seconds} s), ${duration} s"

api() { curl -sS --max-time 10 -H "Authorization: Bearer $admin_token" "$@"; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# The steady fleet runs a little longer than the soak; the churn fleet is restarted below.
"$cli" fleet --big-peer "$sync_url" --app-id soak --app-token soak-app-token --peers "$steady_peers" \
  --interval 30 --log-rate 0.2 --duration $((duration + 60)) --data "$work/steady" >"$out/fleet_steady.log" 2>&1 &
fleet_pid=$!
pids+=("$fleet_pid")
churn_pid=""
start_churn() {
  "$cli" fleet --big-peer "$sync_url" --app-id soak --app-token soak-app-token --peers "$churn_peers" \
    --interval 30 --log-rate 0.2 --data "$work/churn" >>"$out/fleet_churn.log" 2>&1 &
  churn_pid=$!
  pids+=("$churn_pid")
}
start_churn

echo "elapsed_s,big_peer_rss_kb,fleet_rss_kb,churn_fleet_rss_kb,online_devices,log_requests" >"$csv"
began=$SECONDS
next_sample=0
next_log=$log_seconds
next_churn=$churn_seconds
log_requests=0
reconnect_rounds=0
while ((SECONDS - began < duration)); do
  elapsed=$((SECONDS - began))
  kill -0 "$big_pid" 2>/dev/null || { echo "soak: the Big Peer exited" >&2; tail -20 "$out/big_peer.log" >&2; exit 2; }
  kill -0 "$fleet_pid" 2>/dev/null || { echo "soak: the steady fleet exited" >&2; tail -20 "$out/fleet_steady.log" >&2; exit 2; }
  if ((elapsed >= next_churn)); then
    # SIGTERM closes every churn peer (their sessions end); the restart reconnects the same keys.
    kill -TERM "$churn_pid" 2>/dev/null || true
    wait "$churn_pid" 2>/dev/null || true
    start_churn
    reconnect_rounds=$((reconnect_rounds + 1))
    next_churn=$((elapsed + churn_seconds))
  fi
  if ((elapsed >= next_log)); then
    key=$(api "$base/api/v1/devices?online=true&limit=1000" | jq -r '.devices | map(.peer_key) | .[]' 2>/dev/null | shuf -n 1 || true)
    if [[ -n $key ]]; then
      status=$(api -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
        -d '{"min_level":"info","max_bytes":65536,"ttl_seconds":600}' "$base/api/v1/devices/$key/log-requests" || true)
      [[ $status == 202 ]] && log_requests=$((log_requests + 1))
    fi
    next_log=$((elapsed + log_seconds))
  fi
  if ((elapsed >= next_sample)); then
    online=$(api "$base/api/v1/devices?online=true&limit=1000" | jq '.devices | length' 2>/dev/null || echo 0)
    echo "$elapsed,$(rss_kb "$big_pid"),$(rss_kb "$fleet_pid"),$(rss_kb "$churn_pid"),$online,$log_requests" >>"$csv"
    next_sample=$((elapsed + sample_seconds))
  fi
  sleep 1
done

ready=$(api "$base/api/v1/devices?limit=1000" | jq '[.devices[] | select(.online)] | length' 2>/dev/null || echo "?")
echo "soak: done after $((SECONDS - began)) s: $reconnect_rounds reconnect rounds, $log_requests log requests created, $ready devices online at the end"
echo "soak: RSS samples in $csv"
# Warm-up is the first third; compare the last third's mean with the middle third's.
awk -F, -v tol="$tolerance" '
  NR > 1 { n++; big[n] = $2; fleet[n] = $3 }
  END {
    if (n < 6) { print "soak: too few samples for a verdict (" n ")"; exit 2 }
    a = int(n / 3); b = int(2 * n / 3); bad = 0
    split("big_peer fleet", names, " ")
    for (k = 1; k <= 2; k++) {
      mid = 0; last = 0
      for (i = a + 1; i <= b; i++) mid += (k == 1 ? big[i] : fleet[i])
      for (i = b + 1; i <= n; i++) last += (k == 1 ? big[i] : fleet[i])
      mid /= (b - a); last /= (n - b)
      change = mid > 0 ? 100 * (last - mid) / mid : 0
      flat = change <= tol
      if (!flat) bad = 1
      printf "soak: %s RSS middle third %.1f MB, last third %.1f MB (%+.1f%%): %s\n", names[k], mid / 1024, last / 1024, change, flat ? "flat" : "GROWING"
    }
    exit bad
  }' "$csv"
