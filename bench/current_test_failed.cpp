// support/big_peer_process.h asks whether to print the Big Peer's log when a BigPeerProcess goes
// away. The benches link no test framework and fail by throwing, so: while an exception unwinds.
#include "support/current_test_failed.h"

#include <exception>

namespace smallpeer::test_support {

bool current_test_failed() {
  return std::uncaught_exceptions() > 0;
}

}  // namespace smallpeer::test_support
