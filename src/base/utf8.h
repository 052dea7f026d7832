// base/utf8.h: checking and repairing UTF-8 (what the guest writes, what
// users upload, what JSON must carry). One decoder behind both functions.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace snakecage {

// True when `bytes` is well-formed UTF-8 (no overlongs, no surrogates,
// nothing above U+10FFFF, no truncated sequence).
bool IsValidUtf8(std::string_view bytes);

// Returns `bytes` as valid UTF-8: each maximal ill-formed subsequence is
// replaced by U+FFFD, as Python's bytes.decode("utf-8", "replace") does.
std::string DecodeUtf8Lossy(std::string_view bytes);

}  // namespace snakecage
