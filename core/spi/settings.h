// Small Peer Info settings, persisted in the store so they survive reopen.
#pragma once

#include <chrono>
#include <string>

#include "rules/sync_scope.h"

namespace smallpeer {

class Store;

/// The default collection interval: five minutes, as in Ditto's docs.
inline constexpr std::chrono::milliseconds kDefaultCollectionInterval{300'000};
/// The shortest collection interval accepted.
inline constexpr std::chrono::milliseconds kMinCollectionInterval{1'000};

/// Everything the app configures about Small Peer Info.
struct SpiSettings {
  bool enabled = false;
  SyncScope sync_scope = SyncScope::local_peer_only;
  std::chrono::milliseconds interval = kDefaultCollectionInterval;
  std::string metadata_json = "{}";  // validated, minified object
  std::string device_name;
  bool share_with_admin_devices = false;  // send the document to an admin device met on the LAN
};

/// Reads the persisted settings; missing ones take their defaults (`default_device_name` for the name).
SpiSettings load_spi_settings(const Store& store, const std::string& default_device_name);
/// Persists all settings in one transaction.
void save_spi_settings(Store& store, const SpiSettings& settings);

}  // namespace smallpeer
