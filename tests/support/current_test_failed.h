// The verdict support/big_peer_process.h asks for when a BigPeerProcess goes away: print the Big
// Peer's log or not. Its own header, so the two definitions (support/current_test_failed.cpp for
// the tests, bench/current_test_failed.cpp for the benches) compile without the process helpers'
// Boost.Beast and OpenSSL headers (~20 s of compile each, in seven programs).
#pragma once

namespace smallpeer::test_support {

/// True when the running test has failed, so ~BigPeerProcess prints the Big Peer's log. Defined by
/// the linking program: GoogleTest's verdict in the tests; in the benches, which fail by throwing,
/// whether an exception is unwinding.
bool current_test_failed();

}  // namespace smallpeer::test_support
