// Facts about the device and SDK that the SPI document reports, read from the system.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace smallpeer {

/// The operating system, as uname reports it.
struct OsFacts {
  std::string name;     // e.g. "Linux"
  std::string version;  // kernel release
  std::string arch;     // e.g. "x86_64"
};

/// Reads the operating system facts once.
OsFacts read_os_facts();
/// The SDK platform name the SPI document uses: Linux, iOS, Android, macOS or Windows.
std::string sdk_platform();
/// This build's version, e.g. "0.1.0".
std::string sdk_version();
/// The commit this build was made from, or "unknown".
std::string sdk_commit();
/// The machine's host name, the default device name.
std::string host_name();

/// Free and total bytes of the file system that holds `path`.
struct FileSystemSpace {
  uint64_t available = 0;
  uint64_t total = 0;
};
/// statvfs() of `path`; zeros if it cannot be read.
FileSystemSpace file_system_space(const std::filesystem::path& path);
/// Bytes of every regular file under `dir`, recursively (missing files are skipped).
uint64_t directory_bytes(const std::filesystem::path& dir);

}  // namespace smallpeer
