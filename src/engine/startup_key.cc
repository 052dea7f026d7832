#include "engine/startup_key.h"

#include <cstdio>

#include "engine/startup.h"

namespace snakecage {

using Json = nlohmann::ordered_json;

StartupKey StartupKeyFor(const ExecutionPolicy& policy) {
  StartupKey key;
  key.guest_mount_path = policy.guest_mount_path();
  key.guest_data_path = policy.guest_data_path();
  for (const auto& m : policy.additional_readonly_mounts()) key.extra_guest_paths.push_back(m.guest);
  key.argv = StartupArgv(policy);
  key.startup_env = StartupEnv(policy);
  return key;
}

Json StartupKeyToJson(const StartupKey& key) {
  Json env = Json::array();
  for (const auto& [k, v] : key.startup_env) env.push_back({k, v});
  return {{"guest_mount_path", key.guest_mount_path},
          {"guest_data_path", key.guest_data_path ? Json(*key.guest_data_path) : Json(nullptr)},
          {"extra_guest_paths", key.extra_guest_paths},
          {"argv", key.argv},
          {"startup_env", env}};
}

StatusOr<StartupKey> StartupKeyFromJson(const Json& j) {
  try {
    StartupKey key;
    key.guest_mount_path = j.at("guest_mount_path").get<std::string>();
    if (!j.at("guest_data_path").is_null()) {
      key.guest_data_path = j.at("guest_data_path").get<std::string>();
    }
    key.extra_guest_paths = j.at("extra_guest_paths").get<std::vector<std::string>>();
    key.argv = j.at("argv").get<std::vector<std::string>>();
    for (const Json& kv : j.at("startup_env")) {
      key.startup_env.emplace_back(kv.at(0).get<std::string>(), kv.at(1).get<std::string>());
    }
    return key;
  } catch (const Json::exception& e) {
    return InvalidArgument(std::string("startup key: malformed: ") + e.what());
  }
}

std::string StartupSnapshotFileName(const StartupKey& key) {
  uint64_t hash = 0xcbf29ce484222325ull;  // FNV-1a, 64-bit
  for (const unsigned char c : StartupKeyToJson(key).dump()) {
    hash = (hash ^ c) * 0x100000001b3ull;
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
  return std::string("startup-") + hex + ".snapshot";
}

StatusOr<ExecutionPolicy> StartupPolicy(const StartupKey& key,
                                        const std::filesystem::path& placeholder) {
  ExecutionPolicyBuilder b;
  b.mount_host_dir(placeholder)
      .guest_mount_path(key.guest_mount_path)
      .argv(key.argv)
      .env(key.startup_env)
      .memory_bytes(4ull << 30);
  if (key.guest_data_path) b.mount_data_dir(placeholder).guest_data_path(*key.guest_data_path);
  for (const auto& g : key.extra_guest_paths) b.add_readonly_mount({placeholder, g});
  return b.Build();
}

}  // namespace snakecage
