// snakecage/policy.h: what an execution may do, validated once, then fixed.
//
// An ExecutionPolicy is only made by ExecutionPolicyBuilder::Build(), which
// checks the policy as a whole, or is the default policy. Once built it never
// changes: it has no setters, and the engine and the sandbox read it without
// re-reading anything from disk. To change a field, start a builder from the
// policy (ExecutionPolicyBuilder(policy)) and build a new one; the original
// is untouched.
//
// Thread-safety: ExecutionPolicy is an immutable value; share or copy it
// freely. A builder is a plain value owned by one thread at a time.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "snakecage/status.h"

namespace snakecage {

// The script StageUserCode writes in the workspace (execution.h), and the
// default argv runs: <guest_mount_path>/user_code.py.
inline constexpr std::string_view kUserCodeFileName = "user_code.py";

// A host directory the guest sees read-only at `guest`.
struct ReadOnlyMount {
  std::filesystem::path host;  // an existing directory (absolute once built)
  std::string guest;           // absolute, normalised guest path, e.g. "/refs"

  bool operator==(const ReadOnlyMount&) const = default;
};

// The guest sees its standard library read-only here; no mount may be at
// or beneath it.
inline constexpr std::string_view kGuestStdlibPath = "/usr/local/lib/python3.11";
// The third-party Python packages snakecage ships (`snakecage packages`),
// read-only, on sys.path by default; inside kGuestStdlibPath. (Debian's
// CPython, which the guest is built from, looks for packages in
// dist-packages, not site-packages.)
inline constexpr std::string_view kGuestDistPackagesPath =
    "/usr/local/lib/python3.11/dist-packages";
// The time-zone database (Debian's tzdata), read-only, where zoneinfo,
// dateutil and pytz look for it; no mount may be at, beneath or above it.
inline constexpr std::string_view kGuestZoneinfoPath = "/usr/share/zoneinfo";

using EnvironmentVariables = std::vector<std::pair<std::string, std::string>>;

class ExecutionPolicy {
 public:
  // The defaults listed with each accessor below; always valid.
  ExecutionPolicy();

  // WebAssembly operators the user's code may execute (interpreter start-up
  // is not charged). Unit: operators, as Wasmtime's fuel. Default
  // 5,000,000,000. Range 1 .. 2^63-1.
  uint64_t fuel_budget() const { return fuel_budget_; }
  // Cap on the guest's linear memory. Unit: bytes, rounded down to whole
  // 64 KiB pages. memory.grow past it fails, so Python raises MemoryError.
  // Default 128,000,000. Range 65,536 .. 4 GiB.
  uint64_t memory_bytes() const { return memory_bytes_; }
  // Bytes of stdout / stderr kept; more is counted, dropped and flagged.
  // Defaults 2,000,000 and 1,000,000. Must be > 0.
  uint64_t stdout_max_bytes() const { return stdout_max_bytes_; }
  uint64_t stderr_max_bytes() const { return stderr_max_bytes_; }
  // The most the workspace (mount_host_dir) may hold: each file's apparent
  // size rounded up to 4,096-byte blocks (a sparse file counts in full),
  // and a block for each directory, symlink and further hard link. A guest
  // call that would grow it past this fails with ENOSPC (Python: OSError);
  // a server's write_file past it is refused. Default 1,000,000,000. Must
  // be > 0.
  uint64_t workspace_max_bytes() const { return workspace_max_bytes_; }
  // Host directory mounted read-write at guest_mount_path. Default
  // "workspace", made absolute against the working directory when built.
  // A PythonSandbox replaces it, in its own copy of the policy, with the
  // session's workspace; RunPython() requires it to exist when it runs.
  const std::filesystem::path& mount_host_dir() const { return mount_host_dir_; }
  // Where the guest sees mount_host_dir. Default "/app".
  const std::string& guest_mount_path() const { return guest_mount_path_; }
  // Optional host directory mounted read-only at guest_data_path. Default
  // none. Must exist when built.
  const std::optional<std::filesystem::path>& mount_data_dir() const { return mount_data_dir_; }
  // Set exactly when mount_data_dir is: "/data" unless given.
  const std::optional<std::string>& guest_data_path() const { return guest_data_path_; }
  // More read-only mounts, (host, guest) pairs. Default none.
  const std::vector<ReadOnlyMount>& additional_readonly_mounts() const {
    return additional_readonly_mounts_;
  }
  // The guest's whole argv. Default {"python", "<guest_mount_path>/user_code.py"},
  // which runs the submitted code.
  const std::vector<std::string>& argv() const { return argv_; }
  // The guest's whole environment, in order; the host's is never inherited.
  // Default DefaultEnv().
  const EnvironmentVariables& env() const { return env_; }
  // Wall-clock limit. Unit: seconds, fractions allowed, >= 0. Default none.
  const std::optional<double>& timeout_seconds() const { return timeout_seconds_; }
  // Keep each execution's stdout and stderr in the session's log directory
  // (beside the workspace, never visible to the guest). Default false.
  bool preserve_logs() const { return preserve_logs_; }
  // Keep the Python state (globals, imports, objects) between the
  // executions of a session, each one a transaction: a live interpreter
  // holds the state, an execution that fails leaves it as it was. Needs an
  // Executor (executor.h) and the session's workspace as mount_host_dir.
  // Default false: every execution starts from a fresh interpreter.
  bool keep_state() const { return keep_state_; }

  // {"python", "<guest_mount>/user_code.py"}
  static std::vector<std::string> DefaultArgv(std::string_view guest_mount);
  // PYTHONUTF8=1, LC_ALL=C.UTF-8, PYTHONIOENCODING=utf-8, PYTHONHASHSEED=0,
  // TMPDIR=<guest_mount> (the one writable place, so that tempfile, and the
  // libraries that write through it, work).
  static EnvironmentVariables DefaultEnv(std::string_view guest_mount = "/app");

  bool operator==(const ExecutionPolicy&) const = default;

 private:
  friend class ExecutionPolicyBuilder;

  uint64_t fuel_budget_ = 5'000'000'000;
  uint64_t memory_bytes_ = 128'000'000;
  uint64_t stdout_max_bytes_ = 2'000'000;
  uint64_t stderr_max_bytes_ = 1'000'000;
  uint64_t workspace_max_bytes_ = 1'000'000'000;
  std::filesystem::path mount_host_dir_;
  std::string guest_mount_path_ = "/app";
  std::optional<std::filesystem::path> mount_data_dir_;
  std::optional<std::string> guest_data_path_;
  std::vector<ReadOnlyMount> additional_readonly_mounts_;
  std::vector<std::string> argv_;
  EnvironmentVariables env_;
  std::optional<double> timeout_seconds_;
  bool preserve_logs_ = false;
  bool keep_state_ = false;
};

// Why Build() refused a policy: the field ("memory_bytes",
// "additional_readonly_mounts[1].guest", "env") and the bad value as text.
struct PolicyValidationError {
  std::string field;
  std::string value;
  std::string reason;  // e.g. "must be > 0"

  // "<field>: <reason> (got <value>)"
  std::string message() const;
};

// Collects policy fields, then validates them as a whole.
class ExecutionPolicyBuilder {
 public:
  // Starts from the defaults.
  ExecutionPolicyBuilder();
  // Starts from a built policy; `base` itself is never changed. The argv
  // stays as `base` had it unless argv() or, for a default argv,
  // guest_mount_path() is set. A guest_data_path of "/data" counts as the
  // default, so mount_data_dir(std::nullopt) removes the data mount whole.
  explicit ExecutionPolicyBuilder(const ExecutionPolicy& base);

  ExecutionPolicyBuilder& fuel_budget(uint64_t operators);
  ExecutionPolicyBuilder& memory_bytes(uint64_t bytes);
  ExecutionPolicyBuilder& stdout_max_bytes(uint64_t bytes);
  ExecutionPolicyBuilder& stderr_max_bytes(uint64_t bytes);
  ExecutionPolicyBuilder& workspace_max_bytes(uint64_t bytes);
  ExecutionPolicyBuilder& mount_host_dir(std::filesystem::path dir);
  ExecutionPolicyBuilder& guest_mount_path(std::string path);
  ExecutionPolicyBuilder& mount_data_dir(std::optional<std::filesystem::path> dir);
  ExecutionPolicyBuilder& guest_data_path(std::optional<std::string> path);
  ExecutionPolicyBuilder& additional_readonly_mounts(std::vector<ReadOnlyMount> mounts);
  ExecutionPolicyBuilder& add_readonly_mount(ReadOnlyMount mount);
  // The whole argv. Until set, the default argv for guest_mount_path.
  ExecutionPolicyBuilder& argv(std::vector<std::string> args);
  // The whole environment, replacing what was there. Until env() or
  // set_env("TMPDIR", ...) is called, TMPDIR follows guest_mount_path.
  ExecutionPolicyBuilder& env(EnvironmentVariables vars);
  // Sets one variable: replaces KEY in place, else appends it.
  ExecutionPolicyBuilder& set_env(std::string key, std::string value);
  ExecutionPolicyBuilder& timeout_seconds(std::optional<double> seconds);
  ExecutionPolicyBuilder& preserve_logs(bool keep);
  ExecutionPolicyBuilder& keep_state(bool keep);

  // The first rule the fields break, checked in field order, or nullopt:
  // limits > 0 (fuel <= 2^63-1, memory between one page and 4 GiB), timeout
  // finite, 0 .. 1e9 seconds, guest paths absolute, normalised, distinct and clear of
  // the standard library's /usr/local/lib/python3.11, guest_data_path only
  // with mount_data_dir, mount_data_dir and each additional mount's host an
  // existing directory, argv non-empty without NUL bytes, env keys
  // non-empty, unique, without '=' or NUL, values without NUL.
  std::optional<PolicyValidationError> Validate() const;

  // The policy, with host paths made absolute and guest_data_path filled in;
  // or InvalidArgument carrying Validate()'s message.
  StatusOr<ExecutionPolicy> Build() const;

 private:
  ExecutionPolicy draft_;
  bool argv_set_ = false;
  bool tmpdir_set_ = false;
};

// The file LoadDefaultPolicy() reads, relative to the working directory.
inline constexpr std::string_view kDefaultPolicyPath = "config/policy.toml";

// Reads a policy file (TOML) into a builder, so a caller (the CLI) can
// override single fields before building. Keys are the field names above at
// top level; `[env]` is a table of strings merged over the default env;
// `additional_readonly_mounts` is an array of [host, guest] pairs;
// `timeout_seconds` an integer or float; `mount_data_dir`, `mount_host_dir`
// and mount hosts are resolved against the directory holding the file when
// relative. An unknown key, a value of the wrong type or a syntax error is
// InvalidArgument naming the file (and, for syntax errors, line and column;
// otherwise the key); a missing file is NotFound naming it. The file's keys
// are applied over `base` (the defaults unless given; `[env]` merges over
// base's env).
StatusOr<ExecutionPolicyBuilder> LoadPolicyBuilder(
    const std::filesystem::path& path, ExecutionPolicyBuilder base = ExecutionPolicyBuilder());

// LoadPolicyBuilder(path), then Build(). Errors name the file.
StatusOr<ExecutionPolicy> LoadPolicy(const std::filesystem::path& path);

// kDefaultPolicyPath when that file exists, else the defaults. A file that
// exists but is malformed is an error, never silently replaced by defaults.
StatusOr<ExecutionPolicy> LoadDefaultPolicy();

// The policy as JSON, keys in field order: fuel_budget, memory_bytes,
// stdout_max_bytes, stderr_max_bytes, workspace_max_bytes, mount_host_dir,
// guest_mount_path,
// mount_data_dir, guest_data_path, argv, env (an object, in order),
// timeout_seconds, preserve_logs, keep_state, additional_readonly_mounts ([[host,
// guest], ...]). Absent values are null. (Telemetry's execution.start.)
nlohmann::ordered_json PolicyToJson(const ExecutionPolicy& policy);

// The inverse of PolicyToJson (ordered: env keeps its order); the policy is
// built (validated) again.
// InvalidArgument naming the key for a missing or mistyped value.
StatusOr<ExecutionPolicy> PolicyFromJson(const nlohmann::ordered_json& json);

}  // namespace snakecage
