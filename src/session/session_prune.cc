// SessionStore::PruneSessions: deletes sessions idle for longer than a
// threshold, each under its execution lock (a session in use is skipped).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>
#include <string>

#include "base/errno_text.h"
#include "base/path_beneath.h"
#include "session/session_dirs.h"
#include "session/session_metadata.h"
#include "session/workspace_fs.h"
#include "snakecage/session.h"

namespace snakecage {

using session::kLockFile;
using session::kSessionLogger;
using session::QuotePath;

StatusOr<PruneReport> SessionStore::PruneSessions(std::chrono::system_clock::duration older_than,
                                                  bool dry_run) {
  using std::chrono::duration;
  using std::chrono::duration_cast;
  const auto now = now_();
  const auto cutoff = now - older_than;
  PruneReport report;
  report.dry_run = dry_run;

  // What a crash left behind goes first (it is never a session to report).
  if (StatusOr<size_t> swept = SweepLeftovers(); !swept.ok()) return swept.status();

  nlohmann::ordered_json started;
  started["older_than_seconds"] = duration_cast<duration<double>>(older_than).count();
  started["dry_run"] = dry_run;
  started["cutoff"] = FormatIsoUtc(cutoff);
  logger_->Log(LogLevel::kInfo, kSessionLogger, TelemetryEvent::kSessionPruneStarted, started);

  const auto skip = [&](const std::string& id, std::string reason) {
    nlohmann::ordered_json f;
    f["session_id"] = id;
    f["reason"] = reason;
    logger_->Log(LogLevel::kInfo, kSessionLogger, TelemetryEvent::kSessionPruneSkipped, f);
    report.skipped.push_back({id, std::move(reason)});
  };
  const auto fail = [&](const std::string& id, std::string message) {
    nlohmann::ordered_json f;
    f["session_id"] = id;
    f["message"] = message;
    logger_->Log(LogLevel::kError, kSessionLogger, TelemetryEvent::kSessionPruneError, f);
    report.errors.push_back({id, std::move(message)});
  };
  // True when metadata says the session is old enough to prune; otherwise
  // records why it is skipped.
  const auto old_enough = [&](const std::string& id, int session_fd,
                              std::optional<std::chrono::system_clock::time_point>* updated) {
    StatusOr<SessionMetadata> m = session::ReadMetadataAt(session_fd, id, root_ / id);
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

  StatusOr<UniqueFd> root_fd = session::OpenRoot(root_);
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
    StatusOr<UniqueFd> session_fd = session::OpenSessionDir(root_, root_fd->get(), id);
    if (!session_fd.ok()) continue;  // not a directory: not a session
    std::optional<std::chrono::system_clock::time_point> updated;
    if (!old_enough(id, session_fd->get(), &updated)) continue;

    nlohmann::ordered_json candidate;
    candidate["session_id"] = id;
    candidate["updated_at"] = FormatIsoUtc(*updated);
    candidate["age_seconds"] = duration_cast<duration<double>>(now - *updated).count();
    logger_->Log(LogLevel::kInfo, kSessionLogger, TelemetryEvent::kSessionPruneCandidate, candidate);

    UniqueFd lock(OpenComponent(session_fd->get(), kLockFile, O_RDWR));
    if (!lock.valid()) {
      fail(id, "cannot open lock file " + QuotePath(root_ / id / kLockFile) + ": " +
                   ErrnoText(-lock.Release()));
      continue;
    }
    if (int rc = session::LockExclusive(lock.get(), /*wait=*/false); rc < 0) {
      if (rc == -EWOULDBLOCK) {
        skip(id, "in use");
      } else {
        fail(id, "cannot lock " + QuotePath(root_ / id / kLockFile) + ": " + ErrnoText(-rc));
      }
      continue;
    }
    // Under the lock: the session may have been used (or deleted) since.
    if (!session::SameFile(session_fd->get(), root_fd->get(), id)) continue;
    if (!old_enough(id, session_fd->get(), &updated)) continue;
    StatusOr<uint64_t> bytes = session::RegularFileBytes(session_fd->get());
    if (!bytes.ok()) {
      fail(id, "measuring " + QuotePath(root_ / id) + ": " + bytes.status().message());
      continue;
    }
    if (!dry_run) {
      if (Status s = session::RemoveSessionDir(root_, root_fd->get(), id); !s.ok()) {
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
    logger_->Log(LogLevel::kInfo, kSessionLogger, TelemetryEvent::kSessionPruneDeleted, f);
  }

  nlohmann::ordered_json done;
  done["dry_run"] = dry_run;
  done["deleted_count"] = report.deleted.size();
  done["skipped_count"] = report.skipped.size();
  done["error_count"] = report.errors.size();
  done["reclaimed_bytes"] = report.reclaimed_bytes;
  logger_->Log(LogLevel::kInfo, kSessionLogger, TelemetryEvent::kSessionPruneCompleted, done);
  return report;
}

}  // namespace snakecage
