#include "clock/clock.h"

#include <cctype>
#include <cstring>

namespace smallpeer {

namespace {
// Writes `value` as `width` decimal digits at `out`.
void put_digits(char* out, unsigned value, int width) {
  for (int i = width - 1; i >= 0; --i, value /= 10) out[i] = static_cast<char>('0' + value % 10);
}
}  // namespace

// Every SPI document and log line carries timestamps, so this avoids gmtime_r and fmt: civil
// calendar arithmetic from <chrono>. A TimePoint (nanoseconds in 64 bits) spans 1677-2262, so the
// year always has four digits.
Rfc3339Text rfc3339_text(TimePoint t) {
  using namespace std::chrono;
  const auto ms_time = floor<milliseconds>(t);
  const auto day = floor<days>(ms_time);
  const year_month_day ymd{day};
  const hh_mm_ss hms{ms_time - day};
  Rfc3339Text out{};
  char* const text = out.chars.data();
  std::memcpy(text, "0000-00-00T00:00:00.000Z", out.chars.size());  // the separators; digits below
  put_digits(text, static_cast<unsigned>(static_cast<int>(ymd.year())), 4);
  put_digits(text + 5, static_cast<unsigned>(ymd.month()), 2);
  put_digits(text + 8, static_cast<unsigned>(ymd.day()), 2);
  put_digits(text + 11, static_cast<unsigned>(hms.hours().count()), 2);
  put_digits(text + 14, static_cast<unsigned>(hms.minutes().count()), 2);
  put_digits(text + 17, static_cast<unsigned>(hms.seconds().count()), 2);
  put_digits(text + 20, static_cast<unsigned>(hms.subseconds().count()), 3);
  return out;
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
      !read_int(s, pos, 2, min) || !expect(s, pos, ':') || !read_int(s, pos, 2, sec)) {
    return std::nullopt;
  }
  if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60) return std::nullopt;
  // TimePoint counts nanoseconds in 64 bits (1677-09-21 to 2262-04-11): years beyond 1678..2261,
  // even with the largest offset, would overflow it (found by the log_filter fuzz target).
  if (year < 1678 || year > 2261) return std::nullopt;
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
    if (!read_int(s, pos, 2, oh) || !expect(s, pos, ':') || !read_int(s, pos, 2, om) || oh > 23 || om > 59) return std::nullopt;
    offset_minutes = static_cast<int64_t>(sign) * (oh * 60 + om);
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  // Civil calendar arithmetic, as timegm does it without its time zone machinery (a third of the
  // cost of a history row): with the year and month valid, a day past the month's end counts on
  // into the next (as timegm normalises it), and so does second 60.
  using namespace std::chrono;
  const sys_days date{year_month_day{std::chrono::year{year}, month{static_cast<unsigned>(mon)}, std::chrono::day{1}}};
  return time_point_cast<TimePoint::duration>(date + days{day - 1} + hours{hour} + minutes{min} + seconds{sec} -
                                              minutes{offset_minutes} + nanoseconds{nanos});
}

}  // namespace smallpeer
