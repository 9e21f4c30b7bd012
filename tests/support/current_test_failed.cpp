// GoogleTest's verdict for support/big_peer_process.h: linked into every test program that starts a
// Big Peer, so its log is printed when the test fails.
#include "support/current_test_failed.h"

#include <gtest/gtest.h>

namespace smallpeer::test_support {

bool current_test_failed() {
  return ::testing::Test::HasFailure();
}

}  // namespace smallpeer::test_support
