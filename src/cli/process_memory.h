// cli/process_memory.h: what a process holds in memory, from
// /proc/PID/smaps_rollup (for `snakecage bench`).
#pragma once

#include <sys/types.h>

#include <cstdint>

#include "snakecage/status.h"

namespace snakecage::cli {

struct ProcessMemory {
  uint64_t rss = 0;
  uint64_t pss = 0;
  uint64_t private_bytes = 0;  // Private_Clean + Private_Dirty
};

// Internal naming the file when it cannot be read or has no Rss line.
StatusOr<ProcessMemory> ReadSmapsRollup(pid_t pid);

}  // namespace snakecage::cli
