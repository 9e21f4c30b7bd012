// What the fuzz targets share: an invariant check that stops the run with a message (libFuzzer
// then saves the input as crash-<sha1>).
#pragma once

#include <cstdio>
#include <cstdlib>

namespace smallpeer::fuzz {

/// Aborts (a finding) with `what` unless `condition` holds.
inline void require(bool condition, const char* what) {
  if (condition) return;
  std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
  std::abort();
}

}  // namespace smallpeer::fuzz
