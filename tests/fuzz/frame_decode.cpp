// Fuzzes the sync protocol's frame decoder with every frame type: arbitrary bytes must decode or
// be refused with an error, never crash; what decodes must survive encode -> decode unchanged.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "sync/protocol.h"

using smallpeer::fuzz::require;
namespace proto = smallpeer::sync;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  std::string error;
  const auto frame = proto::decode(bytes, error);
  if (!frame) {
    require(!error.empty(), "a refused frame names why");
    return 0;
  }
  (void)proto::frame_name(*frame);
  // The encoder's output is canonical: decoding it again gives the same frame, encoded identically.
  const std::string once = proto::encode(*frame);
  std::string error2;
  const auto again = proto::decode(once, error2);
  require(again.has_value(), "a re-encoded frame decodes");
  require(again->index() == frame->index(), "a re-encoded frame keeps its type");
  require(proto::encode(*again) == once, "encode(decode(encode(frame))) is stable");
  return 0;
}
