#include "spi/system_facts.h"

#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <array>

#if defined(__APPLE__)
#include <TargetConditionals.h>
#endif

namespace smallpeer {

OsFacts read_os_facts() {
  utsname u{};
  if (uname(&u) != 0) return {"unknown", "unknown", "unknown"};
  return {u.sysname, u.release, u.machine};
}

std::string sdk_platform() {
#if defined(__ANDROID__)
  return "Android";
#elif defined(__APPLE__)
#if TARGET_OS_IPHONE
  return "iOS";
#else
  return "macOS";
#endif
#elif defined(_WIN32)
  return "Windows";
#else
  return "Linux";
#endif
}

std::string sdk_version() {
  return SMALLPEER_VERSION;
}
std::string sdk_commit() {
  return SMALLPEER_GIT_COMMIT;
}

std::string host_name() {
  std::array<char, 256> buf{};
  if (gethostname(buf.data(), buf.size() - 1) != 0 || buf[0] == '\0') return "small-peer";
  return buf.data();
}

FileSystemSpace file_system_space(const std::filesystem::path& path) {
  struct statvfs s {};
  if (statvfs(path.c_str(), &s) != 0) return {};
  return {static_cast<uint64_t>(s.f_bavail) * s.f_frsize, static_cast<uint64_t>(s.f_blocks) * s.f_frsize};
}

uint64_t directory_bytes(const std::filesystem::path& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code size_ec;
    if (it->is_regular_file(size_ec)) {
      const auto size = it->file_size(size_ec);
      if (!size_ec) total += size;
    }
  }
  return total;
}

}  // namespace smallpeer
