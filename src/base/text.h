// base/text.h: values as error messages show them.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace snakecage {

// `text` in double quotes, with '"' and '\\' escaped by a backslash and
// every byte outside printable ASCII (NUL, control characters, UTF-8) as
// \xNN: a message shows exactly which bytes were refused, and stays ASCII.
std::string Quote(std::string_view text);

}  // namespace snakecage
