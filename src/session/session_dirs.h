// session/session_dirs.h: a session's directories on disk (the layout of
// snakecage/session.h), opened component by component from the root
// without following symlinks, the session locks, and removal. Private to
// SessionStore's files (session_store.cc, session_files.cc, session_prune.cc).
//
// Host paths appear only in messages, built from the root and a validated
// session id.
//
// Thread-safety: stateless functions.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>

#include "base/unique_fd.h"
#include "snakecage/status.h"

namespace snakecage::session {

// Telemetry loggers of the store (see session_store.cc for the events).
inline constexpr std::string_view kSessionLogger = "snakecage.session";
inline constexpr std::string_view kSecurityLogger = "snakecage.security";

inline const std::string kWorkspaceDir = "workspace";
inline const std::string kMetadataFile = "session.json";
// Appended to per execution, file write or retrieval (session_metadata.h).
inline const std::string kActivityFile = "session.activity";
inline const std::string kLockFile = "session.lock";
inline const std::string kLogsDir = "logs";
// '+' is not a session id character, so these names never collide with one.
inline const std::string kStagingPrefix = "+staging-";
inline const std::string kDeletingPrefix = "+deleting-";

inline constexpr mode_t kSessionDirMode = 0700;
inline constexpr mode_t kWorkspaceDirMode = 0755;
inline constexpr mode_t kWorkspaceFileMode = 0644;
inline constexpr mode_t kPrivateFileMode = 0600;

// A host path as messages show it.
std::string QuotePath(const std::filesystem::path& p);

// mkdir -p `root`, each missing directory with mode 0700.
Status EnsureRoot(const std::filesystem::path& root);

// The root, O_PATH. NotFound when it does not exist.
StatusOr<UniqueFd> OpenRoot(const std::filesystem::path& root);

// <root>/<id>, O_PATH, not following a symlink. NotFound when absent.
StatusOr<UniqueFd> OpenSessionDir(const std::filesystem::path& root, int root_fd,
                                  std::string_view id);

struct SessionFds {
  UniqueFd root;
  UniqueFd session;
};
// The root and <root>/<id>; NotFound for the session when either is absent.
StatusOr<SessionFds> OpenSession(const std::filesystem::path& root, std::string_view id);

// <root> -> <id> -> workspace, each O_PATH.
struct WorkspaceFds {
  UniqueFd session;
  UniqueFd workspace;
};
StatusOr<WorkspaceFds> OpenWorkspace(const std::filesystem::path& root, std::string_view id);

// flock(fd, LOCK_EX), waiting (through EINTR) unless `wait` is false: 0, or
// -errno (-EWOULDBLOCK when !wait and another holder has it).
int LockExclusive(int fd, bool wait = true);

// True when `fd` and `name` in `dir_fd` (not followed) are the same file.
bool SameFile(int fd, int dir_fd, const std::string& name);

// Renames <root>/<id> out of the way (so nobody opens a half-deleted
// session), then removes it. OK when it was already gone.
Status RemoveSessionDir(const std::filesystem::path& root, int root_fd, std::string_view id);

}  // namespace snakecage::session
