// Base64 (RFC 4648, with padding), for the server's file tools and the executor's saved states (UTF-8 is
// base/utf8.h). Pure functions, thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace snakecage {

std::string Base64Encode(std::string_view bytes);
// nullopt unless `text` is canonical-length base64 (a multiple of 4
// characters, '=' only as trailing padding). ASCII whitespace is skipped.
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace snakecage
