// session/workspace_snapshot.h: what is in a workspace, before and after an
// execution, and what changed.
//
// A snapshot maps each non-directory entry beneath the workspace (regular
// files, symlinks and anything else: FIFOs, sockets) to its stat fields.
// Directories are walked but not listed. Symlinks are recorded as links and
// never followed, so a snapshot cannot leave the workspace.
//
// Thread-safety: value types and stateless functions.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "snakecage/status.h"

namespace snakecage::session {

struct FileState {
  enum Type { kFile, kSymlink, kOther };
  Type type = kOther;
  uint64_t size = 0;     // st_size: bytes of a file, length of a link's target
  int64_t mtime_ns = 0;  // st_mtim in ns since the epoch
  int64_t ctime_ns = 0;  // st_ctim: catches a guest that resets the mtime
  uint64_t inode = 0;    // st_ino: catches a file replaced by rename
  bool operator==(const FileState& other) const = default;
};

// Relative POSIX path ("dir/file.txt") -> state.
using WorkspaceSnapshot = std::map<std::string, FileState>;

// Everything beneath `workspace`. The workspace directory itself is opened
// with O_NOFOLLOW (a symlink there is an error); nothing below is followed.
// Errors (Internal, NotFound for a missing workspace) name the host path.
StatusOr<WorkspaceSnapshot> SnapshotWorkspace(const std::filesystem::path& workspace);

// The snapshot of the directory open at `dirfd` (readable or O_PATH).
StatusOr<WorkspaceSnapshot> SnapshotDirectory(int dirfd);

struct FileChanges {
  std::vector<std::string> created;   // in `after` only, sorted
  std::vector<std::string> modified;  // in both, any FileState field differs, sorted
  std::vector<std::string> deleted;   // in `before` only, sorted
};

FileChanges DiffSnapshots(const WorkspaceSnapshot& before, const WorkspaceSnapshot& after);

}  // namespace snakecage::session
