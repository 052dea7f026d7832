// engine/startup_key.h: what an interpreter fixes when it starts, and so
// what decides which zygote an execution needs, and which start-up
// snapshot (startup_snapshot.h) it may resume from.
//
// A zygote's children inherit everything the interpreter did at start-up:
// the guest paths it found preopened (wasi-libc maps paths to preopens once),
// and what engine/startup.h says start-up reads of argv and the environment. Two policies with the same StartupKey can
// share a zygote; everything else (fuel, memory, output caps, timeout, the
// host directories behind the guest paths, the script's arguments, the rest
// of the environment) is applied per execution.
//
// Thread-safety: values.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "snakecage/policy.h"

namespace snakecage {

struct StartupKey {
  std::string guest_mount_path;
  std::optional<std::string> guest_data_path;
  std::vector<std::string> extra_guest_paths;  // additional_readonly_mounts, in order
  std::vector<std::string> argv;               // up to and including the script path
  EnvironmentVariables startup_env;            // the variables start-up reads, in order

  auto operator<=>(const StartupKey&) const = default;
  bool operator==(const StartupKey&) const = default;
};

StartupKey StartupKeyFor(const ExecutionPolicy& policy);

nlohmann::ordered_json StartupKeyToJson(const StartupKey& key);
StatusOr<StartupKey> StartupKeyFromJson(const nlohmann::ordered_json& json);

// The file name of the start-up snapshot for `key` in an installation's
// startup_snapshot_dir(): "startup-" and a 64-bit FNV-1a hash of the key's
// JSON, in hex. The snapshot itself holds the whole key, which is what is
// checked; the name only finds it.
std::string StartupSnapshotFileName(const StartupKey& key);

// The policy a zygote starts its interpreter with: the key's guest paths,
// argv and environment, every host directory `placeholder` (nothing is read
// from them at start-up), and no limits a start-up could hit.
StatusOr<ExecutionPolicy> StartupPolicy(const StartupKey& key,
                                        const std::filesystem::path& placeholder);

}  // namespace snakecage
