// The Big Peer's check of uploaded log bundles (bigpeer/storage/bundles.h, check_gzip): complete
// gzip members, one or several, are accepted however the reads split them; anything else is
// refused with a reason. Part of smallpeer_bigpeer_tests.
#include "bigpeer/storage/bundles.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

namespace smallpeer::bigpeer {
namespace {

// One gzip member holding `text`.
std::string gzip(const std::string& text) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, text.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z.avail_in = static_cast<uInt>(text.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// check_gzip over `parts`, one read per part (a read never spans two parts).
std::string check_in_parts(const std::vector<std::string>& parts) {
  size_t part = 0;
  size_t offset = 0;
  return check_gzip([&](char* buffer, size_t capacity) -> size_t {
    while (part < parts.size() && offset == parts[part].size()) {
      ++part;
      offset = 0;
    }
    if (part == parts.size()) return 0;
    const size_t n = std::min(capacity, parts[part].size() - offset);
    std::memcpy(buffer, parts[part].data() + offset, n);
    offset += n;
    return n;
  });
}

TEST(BundleCheckTest, OneMemberIsAccepted) {
  EXPECT_EQ(check_in_parts({gzip("{\"message\":\"a\"}\n")}), "");
}

TEST(BundleCheckTest, TwoMembersInOneReadAreAccepted) {
  EXPECT_EQ(check_in_parts({gzip("first\n") + gzip("second\n")}), "");
}

// A device that appends a member per upload can end a read exactly at a member's end: the check
// used to stop there and call the next member's first byte "truncated".
TEST(BundleCheckTest, AMemberEndingExactlyWhereAReadEndsIsFollowedByTheNext) {
  EXPECT_EQ(check_in_parts({gzip("first\n"), gzip("second\n")}), "");
  EXPECT_EQ(check_in_parts({gzip("first\n"), gzip("second\n"), gzip("third\n")}), "");
}

TEST(BundleCheckTest, TruncatedEmptyAndTrailingBytesAreRefused) {
  const std::string member = gzip(std::string(1000, 'x'));
  EXPECT_EQ(check_in_parts({}), "the bundle is not valid gzip (truncated)");
  EXPECT_EQ(check_in_parts({member.substr(0, member.size() - 3)}), "the bundle is not valid gzip (truncated)");
  EXPECT_EQ(check_in_parts({member, member.substr(0, 10)}), "the bundle is not valid gzip (truncated)");
  EXPECT_NE(check_in_parts({member, "not gzip"}), "");
  EXPECT_NE(check_in_parts({member + "not gzip"}), "");
  EXPECT_NE(check_in_parts({"plain text, not gzip"}), "");
}

}  // namespace
}  // namespace smallpeer::bigpeer
