#include "clock/clock.h"

#include <cctype>
#include <ctime>

#include <fmt/format.h>

namespace smallpeer {

std::string format_rfc3339(TimePoint t) {
  const auto ms_total = to_unix_millis(t);
  auto secs = static_cast<std::time_t>(ms_total / 1000);
  auto ms = ms_total % 1000;
  if (ms < 0) {
    ms += 1000;
    secs -= 1;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec, ms);
}

namespace {
bool read_int(std::string_view s, size_t& pos, size_t digits, int& out) {
  if (pos + digits > s.size()) return false;
  out = 0;
  for (size_t i = 0; i < digits; ++i) {
    const char c = s[pos + i];
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    out = out * 10 + (c - '0');
  }
  pos += digits;
  return true;
}
bool expect(std::string_view s, size_t& pos, char c) {
  if (pos >= s.size() || (s[pos] != c && std::toupper(static_cast<unsigned char>(s[pos])) != c)) return false;
  ++pos;
  return true;
}
}  // namespace

std::optional<TimePoint> parse_rfc3339(std::string_view s) {
  size_t pos = 0;
  int year, mon, day, hour, min, sec;
  if (!read_int(s, pos, 4, year) || !expect(s, pos, '-') || !read_int(s, pos, 2, mon) || !expect(s, pos, '-') ||
      !read_int(s, pos, 2, day) || !expect(s, pos, 'T') || !read_int(s, pos, 2, hour) || !expect(s, pos, ':') ||
      !read_int(s, pos, 2, min) || !expect(s, pos, ':') || !read_int(s, pos, 2, sec))
    return std::nullopt;
  if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60) return std::nullopt;
  int64_t nanos = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int64_t scale = 100000000;
    const size_t start = pos;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
      nanos += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return std::nullopt;
  }
  int64_t offset_minutes = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    const int sign = s[pos] == '-' ? -1 : 1;
    ++pos;
    int oh, om;
    if (!read_int(s, pos, 2, oh) || !expect(s, pos, ':') || !read_int(s, pos, 2, om)) return std::nullopt;
    offset_minutes = sign * (oh * 60 + om);
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = min;
  tm.tm_sec = sec;
  const std::time_t secs = timegm(&tm);
  return TimePoint(std::chrono::seconds(secs) - std::chrono::minutes(offset_minutes) +
                   std::chrono::duration_cast<TimePoint::duration>(std::chrono::nanoseconds(nanos)));
}

}  // namespace smallpeer
