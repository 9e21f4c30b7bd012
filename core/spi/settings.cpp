#include "spi/settings.h"

#include <charconv>

#include "store/store.h"

namespace smallpeer {

namespace {
constexpr auto kEnabled = "spi.enabled";
constexpr auto kShareWithAdminDevices = "spi.share_with_admin_devices";
constexpr auto kScope = "spi.sync_scope";
constexpr auto kInterval = "spi.interval_ms";
constexpr auto kMetadata = "spi.metadata";
constexpr auto kDeviceName = "device_name";

template <typename T>
bool parse_number(const std::string& text, T& out) {
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size();
}
}  // namespace

SpiSettings load_spi_settings(const Store& store, const std::string& default_device_name) {
  SpiSettings s;
  s.device_name = default_device_name;
  if (auto v = store.setting(kEnabled)) s.enabled = *v == "1";
  if (auto v = store.setting(kShareWithAdminDevices)) s.share_with_admin_devices = *v == "1";
  if (auto v = store.setting(kScope)) {
    if (auto scope = parse_sync_scope(*v); scope && is_spi_scope(*scope)) s.sync_scope = *scope;
  }
  if (auto v = store.setting(kInterval)) {
    int64_t ms = 0;
    if (parse_number(*v, ms) && ms >= kMinCollectionInterval.count()) s.interval = std::chrono::milliseconds(ms);
  }
  if (auto v = store.setting(kMetadata)) s.metadata_json = *v;
  if (auto v = store.setting(kDeviceName)) s.device_name = *v;
  return s;
}

void save_spi_settings(Store& store, const SpiSettings& s) {
  store.set_settings({
      {kEnabled, s.enabled ? "1" : "0"},
      {kShareWithAdminDevices, s.share_with_admin_devices ? "1" : "0"},
      {kScope, std::string(to_string(s.sync_scope))},
      {kInterval, std::to_string(s.interval.count())},
      {kMetadata, s.metadata_json},
      {kDeviceName, s.device_name},
  });
}

}  // namespace smallpeer
