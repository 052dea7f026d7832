#include "session/session_dirs.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "base/errno_text.h"
#include "base/path_beneath.h"
#include "base/text.h"
#include "session/workspace_fs.h"

namespace snakecage::session {

namespace fs = std::filesystem;

std::string QuotePath(const fs::path& p) { return Quote(p.string()); }

Status EnsureRoot(const fs::path& root) {
  fs::path prefix;
  for (const fs::path& part : root) {
    prefix /= part;
    if (::mkdir(prefix.c_str(), kSessionDirMode) != 0 && errno != EEXIST) {
      return Internal("cannot create session root " + QuotePath(prefix) + ": " + ErrnoText(errno));
    }
  }
  return Status::Ok();
}

StatusOr<UniqueFd> OpenRoot(const fs::path& root) {
  UniqueFd fd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) {
    const int err = errno;
    if (err == ENOENT) return NotFound("session root " + QuotePath(root) + " does not exist");
    return Internal("cannot open session root " + QuotePath(root) + ": " + ErrnoText(err));
  }
  return fd;
}

StatusOr<UniqueFd> OpenSessionDir(const fs::path& root, int root_fd, std::string_view id) {
  UniqueFd fd(OpenComponent(root_fd, std::string(id), O_PATH | O_DIRECTORY));
  if (!fd.valid()) {
    const int err = -fd.Release();
    if (err == ENOENT) return NotFound("session " + Quote(id) + " not found");
    if (err == ENOTDIR || err == ELOOP) {
      return Internal("session " + Quote(id) + ": " + QuotePath(root / id) + " is not a directory");
    }
    return Internal("cannot open session directory " + QuotePath(root / id) + ": " +
                    ErrnoText(err));
  }
  return fd;
}

StatusOr<SessionFds> OpenSession(const fs::path& root, std::string_view id) {
  StatusOr<UniqueFd> root_fd = OpenRoot(root);
  if (!root_fd.ok()) {
    if (root_fd.status().code() == StatusCode::kNotFound) {
      return NotFound("session " + Quote(id) + " not found");
    }
    return root_fd.status();
  }
  StatusOr<UniqueFd> session_fd = OpenSessionDir(root, root_fd->get(), id);
  if (!session_fd.ok()) return session_fd.status();
  return SessionFds{std::move(*root_fd), std::move(*session_fd)};
}

StatusOr<WorkspaceFds> OpenWorkspace(const fs::path& root, std::string_view id) {
  StatusOr<SessionFds> s = OpenSession(root, id);
  if (!s.ok()) return s.status();
  UniqueFd ws(OpenComponent(s->session.get(), kWorkspaceDir, O_PATH | O_DIRECTORY));
  if (!ws.valid()) {
    return Internal("session " + Quote(id) + ": cannot open workspace " +
                    QuotePath(root / id / kWorkspaceDir) + ": " + ErrnoText(-ws.Release()));
  }
  return WorkspaceFds{std::move(s->session), std::move(ws)};
}

int LockExclusive(int fd, bool wait) {
  while (::flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0) {
    if (errno != EINTR) return -errno;
  }
  return 0;
}

bool SameFile(int fd, int dir_fd, const std::string& name) {
  struct stat a, b;
  if (::fstat(fd, &a) != 0) return false;
  if (::fstatat(dir_fd, name.c_str(), &b, AT_SYMLINK_NOFOLLOW) != 0) return false;
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

Status RemoveSessionDir(const fs::path& root, int root_fd, std::string_view id) {
  const std::string doomed = kDeletingPrefix + RandomHex(8);
  if (::renameat(root_fd, std::string(id).c_str(), root_fd, doomed.c_str()) != 0) {
    if (errno == ENOENT) return Status::Ok();
    return Internal("cannot delete session " + Quote(id) + " (" + QuotePath(root / id) +
                    "): " + ErrnoText(errno));
  }
  StatusOr<uint64_t> removed = RemoveTree(root_fd, doomed, (root / doomed).string());
  if (!removed.ok()) {
    return Internal("session " + Quote(id) + ": " + removed.status().message());
  }
  return Status::Ok();
}

}  // namespace snakecage::session
