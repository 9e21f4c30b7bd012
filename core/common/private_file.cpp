#include "common/private_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "common/error.h"

namespace smallpeer {

void write_private_file(const std::filesystem::path& file, std::string_view bytes, std::string_view what) {
  const std::string temp = file.string() + ".tmp";
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw Error(ErrorCode::io, fmt::format("cannot create {} {}: {}", what, temp, std::strerror(errno)));
  size_t done = 0;
  while (done < bytes.size()) {
    const auto n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  const bool ok = done == bytes.size() && ::fsync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  if (!ok || std::rename(temp.c_str(), file.c_str()) != 0) {
    const int reason = ok ? errno : saved;
    std::remove(temp.c_str());
    throw Error(ErrorCode::io, fmt::format("cannot write {} {}: {}", what, file.string(), std::strerror(reason)));
  }
}

}  // namespace smallpeer
