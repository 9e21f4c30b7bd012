// The Mosquitto anchor on its own (bench/mqtt_anchor.h): QoS 1 retained publishes of a JSON
// document from N clients to a real Mosquitto broker, window 4, then the broker's RSS per idle
// connection. For trying the anchor out and for the documentation; the ingest bench's anchor run
// uses the same library with the Big Peer's own SPI document.
// A measurement, not a test: exits 0 whatever the figures, 1 if the setup fails, 2 on bad options.
#include <fmt/format.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <iostream>
#include <map>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "mqtt_anchor.h"

namespace {

struct Options {
  smallpeer::bench::MqttLoadOptions load;
  size_t payload_bytes = 1800;
  size_t idle_clients = 10000;
};

const char* const kUsage =
    "usage: smallpeer_mqtt_bench [--clients N] [--window N] [--payload-bytes N] [--seconds S] [--warmup S]\n"
    "                            [--idle-clients N]\n"
    "  --clients        concurrent MQTT clients publishing, one topic each (default 1000)\n"
    "  --window         unacknowledged QoS 1 publishes per client (default 4)\n"
    "  --payload-bytes  size of the JSON document published (default 1800)\n"
    "  --seconds        measured window (default 10)\n"
    "  --warmup         load before the window starts (default 3)\n"
    "  --idle-clients   idle connections for the RSS per connection (default 10000; 0 skips it)\n";

template <typename T>
T parse_number(const std::string& name, const std::string& text, double min, double max) {
  double value = 0;
  size_t used = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || !(value >= min && value <= max)) {
    throw std::invalid_argument(fmt::format("{} needs a number from {} to {} (got '{}')", name, min, max, text));
  }
  if constexpr (std::is_integral_v<T>) {
    if (static_cast<double>(static_cast<T>(value)) != value) {
      throw std::invalid_argument(fmt::format("{} needs a whole number (got '{}')", name, text));
    }
  }
  return static_cast<T>(value);
}

Options parse_options(int argc, char** argv) {
  Options o;
  using Setter = std::function<void(const std::string&, const std::string&)>;
  const std::map<std::string, Setter> setters = {
      {"--clients", [&](const auto& n, const auto& v) { o.load.clients = parse_number<size_t>(n, v, 1, 1e6); }},
      {"--window", [&](const auto& n, const auto& v) { o.load.window = parse_number<size_t>(n, v, 1, 65535); }},
      {"--payload-bytes", [&](const auto& n, const auto& v) { o.payload_bytes = parse_number<size_t>(n, v, 1, 1e8); }},
      {"--seconds", [&](const auto& n, const auto& v) { o.load.seconds = parse_number<double>(n, v, 0.1, 3600); }},
      {"--warmup", [&](const auto& n, const auto& v) { o.load.warmup_seconds = parse_number<double>(n, v, 0, 3600); }},
      {"--idle-clients", [&](const auto& n, const auto& v) { o.idle_clients = parse_number<size_t>(n, v, 0, 1e6); }},
  };
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      std::exit(0);
    }
    std::string value;
    if (const auto eq = arg.find('='); eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg.resize(eq);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      throw std::invalid_argument(arg + " needs a value\n" + kUsage);
    }
    const auto setter = setters.find(arg);
    if (setter == setters.end()) throw std::invalid_argument("unknown option " + arg + "\n" + kUsage);
    setter->second(arg, value);
  }
  return o;
}

/// A JSON object of exactly `bytes` bytes, shaped like a Small Peer Info document (an id, a few
/// fields, one string padded to size); below the skeleton's own size, that many 'x's.
std::string json_payload(size_t bytes) {
  const std::string head = R"({"_id":"bench-peer","_kind":"__small_peer_info","sdk":{"language":"cpp","version":"0.1.0"},)"
                           R"("device":{"os":"linux","cores":2},"sequence":1,"data":")";
  const std::string tail = "\"}";
  if (bytes < head.size() + tail.size()) return std::string(bytes, 'x');
  std::string text = head;
  for (size_t i = 0; text.size() + tail.size() < bytes; ++i) text.push_back(static_cast<char>('a' + i % 26));
  return text + tail;
}

double mib(uint64_t bytes) {
  return static_cast<double>(bytes) / (1024.0 * 1024.0);
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  try {
    options = parse_options(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "smallpeer_mqtt_bench: " << e.what() << "\n";
    return 2;
  }
  try {
    options.load.payload = json_payload(options.payload_bytes);
    const auto& l = options.load;
    fmt::print("mqtt: Mosquitto, {} clients, window {}, {}-byte QoS 1 retained publishes, {:g} s warm-up, {:g} s window\n",
               l.clients, l.window, l.payload.size(), l.warmup_seconds, l.seconds);
    std::fflush(stdout);
    const auto f = smallpeer::bench::measure_mqtt_throughput(l);
    fmt::print("  publishes (PUBACKed)         {} in {:.2f} s\n", f.publishes, f.window_seconds);
    fmt::print("  publishes/s                  {:.0f}\n", f.publishes_per_second);
    fmt::print("  broker CPU per publish       {:.1f} us\n", f.broker_cpu_us_per_publish);
    fmt::print("  generator CPU per publish    {:.1f} us\n", f.generator_cpu_us_per_publish);
    fmt::print("  broker peak RSS              {:.1f} MiB\n", mib(f.broker_peak_rss));
    std::fflush(stdout);
    if (options.idle_clients > 0) {
      fmt::print("mqtt: Mosquitto, {} idle clients\n", options.idle_clients);
      std::fflush(stdout);
      const auto idle = smallpeer::bench::measure_mqtt_idle(options.idle_clients);
      fmt::print("  broker RSS before / after    {:.1f} / {:.1f} MiB\n", mib(idle.broker_rss_before), mib(idle.broker_rss_after));
      fmt::print("  RSS per idle connection      {:.0f} bytes\n", idle.rss_bytes_per_connection);
    }
  } catch (const std::exception& e) {
    std::cerr << "smallpeer_mqtt_bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
