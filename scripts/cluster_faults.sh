#!/usr/bin/env bash
# The cluster fault tests at full length (docs/DEPLOY.md, "Fault tests"): a real PostgreSQL
# stopped for 5 s and started again 5 times under a 30-device fleet on two nodes, a node killed
# under load, a node cut from the database, log progress on both nodes. Prints the FAULT-FIGURE
# lines the tests write (times to readiness, to every device reporting again, to fail-over), then
# the spread test (tests/cluster/spread_test.cpp: a fleet on three nodes, one killed and restarted)
# and its SPREAD-FIGURE lines (sessions per node, seconds to settle).
# Usage: scripts/cluster_faults.sh [build dir: build/dev] [devices: 30] [rounds: 5] [spread devices on 3 nodes: 300]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/dev}
export SMALLPEER_FAULT_DEVICES=${2:-30}
export SMALLPEER_FAULT_ROUNDS=${3:-5}
export SMALLPEER_FAULT_SPREAD_DEVICES=${4:-300}
binary="$build/tests/smallpeer_cluster_tests"
if [[ ! -x "$binary" ]]; then
  echo "cluster_faults: $binary is missing; build it first: cmake --build --preset dev --target smallpeer_cluster_tests" >&2
  exit 2
fi
log=$(mktemp /tmp/smallpeer-cluster-faults-XXXXXX.log)
echo "cluster_faults: ${SMALLPEER_FAULT_DEVICES} devices, ${SMALLPEER_FAULT_ROUNDS} outage rounds, ${SMALLPEER_FAULT_SPREAD_DEVICES} devices on 3 nodes; full output in $log"
status=0
"$binary" --gtest_filter='FaultTest.*:SpreadTest.*' >"$log" 2>&1 || status=$?
grep -E '^\[ +(OK|FAILED) +\]|FAULT-FIGURE|SPREAD-FIGURE' "$log" || true
[[ $status -eq 0 ]] && echo "cluster_faults: all passed" || echo "cluster_faults: FAILED (status $status), see $log"
exit $status
