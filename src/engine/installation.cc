#include "engine/installation.h"

namespace snakecage {

std::filesystem::path HostStdlibDir() { return SNAKECAGE_GUEST_STDLIB_DIR; }

}  // namespace snakecage
