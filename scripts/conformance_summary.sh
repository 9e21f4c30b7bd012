#!/usr/bin/env bash
# Checks the behaviour table's result in every language, from the test output in LOG (one line
# "conformance <language>: N cases, P passed, F failed" per runner): all six languages present,
# the same N in each, none failed. Prints the six lines. Usage: scripts/conformance_summary.sh LOG
set -euo pipefail
log="$1"
expected=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["cases"]))' "$(dirname "$0")/../tests/conformance/cases.json")
status=0
for language in c swift kotlin java javascript python; do
  pattern="conformance $language"
  line=$(grep -ioE "$pattern: [0-9]+ cases, [0-9]+ passed, [0-9]+ failed" "$log" | tail -1 || true)
  if [ -z "$line" ]; then
    echo "conformance $language: no summary line in the output (the runner did not run)"
    status=1
    continue
  fi
  echo "$line"
  read -r cases passed failed <<<"$(echo "$line" | grep -oE '[0-9]+' | tr '\n' ' ')"
  if [ "$cases" != "$expected" ] || [ "$passed" != "$expected" ] || [ "$failed" != 0 ]; then
    echo "  ^ expected $expected cases, all passed (tests/conformance/cases.json)"
    status=1
  fi
done
exit $status
