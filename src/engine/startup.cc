#include "engine/startup.h"

namespace snakecage {

std::vector<std::string> StartupArgv(const ExecutionPolicy& policy) {
  const std::string script = ExecutionPolicy::DefaultArgv(policy.guest_mount_path())[1];
  const std::vector<std::string>& argv = policy.argv();
  for (size_t i = 1; i < argv.size(); ++i) {
    if (argv[i] == script) return {argv.begin(), argv.begin() + static_cast<long>(i) + 1};
  }
  return argv;
}

EnvironmentVariables StartupEnv(const ExecutionPolicy& policy) {
  EnvironmentVariables out;
  for (const auto& [k, v] : policy.env()) {
    if (k.rfind("PYTHON", 0) == 0 || k.rfind("LC_", 0) == 0 || k == "LANG") out.emplace_back(k, v);
  }
  return out;
}

}  // namespace snakecage
