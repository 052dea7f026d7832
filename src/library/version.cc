#include "snakecage/version.h"

namespace snakecage {

std::string_view LibraryVersion() { return kVersion; }

}  // namespace snakecage
