// Where this build of snakecage keeps the guest's files on the host.
#pragma once

#include <filesystem>
#include <string_view>

namespace snakecage {

// The guest sees the standard library read-only here (the guest interpreter
// is built with prefix /usr/local).
inline constexpr std::string_view kGuestStdlibPath = "/usr/local/lib/python3.11";

// Host directory holding the byte-compiled standard library, fixed when
// snakecage was built (SNAKECAGE_GUEST_STDLIB_DIR).
std::filesystem::path HostStdlibDir();

}  // namespace snakecage
