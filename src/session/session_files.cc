// SessionStore's file operations on a session's workspace: list, read,
// write, delete (events in session_store.cc's list). Every caller path is
// checked by its text, then resolved beneath the workspace descriptor.
#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <nlohmann/json.hpp>
#include <string>

#include "base/errno_text.h"
#include "base/path_beneath.h"
#include "base/text.h"
#include "base/unique_fd.h"
#include "base/workspace_usage.h"
#include "session/session_dirs.h"
#include "session/session_metadata.h"
#include "session/workspace_fs.h"
#include "snakecage/session.h"

namespace snakecage {
namespace {

using session::kSecurityLogger;
using session::kSessionLogger;
using session::kWorkspaceDirMode;
using session::kWorkspaceFileMode;
using session::WorkspaceFds;

Status AlreadyExists(std::string m) { return Status(StatusCode::kAlreadyExists, std::move(m)); }
Status PermissionDenied(std::string m) {
  return Status(StatusCode::kPermissionDenied, std::move(m));
}

std::string_view KindName(mode_t mode) {
  if (S_ISREG(mode)) return "file";
  if (S_ISLNK(mode)) return "symlink";
  if (S_ISDIR(mode)) return "directory";
  return "other";
}

// security.path_denied for `path` in session `id`.
void LogPathDenied(TelemetryLogger& logger, std::string_view id, std::string_view operation,
                   std::string_view path, std::string_view reason) {
  nlohmann::ordered_json f;
  f["session_id"] = std::string(id);
  f["operation"] = std::string(operation);
  f["path"] = std::string(path);
  f["reason"] = std::string(reason);
  logger.Log(LogLevel::kWarning, kSecurityLogger, TelemetryEvent::kSecurityPathDenied, f);
}

// Refuses `path` by its text (logging security.path_denied for anything
// but an empty path); OK when it may be resolved.
Status CheckOperationPath(TelemetryLogger& logger, std::string_view id, std::string_view operation,
                          std::string_view path) {
  const std::string_view problem = session::RelativePathProblem(path);
  if (problem.empty()) return Status::Ok();
  if (problem != "empty") LogPathDenied(logger, id, operation, path, problem);
  return session::CheckRelativePath(path);
}

// The Status for a kernel refusal `err` of `path` in session `id`.
Status PathError(TelemetryLogger& logger, std::string_view id, std::string_view operation,
                 std::string_view path, int err) {
  const std::string where = "path " + Quote(path) + " in session " + Quote(id);
  switch (err) {
    case EXDEV:
      LogPathDenied(logger, id, operation, path, "escapes_workspace");
      return InvalidArgument(where + " leads outside the workspace (through a symlink)");
    case ENOENT:
      return NotFound(where + " does not exist");
    case ENOTDIR:
      return InvalidArgument(where + ": a parent component is not a directory");
    case EISDIR:
      return InvalidArgument(where + " is a directory");
    case ELOOP:
      return InvalidArgument(where + ": too many levels of symlinks");
    case ENAMETOOLONG:
      return InvalidArgument(where + " is too long");
    case EACCES:
    case EPERM:
      return PermissionDenied(where + ": " + ErrnoText(err));
    default:
      return Internal(where + ": " + ErrnoText(err));
  }
}

}  // namespace

StatusOr<std::vector<std::string>> SessionStore::ListFiles(std::string_view id,
                                                           std::optional<std::string> glob) {
  if (Status s = CheckSessionId(id); !s.ok()) return s;
  StatusOr<WorkspaceFds> fds = session::OpenWorkspace(root_, id);
  if (!fds.ok()) return fds.status();
  std::vector<std::string> files;
  Status s =
      session::WalkTree(fds->workspace.get(), [&](const std::string& rel, const struct stat& st) {
        if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) return;
        if (glob && ::fnmatch(glob->c_str(), rel.c_str(), 0) != 0) return;
        files.push_back(rel);
      });
  if (!s.ok()) return Internal("session " + Quote(id) + ": listing workspace: " + s.message());
  std::sort(files.begin(), files.end());
  nlohmann::ordered_json f;
  f["session_id"] = std::string(id);
  f["glob"] = glob ? nlohmann::ordered_json(*glob) : nlohmann::ordered_json(nullptr);
  f["count"] = files.size();
  logger_->Log(LogLevel::kInfo, kSessionLogger, TelemetryEvent::kSessionFileList, f);
  return files;
}

StatusOr<std::string> SessionStore::ReadFile(std::string_view id, std::string_view path) {
  if (Status s = CheckSessionId(id); !s.ok()) return s;
  if (Status s = CheckOperationPath(*logger_, id, "read", path); !s.ok()) return s;
  StatusOr<WorkspaceFds> fds = session::OpenWorkspace(root_, id);
  if (!fds.ok()) return fds.status();
  // O_NONBLOCK: opening a FIFO planted in the workspace must not hang.
  UniqueFd fd(OpenBeneath(fds->workspace.get(), std::string(path),
                                   O_RDONLY | O_NONBLOCK | O_NOCTTY));
  if (!fd.valid()) return PathError(*logger_, id, "read", path, -fd.Release());
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return PathError(*logger_, id, "read", path, errno);
  if (S_ISDIR(st.st_mode)) return PathError(*logger_, id, "read", path, EISDIR);
  if (!S_ISREG(st.st_mode)) {
    return InvalidArgument("path " + Quote(path) + " in session " + Quote(id) +
                           " is not a regular file");
  }
  std::string data;
  if (int rc = session::ReadAll(fd.get(), &data); rc < 0) {
    return PathError(*logger_, id, "read", path, -rc);
  }
  nlohmann::ordered_json f;
  f["session_id"] = std::string(id);
  f["path"] = std::string(path);
  f["bytes"] = data.size();
  logger_->Log(LogLevel::kInfo, kSessionLogger, TelemetryEvent::kSessionFileRead, f);
  return data;
}

namespace {

// What the workspace would cost after writing `size` bytes at `split`
// (see base/workspace_usage.h), or the error that kept it from knowing.
StatusOr<uint64_t> CostAfterWrite(int workspace, const SplitPath& split, uint64_t size) {
  const WorkspaceUsage now = MeasureWorkspace(workspace);
  if (now.error != 0) {
    return Internal("cannot measure the workspace: " + ErrnoText(now.error));
  }
  uint64_t cost = now.bytes + ChargeForFileSize(size);
  UniqueFd parent(OpenBeneath(workspace, split.parent, O_PATH | O_DIRECTORY));
  if (parent.valid()) {
    struct stat st{};
    if (::fstatat(parent.get(), split.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
      // Replaced: its own cost goes (only a block when another name keeps
      // the content).
      cost -= std::min(cost, ChargeOfName(st));
    }
    return cost;
  }
  // Parent directories to be made: the missing components of split.parent.
  std::string prefix;
  bool missing = false;
  size_t start = 0;
  const std::string& dirs = split.parent;
  while (start < dirs.size()) {
    size_t end = dirs.find('/', start);
    if (end == std::string::npos) end = dirs.size();
    const std::string component = dirs.substr(start, end - start);
    start = end + 1;
    if (component.empty() || component == ".") continue;
    prefix += component + "/";
    if (!missing) {
      UniqueFd d(OpenBeneath(workspace, prefix, O_PATH | O_DIRECTORY));
      missing = !d.valid();
    }
    if (missing) cost += kWorkspaceBlockBytes;
  }
  return cost;
}

}  // namespace

Status SessionStore::WriteFile(std::string_view id, std::string_view path, std::string_view data,
                               bool overwrite, std::optional<uint64_t> workspace_max_bytes) {
  if (Status s = CheckSessionId(id); !s.ok()) return s;
  if (Status s = CheckOperationPath(*logger_, id, "write", path); !s.ok()) return s;
  const SplitPath split = SplitLast(path);
  if (split.trailing_slash || split.name == ".") {
    return InvalidArgument("path " + Quote(path) + " does not name a file");
  }
  StatusOr<WorkspaceFds> fds = session::OpenWorkspace(root_, id);
  if (!fds.ok()) return fds.status();
  if (workspace_max_bytes) {
    StatusOr<uint64_t> cost = CostAfterWrite(fds->workspace.get(), split, data.size());
    if (!cost.ok()) return cost.status();
    if (*cost > *workspace_max_bytes) {
      return Status(StatusCode::kQuotaExceeded,
                    "writing " + std::to_string(data.size()) + " bytes to " + Quote(path) +
                        " would make the workspace of session " + Quote(id) + " cost " +
                        std::to_string(*cost) + " bytes, more than workspace_max_bytes (" +
                        std::to_string(*workspace_max_bytes) +
                        "); delete files or raise the limit");
    }
  }
  UniqueFd parent(
      session::OpenOrCreateDirsBeneath(fds->workspace.get(), split.parent, kWorkspaceDirMode));
  if (!parent.valid()) return PathError(*logger_, id, "write", path, -parent.Release());
  // The final component is replaced by rename, never followed.
  // Staged in the session directory, beside the workspace: a write cut
  // short by a kill never shows in the workspace.
  const int rc = session::AtomicWriteAt(parent.get(), split.name, data, overwrite,
                                        kWorkspaceFileMode, /*sync=*/false, fds->session.get());
  if (rc == -EEXIST && !overwrite) {
    return AlreadyExists("path " + Quote(path) + " in session " + Quote(id) +
                         " already exists (overwrite is false)");
  }
  if (rc < 0) return PathError(*logger_, id, "write", path, -rc);

  nlohmann::ordered_json f;
  f["session_id"] = std::string(id);
  f["path"] = std::string(path);
  f["bytes"] = data.size();
  f["overwrite"] = overwrite;
  logger_->Log(LogLevel::kInfo, kSessionLogger, TelemetryEvent::kSessionFileWrite, f);

  return session::UpdateMetadata(fds->session.get(), id, root_ / id, FormatIsoUtc(now_()),
                                 session::MetadataUpdate::kFileWrite, *logger_)
      .status();
}

Status SessionStore::EmptyWorkspace(std::string_view id, std::string_view keep) {
  std::error_code ec;
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(WorkspacePath(id), ec)) {
    names.push_back(entry.path().filename().string());
  }
  if (ec) {
    return Internal("cannot list the workspace of session '" + std::string(id) +
                    "': " + ec.message());
  }
  for (const std::string& name : names) {
    if (!keep.empty() && name == keep) continue;
    if (Status s = DeletePath(id, name, /*recursive=*/true); !s.ok()) return s;
  }
  return Status::Ok();
}

Status SessionStore::DeletePath(std::string_view id, std::string_view path, bool recursive) {
  if (Status s = CheckSessionId(id); !s.ok()) return s;
  if (Status s = CheckOperationPath(*logger_, id, "delete", path); !s.ok()) return s;
  const SplitPath split = SplitLast(path);
  if (split.name == ".") {
    return InvalidArgument("path " + Quote(path) +
                           " ends in \".\"; name the entry to delete itself");
  }
  StatusOr<WorkspaceFds> fds = session::OpenWorkspace(root_, id);
  if (!fds.ok()) return fds.status();
  UniqueFd parent(OpenBeneath(fds->workspace.get(), split.parent, O_PATH | O_DIRECTORY));
  if (!parent.valid()) return PathError(*logger_, id, "delete", path, -parent.Release());
  // The final component itself, never followed.
  struct stat st;
  if (::fstatat(parent.get(), split.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return PathError(*logger_, id, "delete", path, errno);
  }
  const bool is_dir = S_ISDIR(st.st_mode);
  if (split.trailing_slash && !is_dir) return PathError(*logger_, id, "delete", path, ENOTDIR);
  if (is_dir && !recursive) {
    return InvalidArgument("path " + Quote(path) + " in session " + Quote(id) +
                           " is a directory; deleting it needs recursive=true");
  }
  StatusOr<uint64_t> removed = session::RemoveTree(parent.get(), split.name, path);
  if (!removed.ok()) {
    return Status(removed.status().code(),
                  "session " + Quote(id) + ": " + removed.status().message());
  }
  nlohmann::ordered_json f;
  f["session_id"] = std::string(id);
  f["path"] = std::string(path);
  f["kind"] = std::string(KindName(st.st_mode));
  f["recursive"] = recursive;
  f["entries_removed"] = *removed;
  logger_->Log(LogLevel::kInfo, kSessionLogger, TelemetryEvent::kSessionFileDelete, f);
  return Status::Ok();
}

}  // namespace snakecage
