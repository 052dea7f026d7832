// snakecage/telemetry.h: structured lifecycle events, one JSON object each.
//
// Every event the library emits is declared once, in SNAKECAGE_TELEMETRY_EVENTS:
//   X(Enumerator, "wire.name")
// A TelemetryLogger receives (level, logger name, event, fields); the
// JsonLinesLogger writes one line per event:
//   {"ts":"2026-11-26T06:40:01.123456Z","level":"info","logger":"snakecage.sandbox",
//    "event":"execution.start", ...fields}
// `ts` is ISO-8601 UTC with microseconds. Field names never collide with the
// four envelope keys.
//
// The logger is injected (create_sandbox, SessionStore); the default,
// NullLogger, writes nowhere.
//
// Thread-safety: Log() may be called from several threads at once; every
// implementation here serialises its own output.
#pragma once

#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "snakecage/status.h"

namespace snakecage {

#define SNAKECAGE_TELEMETRY_EVENTS(X)                           \
  X(kExecutionStart, "execution.start")                         \
  X(kExecutionComplete, "execution.complete")                   \
  X(kSessionCreated, "session.created")                         \
  X(kSessionRetrieved, "session.retrieved")                     \
  X(kSessionDeleted, "session.deleted")                         \
  X(kSessionFileList, "session.file.list")                      \
  X(kSessionFileRead, "session.file.read")                      \
  X(kSessionFileWrite, "session.file.write")                    \
  X(kSessionFileDelete, "session.file.delete")                  \
  X(kSessionMetadataCreated, "session.metadata.created")        \
  X(kSessionMetadataUpdated, "session.metadata.updated")        \
  X(kSessionPruneStarted, "session.prune.started")              \
  X(kSessionPruneCandidate, "session.prune.candidate")          \
  X(kSessionPruneDeleted, "session.prune.deleted")              \
  X(kSessionPruneSkipped, "session.prune.skipped")              \
  X(kSessionPruneError, "session.prune.error")                  \
  X(kSessionPruneCompleted, "session.prune.completed")          \
  X(kSecurityPathDenied, "security.path_denied")                \
  X(kExecutorLandlockUnavailable, "executor.landlock_unavailable")

enum class TelemetryEvent {
#define SNAKECAGE_X(e, wire) e,
  SNAKECAGE_TELEMETRY_EVENTS(SNAKECAGE_X)
#undef SNAKECAGE_X
};

// "execution.start", ...
constexpr std::string_view TelemetryEventName(TelemetryEvent e) {
  switch (e) {
#define SNAKECAGE_X(en, wire) \
  case TelemetryEvent::en:    \
    return wire;
    SNAKECAGE_TELEMETRY_EVENTS(SNAKECAGE_X)
#undef SNAKECAGE_X
  }
  return "unknown";  // unreachable: the switch is exhaustive
}

enum class LogLevel { kDebug, kInfo, kWarning, kError };

// "debug", "info", "warning", "error"
constexpr std::string_view LogLevelName(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

// Where events go. Implementations must not throw from Log().
class TelemetryLogger {
 public:
  virtual ~TelemetryLogger() = default;
  // `logger` names the emitting part ("snakecage.sandbox", "snakecage.session",
  // "snakecage.security"); `fields` is a JSON object.
  virtual void Log(LogLevel level, std::string_view logger, TelemetryEvent event,
                   const nlohmann::ordered_json& fields) = 0;
};

// Discards every event. The default logger.
class NullLogger final : public TelemetryLogger {
 public:
  void Log(LogLevel, std::string_view, TelemetryEvent, const nlohmann::ordered_json&) override {}
};

// The one JSON line for an event at the current time (no trailing newline).
std::string FormatTelemetryLine(LogLevel level, std::string_view logger, TelemetryEvent event,
                                const nlohmann::ordered_json& fields);

// Appends one JSON line per event to a file or a descriptor. Each line is
// written with a single write(2) (the rest of a short write follows under a
// lock), so lines from several threads never interleave, nor do lines from
// several processes appending to one file (O_APPEND).
class JsonLinesLogger final : public TelemetryLogger {
 public:
  // Opens (creating, mode 0600) `path` for appending. The parent directory
  // must exist. Errors name the path.
  static StatusOr<std::unique_ptr<JsonLinesLogger>> Open(const std::filesystem::path& path);
  // Writes to `fd` (stderr, say), which the caller keeps open and closes.
  static std::unique_ptr<JsonLinesLogger> ForDescriptor(int fd);
  ~JsonLinesLogger() override;
  JsonLinesLogger(const JsonLinesLogger&) = delete;
  JsonLinesLogger& operator=(const JsonLinesLogger&) = delete;

  void Log(LogLevel level, std::string_view logger, TelemetryEvent event,
           const nlohmann::ordered_json& fields) override;

 private:
  JsonLinesLogger(int fd, bool owned) : fd_(fd), owned_(owned) {}
  int fd_;
  bool owned_;
  std::mutex mu_;
};

// Keeps every event in memory, for tests and for callers that forward
// events elsewhere.
class RecordingLogger final : public TelemetryLogger {
 public:
  struct Record {
    LogLevel level;
    std::string logger;
    TelemetryEvent event;
    nlohmann::ordered_json fields;
  };
  void Log(LogLevel level, std::string_view logger, TelemetryEvent event,
           const nlohmann::ordered_json& fields) override;
  // A copy of what was recorded so far, in order.
  std::vector<Record> records() const;
  // Only the events of one kind, in order.
  std::vector<Record> records(TelemetryEvent event) const;

 private:
  mutable std::mutex mu_;
  std::vector<Record> records_;
};

}  // namespace snakecage
