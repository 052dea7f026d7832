// `snakecage session ...`: the SessionStore from the command line.
//
// Text output is for people (one item per line); --json prints one object:
//   list    {"sessions": [{"session_id", "created_at", "updated_at", "version",
//                          "execution_count", "workspace_path"}]}
//   files   {"session_id", "files": [...]}
//   read    {"session_id", "path", "encoding": "utf-8" | "base64", "content"}
//   write   {"session_id", "path", "bytes"}
//   rm      {"session_id", "path", "deleted": true}
//   delete  {"session_id", "deleted": true}
//   prune   {"dry_run", "deleted": [...], "skipped": [{"session_id", "reason"}],
//            "reclaimed_bytes", "errors": [{"session_id", "message"}]}
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "base/utf8.h"
#include "cli/cli_args.h"
#include "cli/commands.h"
#include "base/base64.h"
#include "snakecage/executor.h"
#include "snakecage/session.h"

namespace snakecage::cli {
namespace {

using Json = nlohmann::ordered_json;

StatusOr<std::string> ReadSource(const std::string& source) {
  std::ostringstream buf;
  if (source == "-") {
    buf << std::cin.rdbuf();
    return buf.str();
  }
  std::ifstream in(source, std::ios::binary);
  if (!in) return InvalidArgument(source + ": cannot read the file: " + std::strerror(errno));
  buf << in.rdbuf();
  return buf.str();
}

// Invalid UTF-8 (a file name the guest made) becomes U+FFFD.
void Print(const Json& j) {
  std::cout << j.dump(-1, ' ', false, Json::error_handler_t::replace) << "\n";
}

}  // namespace

int SessionCommand(SessionAction action, const SessionFlags& f) {
  // Arguments first: nothing is touched for a bad id or number.
  if (action != SessionAction::kList && action != SessionAction::kPrune) {
    if (Status s = CheckSessionId(f.id); !s.ok()) return ExitFor(s);
  }
  std::optional<double> older_than_hours;
  if (action == SessionAction::kPrune) {
    auto hours = ParseSeconds("--older-than", f.older_than_hours);
    if (!hours.ok()) return ExitFor(hours.status());
    older_than_hours = *hours;
  }
  StatusOr<std::shared_ptr<TelemetryLogger>> logger = OpenLogFile(f.log_file);
  if (!logger.ok()) return ExitFor(logger.status());
  SessionStore store(f.workspace_root.value_or("workspace"), *logger);

  switch (action) {
    case SessionAction::kList: {
      auto sessions = store.ListSessions();
      if (!sessions.ok()) return ExitFor(sessions.status());
      Json list = Json::array();
      for (const SessionInfo& s : *sessions) {
        const SessionMetadata& m = s.metadata;
        if (!f.json) {
          std::cout << m.session_id << "\t" << m.updated_at << "\t" << m.execution_count
                    << " executions\n";
        }
        list.push_back({{"session_id", m.session_id},
                        {"created_at", m.created_at},
                        {"updated_at", m.updated_at},
                        {"version", m.version},
                        {"execution_count", m.execution_count},
                        {"workspace_path", s.workspace_path.string()}});
      }
      if (f.json) Print({{"sessions", list}});
      return 0;
    }
    case SessionAction::kFiles: {
      auto files = store.ListFiles(f.id, f.glob);
      if (!files.ok()) return ExitFor(files.status());
      if (f.json) {
        Print({{"session_id", f.id}, {"files", *files}});
      } else {
        for (const auto& p : *files) std::cout << p << "\n";
      }
      return 0;
    }
    case SessionAction::kRead: {
      auto content = store.ReadFile(f.id, f.path);
      if (!content.ok()) return ExitFor(content.status());
      if (f.json) {
        bool text = IsValidUtf8(*content);
        Print({{"session_id", f.id},
               {"path", f.path},
               {"encoding", text ? "utf-8" : "base64"},
               {"content", text ? *content : Base64Encode(*content)}});
      } else {
        std::fwrite(content->data(), 1, content->size(), stdout);
      }
      return 0;
    }
    case SessionAction::kWrite: {
      auto data = ReadSource(f.source);
      if (!data.ok()) return ExitFor(data.status());
      if (Status s = store.WriteFile(f.id, f.path, *data, !f.no_overwrite); !s.ok()) {
        return ExitFor(s);
      }
      if (f.json) Print({{"session_id", f.id}, {"path", f.path}, {"bytes", data->size()}});
      return 0;
    }
    case SessionAction::kRm: {
      if (Status s = store.DeletePath(f.id, f.path, f.recursive); !s.ok()) return ExitFor(s);
      if (f.json) Print({{"session_id", f.id}, {"path", f.path}, {"deleted", true}});
      return 0;
    }
    case SessionAction::kReset: {
      // As a server's reset_session: an empty workspace, no Python state
      // (a live one belongs to a process of its own; its saved globals are
      // deleted here).
      StatusOr<SessionLock> lock = store.LockForExecution(f.id);
      if (!lock.ok()) return ExitFor(lock.status());
      if (Status s = store.EmptyWorkspace(f.id); !s.ok()) return ExitFor(s);
      Executor().DropState(store.WorkspacePath(f.id));
      if (f.json) Print({{"session_id", f.id}, {"reset", true}});
      return 0;
    }
    case SessionAction::kDelete: {
      if (Status s = store.DeleteSession(f.id); !s.ok()) return ExitFor(s);
      if (f.json) Print({{"session_id", f.id}, {"deleted", true}});
      return 0;
    }
    case SessionAction::kPrune: {
      auto older_than = std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::duration<double, std::ratio<3600>>(*older_than_hours));
      auto report = store.PruneSessions(older_than, f.dry_run);
      if (!report.ok()) return ExitFor(report.status());
      Json skipped = Json::array(), errors = Json::array();
      for (const auto& s : report->skipped) {
        skipped.push_back({{"session_id", s.session_id}, {"reason", s.reason}});
      }
      for (const auto& e : report->errors) {
        errors.push_back({{"session_id", e.session_id}, {"message", e.message}});
      }
      if (f.json) {
        Print({{"dry_run", report->dry_run},
               {"deleted", report->deleted},
               {"skipped", skipped},
               {"reclaimed_bytes", report->reclaimed_bytes},
               {"errors", errors}});
      } else {
        const char* verb = report->dry_run ? "would delete" : "deleted";
        for (const auto& id : report->deleted) std::cout << verb << "\t" << id << "\n";
        for (const auto& s : report->skipped) {
          std::cout << "skipped\t" << s.session_id << "\t" << s.reason << "\n";
        }
        for (const auto& e : report->errors) {
          std::cerr << "snakecage: error: " << e.session_id << ": " << e.message << "\n";
        }
        std::cout << (report->dry_run ? "reclaimable bytes\t" : "reclaimed bytes\t")
                  << report->reclaimed_bytes << "\n";
      }
      return report->errors.empty() ? 0 : kExitHostFailure;
    }
  }
  return kExitHostFailure;
}

StatusOr<std::shared_ptr<TelemetryLogger>> OpenLogFile(const std::optional<std::string>& path) {
  if (!path) return std::shared_ptr<TelemetryLogger>();
  auto opened = JsonLinesLogger::Open(*path);
  if (!opened.ok()) return opened.status();
  return std::shared_ptr<TelemetryLogger>(std::move(*opened));
}

int UsageError(const std::string& message) {
  std::cerr << "snakecage: error: " << message << "\n";
  return kExitUsage;
}

int ExitFor(const Status& s) {
  std::cerr << "snakecage: error: " << s.message() << "\n";
  switch (s.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kNotFound:
    case StatusCode::kAlreadyExists:
      return kExitUsage;
    case StatusCode::kOk:
    case StatusCode::kPermissionDenied:
    case StatusCode::kResourceExhausted:
    case StatusCode::kRateLimited:
    case StatusCode::kQuotaExceeded:
    case StatusCode::kInternal:
      return kExitHostFailure;
  }
  return kExitHostFailure;
}

}  // namespace snakecage::cli
