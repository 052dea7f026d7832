#include "session/workspace_snapshot.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "base/text.h"
#include "session/workspace_fs.h"

namespace snakecage::session {
namespace {

int64_t Nanos(const struct timespec& ts) {
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + static_cast<int64_t>(ts.tv_nsec);
}

}  // namespace

StatusOr<WorkspaceSnapshot> SnapshotDirectory(int dirfd) {
  WorkspaceSnapshot snapshot;
  Status s = WalkTree(dirfd, [&](const std::string& rel, const struct stat& st) {
    if (S_ISDIR(st.st_mode)) return;
    FileState state;
    state.type = S_ISREG(st.st_mode)   ? FileState::kFile
                 : S_ISLNK(st.st_mode) ? FileState::kSymlink
                                       : FileState::kOther;
    state.size = static_cast<uint64_t>(st.st_size);
    state.mtime_ns = Nanos(st.st_mtim);
    state.ctime_ns = Nanos(st.st_ctim);
    state.inode = static_cast<uint64_t>(st.st_ino);
    snapshot.emplace(rel, state);
  });
  if (!s.ok()) return s;
  return snapshot;
}

StatusOr<WorkspaceSnapshot> SnapshotWorkspace(const std::filesystem::path& workspace) {
  UniqueFd dir(::open(workspace.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir.valid()) {
    const int err = errno;
    std::string message =
        "cannot open workspace " + Quote(workspace.string()) + ": " + std::strerror(err);
    if (err == ENOENT) return NotFound(std::move(message));
    return Internal(std::move(message));
  }
  StatusOr<WorkspaceSnapshot> snapshot = SnapshotDirectory(dir.get());
  if (!snapshot.ok()) {
    return Internal("snapshot of workspace " + Quote(workspace.string()) + ": " +
                    snapshot.status().message());
  }
  return snapshot;
}

FileChanges DiffSnapshots(const WorkspaceSnapshot& before, const WorkspaceSnapshot& after) {
  FileChanges changes;
  auto b = before.begin();
  auto a = after.begin();
  // Both maps are sorted by path: one merge pass yields sorted lists.
  while (b != before.end() || a != after.end()) {
    if (a == after.end() || (b != before.end() && b->first < a->first)) {
      changes.deleted.push_back(b->first);
      ++b;
    } else if (b == before.end() || a->first < b->first) {
      changes.created.push_back(a->first);
      ++a;
    } else {
      if (!(a->second == b->second)) changes.modified.push_back(a->first);
      ++a;
      ++b;
    }
  }
  return changes;
}

}  // namespace snakecage::session
