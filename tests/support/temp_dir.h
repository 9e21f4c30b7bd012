// A temporary directory for one test, removed with everything in it when the test ends.
#pragma once

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>

namespace smallpeer::test_support {

/// Creates a fresh directory under the system temp directory; removes it on destruction.
class TempDir {
 public:
  /// Makes a directory named after `prefix`, the process id and a counter.
  explicit TempDir(const std::string& prefix = "smallpeer-test") {
    static std::atomic<int> counter{0};
    path_ =
        std::filesystem::temp_directory_path() / (prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  /// The directory.
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace smallpeer::test_support
