// SessionStore: creating, opening, locking and deleting sessions, and the
// list of sessions. File operations are in session_files.cc, pruning in
// session_prune.cc, the directories in session_dirs.h, the metadata in
// session_metadata.h. See snakecage/session.h for the on-disk layout.
//
// Telemetry. Logger "snakecage.session" unless noted; fields in this order.
// Events are emitted only when the operation succeeded, except the prune
// per-session events and security.path_denied.
//
//   session.created           session_id, workspace_path
//   session.metadata.created  session_id, created_at, version
//   session.retrieved         session_id, workspace_path, execution_count
//   session.metadata.updated  session_id, updated_at, execution_count,
//                             reason ("execution" | "file_write" |
//                             "retrieval")
//   session.file.list         session_id, glob (string, or null without one),
//                             count (paths returned)
//   session.file.read         session_id, path, bytes
//   session.file.write        session_id, path, bytes, overwrite
//   session.file.delete       session_id, path, kind ("file" | "symlink" |
//                             "directory" | "other"), recursive,
//                             entries_removed (the path itself included)
//   session.deleted           session_id, reclaimed_bytes
//   session.prune.started     older_than_seconds, dry_run, cutoff (ISO time)
//   session.prune.candidate   session_id, updated_at, age_seconds
//   session.prune.deleted     session_id, reclaimed_bytes, dry_run
//   session.prune.skipped     session_id, reason ("recent" | "in use" |
//                             "unreadable metadata")
//   session.prune.error       session_id, message
//   session.prune.completed   dry_run, deleted_count, skipped_count,
//                             error_count, reclaimed_bytes
//   security.path_denied      (logger "snakecage.security", level warning)
//                             session_id, operation ("list" | "read" |
//                             "write" | "delete"), path, reason ("absolute"
//                             | "dot_dot" | "nul_byte" | "too_long" |
//                             "escapes_workspace")
//
// Byte counts are sums of st_size of regular files. Host paths in messages
// are built from the root and a validated session id only; caller paths
// are never joined onto host paths, they are resolved beneath a workspace
// descriptor (session/workspace_fs.h).

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "base/errno_text.h"
#include "base/path_beneath.h"
#include "base/text.h"
#include "session/session_dirs.h"
#include "session/session_metadata.h"
#include "session/workspace_fs.h"
#include "snakecage/session.h"
#include "telemetry/iso_time.h"

namespace snakecage {
namespace {

namespace fs = std::filesystem;

using session::kLockFile;
using session::kLogsDir;
using session::kPrivateFileMode;
using session::kSessionDirMode;
using session::kSessionLogger;
using session::kStagingPrefix;
using session::kWorkspaceDir;
using session::kWorkspaceDirMode;
using session::QuotePath;

}  // namespace

// ---- ids and times ----------------------------------------------------------------

Status CheckSessionId(std::string_view id, bool allow_non_uuid) {
  const auto valid_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  };
  if (id.empty() || id.size() > 128 || id == "." || id == ".." ||
      !std::all_of(id.begin(), id.end(), valid_char)) {
    return InvalidArgument("session id " + Quote(id) +
                           " is invalid: use 1-128 characters of [A-Za-z0-9._-], not \".\" or "
                           "\"..\"");
  }
  if (!allow_non_uuid) {
    bool uuid = id.size() == 36;
    for (size_t i = 0; uuid && i < id.size(); ++i) {
      const char c = id[i];
      if (i == 8 || i == 13 || i == 18 || i == 23) {
        uuid = c == '-';
      } else {
        uuid = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
      }
    }
    if (!uuid) {
      return InvalidArgument("session id " + Quote(id) +
                             " is not a canonical lower-case UUID (8-4-4-4-12 hex digits)");
    }
  }
  return Status::Ok();
}

std::string NewSessionId() {
  std::string hex = session::RandomHex(16);
  hex[12] = '4';  // version 4: random
  // Variant 10xx: the top two bits of byte 8.
  const int nibble = hex[16] <= '9' ? hex[16] - '0' : hex[16] - 'a' + 10;
  hex[16] = "89ab"[nibble & 0x3];
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

std::string FormatIsoUtc(std::chrono::system_clock::time_point t) {
  return telemetry::FormatIsoUtcMicros(t);
}

std::optional<std::chrono::system_clock::time_point> ParseIsoUtc(std::string_view text) {
  return telemetry::ParseIsoUtcText(text);
}

// ---- SessionLock -----------------------------------------------------------------

SessionLock::SessionLock(SessionLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

SessionLock& SessionLock::operator=(SessionLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

SessionLock::~SessionLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

// ---- SessionStore -------------------------------------------------------------------

SessionStore::SessionStore(std::filesystem::path root, std::shared_ptr<TelemetryLogger> logger,
                           Clock now)
    : logger_(logger ? std::move(logger) : std::make_shared<NullLogger>()),
      now_(now ? std::move(now) : Clock([] { return std::chrono::system_clock::now(); })) {
  std::error_code ec;
  root_ = std::filesystem::absolute(root, ec);
  if (ec) root_ = std::move(root);
}

std::filesystem::path SessionStore::WorkspacePath(std::string_view id) const {
  return root_ / id / kWorkspaceDir;
}

StatusOr<OpenedSession> SessionStore::OpenOrCreate(std::string_view id, bool allow_non_uuid,
                                                   bool durable) {
  if (Status s = CheckSessionId(id, allow_non_uuid); !s.ok()) return s;
  // The root is made (again) only when it is missing.
  StatusOr<UniqueFd> root_fd = session::OpenRoot(root_);
  if (!root_fd.ok() && root_fd.status().code() == StatusCode::kNotFound) {
    if (Status s = session::EnsureRoot(root_); !s.ok()) return s;
    root_fd = session::OpenRoot(root_);
  }
  if (!root_fd.ok()) return root_fd.status();
  const std::string name(id);
  const fs::path session_dir = root_ / id;

  // At most two rounds: a lost creation race ends in retrieval.
  for (int round = 0; round < 2; ++round) {
    StatusOr<UniqueFd> session_fd = session::OpenSessionDir(root_, root_fd->get(), id);
    if (session_fd.ok()) {
      UniqueFd ws(OpenComponent(session_fd->get(), kWorkspaceDir, O_PATH | O_DIRECTORY));
      if (!ws.valid()) {
        return Internal("session " + Quote(id) + ": cannot open workspace " +
                        QuotePath(WorkspacePath(id)) + ": " + ErrnoText(-ws.Release()));
      }
      StatusOr<SessionMetadata> m = session::ReadMetadataAt(session_fd->get(), id, session_dir);
      if (!m.ok()) return m.status();
      nlohmann::ordered_json f;
      f["session_id"] = name;
      f["workspace_path"] = WorkspacePath(id).string();
      f["execution_count"] = m->execution_count;
      logger_->Log(LogLevel::kInfo, kSessionLogger, TelemetryEvent::kSessionRetrieved, f);
      return OpenedSession{std::move(*m), WorkspacePath(id), false};
    }
    if (session_fd.status().code() != StatusCode::kNotFound) return session_fd.status();

    // Assemble the whole session in a staging directory, then rename it
    // into place; RENAME_NOREPLACE lets exactly one creator win.
    const std::string staging = kStagingPrefix + session::RandomHex(8);
    const fs::path staging_path = root_ / staging;
    if (::mkdirat(root_fd->get(), staging.c_str(), kSessionDirMode) != 0) {
      return Internal("cannot create staging directory " + QuotePath(staging_path) + ": " +
                      ErrnoText(errno));
    }
    const auto abandon = [&](Status status) {
      (void)session::RemoveTree(root_fd->get(), staging, staging_path.string());
      return status;
    };
    UniqueFd stage(OpenComponent(root_fd->get(), staging, O_PATH | O_DIRECTORY));
    if (!stage.valid()) {
      return abandon(Internal("cannot open staging directory " + QuotePath(staging_path) + ": " +
                              ErrnoText(-stage.Release())));
    }
    if (::mkdirat(stage.get(), kWorkspaceDir.c_str(), kWorkspaceDirMode) != 0 ||
        ::mkdirat(stage.get(), kLogsDir.c_str(), kSessionDirMode) != 0) {
      return abandon(Internal("cannot create directories in " + QuotePath(staging_path) + ": " +
                              ErrnoText(errno)));
    }
    UniqueFd lock(
        OpenComponent(stage.get(), kLockFile, O_RDWR | O_CREAT | O_EXCL, kPrivateFileMode));
    if (!lock.valid()) {
      return abandon(Internal("cannot create " + QuotePath(staging_path / kLockFile) + ": " +
                              ErrnoText(-lock.Release())));
    }
    lock.Reset();
    const std::string now = FormatIsoUtc(now_());
    SessionMetadata m{name, now, now, kSessionMetadataVersion, 0};
    if (Status s = session::WriteMetadataAt(stage.get(), m, staging_path, /*sync=*/durable);
        !s.ok())
      return abandon(s);

    int rc = ::renameat2(root_fd->get(), staging.c_str(), root_fd->get(), name.c_str(),
                         RENAME_NOREPLACE);
    if (rc != 0 && errno == EINVAL) {
      // No RENAME_NOREPLACE on this filesystem: a plain rename refuses a
      // non-empty target directory, and a session directory is never empty.
      rc = ::renameat(root_fd->get(), staging.c_str(), root_fd->get(), name.c_str());
    }
    if (rc != 0) {
      const int err = errno;
      (void)abandon(Status::Ok());
      if (err == EEXIST || err == ENOTEMPTY) continue;  // another creator won: retrieve
      return Internal("cannot create session " + Quote(id) + " at " + QuotePath(session_dir) +
                      ": " + ErrnoText(err));
    }
    nlohmann::ordered_json created;
    created["session_id"] = name;
    created["workspace_path"] = WorkspacePath(id).string();
    logger_->Log(LogLevel::kInfo, kSessionLogger, TelemetryEvent::kSessionCreated, created);
    nlohmann::ordered_json meta;
    meta["session_id"] = name;
    meta["created_at"] = m.created_at;
    meta["version"] = m.version;
    logger_->Log(LogLevel::kInfo, kSessionLogger, TelemetryEvent::kSessionMetadataCreated, meta);
    return OpenedSession{std::move(m), WorkspacePath(id), true};
  }
  return Internal("session " + Quote(id) + " at " + QuotePath(session_dir) +
                  " could be neither created nor opened (deleted while being created?)");
}

bool SessionStore::Exists(std::string_view id) const {
  if (!CheckSessionId(id).ok()) return false;
  StatusOr<session::SessionFds> fds = session::OpenSession(root_, id);
  if (!fds.ok()) return false;
  struct stat st {};
  return ::fstatat(fds->session.get(), session::kMetadataFile.c_str(), &st,
                   AT_SYMLINK_NOFOLLOW) == 0 &&
         S_ISREG(st.st_mode);
}

StatusOr<SessionMetadata> SessionStore::ReadMetadata(std::string_view id) const {
  if (Status s = CheckSessionId(id); !s.ok()) return s;
  StatusOr<session::SessionFds> fds = session::OpenSession(root_, id);
  if (!fds.ok()) return fds.status();
  return session::ReadMetadataAt(fds->session.get(), id, root_ / id);
}

StatusOr<SessionMetadata> SessionStore::MarkRetrieved(std::string_view id) {
  if (Status s = CheckSessionId(id); !s.ok()) return s;
  StatusOr<session::SessionFds> fds = session::OpenSession(root_, id);
  if (!fds.ok()) return fds.status();
  return session::UpdateMetadata(fds->session.get(), id, root_ / id, FormatIsoUtc(now_()),
                                 session::MetadataUpdate::kRetrieval, *logger_);
}

StatusOr<size_t> SessionStore::SweepLeftovers(std::chrono::seconds min_age) {
  StatusOr<UniqueFd> root_fd = session::OpenRoot(root_);
  if (!root_fd.ok()) {
    if (root_fd.status().code() == StatusCode::kNotFound) return size_t{0};
    return root_fd.status();
  }
  std::vector<std::string> names;
  if (int rc = session::ListDirectory(root_fd->get(), &names); rc < 0) {
    return Internal("cannot list session root " + QuotePath(root_) + ": " + ErrnoText(-rc));
  }
  // File times are the real clock's, whatever clock the store stamps with.
  const auto cutoff = std::chrono::system_clock::now() - min_age;
  const auto old_enough = [&](int dirfd, const std::string& name) {
    struct stat st;
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return false;
    const auto mtime = std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
    return mtime <= cutoff;
  };
  size_t removed = 0;
  for (const std::string& name : names) {
    if (!name.starts_with(kStagingPrefix) && !name.starts_with(session::kDeletingPrefix)) {
      // A session: the temporary file of a write a kill cut short (staged
      // in the session directory, never in the workspace).
      UniqueFd session(OpenComponent(root_fd->get(), name, O_RDONLY | O_DIRECTORY));
      std::vector<std::string> entries;
      if (!session.valid() || session::ListDirectory(session.get(), &entries) < 0) continue;
      for (const std::string& entry : entries) {
        if (entry.starts_with(session::kTempFilePrefix) && old_enough(session.get(), entry) &&
            ::unlinkat(session.get(), entry.c_str(), 0) == 0) {
          ++removed;
        }
      }
      continue;
    }
    if (!old_enough(root_fd->get(), name)) continue;
    StatusOr<uint64_t> gone = session::RemoveTree(root_fd->get(), name, (root_ / name).string());
    if (!gone.ok()) return gone.status();
    ++removed;
  }
  return removed;
}

StatusOr<SessionLock> SessionStore::LockForExecution(std::string_view id) {
  if (Status s = CheckSessionId(id); !s.ok()) return s;
  StatusOr<session::SessionFds> fds = session::OpenSession(root_, id);
  if (!fds.ok()) return fds.status();
  // A few rounds: the session may be deleted (and re-created) while we wait.
  for (int round = 0; round < 8; ++round) {
    UniqueFd fd(OpenComponent(fds->session.get(), kLockFile, O_RDWR));
    if (!fd.valid()) {
      return Internal("session " + Quote(id) + ": cannot open lock file " +
                      QuotePath(root_ / id / kLockFile) + ": " + ErrnoText(-fd.Release()));
    }
    if (int rc = session::LockExclusive(fd.get()); rc < 0) {
      return Internal("session " + Quote(id) + ": cannot lock " +
                      QuotePath(root_ / id / kLockFile) + ": " + ErrnoText(-rc));
    }
    // Still the session's lock file? A deleter renames the session away
    // while holding the lock.
    StatusOr<UniqueFd> current = session::OpenSessionDir(root_, fds->root.get(), id);
    if (!current.ok()) return current.status();
    if (session::SameFile(fd.get(), current->get(), kLockFile)) return SessionLock(fd.Release());
    fds->session = std::move(*current);
  }
  return Internal("session " + Quote(id) + ": its lock file kept changing while waiting for it");
}

StatusOr<SessionMetadata> SessionStore::RecordExecution(std::string_view id) {
  if (Status s = CheckSessionId(id); !s.ok()) return s;
  StatusOr<session::SessionFds> fds = session::OpenSession(root_, id);
  if (!fds.ok()) return fds.status();
  return session::UpdateMetadata(fds->session.get(), id, root_ / id, FormatIsoUtc(now_()),
                                 session::MetadataUpdate::kExecution, *logger_);
}

Status SessionStore::SaveExecutionLogs(std::string_view id, uint64_t execution_number,
                                       std::string_view stdout_text, std::string_view stderr_text) {
  if (Status s = CheckSessionId(id); !s.ok()) return s;
  if (execution_number == 0) {
    return InvalidArgument("execution_number is 0; executions are numbered from 1");
  }
  StatusOr<session::SessionFds> fds = session::OpenSession(root_, id);
  if (!fds.ok()) return fds.status();
  const fs::path logs_path = root_ / id / kLogsDir;
  UniqueFd logs(OpenComponent(fds->session.get(), kLogsDir, O_PATH | O_DIRECTORY));
  if (!logs.valid() && -logs.Release() == ENOENT) {
    if (::mkdirat(fds->session.get(), kLogsDir.c_str(), kSessionDirMode) != 0 && errno != EEXIST) {
      return Internal("cannot create " + QuotePath(logs_path) + ": " + ErrnoText(errno));
    }
    logs.Reset(OpenComponent(fds->session.get(), kLogsDir, O_PATH | O_DIRECTORY));
  }
  if (!logs.valid()) {
    return Internal("cannot open " + QuotePath(logs_path) + ": " + ErrnoText(-logs.Release()));
  }
  const std::string base = std::to_string(execution_number);
  for (const auto& [suffix, text] :
       {std::pair<std::string, std::string_view>{".stdout", stdout_text},
        std::pair<std::string, std::string_view>{".stderr", stderr_text}}) {
    const std::string name = base + suffix;
    const int rc = session::AtomicWriteAt(logs.get(), name, text, /*overwrite=*/true,
                                          kPrivateFileMode, /*sync=*/false, fds->session.get());
    if (rc < 0) return Internal("cannot write " + QuotePath(logs_path / name) + ": " + ErrnoText(-rc));
  }
  return Status::Ok();
}

StatusOr<std::vector<SessionInfo>> SessionStore::ListSessions() const {
  std::vector<SessionInfo> out;
  StatusOr<UniqueFd> root_fd = session::OpenRoot(root_);
  if (!root_fd.ok()) {
    if (root_fd.status().code() == StatusCode::kNotFound) return out;
    return root_fd.status();
  }
  std::vector<std::string> names;
  if (int rc = session::ListDirectory(root_fd->get(), &names); rc < 0) {
    return Internal("cannot list session root " + QuotePath(root_) + ": " + ErrnoText(-rc));
  }
  for (const std::string& name : names) {
    if (!CheckSessionId(name).ok() || name.starts_with(kOneOffSessionPrefix)) continue;
    StatusOr<UniqueFd> session_fd = session::OpenSessionDir(root_, root_fd->get(), name);
    if (!session_fd.ok()) continue;
    StatusOr<SessionMetadata> m = session::ReadMetadataAt(session_fd->get(), name, root_ / name);
    if (!m.ok()) continue;
    out.push_back(SessionInfo{std::move(*m), WorkspacePath(name)});
  }
  return out;
}

Status SessionStore::DeleteSession(std::string_view id) {
  if (Status s = CheckSessionId(id); !s.ok()) return s;
  StatusOr<UniqueFd> root_fd = session::OpenRoot(root_);
  if (!root_fd.ok()) {
    return root_fd.status().code() == StatusCode::kNotFound ? Status::Ok() : root_fd.status();
  }
  StatusOr<UniqueFd> session_fd = session::OpenSessionDir(root_, root_fd->get(), id);
  if (!session_fd.ok()) {
    return session_fd.status().code() == StatusCode::kNotFound ? Status::Ok() : session_fd.status();
  }
  // Wait for a running execution: take its lock first.
  UniqueFd lock(OpenComponent(session_fd->get(), kLockFile, O_RDWR));
  if (lock.valid()) {
    if (int rc = session::LockExclusive(lock.get()); rc < 0) {
      return Internal("session " + Quote(id) + ": cannot lock " +
                      QuotePath(root_ / id / kLockFile) + ": " + ErrnoText(-rc));
    }
  } else if (-lock.Release() != ENOENT) {
    return Internal("session " + Quote(id) + ": cannot open lock file " +
                    QuotePath(root_ / id / kLockFile));
  }
  // Deleted by someone else while we waited?
  if (!session::SameFile(session_fd->get(), root_fd->get(), std::string(id))) return Status::Ok();
  StatusOr<uint64_t> bytes = session::RegularFileBytes(session_fd->get());
  if (!bytes.ok()) {
    return Internal("session " + Quote(id) + ": measuring " + QuotePath(root_ / id) + ": " +
                    bytes.status().message());
  }
  if (Status s = session::RemoveSessionDir(root_, root_fd->get(), id); !s.ok()) return s;
  nlohmann::ordered_json f;
  f["session_id"] = std::string(id);
  f["reclaimed_bytes"] = *bytes;
  logger_->Log(LogLevel::kInfo, kSessionLogger, TelemetryEvent::kSessionDeleted, f);
  return Status::Ok();
}

}  // namespace snakecage
