// Byte encodings the server's file tools use: base64 (RFC 4648, with
// padding) and a UTF-8 validity check. Pure functions, thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace snakecage::server {

std::string Base64Encode(std::string_view bytes);
// nullopt unless `text` is canonical-length base64 (a multiple of 4
// characters, '=' only as trailing padding). ASCII whitespace is skipped.
std::optional<std::string> Base64Decode(std::string_view text);
// True when `bytes` is well-formed UTF-8 (no overlongs, no surrogates,
// nothing above U+10FFFF).
bool IsValidUtf8(std::string_view bytes);

}  // namespace snakecage::server
