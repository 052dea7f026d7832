// ExecutionPolicy defaults and whole-policy validation.
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <set>
#include <string>

#include "engine/installation.h"
#include "engine/mounts.h"
#include "snakecage/execution.h"

namespace snakecage {
namespace {

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '\0') {
      out += "\\0";
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else {
      out += c;
    }
  }
  return out + "\"";
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

Status CheckHostDir(const std::string& field, const std::filesystem::path& p) {
  std::error_code ec;
  if (p.empty()) return InvalidArgument(field + ": must name a host directory (got \"\")");
  if (!std::filesystem::is_directory(p, ec)) {
    return InvalidArgument(field + ": not an existing directory: " + Quote(p.string()));
  }
  return Status::Ok();
}

}  // namespace

std::vector<std::string> ExecutionPolicy::DefaultArgv(std::string_view guest_mount) {
  std::string script(guest_mount);
  if (script != "/") script += '/';
  script += "user_code.py";
  return {"python", script};
}

std::vector<std::pair<std::string, std::string>> ExecutionPolicy::DefaultEnv() {
  return {{"PYTHONUTF8", "1"},
          {"LC_ALL", "C.UTF-8"},
          {"PYTHONIOENCODING", "utf-8"},
          {"PYTHONHASHSEED", "0"}};
}

Status CheckExecutionPolicy(const ExecutionPolicy& p) {
  constexpr uint64_t kMaxFuel = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (p.fuel_budget == 0 || p.fuel_budget > kMaxFuel) {
    return InvalidArgument("fuel_budget: must be between 1 and " + std::to_string(kMaxFuel) +
                           " (got " + std::to_string(p.fuel_budget) + ")");
  }
  constexpr uint64_t kPage = 65536;
  constexpr uint64_t kMaxMemory = 4ull << 30;  // wasm32's address space
  if (p.memory_bytes < kPage || p.memory_bytes > kMaxMemory) {
    return InvalidArgument("memory_bytes: must be between 65536 (one page) and 4 GiB (got " +
                           std::to_string(p.memory_bytes) + ")");
  }
  if (p.stdout_max_bytes == 0) {
    return InvalidArgument("stdout_max_bytes: must be > 0 (got 0)");
  }
  if (p.stderr_max_bytes == 0) {
    return InvalidArgument("stderr_max_bytes: must be > 0 (got 0)");
  }
  if (p.timeout_seconds) {
    double t = *p.timeout_seconds;
    if (!std::isfinite(t) || t < 0 || t > 1e9) {
      return InvalidArgument("timeout_seconds: must be a finite number >= 0 (got " +
                             std::to_string(t) + ")");
    }
  }

  // Guest paths: absolute, normalised, distinct, and clear of the stdlib.
  struct GuestPath {
    std::string field;
    std::string path;
  };
  std::vector<GuestPath> guest_paths;
  guest_paths.push_back({"guest_mount_path", p.guest_mount_path});
  if (Status s = CheckHostDir("workspace_dir", p.workspace_dir); !s.ok()) return s;
  if (p.mount_data_dir) {
    if (Status s = CheckHostDir("mount_data_dir", *p.mount_data_dir); !s.ok()) return s;
    guest_paths.push_back({"guest_data_path", EffectiveGuestDataPath(p)});
  } else if (p.guest_data_path) {
    return InvalidArgument("guest_data_path: set without mount_data_dir (got " +
                           Quote(*p.guest_data_path) + ")");
  }
  for (size_t i = 0; i < p.additional_readonly_mounts.size(); ++i) {
    const auto& m = p.additional_readonly_mounts[i];
    std::string field = "additional_readonly_mounts[" + std::to_string(i) + "]";
    if (Status s = CheckHostDir(field + ".host", m.host); !s.ok()) return s;
    guest_paths.push_back({field + ".guest", m.guest});
  }
  std::set<std::string> seen;
  for (const auto& g : guest_paths) {
    if (!IsNormalisedAbsolute(g.path)) {
      return InvalidArgument(g.field + ": must be an absolute, normalised path (got " +
                             Quote(g.path) + ")");
    }
    if (IsWithin(g.path, kGuestStdlibPath)) {
      return InvalidArgument(g.field + ": must not be inside the standard library's " +
                             std::string(kGuestStdlibPath) + " (got " + Quote(g.path) + ")");
    }
    if (!seen.insert(g.path).second) {
      return InvalidArgument(g.field + ": guest path used twice (got " + Quote(g.path) + ")");
    }
  }

  for (const auto& a : p.argv) {
    if (a.find('\0') != std::string::npos) {
      return InvalidArgument("argv: an argument contains a NUL byte (got " + Quote(a) + ")");
    }
  }
  for (const auto& [k, v] : p.env) {
    if (k.empty() || k.find('=') != std::string::npos || k.find('\0') != std::string::npos) {
      return InvalidArgument("env: key must be non-empty, without '=' or NUL (got " + Quote(k) +
                             ")");
    }
    if (v.find('\0') != std::string::npos) {
      return InvalidArgument("env: value of " + k + " contains a NUL byte");
    }
  }
  return Status::Ok();
}

}  // namespace snakecage
