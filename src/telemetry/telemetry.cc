// Event lines: {"ts":..., "level":..., "logger":..., "event":..., fields...}.
//
// A field whose name is one of the four envelope keys (a caller's mistake:
// the header promises they never collide) is kept, renamed "field_<name>",
// so the envelope stays intact and nothing is silently lost.

#include "snakecage/telemetry.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>

#include "base/write_all.h"
#include "telemetry/iso_time.h"

namespace snakecage {
namespace {

bool IsEnvelopeKey(std::string_view key) {
  return key == "ts" || key == "level" || key == "logger" || key == "event";
}

}  // namespace

std::string FormatTelemetryLine(LogLevel level, std::string_view logger, TelemetryEvent event,
                                const nlohmann::ordered_json& fields) {
  nlohmann::ordered_json line = nlohmann::ordered_json::object();
  line["ts"] = telemetry::FormatIsoUtcMicros(std::chrono::system_clock::now());
  line["level"] = std::string(LogLevelName(level));
  line["logger"] = std::string(logger);
  line["event"] = std::string(TelemetryEventName(event));
  if (fields.is_object()) {
    for (const auto& [key, value] : fields.items()) {
      if (IsEnvelopeKey(key)) {
        line["field_" + key] = value;
      } else {
        line[key] = value;
      }
    }
  } else if (!fields.is_null()) {
    line["fields"] = fields;
  }
  // Invalid UTF-8 (a guest's file name, say) becomes U+FFFD instead of
  // throwing.
  return line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

StatusOr<std::unique_ptr<JsonLinesLogger>> JsonLinesLogger::Open(
    const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int err = errno;
    std::string message =
        "cannot open telemetry log \"" + path.string() + "\" for appending: " + std::strerror(err);
    if (err == ENOENT || err == ENOTDIR) return NotFound(std::move(message));
    if (err == EACCES || err == EPERM) {
      return Status(StatusCode::kPermissionDenied, std::move(message));
    }
    return Internal(std::move(message));
  }
  return std::unique_ptr<JsonLinesLogger>(new JsonLinesLogger(fd, /*owned=*/true));
}

std::unique_ptr<JsonLinesLogger> JsonLinesLogger::ForDescriptor(int fd) {
  return std::unique_ptr<JsonLinesLogger>(new JsonLinesLogger(fd, /*owned=*/false));
}

JsonLinesLogger::~JsonLinesLogger() {
  if (owned_ && fd_ >= 0) ::close(fd_);
}

void JsonLinesLogger::Log(LogLevel level, std::string_view logger, TelemetryEvent event,
                          const nlohmann::ordered_json& fields) {
  std::string line;
  try {
    line = FormatTelemetryLine(level, logger, event, fields);
    line.push_back('\n');
  } catch (...) {
    return;  // out of memory: drop the event rather than throw
  }
  // One write(2) on an O_APPEND descriptor: the kernel appends the whole
  // line at the end of the file at once. Only a short write (disk full, a
  // signal mid-way) continues with the rest. A failure has nowhere to go.
  std::lock_guard<std::mutex> lock(mu_);
  (void)WriteAll(fd_, line);
}

void RecordingLogger::Log(LogLevel level, std::string_view logger, TelemetryEvent event,
                          const nlohmann::ordered_json& fields) {
  try {
    Record record{level, std::string(logger), event, fields};
    std::lock_guard<std::mutex> lock(mu_);
    records_.push_back(std::move(record));
  } catch (...) {
    // Out of memory: drop the event; Log() never throws.
  }
}

std::vector<RecordingLogger::Record> RecordingLogger::records() const {
  std::lock_guard<std::mutex> lock(mu_);
  return records_;
}

std::vector<RecordingLogger::Record> RecordingLogger::records(TelemetryEvent event) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Record> out;
  for (const Record& r : records_) {
    if (r.event == event) out.push_back(r);
  }
  return out;
}

}  // namespace snakecage
