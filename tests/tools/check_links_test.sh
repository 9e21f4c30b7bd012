#!/usr/bin/env bash
# Proves scripts/check_links.py refuses a Markdown link to a missing file or heading (naming the file,
# line and target) and accepts links that resolve, GitHub's heading anchors included.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/docs"
cat >"$tmp/docs/target.md" <<'MD'
# Target
## The Big Peer alone, against Mosquitto (`scripts/bench.sh anchor`)
## Twice
## Twice
```sh
# not a heading
```
MD
cat >"$tmp/good.md" <<'MD'
See [the anchor](docs/target.md#the-big-peer-alone-against-mosquitto-scriptsbenchsh-anchor),
[the second](docs/target.md#twice-1), [this file](#a-heading), [a dir](docs/) and [web](https://example.com/x#y),
[a title](docs/target.md "Target"), [brackets](<docs/target.md#twice>), [from the root](/docs/target.md),
[a query](docs/target.md?plain=1) and [another repository's](../elsewhere/SPEC.md).
`[in code](missing.md)`, `` [in double code](missing.md) ``, <!-- [in a comment](missing.md) --> are not links.
[reference]: docs/target.md#target
## A heading
MD
"$root/scripts/check_links.py" --root "$tmp" "$tmp/good.md" >/dev/null ||
  { echo "FAIL: links that resolve were refused" >&2; exit 1; }

# expect_refused TEXT WHAT: a file whose line 2 is TEXT is refused, naming its line and WHAT.
expect_refused() {
  printf 'Fine [link](docs/target.md).\n%s\n' "$1" >"$tmp/bad.md"
  if "$root/scripts/check_links.py" --root "$tmp" "$tmp/bad.md" 2>"$tmp/err"; then
    echo "FAIL: a broken link passed: $1" >&2
    exit 1
  fi
  grep -q "bad.md:2: broken link .*$2" "$tmp/err" || { echo "FAIL: the refusal does not name bad.md:2 and $2" >&2; cat "$tmp/err" >&2; exit 1; }
}
expect_refused 'A [missing file](docs/gone.md).' 'docs/gone.md: no such file'
expect_refused 'A [missing heading](docs/target.md#not-here).' "no heading '#not-here'"
expect_refused 'A [code heading](docs/target.md#not-a-heading).' "no heading '#not-a-heading'"
expect_refused 'A [third twice](docs/target.md#twice-2).' "no heading '#twice-2'"
expect_refused 'A [local one](#nowhere).' "no heading '#nowhere'"
expect_refused 'A [link whose text
wraps](docs/target.md#gone).' "no heading '#gone'"
expect_refused 'A [titled one](docs/gone.md "Gone").' 'docs/gone.md: no such file'
expect_refused '[reference]: docs/gone.md' 'docs/gone.md: no such file'
echo "check_links_test: broken links refused and named, resolving ones accepted"
