// session/session_metadata.h: a session's metadata, on disk in two files.
//
// session.json holds all of it, read and written whole (written by rename,
// so a reader sees the old or the new file, never part of one). Updates do
// not rewrite it: each appends one fixed-size record to session.activity
// (the execution count and updated_at after the update, and why), and the
// metadata is session.json with its last whole record applied. A rename over
// session.json cost ~0.35 ms per execution on ext4 (the replaced inode's
// blocks flushed and freed); an append costs a write. Every
// kActivityFoldRecords records the metadata is folded back into session.json
// and the activity file emptied (a crash between the two leaves a last
// record equal to session.json: the same metadata). A record cut short by a
// crash is ignored and then cut off; a record never flushed before a crash
// is lost with its update, as an unsynced rename's would be.
//
// Private to SessionStore's files.
//
// Thread-safety: stateless functions; UpdateMetadata serialises with other
// threads and processes through flock on the session directory.
#pragma once

#include <filesystem>
#include <string_view>

#include "snakecage/session.h"

namespace snakecage::session {

// Records in session.activity before it is folded into session.json.
inline constexpr size_t kActivityFoldRecords = 1024;

// Reads and checks <session_dir>/session.json through `session_fd`, and
// applies session.activity's last whole record: Internal naming the file
// and the field for anything unreadable.
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
// lock, session.lock, is usually held by the caller), by appending a record
// to session.activity (folding it into session.json when it is full), then
// logs session.metadata.updated. Returns the metadata now in force.
StatusOr<SessionMetadata> UpdateMetadata(int session_fd, std::string_view id,
                                         const std::filesystem::path& session_dir,
                                         const std::string& now, MetadataUpdate why,
                                         TelemetryLogger& logger);

}  // namespace snakecage::session
