#include "telemetry/iso_time.h"

#include <cstdio>

namespace snakecage::telemetry {
namespace {

// The value of text[pos, pos+n) as decimal digits, or -1.
long Digits(std::string_view text, size_t pos, size_t n) {
  if (pos + n > text.size()) return -1;
  long v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    const char c = text[i];
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  return v;
}

}  // namespace

std::string FormatIsoUtcMicros(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto us = floor<microseconds>(t.time_since_epoch());
  const auto day = floor<days>(us);
  const year_month_day ymd{sys_days{day}};
  const hh_mm_ss<microseconds> tod{us - day};
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02u-%02uT%02d:%02d:%02d.%06ldZ",
                static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()), static_cast<int>(tod.hours().count()),
                static_cast<int>(tod.minutes().count()), static_cast<int>(tod.seconds().count()),
                static_cast<long>(tod.subseconds().count()));
  return buf;
}

std::optional<std::chrono::system_clock::time_point> ParseIsoUtcText(std::string_view text) {
  using namespace std::chrono;
  // YYYY-MM-DDTHH:MM:SS is 19 characters; the shortest text adds 'Z'.
  if (text.size() < 20 || text.back() != 'Z') return std::nullopt;
  if (text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' || text[16] != ':') {
    return std::nullopt;
  }
  const long y = Digits(text, 0, 4), mo = Digits(text, 5, 2), d = Digits(text, 8, 2);
  const long h = Digits(text, 11, 2), mi = Digits(text, 14, 2), s = Digits(text, 17, 2);
  if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || s < 0) return std::nullopt;
  if (h > 23 || mi > 59 || s > 59) return std::nullopt;
  const year_month_day ymd{year{static_cast<int>(y)}, month{static_cast<unsigned>(mo)},
                           day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;

  long nanos = 0;
  const std::string_view rest = text.substr(19, text.size() - 20);  // between SS and Z
  if (!rest.empty()) {
    if (rest.front() != '.' || rest.size() < 2 || rest.size() > 10) return std::nullopt;
    const long frac = Digits(rest, 1, rest.size() - 1);
    if (frac < 0) return std::nullopt;
    nanos = frac;
    for (size_t i = rest.size() - 1; i < 9; ++i) nanos *= 10;
  }
  const auto since_epoch =
      sys_days{ymd}.time_since_epoch() + hours{h} + minutes{mi} + seconds{s} + nanoseconds{nanos};
  return system_clock::time_point{duration_cast<system_clock::duration>(since_epoch)};
}

}  // namespace snakecage::telemetry
