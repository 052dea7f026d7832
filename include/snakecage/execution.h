// snakecage/execution.h: run Python code in the sandbox, once.
//
// RunPython() is the one entry point of the engine: it takes the code and an
// ExecutionPolicy and returns what happened. It reads no configuration from
// disk and no host environment variable: the policy it is given is the
// policy that runs.
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

#include "snakecage/status.h"
#include "snakecage/trap_reason.h"

namespace snakecage {

// A host directory the guest sees read-only at `guest`.
struct ReadOnlyMount {
  std::filesystem::path host;
  std::string guest;  // absolute, normalised guest path, e.g. "/data"
};

// What an execution may do. Plain data; CheckExecutionPolicy() validates it
// as a whole and RunPython() refuses a policy that does not pass.
struct ExecutionPolicy {
  // WebAssembly operators the user's code may execute (interpreter start-up
  // is not charged). Unit: operators (Wasmtime's fuel model). Default 5e9.
  uint64_t fuel_budget = 5'000'000'000;
  // Cap on guest linear memory. Unit: bytes, rounded down to 64 KiB pages.
  // memory.grow past it fails, so Python raises MemoryError. Default 128 MB.
  uint64_t memory_bytes = 128'000'000;
  // Bytes of stdout / stderr kept; more is counted and dropped.
  uint64_t stdout_max_bytes = 2'000'000;  // default 2 MB
  uint64_t stderr_max_bytes = 1'000'000;  // default 1 MB
  // Host directory mounted read-write at guest_mount_path. Must exist.
  std::filesystem::path workspace_dir;
  std::string guest_mount_path = "/app";
  // Optional data directory mounted read-only at guest_data_path
  // ("/data" when mount_data_dir is set and guest_data_path is empty).
  std::optional<std::filesystem::path> mount_data_dir;
  std::optional<std::string> guest_data_path;
  std::vector<ReadOnlyMount> additional_readonly_mounts;
  // The guest's argv, whole. Empty means DefaultArgv(guest_mount_path).
  std::vector<std::string> argv;
  // The guest's whole environment, "KEY=VALUE" pairs in order. The host
  // environment is never inherited. Default: DefaultEnv().
  std::vector<std::pair<std::string, std::string>> env = DefaultEnv();
  // Wall-clock limit, seconds (fractions allowed). nullopt: no limit.
  std::optional<double> timeout_seconds;

  // {"python", "<guest_mount_path>/user_code.py"}
  static std::vector<std::string> DefaultArgv(std::string_view guest_mount);
  // PYTHONUTF8=1, LC_ALL=C.UTF-8, PYTHONIOENCODING=utf-8, PYTHONHASHSEED=0
  static std::vector<std::pair<std::string, std::string>> DefaultEnv();
};

// Validates the policy as a whole. The error message names the field and
// the bad value, e.g. "memory_bytes: must be > 0 (got 0)".
Status CheckExecutionPolicy(const ExecutionPolicy& policy);

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
  bool stdout_truncated = false;
  bool stderr_truncated = false;
  uint64_t stdout_bytes = 0;  // bytes the guest tried to write, kept or not
  uint64_t stderr_bytes = 0;
  double duration_ms = 0;
  std::optional<double> timeout_seconds;

  // True exactly when the guest exited 0 and nothing trapped or timed out.
  bool success() const { return exit_code == 0 && !trapped; }
};

// Runs `code` as the script <guest_mount_path>/user_code.py in a fresh
// interpreter under `policy`. The file is written into the workspace.
StatusOr<ExecutionResult> RunPython(std::string_view code,
                                    const ExecutionPolicy& policy);

}  // namespace snakecage
