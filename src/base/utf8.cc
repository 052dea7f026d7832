#include "base/utf8.h"

#include <cstdint>

namespace snakecage {
namespace {

// At s[0..n): the length of the well-formed sequence that starts there, or,
// as a negative number, the length of the maximal ill-formed subpart (at
// least 1) that one U+FFFD replaces (Unicode Table 3-7, which also rules out
// overlongs and surrogates). REQUIRES: n > 0.
long SequenceAt(const uint8_t* s, size_t n) {
  const uint8_t c = s[0];
  if (c < 0x80) return 1;
  size_t len = 0;
  uint8_t lo = 0x80, hi = 0xBF;  // the valid range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c == 0xE0) {
    len = 3;
    lo = 0xA0;
  } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
    len = 3;
  } else if (c == 0xED) {
    len = 3;
    hi = 0x9F;
  } else if (c == 0xF0) {
    len = 4;
    lo = 0x90;
  } else if (c >= 0xF1 && c <= 0xF3) {
    len = 4;
  } else if (c == 0xF4) {
    len = 4;
    hi = 0x8F;
  } else {
    return -1;  // not a lead byte
  }
  size_t j = 1;
  for (; j < len && j < n; ++j) {
    const uint8_t l = (j == 1) ? lo : 0x80, h = (j == 1) ? hi : 0xBF;
    if (s[j] < l || s[j] > h) break;
  }
  return j == len ? static_cast<long>(len) : -static_cast<long>(j);
}

}  // namespace

bool IsValidUtf8(std::string_view bytes) {
  const auto* s = reinterpret_cast<const uint8_t*>(bytes.data());
  for (size_t i = 0; i < bytes.size();) {
    const long len = SequenceAt(s + i, bytes.size() - i);
    if (len < 0) return false;
    i += static_cast<size_t>(len);
  }
  return true;
}

std::string DecodeUtf8Lossy(std::string_view bytes) {
  static constexpr char kReplacement[] = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(bytes.size());
  const auto* s = reinterpret_cast<const uint8_t*>(bytes.data());
  for (size_t i = 0; i < bytes.size();) {
    const long len = SequenceAt(s + i, bytes.size() - i);
    if (len > 0) {
      out.append(bytes.substr(i, static_cast<size_t>(len)));
      i += static_cast<size_t>(len);
    } else {
      out += kReplacement;
      i += static_cast<size_t>(-len);
    }
  }
  return out;
}

}  // namespace snakecage
