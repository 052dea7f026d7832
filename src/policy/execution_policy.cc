// ExecutionPolicy defaults, the builder, and whole-policy validation.
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <set>
#include <sstream>
#include <string>
#include <utility>

#include "base/text.h"

#include "snakecage/policy.h"

namespace snakecage {
namespace {

constexpr uint64_t kMaxFuel = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
constexpr uint64_t kPageBytes = 65536;
constexpr uint64_t kMaxMemory = 4ull << 30;  // wasm32's address space

std::string FormatSeconds(double t) {
  std::ostringstream s;
  s << t;
  return s.str();
}

// Absolute, no empty, "." or ".." components, no trailing slash (except "/").
bool IsNormalisedAbsolute(std::string_view p) {
  if (p.empty() || p.front() != '/') return false;
  if (p.find('\0') != std::string_view::npos) return false;
  if (p == "/") return true;
  if (p.back() == '/') return false;
  size_t start = 1;
  while (start <= p.size()) {
    size_t end = p.find('/', start);
    if (end == std::string_view::npos) end = p.size();
    std::string_view part = p.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = end + 1;
  }
  return true;
}

// True when `inner` equals `outer` or lies beneath it.
bool IsWithin(std::string_view inner, std::string_view outer) {
  if (outer == "/") return true;
  return inner == outer ||
         (inner.size() > outer.size() && inner.compare(0, outer.size(), outer) == 0 &&
          inner[outer.size()] == '/');
}

PolicyValidationError Refuse(std::string field, std::string value, std::string reason) {
  return PolicyValidationError{std::move(field), std::move(value), std::move(reason)};
}

std::optional<PolicyValidationError> CheckHostDir(const std::string& field,
                                                  const std::filesystem::path& p) {
  if (p.empty()) return Refuse(field, "\"\"", "must name a host directory");
  if (p.string().find('\0') != std::string::npos) {
    return Refuse(field, Quote(p.string()), "must not contain a NUL byte");
  }
  std::error_code ec;
  if (!std::filesystem::is_directory(p, ec)) {
    return Refuse(field, Quote(p.string()), "must be an existing directory");
  }
  return std::nullopt;
}

std::filesystem::path Absolute(const std::filesystem::path& p) {
  std::error_code ec;
  std::filesystem::path a = std::filesystem::absolute(p, ec);
  return ec ? p : a.lexically_normal();
}

}  // namespace

std::string PolicyValidationError::message() const {
  return field + ": " + reason + " (got " + value + ")";
}

ExecutionPolicy::ExecutionPolicy()
    : mount_host_dir_(Absolute("workspace")),
      argv_(DefaultArgv("/app")),
      env_(DefaultEnv("/app")) {}

std::vector<std::string> ExecutionPolicy::DefaultArgv(std::string_view guest_mount) {
  std::string script(guest_mount);
  if (script != "/") script += '/';
  script += kUserCodeFileName;
  return {"python", script};
}

EnvironmentVariables ExecutionPolicy::DefaultEnv(std::string_view guest_mount) {
  return {{"PYTHONUTF8", "1"},
          {"LC_ALL", "C.UTF-8"},
          {"PYTHONIOENCODING", "utf-8"},
          {"PYTHONHASHSEED", "0"},
          {"TMPDIR", std::string(guest_mount)}};
}

namespace {
const std::string* FindEnv(const EnvironmentVariables& env, std::string_view key) {
  for (const auto& [k, v] : env) {
    if (k == key) return &v;
  }
  return nullptr;
}

// Guest paths every execution has (engine/installation.h's system mounts;
// dist-packages lies inside the stdlib's), which no policy mount may cover.
constexpr std::pair<std::string_view, std::string_view> kReservedGuestPaths[] = {
    {kGuestStdlibPath, "standard library"},
    {kGuestZoneinfoPath, "time-zone database"},
};

// Replaces `key` in place, else appends it.
void SetEnv(EnvironmentVariables& env, std::string key, std::string value) {
  for (auto& [k, v] : env) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  env.emplace_back(std::move(key), std::move(value));
}
}  // namespace

ExecutionPolicyBuilder::ExecutionPolicyBuilder() = default;

ExecutionPolicyBuilder::ExecutionPolicyBuilder(const ExecutionPolicy& base) : draft_(base) {
  argv_set_ = base.argv_ != ExecutionPolicy::DefaultArgv(base.guest_mount_path_);
  const std::string* tmpdir = FindEnv(base.env_, "TMPDIR");
  tmpdir_set_ = tmpdir == nullptr || *tmpdir != base.guest_mount_path_;
  // Build() filled in "/data"; treat it as the default again, so clearing
  // mount_data_dir clears the guest path with it.
  if (draft_.guest_data_path_ == "/data") draft_.guest_data_path_.reset();
}

ExecutionPolicyBuilder& ExecutionPolicyBuilder::fuel_budget(uint64_t operators) {
  draft_.fuel_budget_ = operators;
  return *this;
}
ExecutionPolicyBuilder& ExecutionPolicyBuilder::memory_bytes(uint64_t bytes) {
  draft_.memory_bytes_ = bytes;
  return *this;
}
ExecutionPolicyBuilder& ExecutionPolicyBuilder::stdout_max_bytes(uint64_t bytes) {
  draft_.stdout_max_bytes_ = bytes;
  return *this;
}
ExecutionPolicyBuilder& ExecutionPolicyBuilder::stderr_max_bytes(uint64_t bytes) {
  draft_.stderr_max_bytes_ = bytes;
  return *this;
}
ExecutionPolicyBuilder& ExecutionPolicyBuilder::workspace_max_bytes(uint64_t bytes) {
  draft_.workspace_max_bytes_ = bytes;
  return *this;
}
ExecutionPolicyBuilder& ExecutionPolicyBuilder::mount_host_dir(std::filesystem::path dir) {
  draft_.mount_host_dir_ = std::move(dir);
  return *this;
}
ExecutionPolicyBuilder& ExecutionPolicyBuilder::guest_mount_path(std::string path) {
  draft_.guest_mount_path_ = std::move(path);
  return *this;
}
ExecutionPolicyBuilder& ExecutionPolicyBuilder::mount_data_dir(
    std::optional<std::filesystem::path> dir) {
  draft_.mount_data_dir_ = std::move(dir);
  return *this;
}
ExecutionPolicyBuilder& ExecutionPolicyBuilder::guest_data_path(std::optional<std::string> path) {
  draft_.guest_data_path_ = std::move(path);
  return *this;
}
ExecutionPolicyBuilder& ExecutionPolicyBuilder::additional_readonly_mounts(
    std::vector<ReadOnlyMount> mounts) {
  draft_.additional_readonly_mounts_ = std::move(mounts);
  return *this;
}
ExecutionPolicyBuilder& ExecutionPolicyBuilder::add_readonly_mount(ReadOnlyMount mount) {
  draft_.additional_readonly_mounts_.push_back(std::move(mount));
  return *this;
}
ExecutionPolicyBuilder& ExecutionPolicyBuilder::argv(std::vector<std::string> args) {
  draft_.argv_ = std::move(args);
  argv_set_ = true;
  return *this;
}
ExecutionPolicyBuilder& ExecutionPolicyBuilder::env(EnvironmentVariables vars) {
  draft_.env_ = std::move(vars);
  tmpdir_set_ = true;
  return *this;
}
ExecutionPolicyBuilder& ExecutionPolicyBuilder::set_env(std::string key, std::string value) {
  if (key == "TMPDIR") tmpdir_set_ = true;
  SetEnv(draft_.env_, std::move(key), std::move(value));
  return *this;
}
ExecutionPolicyBuilder& ExecutionPolicyBuilder::timeout_seconds(std::optional<double> seconds) {
  draft_.timeout_seconds_ = seconds;
  return *this;
}
ExecutionPolicyBuilder& ExecutionPolicyBuilder::keep_state(bool keep) {
  draft_.keep_state_ = keep;
  return *this;
}
ExecutionPolicyBuilder& ExecutionPolicyBuilder::preserve_logs(bool keep) {
  draft_.preserve_logs_ = keep;
  return *this;
}

std::optional<PolicyValidationError> ExecutionPolicyBuilder::Validate() const {
  const ExecutionPolicy& p = draft_;
  if (p.fuel_budget_ == 0 || p.fuel_budget_ > kMaxFuel) {
    return Refuse("fuel_budget", std::to_string(p.fuel_budget_),
                  "must be between 1 and " + std::to_string(kMaxFuel));
  }
  if (p.memory_bytes_ < kPageBytes || p.memory_bytes_ > kMaxMemory) {
    return Refuse("memory_bytes", std::to_string(p.memory_bytes_),
                  "must be between 65536 (one page) and 4294967296 (4 GiB)");
  }
  if (p.stdout_max_bytes_ == 0) return Refuse("stdout_max_bytes", "0", "must be > 0");
  if (p.stderr_max_bytes_ == 0) return Refuse("stderr_max_bytes", "0", "must be > 0");
  if (p.workspace_max_bytes_ == 0) return Refuse("workspace_max_bytes", "0", "must be > 0");
  if (p.mount_host_dir_.empty()) {
    return Refuse("mount_host_dir", "\"\"", "must name a host directory");
  }
  if (p.mount_host_dir_.string().find('\0') != std::string::npos) {
    return Refuse("mount_host_dir", Quote(p.mount_host_dir_.string()),
                  "must not contain a NUL byte");
  }

  // Guest paths: absolute, normalised, distinct, and clear of the stdlib
  // and the time-zone database.
  // Each is checked where its field comes, after the host directory it
  // belongs to, so the first rule broken in field order is the one reported.
  std::set<std::string> seen;
  auto check_guest = [&](const std::string& field,
                         const std::string& path) -> std::optional<PolicyValidationError> {
    if (!IsNormalisedAbsolute(path)) {
      return Refuse(field, Quote(path), "must be an absolute, normalised path");
    }
    for (const auto& [reserved, what] : kReservedGuestPaths) {
      if (IsWithin(path, reserved) || IsWithin(reserved, path)) {
        return Refuse(field, Quote(path),
                      "must not contain or lie inside the " + std::string(what) + "'s " +
                          std::string(reserved));
      }
    }
    if (!seen.insert(path).second) {
      return Refuse(field, Quote(path), "guest path used by another mount");
    }
    return std::nullopt;
  };
  if (auto e = check_guest("guest_mount_path", p.guest_mount_path_)) return e;
  if (p.mount_data_dir_) {
    if (auto e = CheckHostDir("mount_data_dir", *p.mount_data_dir_)) return e;
    if (auto e = check_guest("guest_data_path", p.guest_data_path_.value_or("/data"))) return e;
  } else if (p.guest_data_path_) {
    return Refuse("guest_data_path", Quote(*p.guest_data_path_),
                  "must not be set without mount_data_dir");
  }
  for (size_t i = 0; i < p.additional_readonly_mounts_.size(); ++i) {
    const auto& m = p.additional_readonly_mounts_[i];
    std::string field = "additional_readonly_mounts[" + std::to_string(i) + "]";
    if (auto e = CheckHostDir(field + ".host", m.host)) return e;
    if (auto e = check_guest(field + ".guest", m.guest)) return e;
  }

  const std::vector<std::string> argv =
      argv_set_ ? p.argv_ : ExecutionPolicy::DefaultArgv(p.guest_mount_path_);
  if (argv.empty()) return Refuse("argv", "[]", "must not be empty");
  for (size_t i = 0; i < argv.size(); ++i) {
    if (argv[i].find('\0') != std::string::npos) {
      return Refuse("argv[" + std::to_string(i) + "]", Quote(argv[i]),
                    "must not contain a NUL byte");
    }
  }
  std::set<std::string> keys;
  for (const auto& [k, v] : p.env_) {
    if (k.empty() || k.find('=') != std::string::npos || k.find('\0') != std::string::npos) {
      return Refuse("env", Quote(k), "keys must be non-empty, without '=' or NUL");
    }
    if (!keys.insert(k).second) return Refuse("env", Quote(k), "key given twice");
    if (v.find('\0') != std::string::npos) {
      return Refuse("env." + k, Quote(v), "must not contain a NUL byte");
    }
  }
  if (p.timeout_seconds_) {
    double t = *p.timeout_seconds_;
    if (!std::isfinite(t) || t < 0 || t > 1e9) {
      return Refuse("timeout_seconds", FormatSeconds(t),
                    "must be a finite number of seconds, 0 .. 1e9");
    }
  }
  return std::nullopt;
}

StatusOr<ExecutionPolicy> ExecutionPolicyBuilder::Build() const {
  if (auto e = Validate()) return InvalidArgument(e->message());
  ExecutionPolicy p = draft_;
  p.mount_host_dir_ = Absolute(p.mount_host_dir_);
  if (p.mount_data_dir_) {
    p.mount_data_dir_ = Absolute(*p.mount_data_dir_);
    if (!p.guest_data_path_) p.guest_data_path_ = "/data";
  }
  for (auto& m : p.additional_readonly_mounts_) m.host = Absolute(m.host);
  if (!argv_set_) p.argv_ = ExecutionPolicy::DefaultArgv(p.guest_mount_path_);
  if (!tmpdir_set_) SetEnv(p.env_, "TMPDIR", p.guest_mount_path_);
  return p;
}

}  // namespace snakecage
