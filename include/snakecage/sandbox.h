// snakecage/sandbox.h: the library's front door. create_sandbox() in the
// issue's words is CreateSandbox() here; PythonSandbox::execute() is
// Execute().
//
//   auto policy = ExecutionPolicyBuilder().fuel_budget(2'000'000'000).Build();
//   SandboxOptions options;
//   options.policy = *policy;
//   options.session_id = "analysis-1";          // omitted: a new UUIDv4
//   auto sandbox = CreateSandbox(options);      // creates or reopens the session
//   StatusOr<SandboxResult> r = (*sandbox)->Execute("print(2 + 2)");
//
// Executions run through an Executor (executor.h): a fresh child of a
// pre-initialised interpreter per execution, confined by the kernel.
//
// A PythonSandbox runs every execution under its policy exactly: its own
// copy of the caller's policy with mount_host_dir set to the session's
// workspace (the caller's policy is never changed), nothing re-read from disk.
//
// Two channels, as in execution.h: a non-OK Status means the host could not
// run the code (bad session id, workspace unusable); what the guest did,
// including traps and timeouts, is a SandboxResult.
//
// Thread-safety: Execute() may be called from several threads and
// processes; executions in one session are serialised (the session's
// execution lock is held from writing the code until the file changes are
// recorded), never interleaved.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "snakecage/execution.h"
#include "snakecage/executor.h"
#include "snakecage/policy.h"
#include "snakecage/session.h"
#include "snakecage/status.h"
#include "snakecage/telemetry.h"

namespace snakecage {

enum class Runtime { kPython };

// How much of the fuel budget an execution used.
enum class FuelStatus {
  kEfficient,  // < 50 %
  kModerate,   // < 75 %
  kWarning,    // < 90 %
  kCritical,   // < 100 %
  kExhausted,  // the budget ran out
};
// "efficient", "moderate", "warning", "critical", "exhausted"
std::string_view FuelStatusName(FuelStatus s);

struct FuelAnalysis {
  uint64_t consumed = 0;
  uint64_t budget = 0;
  double utilization_percent = 0;  // 100 * consumed / budget
  FuelStatus status = FuelStatus::kEfficient;
};
// The analysis of `consumed` against `budget`; kExhausted when trapped out
// of fuel (or consumed >= budget).
FuelAnalysis AnalyseFuel(uint64_t consumed, uint64_t budget, bool out_of_fuel);

// Everything the engine reported beyond the headline fields.
struct ExecutionMetadata {
  bool trapped = false;
  std::optional<TrapReason> trap_reason;
  std::string trap_message;
  bool stdout_truncated = false;
  bool stderr_truncated = false;
  uint64_t stdout_bytes = 0;  // what the guest tried to write, kept or not
  uint64_t stderr_bytes = 0;
  uint32_t memory_pages = 0;  // peak, 64 KiB pages
  uint64_t fuel_budget = 0;
  uint64_t memory_limit_bytes = 0;
  std::optional<double> timeout_seconds;
  uint64_t path_denials = 0;  // refusals of paths outside the grants
  // The workspace quota, and the guest's calls it refused with ENOSPC.
  uint64_t workspace_max_bytes = 0;
  uint64_t workspace_writes_refused = 0;
  // The module an uncaught ModuleNotFoundError named, if the code ended so.
  std::optional<std::string> missing_module;
  FuelAnalysis fuel_analysis;
  // For out-of-fuel, memory, timeout, missing-module, full-workspace and
  // refused-path failures: what happened and what to change, in plain words.
  std::optional<std::string> error_guidance;
  // Executions that keep their state (ExecutionPolicy::keep_state): what
  // happened to the session's Python state and why (execution.h).
  std::optional<StateOutcome> state;
  std::string state_reason;
  std::vector<std::string> state_dropped;  // kRestored: names not kept
};

struct [[nodiscard]] SandboxResult {
  // True exactly when the guest exited 0 and nothing trapped or timed out.
  bool success = false;
  std::string stdout_text;
  std::string stderr_text;
  int exit_code = 0;
  uint64_t fuel_consumed = 0;
  uint64_t memory_used_bytes = 0;  // peak linear memory
  double duration_ms = 0;
  // Relative POSIX paths in the workspace, sorted. The submitted code's own
  // user_code.py is written before the "before" snapshot, so it only shows
  // up if the guest changes it.
  std::vector<std::string> files_created;
  std::vector<std::string> files_modified;
  std::vector<std::string> files_deleted;
  // Empty (null in JSON) when the session was made for this execution alone
  // and is already deleted (`snakecage run` without --session, a server's
  // execution without a session_id): no path or id that no longer exists.
  std::filesystem::path workspace_path;
  std::string session_id;
  ExecutionMetadata metadata;
};

// The result as JSON, keys in this order: success, exit_code, stdout,
// stderr, fuel_consumed, memory_used_bytes, duration_ms, files_created,
// files_modified, files_deleted, workspace_path, session_id, metadata
// {trapped, trap_reason, trap_message, stdout_truncated, stderr_truncated,
// stdout_bytes, stderr_bytes, memory_pages, fuel_budget, memory_limit_bytes,
// timeout_seconds, path_denials, workspace_max_bytes, workspace_writes_refused,
// missing_module, fuel_analysis {consumed, budget,
// utilization_percent, status}, error_guidance, state ("fresh",
// "committed", "rolled_back", "restored"), state_reason, state_dropped
// (a list of names)}. Absent values are null.
nlohmann::ordered_json SandboxResultToJson(const SandboxResult& result);

struct SandboxOptions {
  Runtime runtime = Runtime::kPython;
  ExecutionPolicy policy;  // copied; never changed
  // The session to create or reopen; a new UUIDv4 when absent.
  std::optional<std::string> session_id;
  // Where session directories live. Default "./workspace".
  std::filesystem::path workspace_root = "workspace";
  // Where telemetry goes; null means nowhere (NullLogger).
  std::shared_ptr<TelemetryLogger> logger;
  // false: session_id must be a UUID (see CheckSessionId).
  bool allow_non_uuid = true;
  // The session is made for one execution and emptied or deleted after it
  // (the server's executions that name no session): making it is not
  // flushed to disk (no fsync), and its executions are not recorded in its
  // metadata unless its logs are kept; both would outlast it by nothing.
  bool one_off_session = false;
  // Runs the executions (zygotes, kernel confinement); null means
  // Executor::Default(), shared by the whole process.
  std::shared_ptr<Executor> executor;
};

class PythonSandbox {
 public:
  PythonSandbox(const PythonSandbox&) = delete;
  PythonSandbox& operator=(const PythonSandbox&) = delete;

  const std::string& session_id() const { return session_id_; }
  const std::filesystem::path& workspace_path() const { return workspace_path_; }
  // The policy executions run under (mount_host_dir = the workspace).
  const ExecutionPolicy& policy() const { return policy_; }
  // True when CreateSandbox() created the session.
  bool session_created() const { return session_created_; }
  // The store holding this session: file operations, deletion.
  SessionStore& sessions() { return store_; }

  // Runs `code` as <guest_mount_path>/user_code.py. Logs execution.start,
  // execution.complete, session.metadata.updated and, at most
  // kMaxPathDenialEvents times per execution, security.path_denied.
  StatusOr<SandboxResult> Execute(std::string_view code);

  static constexpr size_t kMaxPathDenialEvents = 5;

 private:
  friend StatusOr<std::unique_ptr<PythonSandbox>> CreateSandbox(SandboxOptions options);
  PythonSandbox(ExecutionPolicy policy, std::string session_id,
                std::filesystem::path workspace_path, bool created, SessionStore store,
                std::shared_ptr<TelemetryLogger> logger, std::shared_ptr<Executor> executor);

  ExecutionPolicy policy_;
  std::string session_id_;
  std::filesystem::path workspace_path_;
  bool session_created_;
  bool one_off_session_ = false;  // SandboxOptions::one_off_session
  SessionStore store_;
  std::shared_ptr<TelemetryLogger> logger_;
  std::shared_ptr<Executor> executor_;
};

// Checks the session id (before anything on disk is touched), creates or
// reopens the session under workspace_root (logging session.created or
// session.retrieved), and returns a sandbox whose executions run under
// options.policy with the session's workspace mounted.
StatusOr<std::unique_ptr<PythonSandbox>> CreateSandbox(SandboxOptions options);

}  // namespace snakecage
