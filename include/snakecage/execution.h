// snakecage/execution.h: run Python code in the sandbox, once.
//
// RunPython() is the one entry point of the engine: it takes the code and an
// ExecutionPolicy and returns what happened. It reads no configuration from
// disk and no host environment variable: the policy it is given is the
// policy that runs.
//
// The policy is built and validated before it gets here (policy.h); the
// engine only checks that the workspace directory exists when it runs.
//
// Two channels (see status.h): a non-OK Status means the host could not run
// the code at all (bad policy, broken installation, mmap failed). Anything
// the guest did, including traps and timeouts, is an ExecutionResult.
//
// Thread-safety: the engine holds one guest instance per process (linear
// memory lives at a fixed virtual address), so RunPython() calls are
// serialised by a process-wide lock. Run concurrent executions in separate
// processes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "snakecage/policy.h"
#include "snakecage/status.h"
#include "snakecage/trap_reason.h"

namespace snakecage {

// A path the guest was refused because it led outside its grants (a ".."
// or symlink escape beneath a mount). Paths the guest's libc already maps to
// no mount never reach the host and are not reported.
struct PathDenial {
  std::string call;        // the WASI call, e.g. "path_open"
  std::string guest_path;  // as the guest gave it (lossy UTF-8)
};

// What happened to a session's Python state in an execution that keeps it
// (ExecutionPolicy::keep_state; see executor.h).
enum class StateOutcome {
  kFresh,       // it ran in a new interpreter: the session had no state
                // (first such execution, after a reset), or its state was
                // lost (evicted, the live interpreter died); a success
                // keeps the new state, a failure leaves none
  kCommitted,   // it ran in the session's state and succeeded: kept
  kRolledBack,  // it ran in the session's state and failed: the state is
                // exactly as before it
  kRestored,    // the session's live interpreter had been dropped (evicted)
                // with its globals saved: they were restored into a new
                // interpreter before it ran (state_dropped: what was not)
};
// "fresh", "committed", "rolled_back", "restored"
constexpr std::string_view StateOutcomeName(StateOutcome s) {
  switch (s) {
    case StateOutcome::kFresh:
      return "fresh";
    case StateOutcome::kCommitted:
      return "committed";
    case StateOutcome::kRolledBack:
      return "rolled_back";
    case StateOutcome::kRestored:
      return "restored";
  }
  return "unknown";
}

// What the guest did. Always produced once the guest could be started.
struct [[nodiscard]] ExecutionResult {
  std::string stdout_text;  // UTF-8; invalid sequences replaced by U+FFFD
  std::string stderr_text;  // ditto; a trap appends "Execution trapped: X\n"
  int exit_code = 0;        // guest's status; non-zero after a trap
  bool trapped = false;
  std::optional<TrapReason> trap_reason;
  std::string trap_message;
  uint64_t fuel_consumed = 0;       // operators charged to the user's code
  uint64_t fuel_budget = 0;
  uint64_t memory_peak_bytes = 0;   // peak linear memory size
  uint32_t memory_peak_pages = 0;   // the same, in 64 KiB pages
  uint64_t memory_limit_bytes = 0;
  // memory.grow calls refused by the cap (Python saw MemoryError, or the
  // interpreter aborted with trap reason memory_limit).
  uint64_t memory_grows_refused = 0;
  // The workspace quota (policy.workspace_max_bytes()), and the guest calls
  // it refused with ENOSPC (writes, creations, truncations that grow).
  uint64_t workspace_max_bytes = 0;
  uint64_t workspace_writes_refused = 0;
  bool stdout_truncated = false;
  bool stderr_truncated = false;
  uint64_t stdout_bytes = 0;  // bytes the guest tried to write, kept or not
  uint64_t stderr_bytes = 0;
  double duration_ms = 0;
  std::optional<double> timeout_seconds;
  // The first kMaxRecordedPathDenials refusals, and how many there were.
  static constexpr size_t kMaxRecordedPathDenials = 16;
  std::vector<PathDenial> path_denials;
  uint64_t path_denials_total = 0;
  // The module the user's code could not import, when it ended with that
  // ModuleNotFoundError uncaught (ModuleNotFoundError.name, as the guest
  // reported it).
  std::optional<std::string> missing_module;
  // Executions that keep their state only: what happened to it, and why in
  // plain words (for kFresh, why there was no state; for kRolledBack, what
  // failed). Files are never rolled back.
  std::optional<StateOutcome> state;
  std::string state_reason;
  // kRestored: the global names that could not be kept (not picklable, or
  // defined in terms of a function or class of __main__), sorted.
  std::vector<std::string> state_dropped;

  // True exactly when the guest exited 0 and nothing trapped or timed out.
  bool success() const { return exit_code == 0 && !trapped; }
};

// Runs `code` as the script <guest_mount_path>/user_code.py in a fresh
// interpreter under `policy`: StageUserCode(), then RunStagedCode().
// REQUIRES: policy.mount_host_dir() exists (NotFound otherwise).
StatusOr<ExecutionResult> RunPython(std::string_view code,
                                    const ExecutionPolicy& policy);

// The two halves of RunPython(), for a caller that must look at the
// workspace in between (the sandbox records which files the guest changed,
// not the script it was given). StageUserCode() writes `code` to
// <mount_host_dir>/user_code.py, never through a symlink.
Status StageUserCode(std::string_view code, const ExecutionPolicy& policy);
// Runs the interpreter with the policy's argv, which by default runs the
// staged script.
StatusOr<ExecutionResult> RunStagedCode(const ExecutionPolicy& policy);

}  // namespace snakecage
