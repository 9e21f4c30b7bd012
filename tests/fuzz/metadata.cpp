// Fuzzes the Small Peer Info metadata validator (core/spi): any text is accepted (minified) or
// refused with Error(validation); what it accepts, it accepts again unchanged.
#include "spi/metadata.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.h"
#include "fuzz_check.h"

using smallpeer::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  std::string minified;
  try {
    minified = smallpeer::validate_metadata(json);
  } catch (const smallpeer::Error& e) {
    require(e.code() == smallpeer::ErrorCode::validation, "a refusal is Error(validation)");
    require(e.what()[0] != '\0', "a refusal names the broken rule");
    return 0;
  }
  // Not "never longer than the input": simdjson writes 16e3 as 16000.0. The limit is on the output.
  require(minified.size() <= smallpeer::kMaxMetadataBytes, "accepted metadata is within the size limit");
  require(smallpeer::validate_metadata(minified) == minified, "accepted metadata validates to itself");
  return 0;
}
