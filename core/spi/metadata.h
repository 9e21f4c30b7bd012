// Validation of the app's Small Peer Info metadata (SPEC section 9).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace smallpeer {

/// The largest metadata accepted, in bytes of minified JSON.
inline constexpr size_t kMaxMetadataBytes = size_t{128} * 1024;
/// The deepest nesting accepted; the top-level object is depth 1.
inline constexpr size_t kMaxMetadataDepth = 64;

/// Checks that `json` is an object within the size and depth limits and returns it minified.
/// Throws Error(validation) with a message naming the broken rule.
std::string validate_metadata(std::string_view json);

}  // namespace smallpeer
