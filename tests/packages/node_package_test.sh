#!/usr/bin/env bash
# The npm package as a user gets it (docs/PACKAGES.md): `npm pack` of the staged package, then a
# throwaway project in a temporary directory that `npm install`s only that tarball, offline (no
# registry, no build: the addon is in prebuilds/<platform>-<arch>/). Its program opens a small peer,
# turns Small Peer Info on with BigPeerOnly and syncs to a real Big Peer; the test waits for its
# device in GET /api/v1/devices. It also imports the package as an ES module, and checks that a
# platform without a prebuild gets an error naming the platforms the package has.
# Usage: node_package_test.sh PACKAGE_DIR SMALLPEER_CLI   (ctest package_node passes the dev build's)
set -euo pipefail
package=${1:?usage: node_package_test.sh PACKAGE_DIR SMALLPEER_CLI}
cli=${2:?usage: node_package_test.sh PACKAGE_DIR SMALLPEER_CLI}
here=$(cd "$(dirname "$0")" && pwd)
PACKAGE_TEST=package_node
# shellcheck source=lib.sh
source "$here/lib.sh"

# npm's cache and settings stay in the work folder: nothing is read from or written to ~/.npm.
export npm_config_cache=$work/npm-cache npm_config_update_notifier=false npm_config_loglevel=error npm_config_offline=true
step "npm pack $package"
npm pack --json --pack-destination "$work" "$package" >"$work/pack.json"
tarball=$work/$(jq -r '.[0].filename' "$work/pack.json")
files=$(jq -r '[.[0].files[].path] | sort | join(" ")' "$work/pack.json")
platform=$(node -p 'process.platform + "-" + process.arch')
expected="README.md index.d.ts index.js index.mjs package.json prebuilds/$platform/libsmallpeer.so.1 prebuilds/$platform/smallpeer.napi.node"
[[ $files == "$expected" ]] || fail "the tarball holds: $files; expected: $expected"
step "$(basename "$tarball"): $files"

mkdir "$work/app"
cp "$here/node_consumer/consumer.cjs" "$work/app/"
echo '{ "name": "throwaway", "private": true }' >"$work/app/package.json"
step "npm install <tarball> --offline in an empty project"
(cd "$work/app" && npm install "$tarball" --no-audit --no-fund >/dev/null)
[[ -f $work/app/node_modules/smallpeer/prebuilds/$platform/smallpeer.napi.node ]] || fail "the prebuilt addon is not installed"

step "import from an ES module"
esm=$(cd "$work/app" && node --input-type=module -e "import { version, Ditto } from 'smallpeer'; console.log(typeof Ditto, version)")
[[ $esm =~ ^function\ [0-9]+\.[0-9]+\.[0-9]+ ]] || fail "import gave: $esm"

step "a platform with no prebuild"
refusal=$(cd "$work/app" && node -e "
  Object.defineProperty(process, 'arch', { value: 'mips' });
  try { require('smallpeer'); console.log('loaded'); } catch (e) { console.log(e.message); }")
[[ $refusal == "smallpeer: no prebuilt addon for linux-mips; this package has prebuilds for: $platform" ]] ||
  fail "on linux-mips the package said: $refusal"
step "linux-mips: $refusal"

step "starting the Big Peer"
start_big_peer "$cli"
check_consumer node-consumer node "$work/app/consumer.cjs"
step "ok"
