// cli/process_memory.h: what a process holds in memory, from
// /proc/PID/smaps_rollup (for `snakecage bench`).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <vector>

#include "snakecage/status.h"

namespace snakecage::cli {

struct ProcessMemory {
  uint64_t rss = 0;
  uint64_t pss = 0;
  uint64_t private_bytes = 0;  // Private_Clean + Private_Dirty
};

// Internal naming the file when it cannot be read or has no Rss line.
StatusOr<ProcessMemory> ReadSmapsRollup(pid_t pid);

// The bytes of the pages that only the processes of `group` map (each
// page counted once, however many of them map it): what the group as a
// whole would give back if it ended. Reads each one's /proc/PID/pagemap
// and /proc/kpagecount, so it needs CAP_SYS_ADMIN (page frame numbers read
// as zero otherwise: Internal then says so). Mappings over 64 GiB
// (reservations such as AddressSanitizer's shadow) are left out.
StatusOr<uint64_t> GroupPrivateBytes(const std::vector<pid_t>& group);

// The processes whose parent is `pid` now (from /proc/*/stat).
std::vector<pid_t> ChildrenOf(pid_t pid);

}  // namespace snakecage::cli
