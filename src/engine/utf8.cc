#include "engine/utf8.h"

#include <cstdint>

namespace snakecage {

std::string DecodeUtf8Lossy(std::string_view in) {
  static constexpr char kReplacement[] = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(in.size());
  const auto* s = reinterpret_cast<const uint8_t*>(in.data());
  const size_t n = in.size();
  size_t i = 0;
  while (i < n) {
    uint8_t c = s[i];
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    // Expected length and the valid range of the second byte (Unicode
    // Table 3-7, which also rules out overlongs and surrogates).
    size_t len = 0;
    uint8_t lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c == 0xE0) {
      len = 3; lo = 0xA0;
    } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
      len = 3;
    } else if (c == 0xED) {
      len = 3; hi = 0x9F;
    } else if (c == 0xF0) {
      len = 4; lo = 0x90;
    } else if (c >= 0xF1 && c <= 0xF3) {
      len = 4;
    } else if (c == 0xF4) {
      len = 4; hi = 0x8F;
    }
    if (len == 0) {  // not a lead byte
      out += kReplacement;
      ++i;
      continue;
    }
    size_t j = 1;
    for (; j < len && i + j < n; ++j) {
      uint8_t b = s[i + j];
      uint8_t l = (j == 1) ? lo : 0x80, h = (j == 1) ? hi : 0xBF;
      if (b < l || b > h) break;
    }
    if (j == len) {
      out.append(in.substr(i, len));
    } else {
      out += kReplacement;  // the maximal subpart [i, i+j) becomes one U+FFFD
    }
    i += j;
  }
  return out;
}

}  // namespace snakecage
