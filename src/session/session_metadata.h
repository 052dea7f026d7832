// session/session_metadata.h: session.json, read and written whole
// (written by rename, so a reader sees the old or the new file, never part
// of one), and the one read-modify-write of it under a lock. Private to
// SessionStore's files.
//
// Thread-safety: stateless functions; UpdateMetadata serialises with other
// threads and processes through flock on the session directory.
#pragma once

#include <filesystem>
#include <string_view>

#include "snakecage/session.h"

namespace snakecage::session {

// Reads and checks <session_dir>/session.json through `session_fd`:
// Internal naming the file and the field for anything unreadable.
StatusOr<SessionMetadata> ReadMetadataAt(int session_fd, std::string_view id,
                                         const std::filesystem::path& session_dir);

// With `sync` the new file is fsync'ed before it is renamed into place
// (done once, at creation). Updates skip it: they cost ~100 us more each
// on ext4 and sit on every execution's path; the rename still makes every
// reader see the old or the new file whole.
Status WriteMetadataAt(int session_fd, const SessionMetadata& m,
                       const std::filesystem::path& session_dir, bool sync);

// Why the metadata changed: the `reason` of session.metadata.updated.
enum class MetadataUpdate {
  kExecution,  // updated_at, and execution_count + 1
  kFileWrite,  // updated_at
  kRetrieval,  // updated_at: the session was opened again
};

// Sets updated_at to `now` (and counts an execution for kExecution) under
// the metadata lock (flock on the session directory itself: the execution
// lock, session.lock, is usually held by the caller), then logs
// session.metadata.updated. Returns the metadata written.
StatusOr<SessionMetadata> UpdateMetadata(int session_fd, std::string_view id,
                                         const std::filesystem::path& session_dir,
                                         const std::string& now, MetadataUpdate why,
                                         TelemetryLogger& logger);

}  // namespace snakecage::session
