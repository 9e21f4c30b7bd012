#!/usr/bin/env bash
# Sourced by the package tests (tests/packages/*_package_test.sh, docs/PACKAGES.md): a temporary
# work folder removed at exit, a real Big Peer, and the check every consumer program must pass.
# The caller sets PACKAGE_TEST (its name, for the output) before sourcing.
set -euo pipefail
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# Prints one step of the test.
step() { echo "${PACKAGE_TEST}: $*"; }

# Prints its arguments to stderr and fails the test.
fail() {
  echo "${PACKAGE_TEST}: $*" >&2
  exit 1
}

# `cmake --install BUILD` into the empty folder $work/prefix; sets prefix and pcdir (where
# smallpeer.pc is: lib/pkgconfig, or Debian's multiarch lib/<triplet>/pkgconfig).
install_prefix() {
  prefix=$work/prefix
  step "cmake --install $1 --prefix <empty prefix>"
  cmake --install "$1" --prefix "$prefix" >/dev/null
  pcdir=$(dirname "$(find "$prefix" -name smallpeer.pc -print -quit)")
}

# Starts `CLI big-peer` on a free port (app package-test, token package-token); sets url, sync_url
# and token (the admin token) from its ready file.
start_big_peer() {
  local cli=$1
  "$cli" big-peer --listen 127.0.0.1:0 --data "$work/big-peer" --app-id package-test \
    --app-token package-token --ready-file "$work/ready.json" --log-level warn >"$work/big-peer.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 200); do [[ -s $work/ready.json ]] && break; sleep 0.1; done
  [[ -s $work/ready.json ]] || { cat "$work/big-peer.log" >&2; fail "the Big Peer did not start"; }
  url=$(jq -r .url "$work/ready.json")
  sync_url=$(jq -r .sync_url "$work/ready.json")
  token=$(jq -r .admin_token "$work/ready.json")
}

# Runs a consumer program (NAME CMD...) in the background with the arguments every consumer takes:
# PERSISTENCE_DIR APP_ID APP_TOKEN SYNC_URL SECONDS. It must print "peer_key <key>", open a small
# peer, turn Small Peer Info on with BigPeerOnly and sync; this waits until GET /api/v1/devices
# shows that device online with its BigPeerOnly report.
check_consumer() {
  local name=$1
  shift
  "$@" "$work/peer-$name" package-test package-token "$sync_url" 60 >"$work/$name.out" 2>&1 &
  pids+=($!)
  local key="" seen=""
  for _ in $(seq 200); do
    key=$(awk '/^peer_key / {print $2}' "$work/$name.out")
    [[ -n $key ]] && break
    sleep 0.1
  done
  [[ -n $key ]] || { cat "$work/$name.out" >&2; fail "$name printed no peer key"; }
  for _ in $(seq 200); do
    if curl -sf -H "Authorization: Bearer $token" "$url/api/v1/devices/$key" |
      jq -e '.online and .has_small_peer_info and .small_peer_info.sync_scope == "BigPeerOnly"' >/dev/null; then
      seen=yes
      break
    fi
    sleep 0.1
  done
  [[ -n $seen ]] || { cat "$work/$name.out" "$work/big-peer.log" >&2; fail "$name's device never showed in /api/v1/devices"; }
  step "$name: its device $key is online in GET /api/v1/devices with its BigPeerOnly report"
}
