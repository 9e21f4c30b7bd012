// Small peers for tests against a real Big Peer process: one way to configure and start them.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "ditto/ditto.h"
#include "support/big_peer_process.h"

namespace smallpeer::test_support {

/// Opens a small peer named `name` in `dir / name` with `transport_json`, signed in to `big_peer`
/// with `app_token` (empty: the right token), and starts its sync.
inline std::shared_ptr<Ditto> open_small_peer(const BigPeerProcess& big_peer, const std::filesystem::path& dir,
                                              const std::string& name, const std::string& transport_json,
                                              const std::string& app_token = "") {
  DittoConfig config;
  config.persistence_dir = dir / name;
  config.device_name = name;
  config.identity = {IdentityConfig::Kind::online_playground, big_peer.app_id(),
                     app_token.empty() ? big_peer.app_token() : app_token};
  auto d = Ditto::open(config);
  d->set_transport_config(transport_json);
  d->start_sync();
  return d;
}

}  // namespace smallpeer::test_support
