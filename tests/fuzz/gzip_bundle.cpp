// Fuzzes the Big Peer's check of uploaded log bundles (bigpeer check_gzip): arbitrary bytes, read
// in chunks of a size the input chooses, are "" (complete, valid gzip) or refused with a reason. It
// must agree with zlib used directly: accepted exactly when the bytes are one or more complete gzip
// members and nothing else, whatever the read size.
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "bigpeer/storage/bundles.h"
#include "fuzz_check.h"

using smallpeer::fuzz::require;

namespace {
// True if `data` is one or more complete gzip members and nothing else.
bool inflates_completely(std::string_view data) {
  if (data.empty()) return false;
  z_stream z{};
  if (inflateInit2(&z, 15 + 16) != Z_OK) return false;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  std::array<unsigned char, 16 * 1024> out{};
  int rc = Z_OK;
  for (;;) {
    z.next_out = out.data();
    z.avail_out = out.size();
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc == Z_STREAM_END) {
      if (z.avail_in == 0) break;
      inflateReset(&z);
      continue;
    }
    if (rc != Z_OK) break;
    if (z.avail_in == 0 && z.avail_out != 0) break;  // input ended inside a member
  }
  inflateEnd(&z);
  return rc == Z_STREAM_END;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t chunk = 1 + data[0] % 64;  // the first byte picks the read size
  const std::string_view bundle(reinterpret_cast<const char*>(data) + 1, size - 1);
  size_t offset = 0;
  const std::string reason = smallpeer::bigpeer::check_gzip([&](char* buffer, size_t capacity) {
    const size_t n = std::min({chunk, capacity, bundle.size() - offset});
    std::memcpy(buffer, bundle.data() + offset, n);
    offset += n;
    return n;
  });
  require(reason.empty() == inflates_completely(bundle), "accepted exactly when the bytes are complete gzip members");
  return 0;
}
