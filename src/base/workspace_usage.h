// base/workspace_usage.h: how much of its quota (workspace_max_bytes) a
// workspace uses. One rule, used by the WASI host while the guest writes
// (wasi/workspace_quota.h) and by the session store when a server's caller
// writes a file:
//
//   - a regular file costs its apparent size (st_size, so a sparse file
//     counts in full) rounded up to whole 4,096-byte blocks, and at least
//     one block, so that empty files are not free;
//   - a directory (other than the workspace itself), a symlink, any other
//     entry, and every further name of a hard-linked file cost one block.
//
// Thread-safety: pure functions (they only issue system calls).
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>

namespace snakecage {

inline constexpr uint64_t kWorkspaceBlockBytes = 4096;

// What a regular file of `apparent_size` bytes costs.
constexpr uint64_t ChargeForFileSize(uint64_t apparent_size) {
  if (apparent_size == 0) return kWorkspaceBlockBytes;
  const uint64_t blocks = apparent_size / kWorkspaceBlockBytes +
                          (apparent_size % kWorkspaceBlockBytes != 0 ? 1 : 0);
  return blocks * kWorkspaceBlockBytes;
}

// What the name `st` describes costs, counted as a file's only name (a
// regular file) or as an entry of one block (anything else).
uint64_t ChargeForEntry(const struct stat& st);

// What removing or replacing the name `st` describes gives back: a further
// name of a hard-linked file only its block (another name keeps the
// content), anything else ChargeForEntry().
uint64_t ChargeOfName(const struct stat& st);

// The largest apparent size a regular file may have when it may cost at
// most `charge` bytes (0 when not even one block fits).
constexpr uint64_t LargestFileSizeFor(uint64_t charge) {
  return charge / kWorkspaceBlockBytes * kWorkspaceBlockBytes;
}

struct WorkspaceUsage {
  uint64_t bytes = 0;  // what the tree costs under the rule above
  int error = 0;       // 0, or the errno that stopped the walk
};

// Walks the tree beneath `dirfd` (not following symlinks, never leaving it:
// descending opens one component with O_NOFOLLOW, climbing back checks that
// ".." is the directory it came from) and adds up what it costs. Holds two
// descriptors at most, whatever the depth. A tree that changes under the
// walk may be counted approximately, or stop it with an error.
WorkspaceUsage MeasureWorkspace(int dirfd);

}  // namespace snakecage
