// The Mosquitto anchor of the ingest benchmark: a real Mosquitto broker (Debian's package) fed by a
// lean MQTT load generator of the same shape as the Big Peer's (N clients, one retained QoS 1
// document per client topic, at most `window` unacknowledged per client, counting PUBACKs), and the
// broker's memory per idle connection.
//
// Threads: everything runs on the calling thread (the generator is one epoll loop over all the
// libmosquitto clients). The broker is a child process; the bench raises its own open file limit
// to the hard limit before starting it, so the broker inherits room for 10,000 connections.
// Linux only (epoll, /proc).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

namespace smallpeer::bench {

/// A real mosquitto broker (Debian's /usr/sbin/mosquitto) on 127.0.0.1, a free port, with
/// persistence on and autosave_interval 1 in a temporary directory; stopped by the destructor.
class MosquittoBroker {
 public:
  /// Starts the broker and waits until it accepts connections; throws std::runtime_error naming
  /// the problem (binary missing, broker exited: its log) otherwise.
  MosquittoBroker();
  /// Stops the broker (SIGTERM, SIGKILL if it lingers) and removes its directory.
  ~MosquittoBroker();
  MosquittoBroker(const MosquittoBroker&) = delete;
  MosquittoBroker& operator=(const MosquittoBroker&) = delete;
  /// The broker's process id.
  [[nodiscard]] pid_t pid() const { return pid_; }
  /// The TCP port it listens on (127.0.0.1 only).
  [[nodiscard]] uint16_t port() const { return port_; }
  /// The broker's own log (its stderr), for error messages.
  [[nodiscard]] std::string log() const;

 private:
  bool launch(uint16_t port, std::string* failure);
  void stop() noexcept;

  std::filesystem::path dir_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

/// What measure_mqtt_throughput runs.
struct MqttLoadOptions {
  size_t clients = 1000;  ///< concurrent MQTT clients, one topic each
  size_t window = 4;      ///< unacknowledged publishes per client
  std::string payload;    ///< the document bytes to publish
  double warmup_seconds = 3;
  double seconds = 10;  ///< the measured window
};

/// Figures of one throughput run (the measured window only).
struct MqttFigures {
  uint64_t publishes = 0;  ///< PUBACKs in the window
  double publishes_per_second = 0;
  double broker_cpu_us_per_publish = 0;
  double generator_cpu_us_per_publish = 0;  ///< this process's CPU
  uint64_t broker_peak_rss = 0;             ///< bytes, sampled during the window
  double window_seconds = 0;
  size_t clients = 0;
  size_t window = 0;
  size_t payload_bytes = 0;
};

/// Starts a broker, connects `clients` clients (all CONNACKed before the window), and has each publish
/// `payload` QoS 1 retained to its own topic (smallpeer/<i>/spi), at most `window` unacknowledged
/// per client, counting PUBACKs; measures after the warm-up.
MqttFigures measure_mqtt_throughput(const MqttLoadOptions& options);

/// Figures of one idle-connection run.
struct MqttIdleFigures {
  size_t clients = 0;
  uint64_t broker_rss_before = 0;  ///< bytes, the started broker with no client
  uint64_t broker_rss_after = 0;   ///< bytes, with every client connected
  double rss_bytes_per_connection = 0;
};

/// Connects `clients` idle clients (long keepalive) to a fresh broker, lets them sit `settle` after
/// the last connected; RSS per connection of the broker.
MqttIdleFigures measure_mqtt_idle(size_t clients, std::chrono::milliseconds settle = std::chrono::seconds(1));

}  // namespace smallpeer::bench
