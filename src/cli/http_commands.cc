// In snakecage-http, the commands that need cpp-httplib run here
// (commands.h, BenchEntry/ServeEntry).
#include "cli/commands.h"

namespace snakecage::cli {

int BenchEntry(const BenchFlags& flags, char**) { return BenchCommand(flags); }

int ServeEntry(const ServeFlags& flags, char**) { return ServeCommand(flags); }

}  // namespace snakecage::cli
