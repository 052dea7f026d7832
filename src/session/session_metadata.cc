#include "session/session_metadata.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "base/errno_text.h"
#include "base/path_beneath.h"
#include "base/text.h"
#include "session/session_dirs.h"
#include "session/workspace_fs.h"

namespace snakecage::session {
namespace {

namespace fs = std::filesystem;

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

// One session.activity record: "<count, 20 digits> <updated_at, padded to
// 40> <reason letter>", padded with spaces to kRecordBytes - 1, then '\n'.
constexpr size_t kRecordBytes = 64;
constexpr size_t kCountDigits = 20;
constexpr size_t kTimeWidth = 40;

std::string_view ReasonName(MetadataUpdate why) {
  switch (why) {
    case MetadataUpdate::kExecution:
      return "execution";
    case MetadataUpdate::kFileWrite:
      return "file_write";
    case MetadataUpdate::kRetrieval:
      return "retrieval";
  }
  return "execution";
}

// A record's reason: the first letter of its name ('e', 'f', 'r').
char ReasonLetter(MetadataUpdate why) { return ReasonName(why).front(); }

std::string ActivityRecord(const SessionMetadata& m, MetadataUpdate why) {
  std::string count = std::to_string(m.execution_count);
  std::string r = std::string(kCountDigits - count.size(), '0') + count + " " + m.updated_at;
  r.resize(kCountDigits + 1 + kTimeWidth, ' ');
  r += ' ';
  r += ReasonLetter(why);
  r.resize(kRecordBytes - 1, ' ');
  r += '\n';
  return r;
}

// The count and time of one record; false if it is not a whole, valid one
// (a tail a crash cut short or left as zeros).
bool ParseActivityRecord(std::string_view r, uint64_t* count, std::string* updated_at) {
  if (r.size() != kRecordBytes || r.back() != '\n' || r[kCountDigits] != ' ') return false;
  uint64_t n = 0;
  for (size_t i = 0; i < kCountDigits; ++i) {
    if (r[i] < '0' || r[i] > '9') return false;
    if (n > (UINT64_MAX - 9) / 10) return false;
    n = n * 10 + static_cast<uint64_t>(r[i] - '0');
  }
  std::string_view time = r.substr(kCountDigits + 1, kTimeWidth);
  while (!time.empty() && time.back() == ' ') time.remove_suffix(1);
  if (time.empty() || !ParseIsoUtc(std::string(time))) return false;
  *count = n;
  *updated_at = std::string(time);
  return true;
}

// Finds the last whole, valid record of an activity file `size` bytes
// long: 1 (and its count and time), 0 if there is none, or -errno.
int LastActivityRecord(int fd, off_t size, uint64_t* count, std::string* updated_at) {
  for (off_t at = size - size % static_cast<off_t>(kRecordBytes) - kRecordBytes; at >= 0;
       at -= kRecordBytes) {
    char buf[kRecordBytes];
    const ssize_t n = ::pread(fd, buf, kRecordBytes, at);
    if (n < 0) return -errno;
    if (ParseActivityRecord(std::string_view(buf, static_cast<size_t>(n)), count, updated_at)) {
      return 1;
    }
  }
  return 0;
}


// session.json alone, read and checked.
StatusOr<SessionMetadata> ReadMetadataFileAt(int session_fd, std::string_view id,
                                             const fs::path& session_dir) {
  const fs::path file = session_dir / kMetadataFile;
  UniqueFd fd(OpenComponent(session_fd, kMetadataFile, O_RDONLY));
  if (!fd.valid()) {
    return Internal("session " + Quote(id) + ": cannot open metadata " + QuotePath(file) + ": " +
                    ErrnoText(-fd.Release()));
  }
  std::string text;
  if (int rc = ReadAll(fd.get(), &text); rc < 0) {
    return Internal("session " + Quote(id) + ": cannot read metadata " + QuotePath(file) + ": " +
                    ErrnoText(-rc));
  }
  return ParseMetadata(text, id, file);
}

// Applies the last whole record of the activity file `fd` to `m`; returns
// the file's size.
StatusOr<off_t> ApplyActivity(int fd, std::string_view id, const fs::path& session_dir,
                              SessionMetadata* m) {
  struct stat st {};
  uint64_t count = 0;
  std::string updated_at;
  const int found =
      ::fstat(fd, &st) != 0 ? -errno : LastActivityRecord(fd, st.st_size, &count, &updated_at);
  if (found < 0) {
    return Internal("session " + Quote(id) + ": cannot read metadata " +
                    QuotePath(session_dir / kActivityFile) + ": " + ErrnoText(-found));
  }
  // A record older than session.json (it cannot be, but a fold's crash
  // could leave one equal to it) changes nothing.
  if (found > 0 && count >= m->execution_count) {
    m->execution_count = count;
    m->updated_at = std::move(updated_at);
  }
  return st.st_size;
}

}  // namespace

StatusOr<SessionMetadata> ReadMetadataAt(int session_fd, std::string_view id,
                                         const fs::path& session_dir) {
  StatusOr<SessionMetadata> m = ReadMetadataFileAt(session_fd, id, session_dir);
  if (!m.ok()) return m;
  UniqueFd activity(OpenComponent(session_fd, kActivityFile, O_RDONLY));
  if (!activity.valid()) {
    const int err = -activity.Release();
    if (err == ENOENT) return m;  // no update since the last fold
    return Internal("session " + Quote(id) + ": cannot open metadata " +
                    QuotePath(session_dir / kActivityFile) + ": " + ErrnoText(err));
  }
  if (StatusOr<off_t> size = ApplyActivity(activity.get(), id, session_dir, &*m); !size.ok()) {
    return size.status();
  }
  return m;
}

Status WriteMetadataAt(int session_fd, const SessionMetadata& m, const fs::path& session_dir,
                       bool sync) {
  const int rc = AtomicWriteAt(session_fd, kMetadataFile, MetadataJson(m),
                               /*overwrite=*/true, kPrivateFileMode, sync);
  if (rc < 0) {
    return Internal("session " + Quote(m.session_id) + ": cannot write metadata " +
                    QuotePath(session_dir / kMetadataFile) + ": " + ErrnoText(-rc));
  }
  return Status::Ok();
}

StatusOr<SessionMetadata> UpdateMetadata(int session_fd, std::string_view id,
                                         const fs::path& session_dir, const std::string& now,
                                         MetadataUpdate why, TelemetryLogger& logger) {
  UniqueFd lock(::openat(session_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!lock.valid()) {
    return Internal("session " + Quote(id) + ": cannot open its directory: " + ErrnoText(errno));
  }
  if (int rc = LockExclusive(lock.get()); rc < 0) {
    return Internal("session " + Quote(id) + ": cannot lock metadata: " + ErrnoText(-rc));
  }
  // The activity file is opened once, to read its last record and to
  // append the next one.
  StatusOr<SessionMetadata> m = ReadMetadataFileAt(session_fd, id, session_dir);
  if (!m.ok()) return m.status();
  const fs::path activity_file = session_dir / kActivityFile;
  const auto cannot = [&](std::string_view what, int err) {
    return Internal("session " + Quote(id) + ": cannot " + std::string(what) + " metadata " +
                    QuotePath(activity_file) + ": " + ErrnoText(err));
  };
  UniqueFd activity(
      OpenComponent(session_fd, kActivityFile, O_RDWR | O_CREAT | O_APPEND, kPrivateFileMode));
  if (!activity.valid()) return cannot("open", -activity.Release());
  StatusOr<off_t> size = ApplyActivity(activity.get(), id, session_dir, &*m);
  if (!size.ok()) return size.status();
  m->updated_at = now;
  if (why == MetadataUpdate::kExecution) m->execution_count += 1;
  const off_t whole = *size - *size % static_cast<off_t>(kRecordBytes);
  if (static_cast<size_t>(whole) / kRecordBytes >= kActivityFoldRecords) {
    // Full: session.json takes the metadata, and the records go.
    if (Status s = WriteMetadataAt(session_fd, *m, session_dir, /*sync=*/false); !s.ok()) return s;
    if (::ftruncate(activity.get(), 0) != 0) return cannot("empty", errno);
  } else {
    // A record a crash cut short is cut off, so that records stay aligned.
    if (whole != *size && ::ftruncate(activity.get(), whole) != 0) {
      return cannot("repair", errno);
    }
    const std::string record = ActivityRecord(*m, why);
    const ssize_t n = ::write(activity.get(), record.data(), record.size());
    if (n < 0) return cannot("append to", errno);
    if (static_cast<size_t>(n) != record.size()) {
      (void)!::ftruncate(activity.get(), whole);
      return cannot("append to", ENOSPC);
    }
  }
  nlohmann::ordered_json f;
  f["session_id"] = m->session_id;
  f["updated_at"] = m->updated_at;
  f["execution_count"] = m->execution_count;
  f["reason"] = std::string(ReasonName(why));
  logger.Log(LogLevel::kInfo, kSessionLogger, TelemetryEvent::kSessionMetadataUpdated, f);
  return m;
}

}  // namespace snakecage::session
