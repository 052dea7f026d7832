// Decoding guest output for results.
#pragma once

#include <string>
#include <string_view>

namespace snakecage {

// Returns `bytes` as valid UTF-8: each maximal ill-formed subsequence is
// replaced by U+FFFD, as Python's bytes.decode("utf-8", "replace") does.
std::string DecodeUtf8Lossy(std::string_view bytes);

}  // namespace snakecage
