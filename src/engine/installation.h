// Where this build of snakecage keeps the guest's files on the host.
#pragma once

#include <filesystem>
#include <string_view>

#include "snakecage/policy.h"

namespace snakecage {

// kGuestStdlibPath (policy.h) is where the guest sees the standard library;
// the guest interpreter is built with prefix /usr/local.

// Host directory holding the byte-compiled standard library, fixed when
// snakecage was built (SNAKECAGE_GUEST_STDLIB_DIR).
std::filesystem::path HostStdlibDir();

}  // namespace snakecage
