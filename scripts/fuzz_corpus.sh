#!/usr/bin/env bash
# Regenerates the fuzz targets' seed corpus, tests/fuzz/corpus/<target>/seed-*, with
# fuzz_make_corpus (tests/fuzz/make_corpus.cpp: real frames from the encoder, real requests, gzip
# bundles). Findings added by hand (tests/fuzz/corpus/<target>/finding-*) are kept.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --preset fuzz >/dev/null
cmake --build build/fuzz --target fuzz_make_corpus >/dev/null
find tests/fuzz/corpus -name 'seed-*' -delete 2>/dev/null || true
build/fuzz/tests/fuzz/fuzz_make_corpus tests/fuzz/corpus
for d in tests/fuzz/corpus/*/; do
  echo "corpus: $(basename "$d"): $(find "$d" -type f | wc -l) files, $(du -sk "$d" | cut -f1) KiB"
done
