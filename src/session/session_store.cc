// SessionStore: session directories, metadata, workspace file operations and
// pruning. See snakecage/session.h for the on-disk layout.
//
// Telemetry. Logger "snakecage.session" unless noted; fields in this order.
// Events are emitted only when the operation succeeded, except the prune
// per-session events and security.path_denied.
//
//   session.created           session_id, workspace_path
//   session.metadata.created  session_id, created_at, version
//   session.retrieved         session_id, workspace_path, execution_count
//   session.metadata.updated  session_id, updated_at, execution_count,
//                             reason ("execution" | "file_write")
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
#include <fnmatch.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "base/errno_text.h"
#include "base/text.h"

#include "session/workspace_fs.h"
#include "session/workspace_snapshot.h"
#include "snakecage/session.h"
#include "telemetry/iso_time.h"

namespace snakecage {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kLogger = "snakecage.session";
constexpr std::string_view kSecurityLogger = "snakecage.security";
const std::string kWorkspaceDir = "workspace";
const std::string kMetadataFile = "session.json";
const std::string kLockFile = "session.lock";
const std::string kLogsDir = "logs";
// '+' is not a session id character, so these names never collide with one.
const std::string kStagingPrefix = "+staging-";
const std::string kDeletingPrefix = "+deleting-";

constexpr mode_t kSessionDirMode = 0700;
constexpr mode_t kWorkspaceDirMode = 0755;
constexpr mode_t kWorkspaceFileMode = 0644;
constexpr mode_t kPrivateFileMode = 0600;

Status AlreadyExists(std::string m) { return Status(StatusCode::kAlreadyExists, std::move(m)); }
Status PermissionDenied(std::string m) {
  return Status(StatusCode::kPermissionDenied, std::move(m));
}

std::string QuotePath(const fs::path& p) { return Quote(p.string()); }

// ---- the session's directories ---------------------------------------------

// mkdir -p `root`, each missing directory with mode 0700.
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

// The root, O_PATH. NotFound when it does not exist.
StatusOr<UniqueFd> OpenRoot(const fs::path& root) {
  UniqueFd fd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) {
    const int err = errno;
    if (err == ENOENT) return NotFound("session root " + QuotePath(root) + " does not exist");
    return Internal("cannot open session root " + QuotePath(root) + ": " + ErrnoText(err));
  }
  return fd;
}

// <root>/<id>, O_PATH, not following a symlink. NotFound when absent.
StatusOr<UniqueFd> OpenSessionDir(const fs::path& root, int root_fd, std::string_view id) {
  UniqueFd fd(OpenComponent(root_fd, std::string(id), O_PATH | O_DIRECTORY));
  if (!fd.valid()) {
    const int err = -fd.Release();
    if (err == ENOENT) return NotFound("session " + Quote(id) + " not found");
    if (err == ENOTDIR || err == ELOOP) {
      return Internal("session " + Quote(id) + ": " + QuotePath(root / id) + " is not a directory");
    }
    return Internal("cannot open session directory " + QuotePath(root / id) + ": " + ErrnoText(err));
  }
  return fd;
}

struct SessionFds {
  UniqueFd root;
  UniqueFd session;
};

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

// The session's workspace, opened component by component with O_NOFOLLOW
// from the root: <root> -> <id> -> workspace, each O_PATH.
struct WorkspaceFds {
  UniqueFd session;
  UniqueFd workspace;
};

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

// ---- metadata ----------------------------------------------------------------

std::string MetadataJson(const SessionMetadata& m) {
  nlohmann::ordered_json j;
  j["session_id"] = m.session_id;
  j["created_at"] = m.created_at;
  j["updated_at"] = m.updated_at;
  j["version"] = m.version;
  j["execution_count"] = m.execution_count;
  return j.dump(2) + "\n";
}

StatusOr<SessionMetadata> ParseMetadata(std::string_view text, std::string_view id,
                                        const fs::path& file) {
  const auto bad = [&](std::string_view why) {
    return Internal("session " + Quote(id) + ": unreadable metadata " + QuotePath(file) + ": " +
                    std::string(why));
  };
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return bad("not a JSON object");
  const auto string_field = [&](const char* key) -> const std::string* {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string()) return nullptr;
    return it->get_ptr<const std::string*>();
  };
  SessionMetadata m;
  const std::string* sid = string_field("session_id");
  const std::string* created = string_field("created_at");
  const std::string* updated = string_field("updated_at");
  if (sid == nullptr) return bad("\"session_id\" is missing or not a string");
  if (*sid != id) return bad("\"session_id\" is " + Quote(*sid));
  if (created == nullptr || !ParseIsoUtc(*created)) {
    return bad("\"created_at\" is missing or not an ISO-8601 UTC time");
  }
  if (updated == nullptr || !ParseIsoUtc(*updated)) {
    return bad("\"updated_at\" is missing or not an ISO-8601 UTC time");
  }
  auto version = j.find("version");
  if (version == j.end() || !version->is_number_integer()) {
    return bad("\"version\" is missing or not an integer");
  }
  if (version->get<int64_t>() != kSessionMetadataVersion) {
    return bad("\"version\" " + std::to_string(version->get<int64_t>()) +
               " is not supported (this build writes " + std::to_string(kSessionMetadataVersion) +
               ")");
  }
  auto count = j.find("execution_count");
  if (count == j.end() || !count->is_number_unsigned()) {
    return bad("\"execution_count\" is missing or not a non-negative integer");
  }
  m.session_id = *sid;
  m.created_at = *created;
  m.updated_at = *updated;
  m.version = kSessionMetadataVersion;
  m.execution_count = count->get<uint64_t>();
  return m;
}

StatusOr<SessionMetadata> ReadMetadataAt(int session_fd, std::string_view id,
                                         const fs::path& session_dir) {
  const fs::path file = session_dir / kMetadataFile;
  UniqueFd fd(OpenComponent(session_fd, kMetadataFile, O_RDONLY));
  if (!fd.valid()) {
    return Internal("session " + Quote(id) + ": cannot open metadata " + QuotePath(file) + ": " +
                    ErrnoText(-fd.Release()));
  }
  std::string text;
  if (int rc = session::ReadAll(fd.get(), &text); rc < 0) {
    return Internal("session " + Quote(id) + ": cannot read metadata " + QuotePath(file) + ": " +
                    ErrnoText(-rc));
  }
  return ParseMetadata(text, id, file);
}

// With `sync` the new file is fsync'ed before it is renamed into place
// (done once, at creation). Updates skip it: they cost ~100 us more each
// on ext4 and sit on every execution's path; the rename still makes every
// reader see the old or the new file whole.
Status WriteMetadataAt(int session_fd, const SessionMetadata& m, const fs::path& session_dir,
                       bool sync) {
  const int rc = session::AtomicWriteAt(session_fd, kMetadataFile, MetadataJson(m),
                                        /*overwrite=*/true, kPrivateFileMode, sync);
  if (rc < 0) {
    return Internal("session " + Quote(m.session_id) + ": cannot write metadata " +
                    QuotePath(session_dir / kMetadataFile) + ": " + ErrnoText(-rc));
  }
  return Status::Ok();
}

// Serialises read-modify-write of session.json between threads and
// processes: flock on the session directory itself. (The execution lock,
// session.lock, is usually held by the caller of RecordExecution, so it
// cannot be this lock.)
class MetadataLock {
 public:
  static StatusOr<MetadataLock> Acquire(int session_fd, std::string_view id) {
    UniqueFd fd(::openat(session_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd.valid()) {
      return Internal("session " + Quote(id) + ": cannot open its directory: " + ErrnoText(errno));
    }
    while (::flock(fd.get(), LOCK_EX) != 0) {
      if (errno != EINTR) {
        return Internal("session " + Quote(id) + ": cannot lock metadata: " + ErrnoText(errno));
      }
    }
    return MetadataLock(std::move(fd));
  }

 private:
  explicit MetadataLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;  // closing it releases the lock
};

// ---- session removal -----------------------------------------------------------

// Renames <root>/<id> out of the way (so nobody opens a half-deleted
// session), then removes it. 0 entries when it was already gone.
Status RemoveSessionDir(const fs::path& root, int root_fd, std::string_view id) {
  const std::string doomed = kDeletingPrefix + session::RandomHex(8);
  if (::renameat(root_fd, std::string(id).c_str(), root_fd, doomed.c_str()) != 0) {
    if (errno == ENOENT) return Status::Ok();
    return Internal("cannot delete session " + Quote(id) + " (" + QuotePath(root / id) +
                    "): " + ErrnoText(errno));
  }
  StatusOr<uint64_t> removed = session::RemoveTree(root_fd, doomed, (root / doomed).string());
  if (!removed.ok()) {
    return Internal("session " + Quote(id) + ": " + removed.status().message());
  }
  return Status::Ok();
}

bool SameFile(int fd, int dir_fd, const std::string& name) {
  struct stat a, b;
  if (::fstat(fd, &a) != 0) return false;
  if (::fstatat(dir_fd, name.c_str(), &b, AT_SYMLINK_NOFOLLOW) != 0) return false;
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// ---- file operations -------------------------------------------------------------

std::string_view KindName(mode_t mode) {
  if (S_ISREG(mode)) return "file";
  if (S_ISLNK(mode)) return "symlink";
  if (S_ISDIR(mode)) return "directory";
  return "other";
}

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

StatusOr<OpenedSession> SessionStore::OpenOrCreate(std::string_view id, bool allow_non_uuid) {
  if (Status s = CheckSessionId(id, allow_non_uuid); !s.ok()) return s;
  if (Status s = EnsureRoot(root_); !s.ok()) return s;
  StatusOr<UniqueFd> root_fd = OpenRoot(root_);
  if (!root_fd.ok()) return root_fd.status();
  const std::string name(id);
  const fs::path session_dir = root_ / id;

  // At most two rounds: a lost creation race ends in retrieval.
  for (int round = 0; round < 2; ++round) {
    StatusOr<UniqueFd> session_fd = OpenSessionDir(root_, root_fd->get(), id);
    if (session_fd.ok()) {
      UniqueFd ws(OpenComponent(session_fd->get(), kWorkspaceDir, O_PATH | O_DIRECTORY));
      if (!ws.valid()) {
        return Internal("session " + Quote(id) + ": cannot open workspace " +
                        QuotePath(WorkspacePath(id)) + ": " + ErrnoText(-ws.Release()));
      }
      StatusOr<SessionMetadata> m = ReadMetadataAt(session_fd->get(), id, session_dir);
      if (!m.ok()) return m.status();
      nlohmann::ordered_json f;
      f["session_id"] = name;
      f["workspace_path"] = WorkspacePath(id).string();
      f["execution_count"] = m->execution_count;
      logger_->Log(LogLevel::kInfo, kLogger, TelemetryEvent::kSessionRetrieved, f);
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
    if (Status s = WriteMetadataAt(stage.get(), m, staging_path, /*sync=*/true); !s.ok())
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
    logger_->Log(LogLevel::kInfo, kLogger, TelemetryEvent::kSessionCreated, created);
    nlohmann::ordered_json meta;
    meta["session_id"] = name;
    meta["created_at"] = m.created_at;
    meta["version"] = m.version;
    logger_->Log(LogLevel::kInfo, kLogger, TelemetryEvent::kSessionMetadataCreated, meta);
    return OpenedSession{std::move(m), WorkspacePath(id), true};
  }
  return Internal("session " + Quote(id) + " at " + QuotePath(session_dir) +
                  " could be neither created nor opened (deleted while being created?)");
}

StatusOr<SessionMetadata> SessionStore::ReadMetadata(std::string_view id) const {
  if (Status s = CheckSessionId(id); !s.ok()) return s;
  StatusOr<SessionFds> fds = OpenSession(root_, id);
  if (!fds.ok()) return fds.status();
  return ReadMetadataAt(fds->session.get(), id, root_ / id);
}

StatusOr<SessionLock> SessionStore::LockForExecution(std::string_view id) {
  if (Status s = CheckSessionId(id); !s.ok()) return s;
  StatusOr<SessionFds> fds = OpenSession(root_, id);
  if (!fds.ok()) return fds.status();
  // A few rounds: the session may be deleted (and re-created) while we wait.
  for (int round = 0; round < 8; ++round) {
    UniqueFd fd(OpenComponent(fds->session.get(), kLockFile, O_RDWR));
    if (!fd.valid()) {
      return Internal("session " + Quote(id) + ": cannot open lock file " +
                      QuotePath(root_ / id / kLockFile) + ": " + ErrnoText(-fd.Release()));
    }
    while (::flock(fd.get(), LOCK_EX) != 0) {
      if (errno != EINTR) {
        return Internal("session " + Quote(id) + ": cannot lock " +
                        QuotePath(root_ / id / kLockFile) + ": " + ErrnoText(errno));
      }
    }
    // Still the session's lock file? A deleter renames the session away
    // while holding the lock.
    StatusOr<UniqueFd> current = OpenSessionDir(root_, fds->root.get(), id);
    if (!current.ok()) return current.status();
    if (SameFile(fd.get(), current->get(), kLockFile)) return SessionLock(fd.Release());
    fds->session = std::move(*current);
  }
  return Internal("session " + Quote(id) + ": its lock file kept changing while waiting for it");
}

StatusOr<SessionMetadata> SessionStore::RecordExecution(std::string_view id) {
  if (Status s = CheckSessionId(id); !s.ok()) return s;
  StatusOr<SessionFds> fds = OpenSession(root_, id);
  if (!fds.ok()) return fds.status();
  StatusOr<MetadataLock> lock = MetadataLock::Acquire(fds->session.get(), id);
  if (!lock.ok()) return lock.status();
  StatusOr<SessionMetadata> m = ReadMetadataAt(fds->session.get(), id, root_ / id);
  if (!m.ok()) return m.status();
  m->updated_at = FormatIsoUtc(now_());
  m->execution_count += 1;
  if (Status s = WriteMetadataAt(fds->session.get(), *m, root_ / id, /*sync=*/false); !s.ok())
    return s;
  nlohmann::ordered_json f;
  f["session_id"] = m->session_id;
  f["updated_at"] = m->updated_at;
  f["execution_count"] = m->execution_count;
  f["reason"] = "execution";
  logger_->Log(LogLevel::kInfo, kLogger, TelemetryEvent::kSessionMetadataUpdated, f);
  return m;
}

Status SessionStore::SaveExecutionLogs(std::string_view id, uint64_t execution_number,
                                       std::string_view stdout_text, std::string_view stderr_text) {
  if (Status s = CheckSessionId(id); !s.ok()) return s;
  if (execution_number == 0) {
    return InvalidArgument("execution_number is 0; executions are numbered from 1");
  }
  StatusOr<SessionFds> fds = OpenSession(root_, id);
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
                                          kPrivateFileMode, /*sync=*/false);
    if (rc < 0) return Internal("cannot write " + QuotePath(logs_path / name) + ": " + ErrnoText(-rc));
  }
  return Status::Ok();
}

StatusOr<std::vector<SessionInfo>> SessionStore::ListSessions() const {
  std::vector<SessionInfo> out;
  StatusOr<UniqueFd> root_fd = OpenRoot(root_);
  if (!root_fd.ok()) {
    if (root_fd.status().code() == StatusCode::kNotFound) return out;
    return root_fd.status();
  }
  std::vector<std::string> names;
  if (int rc = session::ListDirectory(root_fd->get(), &names); rc < 0) {
    return Internal("cannot list session root " + QuotePath(root_) + ": " + ErrnoText(-rc));
  }
  for (const std::string& name : names) {
    if (!CheckSessionId(name).ok()) continue;
    StatusOr<UniqueFd> session_fd = OpenSessionDir(root_, root_fd->get(), name);
    if (!session_fd.ok()) continue;
    StatusOr<SessionMetadata> m = ReadMetadataAt(session_fd->get(), name, root_ / name);
    if (!m.ok()) continue;
    out.push_back(SessionInfo{std::move(*m), WorkspacePath(name)});
  }
  return out;
}

namespace {

// Refuses `path` by its text (logging security.path_denied for anything
// but an empty path); OK when it may be resolved.
Status CheckOperationPath(TelemetryLogger& logger, std::string_view id, std::string_view operation,
                          std::string_view path) {
  const std::string_view problem = session::RelativePathProblem(path);
  if (problem.empty()) return Status::Ok();
  if (problem != "empty") {
    nlohmann::ordered_json f;
    f["session_id"] = std::string(id);
    f["operation"] = std::string(operation);
    f["path"] = std::string(path);
    f["reason"] = std::string(problem);
    logger.Log(LogLevel::kWarning, kSecurityLogger, TelemetryEvent::kSecurityPathDenied, f);
  }
  return session::CheckRelativePath(path);
}

// The Status for a kernel refusal `err` of `path` in session `id`.
Status PathError(TelemetryLogger& logger, std::string_view id, std::string_view operation,
                 std::string_view path, int err) {
  const std::string where = "path " + Quote(path) + " in session " + Quote(id);
  switch (err) {
    case EXDEV: {
      nlohmann::ordered_json f;
      f["session_id"] = std::string(id);
      f["operation"] = std::string(operation);
      f["path"] = std::string(path);
      f["reason"] = "escapes_workspace";
      logger.Log(LogLevel::kWarning, kSecurityLogger, TelemetryEvent::kSecurityPathDenied, f);
      return InvalidArgument(where + " leads outside the workspace (through a symlink)");
    }
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
  StatusOr<WorkspaceFds> fds = OpenWorkspace(root_, id);
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
  logger_->Log(LogLevel::kInfo, kLogger, TelemetryEvent::kSessionFileList, f);
  return files;
}

StatusOr<std::string> SessionStore::ReadFile(std::string_view id, std::string_view path) {
  if (Status s = CheckSessionId(id); !s.ok()) return s;
  if (Status s = CheckOperationPath(*logger_, id, "read", path); !s.ok()) return s;
  StatusOr<WorkspaceFds> fds = OpenWorkspace(root_, id);
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
  logger_->Log(LogLevel::kInfo, kLogger, TelemetryEvent::kSessionFileRead, f);
  return data;
}

Status SessionStore::WriteFile(std::string_view id, std::string_view path, std::string_view data,
                               bool overwrite) {
  if (Status s = CheckSessionId(id); !s.ok()) return s;
  if (Status s = CheckOperationPath(*logger_, id, "write", path); !s.ok()) return s;
  const SplitPath split = SplitLast(path);
  if (split.trailing_slash || split.name == ".") {
    return InvalidArgument("path " + Quote(path) + " does not name a file");
  }
  StatusOr<WorkspaceFds> fds = OpenWorkspace(root_, id);
  if (!fds.ok()) return fds.status();
  UniqueFd parent(
      session::OpenOrCreateDirsBeneath(fds->workspace.get(), split.parent, kWorkspaceDirMode));
  if (!parent.valid()) return PathError(*logger_, id, "write", path, -parent.Release());
  // The final component is replaced by rename, never followed.
  const int rc = session::AtomicWriteAt(parent.get(), split.name, data, overwrite,
                                        kWorkspaceFileMode, /*sync=*/false);
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
  logger_->Log(LogLevel::kInfo, kLogger, TelemetryEvent::kSessionFileWrite, f);

  StatusOr<MetadataLock> lock = MetadataLock::Acquire(fds->session.get(), id);
  if (!lock.ok()) return lock.status();
  StatusOr<SessionMetadata> m = ReadMetadataAt(fds->session.get(), id, root_ / id);
  if (!m.ok()) return m.status();
  m->updated_at = FormatIsoUtc(now_());
  if (Status s = WriteMetadataAt(fds->session.get(), *m, root_ / id, /*sync=*/false); !s.ok())
    return s;
  nlohmann::ordered_json u;
  u["session_id"] = m->session_id;
  u["updated_at"] = m->updated_at;
  u["execution_count"] = m->execution_count;
  u["reason"] = "file_write";
  logger_->Log(LogLevel::kInfo, kLogger, TelemetryEvent::kSessionMetadataUpdated, u);
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
  StatusOr<WorkspaceFds> fds = OpenWorkspace(root_, id);
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
  logger_->Log(LogLevel::kInfo, kLogger, TelemetryEvent::kSessionFileDelete, f);
  return Status::Ok();
}

Status SessionStore::DeleteSession(std::string_view id) {
  if (Status s = CheckSessionId(id); !s.ok()) return s;
  StatusOr<UniqueFd> root_fd = OpenRoot(root_);
  if (!root_fd.ok()) {
    return root_fd.status().code() == StatusCode::kNotFound ? Status::Ok() : root_fd.status();
  }
  StatusOr<UniqueFd> session_fd = OpenSessionDir(root_, root_fd->get(), id);
  if (!session_fd.ok()) {
    return session_fd.status().code() == StatusCode::kNotFound ? Status::Ok() : session_fd.status();
  }
  // Wait for a running execution: take its lock first.
  UniqueFd lock(OpenComponent(session_fd->get(), kLockFile, O_RDWR));
  if (lock.valid()) {
    while (::flock(lock.get(), LOCK_EX) != 0) {
      if (errno != EINTR) {
        return Internal("session " + Quote(id) + ": cannot lock " +
                        QuotePath(root_ / id / kLockFile) + ": " + ErrnoText(errno));
      }
    }
  } else if (-lock.Release() != ENOENT) {
    return Internal("session " + Quote(id) + ": cannot open lock file " +
                    QuotePath(root_ / id / kLockFile));
  }
  // Deleted by someone else while we waited?
  if (!SameFile(session_fd->get(), root_fd->get(), std::string(id))) return Status::Ok();
  StatusOr<uint64_t> bytes = session::RegularFileBytes(session_fd->get());
  if (!bytes.ok()) {
    return Internal("session " + Quote(id) + ": measuring " + QuotePath(root_ / id) + ": " +
                    bytes.status().message());
  }
  if (Status s = RemoveSessionDir(root_, root_fd->get(), id); !s.ok()) return s;
  nlohmann::ordered_json f;
  f["session_id"] = std::string(id);
  f["reclaimed_bytes"] = *bytes;
  logger_->Log(LogLevel::kInfo, kLogger, TelemetryEvent::kSessionDeleted, f);
  return Status::Ok();
}

StatusOr<PruneReport> SessionStore::PruneSessions(std::chrono::system_clock::duration older_than,
                                                  bool dry_run) {
  using std::chrono::duration;
  using std::chrono::duration_cast;
  const auto now = now_();
  const auto cutoff = now - older_than;
  PruneReport report;
  report.dry_run = dry_run;

  nlohmann::ordered_json started;
  started["older_than_seconds"] = duration_cast<duration<double>>(older_than).count();
  started["dry_run"] = dry_run;
  started["cutoff"] = FormatIsoUtc(cutoff);
  logger_->Log(LogLevel::kInfo, kLogger, TelemetryEvent::kSessionPruneStarted, started);

  const auto skip = [&](const std::string& id, std::string reason) {
    nlohmann::ordered_json f;
    f["session_id"] = id;
    f["reason"] = reason;
    logger_->Log(LogLevel::kInfo, kLogger, TelemetryEvent::kSessionPruneSkipped, f);
    report.skipped.push_back({id, std::move(reason)});
  };
  const auto fail = [&](const std::string& id, std::string message) {
    nlohmann::ordered_json f;
    f["session_id"] = id;
    f["message"] = message;
    logger_->Log(LogLevel::kError, kLogger, TelemetryEvent::kSessionPruneError, f);
    report.errors.push_back({id, std::move(message)});
  };
  // True when metadata says the session is old enough to prune; otherwise
  // records why it is skipped.
  const auto old_enough = [&](const std::string& id, int session_fd,
                              std::optional<std::chrono::system_clock::time_point>* updated) {
    StatusOr<SessionMetadata> m = ReadMetadataAt(session_fd, id, root_ / id);
    if (m.ok()) *updated = ParseIsoUtc(m->updated_at);
    if (!m.ok() || !*updated) {
      skip(id, "unreadable metadata");
      return false;
    }
    if (**updated >= cutoff) {
      skip(id, "recent");
      return false;
    }
    return true;
  };

  StatusOr<UniqueFd> root_fd = OpenRoot(root_);
  std::vector<std::string> names;
  if (root_fd.ok()) {
    if (int rc = session::ListDirectory(root_fd->get(), &names); rc < 0) {
      return Internal("cannot list session root " + QuotePath(root_) + ": " + ErrnoText(-rc));
    }
  } else if (root_fd.status().code() != StatusCode::kNotFound) {
    return root_fd.status();
  }

  for (const std::string& id : names) {
    if (!CheckSessionId(id).ok()) continue;  // staging directories and strangers
    StatusOr<UniqueFd> session_fd = OpenSessionDir(root_, root_fd->get(), id);
    if (!session_fd.ok()) continue;  // not a directory: not a session
    std::optional<std::chrono::system_clock::time_point> updated;
    if (!old_enough(id, session_fd->get(), &updated)) continue;

    nlohmann::ordered_json candidate;
    candidate["session_id"] = id;
    candidate["updated_at"] = FormatIsoUtc(*updated);
    candidate["age_seconds"] = duration_cast<duration<double>>(now - *updated).count();
    logger_->Log(LogLevel::kInfo, kLogger, TelemetryEvent::kSessionPruneCandidate, candidate);

    UniqueFd lock(OpenComponent(session_fd->get(), kLockFile, O_RDWR));
    if (!lock.valid()) {
      fail(id, "cannot open lock file " + QuotePath(root_ / id / kLockFile) + ": " +
                   ErrnoText(-lock.Release()));
      continue;
    }
    if (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK) {
        skip(id, "in use");
      } else {
        fail(id, "cannot lock " + QuotePath(root_ / id / kLockFile) + ": " + ErrnoText(errno));
      }
      continue;
    }
    // Under the lock: the session may have been used (or deleted) since.
    if (!SameFile(session_fd->get(), root_fd->get(), id)) continue;
    if (!old_enough(id, session_fd->get(), &updated)) continue;
    StatusOr<uint64_t> bytes = session::RegularFileBytes(session_fd->get());
    if (!bytes.ok()) {
      fail(id, "measuring " + QuotePath(root_ / id) + ": " + bytes.status().message());
      continue;
    }
    if (!dry_run) {
      if (Status s = RemoveSessionDir(root_, root_fd->get(), id); !s.ok()) {
        fail(id, s.message());
        continue;
      }
    }
    report.deleted.push_back(id);
    report.reclaimed_bytes += *bytes;
    nlohmann::ordered_json f;
    f["session_id"] = id;
    f["reclaimed_bytes"] = *bytes;
    f["dry_run"] = dry_run;
    logger_->Log(LogLevel::kInfo, kLogger, TelemetryEvent::kSessionPruneDeleted, f);
  }

  nlohmann::ordered_json done;
  done["dry_run"] = dry_run;
  done["deleted_count"] = report.deleted.size();
  done["skipped_count"] = report.skipped.size();
  done["error_count"] = report.errors.size();
  done["reclaimed_bytes"] = report.reclaimed_bytes;
  logger_->Log(LogLevel::kInfo, kLogger, TelemetryEvent::kSessionPruneCompleted, done);
  return report;
}

}  // namespace snakecage
