// A real small peer in its own process (smallpeer_test_lan_peer), listening on a LAN port of
// 127.0.0.1, and /proc readings of any child process (memory, CPU time) for resource tests. The
// including target must define SMALLPEER_TEST_LAN_PEER as the path of that executable.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#ifndef SMALLPEER_TEST_LAN_PEER
#error "define SMALLPEER_TEST_LAN_PEER as the path of the smallpeer_test_lan_peer executable"
#endif

extern char** environ;

namespace smallpeer::test_support {

/// Resident memory of process `pid` in KiB (VmRSS in /proc/PID/status); 0 if unreadable.
inline uint64_t resident_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6));
  return 0;
}

/// CPU time (user + system) process `pid` has used so far, from /proc/PID/stat.
inline std::chrono::milliseconds cpu_time(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto close = text.rfind(')');  // the command name may hold spaces
  if (close == std::string::npos) return std::chrono::milliseconds(0);
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  uint64_t utime = 0, stime = 0;
  for (int i = 3; fields >> field; ++i) {  // field 3 is the state; utime is 14, stime 15
    if (i == 14) utime = std::stoull(field);
    if (i == 15) {
      stime = std::stoull(field);
      break;
    }
  }
  return std::chrono::milliseconds((utime + stime) * 1000 / static_cast<uint64_t>(::sysconf(_SC_CLK_TCK)));
}

/// `smallpeer_test_lan_peer DIR APP_ID APP_TOKEN [LAN_JSON]`: ready when constructed, stopped (SIGTERM) when destroyed.
class LanPeerProcess {
 public:
  /// Starts a small peer in `dir` with an online playground identity and waits until it listens.
  /// `extra_lan_json` adds fields to the transport config's "lan" object, e.g. R"("max_handshakes":8)".
  LanPeerProcess(const std::filesystem::path& dir, const std::string& app_id, const std::string& app_token,
                 const std::string& extra_lan_json = {}) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    std::vector<std::string> args = {SMALLPEER_TEST_LAN_PEER, dir.string(), app_id, app_token};
    if (!extra_lan_json.empty()) args.push_back(extra_lan_json);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int rc = ::posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    if (rc != 0) {
      ::close(fds[0]);
      throw std::runtime_error("cannot start " + args[0]);
    }
    std::string out;
    char chunk[512];
    while (out.find("lan-peer: ready\n") == std::string::npos) {
      const ssize_t n = ::read(fds[0], chunk, sizeof chunk);
      if (n <= 0) break;
      out.append(chunk, static_cast<size_t>(n));
    }
    ::close(fds[0]);  // it prints nothing more
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("lan-peer: port ", 0) == 0) port_ = static_cast<uint16_t>(std::stoi(line.substr(15)));
      if (line.rfind("lan-peer: peer key ", 0) == 0) peer_key_ = line.substr(19);
    }
    if (port_ == 0) {
      stop();
      throw std::runtime_error("smallpeer_test_lan_peer did not start: " + out);
    }
  }
  ~LanPeerProcess() { stop(); }
  LanPeerProcess(const LanPeerProcess&) = delete;
  LanPeerProcess& operator=(const LanPeerProcess&) = delete;

  /// Its LAN port on 127.0.0.1.
  [[nodiscard]] uint16_t port() const { return port_; }
  /// Its peer key.
  [[nodiscard]] const std::string& peer_key() const { return peer_key_; }
  /// Its process id.
  [[nodiscard]] pid_t pid() const { return pid_; }

  /// SIGTERM, then SIGKILL after 10 s; idempotent.
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 1000 && ::waitpid(pid_, &status, WNOHANG) == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (::waitpid(pid_, &status, WNOHANG) == 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
    }
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  std::string peer_key_;
};

}  // namespace smallpeer::test_support
