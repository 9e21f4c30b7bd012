#include "bigpeer/storage/data_dir.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string_view>

#include "common/base64.h"
#include "common/error.h"
#include "common/private_file.h"

namespace smallpeer::bigpeer {

namespace {
std::string errno_text() {
  return std::strerror(errno);
}

std::string trimmed(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  const auto last = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(first, last - first + 1));
}
}  // namespace

DataDirectory::DataDirectory(std::filesystem::path path) : path_(std::move(path)) {
  std::error_code ec;
  std::filesystem::create_directories(path_, ec);
  if (ec) throw Error(ErrorCode::io, fmt::format("cannot create the data directory {}: {}", path_.string(), ec.message()));
  const auto lock_file = path_ / "bigpeer.lock";
  lock_fd_ = ::open(lock_file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd_ < 0) throw Error(ErrorCode::io, fmt::format("cannot open {}: {}", lock_file.string(), errno_text()));
  // flock, not a pid file: the kernel releases it when the process dies, even by kill -9.
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    ::close(lock_fd_);
    throw Error(ErrorCode::locked, fmt::format("the data directory {} is used by another Big Peer", path_.string()));
  }
}

DataDirectory::~DataDirectory() {
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

std::string DataDirectory::load_or_create_admin_token(bool& created) const {
  created = false;
  const auto file = admin_token_file();
  if (std::ifstream in(file); in) {
    std::stringstream text;
    text << in.rdbuf();
    auto token = trimmed(text.str());
    if (token.empty()) {
      throw Error(ErrorCode::validation, fmt::format("{} is empty; delete it to make a new token", file.string()));
    }
    return token;
  }
  std::string token = random_base64url(32);

  write_private_file(file, token + "\n", "admin token file");
  created = true;
  return token;
}

}  // namespace smallpeer::bigpeer
