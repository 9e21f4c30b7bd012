// What the benches read about processes from /proc: resident memory and CPU time of a process,
// busy time of the whole machine (and the calling thread's CPU time, from the kernel's clock). One
// implementation for every bench (header-only, Linux).
#pragma once

#include <fmt/format.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <ctime>
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

/// User + system CPU seconds the calling thread has used.
inline double thread_cpu_seconds() {
  timespec t{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

/// Busy CPU seconds of the whole machine (every process), from the first line of /proc/stat.
inline double machine_busy_seconds() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  uint64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
  return static_cast<double>(user + nice + system + irq + softirq + steal) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

/// Raises this process's soft open file limit to the hard one, or both to `at_least` if that is
/// above the hard limit and the process may (root); children inherit it. Returns the soft limit now.
inline uint64_t raise_open_file_limit(uint64_t at_least = 0) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    throw std::runtime_error(fmt::format("cannot read the open file limit: {}", std::strerror(errno)));
  }
  if (limit.rlim_max != RLIM_INFINITY && limit.rlim_max < at_least) {
    // Above the hard limit: allowed with CAP_SYS_RESOURCE (root), up to fs.nr_open.
    const rlimit raised{static_cast<rlim_t>(at_least), static_cast<rlim_t>(at_least)};
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) return at_least;
  }
  if (limit.rlim_cur != limit.rlim_max) {
    rlimit raised = limit;
    // An unlimited hard limit cannot be the soft one for files; take what is asked, at least 64 Ki.
    raised.rlim_cur = limit.rlim_max == RLIM_INFINITY ? std::max<uint64_t>(at_least, 65536) : limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  return limit.rlim_cur;
}

}  // namespace smallpeer::bench
