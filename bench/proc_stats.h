// What the benches read about processes from /proc: resident memory and CPU time of a process,
// busy time of the whole machine. One implementation for every bench (header-only, Linux).
#pragma once

#include <fmt/format.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace smallpeer::bench {

/// VmRSS of `pid` in bytes (0 if it is gone).
inline uint64_t rss_bytes(pid_t pid) {
  std::ifstream status(fmt::format("/proc/{}/status", pid));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10) * 1024;
  }
  return 0;
}

/// User + system CPU seconds `pid` has used (all its threads, live and ended).
inline double cpu_seconds(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto close = text.rfind(')');  // the command name may hold spaces and parentheses
  if (close == std::string::npos) throw std::runtime_error(fmt::format("cannot read /proc/{}/stat", pid));
  std::istringstream fields(text.substr(close + 2));
  std::vector<std::string> f;
  for (std::string s; fields >> s;) f.push_back(s);
  // After the name: state(3) ... utime(14) stime(15), so indexes 11 and 12 here.
  if (f.size() < 13) throw std::runtime_error(fmt::format("short /proc/{}/stat", pid));
  return static_cast<double>(std::stoull(f[11]) + std::stoull(f[12])) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

/// Busy CPU seconds of the whole machine (every process), from the first line of /proc/stat.
inline double machine_busy_seconds() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  uint64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
  return static_cast<double>(user + nice + system + irq + softirq + steal) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

}  // namespace smallpeer::bench
