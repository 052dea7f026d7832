#include "session/session_metadata.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
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

}  // namespace

StatusOr<SessionMetadata> ReadMetadataAt(int session_fd, std::string_view id,
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
  StatusOr<SessionMetadata> m = ReadMetadataAt(session_fd, id, session_dir);
  if (!m.ok()) return m.status();
  m->updated_at = now;
  if (why == MetadataUpdate::kExecution) m->execution_count += 1;
  if (Status s = WriteMetadataAt(session_fd, *m, session_dir, /*sync=*/false); !s.ok()) return s;
  nlohmann::ordered_json f;
  f["session_id"] = m->session_id;
  f["updated_at"] = m->updated_at;
  f["execution_count"] = m->execution_count;
  f["reason"] = std::string(ReasonName(why));
  logger.Log(LogLevel::kInfo, kSessionLogger, TelemetryEvent::kSessionMetadataUpdated, f);
  return m;
}

}  // namespace snakecage::session
