// CreateSandbox() and PythonSandbox::Execute(): a session around the engine.
//
// Execute(), in order, all under the session's execution lock:
//   1. stage the code as <workspace>/user_code.py;
//   2. snapshot the workspace (so the staged script is not a guest change);
//   3. log execution.start with the effective policy;
//   4. run it through the executor (a zygote's confined child);
//   5. snapshot again and diff: files created / modified / deleted;
//   6. record the execution in the session's metadata, keep the output when
//      preserve_logs is set (a one-off session records only then);
//   7. log security.path_denied (capped) and execution.complete.
//
// Telemetry fields (logger "snakecage.sandbox", "snakecage.security"):
//   execution.start     session_id, runtime, policy (PolicyToJson)
//   execution.complete  session_id, success, exit_code, fuel_consumed,
//                       fuel_budget, memory_used_bytes, duration_ms,
//                       stdout_bytes, stderr_bytes, stdout_truncated,
//                       stderr_truncated, files_created, files_modified,
//                       files_deleted (counts), trap_reason, path_denials,
//                       workspace_writes_refused;
//                       or, when the host failed, session_id and error
//   security.path_denied session_id, call, path, denials_total
#include <mutex>
#include <sstream>
#include <utility>

#include "sandbox/error_guidance.h"
#include "session/workspace_snapshot.h"
#include "snakecage/sandbox.h"

namespace snakecage {
namespace {

constexpr std::string_view kSandboxLogger = "snakecage.sandbox";
constexpr std::string_view kSecurityLogger = "snakecage.security";

nlohmann::ordered_json TrapReasonJson(const std::optional<TrapReason>& r) {
  if (!r) return nullptr;
  return std::string(TrapReasonWireName(*r));
}

SandboxResult ResultFrom(ExecutionResult&& e, session::FileChanges&& changes, const std::string& session_id,
                         const std::filesystem::path& workspace) {
  SandboxResult r;
  r.success = e.success();
  r.exit_code = e.exit_code;
  r.fuel_consumed = e.fuel_consumed;
  r.memory_used_bytes = e.memory_peak_bytes;
  r.duration_ms = e.duration_ms;
  r.files_created = std::move(changes.created);
  r.files_modified = std::move(changes.modified);
  r.files_deleted = std::move(changes.deleted);
  r.workspace_path = workspace;
  r.session_id = session_id;
  ExecutionMetadata& m = r.metadata;
  m.trapped = e.trapped;
  m.trap_reason = e.trap_reason;
  m.trap_message = e.trap_message;
  m.stdout_truncated = e.stdout_truncated;
  m.stderr_truncated = e.stderr_truncated;
  m.stdout_bytes = e.stdout_bytes;
  m.stderr_bytes = e.stderr_bytes;
  m.memory_pages = e.memory_peak_pages;
  m.fuel_budget = e.fuel_budget;
  m.memory_limit_bytes = e.memory_limit_bytes;
  m.timeout_seconds = e.timeout_seconds;
  m.path_denials = e.path_denials_total;
  m.workspace_max_bytes = e.workspace_max_bytes;
  m.workspace_writes_refused = e.workspace_writes_refused;
  m.missing_module = e.missing_module;
  m.fuel_analysis = AnalyseFuel(e.fuel_consumed, e.fuel_budget,
                                e.trap_reason == TrapReason::kOutOfFuel);
  m.error_guidance = ErrorGuidanceFor(e);
  m.state = e.state;
  m.state_reason = std::move(e.state_reason);
  m.state_dropped = std::move(e.state_dropped);
  r.stdout_text = std::move(e.stdout_text);
  r.stderr_text = std::move(e.stderr_text);
  return r;
}

}  // namespace

std::string_view FuelStatusName(FuelStatus s) {
  switch (s) {
    case FuelStatus::kEfficient:
      return "efficient";
    case FuelStatus::kModerate:
      return "moderate";
    case FuelStatus::kWarning:
      return "warning";
    case FuelStatus::kCritical:
      return "critical";
    case FuelStatus::kExhausted:
      return "exhausted";
  }
  return "exhausted";
}

FuelAnalysis AnalyseFuel(uint64_t consumed, uint64_t budget, bool out_of_fuel) {
  FuelAnalysis a;
  a.consumed = consumed;
  a.budget = budget;
  a.utilization_percent =
      budget == 0 ? 100.0 : 100.0 * static_cast<double>(consumed) / static_cast<double>(budget);
  if (out_of_fuel || consumed >= budget) {
    a.status = FuelStatus::kExhausted;
  } else if (a.utilization_percent < 50) {
    a.status = FuelStatus::kEfficient;
  } else if (a.utilization_percent < 75) {
    a.status = FuelStatus::kModerate;
  } else if (a.utilization_percent < 90) {
    a.status = FuelStatus::kWarning;
  } else {
    a.status = FuelStatus::kCritical;
  }
  return a;
}

PythonSandbox::PythonSandbox(ExecutionPolicy policy, std::string session_id,
                             std::filesystem::path workspace_path, bool created,
                             SessionStore store, std::shared_ptr<TelemetryLogger> logger,
                             std::shared_ptr<Executor> executor)
    : policy_(std::move(policy)),
      session_id_(std::move(session_id)),
      workspace_path_(std::move(workspace_path)),
      session_created_(created),
      store_(std::move(store)),
      logger_(std::move(logger)),
      executor_(std::move(executor)) {}

StatusOr<std::unique_ptr<PythonSandbox>> CreateSandbox(SandboxOptions options) {
  switch (options.runtime) {
    case Runtime::kPython:
      break;
  }
  std::string id = options.session_id ? *options.session_id : NewSessionId();
  // Refuse a bad id before the root or anything else is created.
  if (Status s = CheckSessionId(id, options.allow_non_uuid); !s.ok()) return s;
  std::shared_ptr<TelemetryLogger> logger =
      options.logger ? options.logger : std::make_shared<NullLogger>();
  SessionStore store(options.workspace_root, logger);
  StatusOr<OpenedSession> opened =
      store.OpenOrCreate(id, options.allow_non_uuid, /*durable=*/!options.one_off_session);
  if (!opened.ok()) return opened.status();
  StatusOr<ExecutionPolicy> policy =
      ExecutionPolicyBuilder(options.policy).mount_host_dir(opened->workspace_path).Build();
  if (!policy.ok()) return policy.status();
  std::shared_ptr<Executor> executor =
      options.executor ? options.executor : Executor::Default();
  std::unique_ptr<PythonSandbox> sandbox(new PythonSandbox(std::move(*policy), id,
                                                           opened->workspace_path,
                                                           opened->created, std::move(store),
                                                           logger, std::move(executor)));
  sandbox->one_off_session_ = options.one_off_session;
  return sandbox;
}

StatusOr<SandboxResult> PythonSandbox::Execute(std::string_view code) {
  StatusOr<SessionLock> lock = store_.LockForExecution(session_id_);
  if (!lock.ok()) return lock.status();

  auto fail = [&](const Status& s) -> Status {
    logger_->Log(LogLevel::kError, kSandboxLogger, TelemetryEvent::kExecutionComplete,
                 {{"session_id", session_id_}, {"success", false}, {"error", s.message()}});
    return s;
  };

  if (Status s = StageUserCode(code, policy_); !s.ok()) return fail(s);
  StatusOr<session::WorkspaceSnapshot> before = session::SnapshotWorkspace(workspace_path_);
  if (!before.ok()) return fail(before.status());

  logger_->Log(LogLevel::kInfo, kSandboxLogger, TelemetryEvent::kExecutionStart,
               {{"session_id", session_id_}, {"runtime", "python"},
                {"policy", PolicyToJson(policy_)}});

  // The execution may run in a resident child (RunOptions::reuse_process),
  // even one that served another client's one-off execution in this
  // pooled workspace: between requests a resident puts back what the guest
  // sees and clears what the host held of the last one.
  StatusOr<ExecutionResult> run = executor_->Run(policy_);
  if (!run.ok()) return fail(run.status());
  StatusOr<session::WorkspaceSnapshot> after = session::SnapshotWorkspace(workspace_path_);
  if (!after.ok()) return fail(after.status());

  std::vector<PathDenial> denials = run->path_denials;
  SandboxResult result = ResultFrom(std::move(*run), session::DiffSnapshots(*before, *after), session_id_,
                                    workspace_path_);

  // A one-off session's record would be read by nobody (it is emptied or
  // deleted next), unless its logs are kept, which are numbered by it.
  if (!one_off_session_ || policy_.preserve_logs()) {
    StatusOr<SessionMetadata> meta = store_.RecordExecution(session_id_);
    if (!meta.ok()) return fail(meta.status());
    if (policy_.preserve_logs()) {
      if (Status s = store_.SaveExecutionLogs(session_id_, meta->execution_count,
                                              result.stdout_text, result.stderr_text);
          !s.ok()) {
        return fail(s);
      }
    }
  }

  // At most kMaxPathDenialEvents per execution: a loop of refusals must not
  // flood the log; the total is in every event and in execution.complete.
  for (size_t i = 0; i < denials.size() && i < kMaxPathDenialEvents; ++i) {
    logger_->Log(LogLevel::kWarning, kSecurityLogger, TelemetryEvent::kSecurityPathDenied,
                 {{"session_id", session_id_},
                  {"call", denials[i].call},
                  {"path", denials[i].guest_path},
                  {"denials_total", result.metadata.path_denials}});
  }

  const ExecutionMetadata& m = result.metadata;
  logger_->Log(result.success ? LogLevel::kInfo : LogLevel::kWarning, kSandboxLogger,
               TelemetryEvent::kExecutionComplete,
               {{"session_id", session_id_},
                {"success", result.success},
                {"exit_code", result.exit_code},
                {"fuel_consumed", result.fuel_consumed},
                {"fuel_budget", m.fuel_budget},
                {"memory_used_bytes", result.memory_used_bytes},
                {"duration_ms", result.duration_ms},
                {"stdout_bytes", m.stdout_bytes},
                {"stderr_bytes", m.stderr_bytes},
                {"stdout_truncated", m.stdout_truncated},
                {"stderr_truncated", m.stderr_truncated},
                {"files_created", result.files_created.size()},
                {"files_modified", result.files_modified.size()},
                {"files_deleted", result.files_deleted.size()},
                {"trap_reason", TrapReasonJson(m.trap_reason)},
                {"path_denials", m.path_denials},
                {"workspace_writes_refused", m.workspace_writes_refused}});
  return result;
}

nlohmann::ordered_json SandboxResultToJson(const SandboxResult& r) {
  const ExecutionMetadata& m = r.metadata;
  auto optional_json = [](const auto& v) -> nlohmann::ordered_json {
    if (!v) return nullptr;
    return *v;
  };
  nlohmann::ordered_json metadata = {
      {"trapped", m.trapped},
      {"trap_reason", TrapReasonJson(m.trap_reason)},
      {"trap_message", m.trap_message},
      {"stdout_truncated", m.stdout_truncated},
      {"stderr_truncated", m.stderr_truncated},
      {"stdout_bytes", m.stdout_bytes},
      {"stderr_bytes", m.stderr_bytes},
      {"memory_pages", m.memory_pages},
      {"fuel_budget", m.fuel_budget},
      {"memory_limit_bytes", m.memory_limit_bytes},
      {"timeout_seconds", optional_json(m.timeout_seconds)},
      {"path_denials", m.path_denials},
      {"workspace_max_bytes", m.workspace_max_bytes},
      {"workspace_writes_refused", m.workspace_writes_refused},
      {"missing_module", optional_json(m.missing_module)},
      {"fuel_analysis",
       {{"consumed", m.fuel_analysis.consumed},
        {"budget", m.fuel_analysis.budget},
        {"utilization_percent", m.fuel_analysis.utilization_percent},
        {"status", std::string(FuelStatusName(m.fuel_analysis.status))}}},
      {"error_guidance", optional_json(m.error_guidance)},
      {"state", m.state ? nlohmann::ordered_json(std::string(StateOutcomeName(*m.state)))
                        : nlohmann::ordered_json(nullptr)},
      {"state_reason", m.state ? nlohmann::ordered_json(m.state_reason)
                               : nlohmann::ordered_json(nullptr)},
      {"state_dropped", m.state ? nlohmann::ordered_json(m.state_dropped)
                                : nlohmann::ordered_json(nullptr)},
  };
  return {
      {"success", r.success},
      {"exit_code", r.exit_code},
      {"stdout", r.stdout_text},
      {"stderr", r.stderr_text},
      {"fuel_consumed", r.fuel_consumed},
      {"memory_used_bytes", r.memory_used_bytes},
      {"duration_ms", r.duration_ms},
      {"files_created", r.files_created},
      {"files_modified", r.files_modified},
      {"files_deleted", r.files_deleted},
      {"workspace_path", r.workspace_path.empty() ? nlohmann::ordered_json(nullptr)
                                                  : nlohmann::ordered_json(r.workspace_path.string())},
      {"session_id", r.session_id.empty() ? nlohmann::ordered_json(nullptr)
                                          : nlohmann::ordered_json(r.session_id)},
      {"metadata", std::move(metadata)},
  };
}

}  // namespace snakecage
