// The fields of ExecutionPolicy, written once. Each row is
//
//   X(name, Kind, cli_flag, cli_help)
//
// `name` is the ExecutionPolicy accessor, the ExecutionPolicyBuilder setter
// and the key in every form a policy takes: JSON (PolicyToJson, telemetry's
// execution.start, the executor's requests to its zygotes), policy files
// (TOML) and, where `cli_flag` is not empty, a `snakecage run` flag. Rows
// are in the JSON order. `Kind` (below) says what the value means; each
// form says, once per kind, how it writes and reads such a value
// (policy_json.cc, policy_file.cc, cli/run_command.cc), so a new field is
// one row here plus its accessor, setter and validation.
#pragma once

namespace snakecage::policy_kinds {

struct Operators {};          // uint64_t, a count of WebAssembly operators
struct Bytes {};              // uint64_t, a size in bytes
struct HostDir {};            // std::filesystem::path on the host
struct GuestPath {};          // std::string, a path as the guest sees it
struct OptionalHostDir {};    // std::optional<std::filesystem::path>
struct OptionalGuestPath {};  // std::optional<std::string>
struct Argv {};               // std::vector<std::string>
struct Env {};                // EnvironmentVariables, in order
struct OptionalSeconds {};    // std::optional<double>
struct Flag {};               // bool
struct Mounts {};             // std::vector<ReadOnlyMount>

}  // namespace snakecage::policy_kinds

// clang-format off
#define SNAKECAGE_POLICY_FIELDS(X)                                                            \
  X(fuel_budget, Operators, "--fuel", "Fuel budget (WebAssembly operators)")                  \
  X(memory_bytes, Bytes, "--memory", "Memory cap: bytes or K/M/G")                            \
  X(stdout_max_bytes, Bytes, "--stdout-max", "stdout cap: bytes or K/M/G")                    \
  X(stderr_max_bytes, Bytes, "--stderr-max", "stderr cap: bytes or K/M/G")                    \
  X(workspace_max_bytes, Bytes, "--workspace-max", "Workspace quota: bytes or K/M/G")          \
  X(mount_host_dir, HostDir, "", "")                                                          \
  X(guest_mount_path, GuestPath, "", "")                                                      \
  X(mount_data_dir, OptionalHostDir, "--data", "Host directory mounted read-only at /data")   \
  X(guest_data_path, OptionalGuestPath, "", "")                                               \
  X(argv, Argv, "", "")                                                                       \
  X(env, Env, "--env", "KEY=VALUE in the guest's environment (repeatable)")                   \
  X(timeout_seconds, OptionalSeconds, "--timeout", "Wall-clock limit in seconds")             \
  X(preserve_logs, Flag, "", "")                                                              \
  X(keep_state, Flag, "", "")                                                                 \
  X(additional_readonly_mounts, Mounts, "--mount", "HOST:GUEST[:ro] read-only mount (repeatable)")
// clang-format on
