#!/usr/bin/env bash
# The portal's browser tests (tests/portal): Playwright for Python from PyPI drives Debian's
# Chromium (/usr/bin/chromium; Playwright's own browsers are never downloaded) against a real
# `smallpeer big-peer` (SMALLPEER_CLI, default build/dev/tools/smallpeer) and real small peers.
# Screenshots go to SMALLPEER_SCREENSHOTS (default build/dev/screenshots). Extra arguments go to pytest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=python_env.sh
source "$ROOT/scripts/python_env.sh"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
python_env_install pytest mypy playwright

export SMALLPEER_CLI="${SMALLPEER_CLI:-$ROOT/build/dev/tools/smallpeer}"
[[ -x "$SMALLPEER_CLI" ]] || { echo "portal_test: $SMALLPEER_CLI not found (build the dev preset first)" >&2; exit 1; }
export SMALLPEER_CHROMIUM="${SMALLPEER_CHROMIUM:-/usr/bin/chromium}"
[[ -x "$SMALLPEER_CHROMIUM" ]] || { echo "portal_test: $SMALLPEER_CHROMIUM not found (apt-get install chromium)" >&2; exit 1; }
export SMALLPEER_SCREENSHOTS="${SMALLPEER_SCREENSHOTS:-$ROOT/build/dev/screenshots}"

echo "portal_test: mypy"
(cd tests/portal && "$PY" -m mypy --strict --explicit-package-bases .)

echo "portal_test: pytest (screenshots in $SMALLPEER_SCREENSHOTS)"
set +e
(cd tests/portal && "$PY" -m pytest -q -p no:cacheprovider -rxXs . "$@")
rc=$?
set -e
if [[ $rc -eq 5 ]]; then
  echo "portal_test: pytest collected no tests" >&2
  exit 1
fi
exit $rc
