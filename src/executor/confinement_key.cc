#include "executor/confinement_key.h"

#include <sys/stat.h>

#include <cmath>
#include <cstdint>

#include "engine/installation.h"

namespace snakecage::executor {
namespace {

// Backstops that the policy has no field for.
constexpr uint64_t kCpuSecondsWithoutTimeout = 600;
constexpr uint64_t kMaxFileBytes = 1ull << 30;
constexpr uint64_t kMaxOpenFiles = 2048;

}  // namespace

ConfinementSpec ConfinementSpecFor(const ExecutionPolicy& policy) {
  ConfinementSpec spec;
  spec.read_write_dirs = {policy.mount_host_dir()};
  for (const SystemMount& m : ThisInstallation()->system_mounts()) {
    spec.read_only_dirs.push_back(m.host);
  }
  if (policy.mount_data_dir()) spec.read_only_dirs.push_back(*policy.mount_data_dir());
  for (const auto& m : policy.additional_readonly_mounts()) spec.read_only_dirs.push_back(m.host);
  // A live interpreter's limits are inherited by every cell forked from it;
  // each cell's own timeout is its timer.
  spec.cpu_seconds = policy.timeout_seconds() && !policy.keep_state()
                         ? static_cast<uint64_t>(std::ceil(*policy.timeout_seconds())) + 2
                         : kCpuSecondsWithoutTimeout;
  spec.file_size_bytes = kMaxFileBytes;
  spec.open_files = kMaxOpenFiles;
  return spec;
}

std::string ConfinementKey(const ConfinementSpec& spec) {
  std::string key = "cpu=" + std::to_string(spec.cpu_seconds) +
                    " fsize=" + std::to_string(spec.file_size_bytes) +
                    " nofile=" + std::to_string(spec.open_files);
  const auto add = [&key](const char* kind, const std::vector<std::filesystem::path>& dirs) {
    for (const std::filesystem::path& dir : dirs) {
      struct stat st {};
      if (::stat(dir.c_str(), &st) != 0) return false;
      // The path's length first: no path can be mistaken for two.
      const std::string path = dir.string();
      key += std::string(" ") + kind + "=" + std::to_string(path.size()) + ":" + path + "@" +
             std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
    }
    return true;
  };
  if (!add("rw", spec.read_write_dirs) || !add("ro", spec.read_only_dirs)) return "";
  return key;
}

}  // namespace snakecage::executor
