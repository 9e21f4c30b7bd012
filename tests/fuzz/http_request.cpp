// Fuzzes what an HTTP client's bytes reach before any handler (bigpeer/http/common.h): the request
// target (path segments, query string, percent-decoding, the `limit` parameter), the Authorization
// header's Bearer token and a Cookie header's value. Invariants: a refusal is ApiError 400 with a
// short message; an accepted target has one segment per slash and its last query value wins;
// percent-decoding inverts percent-encoding; a token or cookie value is a view into its header.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "bigpeer/http/common.h"
#include "fuzz_check.h"

using smallpeer::bigpeer::ApiError;
using smallpeer::fuzz::require;
namespace bp = smallpeer::bigpeer;

namespace {
// True if `part` lies within `whole`'s characters (a view, not a copy).
bool views_into(std::string_view part, std::string_view whole) {
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

// Every byte as %XX: what percent_decode must turn back into the bytes, in either mode.
std::string percent_encode_all(std::string_view in) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : in) {
    const auto byte = static_cast<unsigned char>(c);
    out += '%';
    out += kHex[byte >> 4];
    out += kHex[byte & 0xF];
  }
  return out;
}

void check_refusal(const ApiError& e, std::string_view code) {
  require(e.status == boost::beast::http::status::bad_request, "a refused target is a 400");
  require(e.code == code, "a refusal carries its code");
  // Input is echoed at most 80 bytes long (shortened), so an error never carries a megabyte back.
  require(!e.message.empty() && e.message.size() <= 200, "a refusal's message is short and says why");
}

void check_target(std::string_view input) {
  bp::Target target;
  try {
    target = bp::parse_target(input);
  } catch (const ApiError& e) {
    check_refusal(e, "bad_request");
    return;
  }
  require(!input.empty() && input.front() == '/', "an accepted target is an absolute path");
  const std::string_view path = input.substr(0, input.find('?'));
  require(target.segments.size() == static_cast<size_t>(std::count(path.begin(), path.end(), '/')),
          "one segment per slash of the path");
  for (const auto& [name, value] : target.query) {
    // The last value given for a name is the one param() answers.
    std::string_view last;
    for (const auto& [n, v] : target.query) {
      if (n == name) last = v;
    }
    require(target.param(name) == last, "the last value given for a name wins");
  }
  try {
    const size_t limit = bp::parse_limit(target);
    require(limit >= 1 && limit <= bp::kMaxPageSize, "an accepted limit is within the page size");
  } catch (const ApiError& e) {
    check_refusal(e, "invalid_parameter");
    require(target.param("limit").has_value(), "no limit parameter is the default, never a refusal");
  }
}

void check_headers(std::string_view input) {
  if (const auto token = bp::bearer_token(input)) {
    require(views_into(*token, input), "a Bearer token is a view into its header");
    require(!token->empty() && token->front() != ' ' && token->back() != ' ', "a Bearer token is trimmed and not empty");
    require(bp::lower_ascii(input.substr(0, 7)) == "bearer ", "a Bearer token follows the scheme and a space");
  }
  // The input's first line names the cookie; the rest is the header (or all of it, for sp_session).
  const auto newline = input.find('\n');
  const std::string_view name = newline == std::string_view::npos ? "sp_session" : input.substr(0, newline);
  const std::string_view header = newline == std::string_view::npos ? input : input.substr(newline + 1);
  if (const auto value = bp::cookie_value(header, name)) {
    require(views_into(*value, header), "a cookie value is a view into its header");
    require(value->find(';') == std::string_view::npos, "a cookie value ends at the next pair");
    const std::string pair = std::string(name) + "=" + std::string(*value);
    require(header.find(pair) != std::string_view::npos, "a cookie value follows its name and '='");
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  check_target(input);
  check_headers(input);
  const std::string encoded = percent_encode_all(input);
  require(bp::percent_decode(encoded, false) == input, "percent-decoding inverts percent-encoding");
  require(bp::percent_decode(encoded, true) == input, "an encoded '+' is a '+' in a query too");
  try {
    const std::string decoded = bp::percent_decode(input, true);
    require(decoded.size() <= input.size(), "decoding never lengthens");
  } catch (const ApiError& e) {
    check_refusal(e, "bad_request");
    require(input.find('%') != std::string_view::npos, "only a '%' escape can be malformed");
  }
  return 0;
}
