// ExecutionPolicy <-> JSON: the effective policy in telemetry, and the
// executor's requests to its zygotes.
#include <string>

#include "snakecage/policy.h"

namespace snakecage {
namespace {

using Json = nlohmann::ordered_json;

// The value at `key`, which must exist and have the type `check` accepts.
StatusOr<const Json*> Field(const Json& j, const char* key, bool (Json::*check)() const,
                            const char* type) {
  auto it = j.find(key);
  if (it == j.end()) return InvalidArgument(std::string(key) + ": missing");
  if (!((*it).*check)()) return InvalidArgument(std::string(key) + ": must be " + type);
  return &*it;
}

}  // namespace

nlohmann::ordered_json PolicyToJson(const ExecutionPolicy& p) {
  nlohmann::ordered_json env = nlohmann::ordered_json::object();
  for (const auto& [k, v] : p.env()) env[k] = v;
  nlohmann::ordered_json mounts = nlohmann::ordered_json::array();
  for (const auto& m : p.additional_readonly_mounts()) {
    mounts.push_back({m.host.string(), m.guest});
  }
  auto optional_path = [](const std::optional<std::filesystem::path>& v) -> nlohmann::ordered_json {
    if (!v) return nullptr;
    return v->string();
  };
  return {
      {"fuel_budget", p.fuel_budget()},
      {"memory_bytes", p.memory_bytes()},
      {"stdout_max_bytes", p.stdout_max_bytes()},
      {"stderr_max_bytes", p.stderr_max_bytes()},
      {"mount_host_dir", p.mount_host_dir().string()},
      {"guest_mount_path", p.guest_mount_path()},
      {"mount_data_dir", optional_path(p.mount_data_dir())},
      {"guest_data_path",
       p.guest_data_path() ? nlohmann::ordered_json(*p.guest_data_path()) : nullptr},
      {"argv", p.argv()},
      {"env", std::move(env)},
      {"timeout_seconds",
       p.timeout_seconds() ? nlohmann::ordered_json(*p.timeout_seconds()) : nullptr},
      {"preserve_logs", p.preserve_logs()},
      {"additional_readonly_mounts", std::move(mounts)},
  };
}

StatusOr<ExecutionPolicy> PolicyFromJson(const nlohmann::ordered_json& j) {
  if (!j.is_object()) return InvalidArgument("policy: must be a JSON object");
  ExecutionPolicyBuilder b;
  auto u64 = [&](const char* key, ExecutionPolicyBuilder& (ExecutionPolicyBuilder::*set)(uint64_t))
      -> Status {
    auto f = Field(j, key, &Json::is_number_unsigned, "an unsigned integer");
    if (!f.ok()) return f.status();
    (b.*set)((*f)->get<uint64_t>());
    return Status::Ok();
  };
  for (auto [key, set] :
       {std::pair{"fuel_budget", &ExecutionPolicyBuilder::fuel_budget},
        std::pair{"memory_bytes", &ExecutionPolicyBuilder::memory_bytes},
        std::pair{"stdout_max_bytes", &ExecutionPolicyBuilder::stdout_max_bytes},
        std::pair{"stderr_max_bytes", &ExecutionPolicyBuilder::stderr_max_bytes}}) {
    if (Status s = u64(key, set); !s.ok()) return s;
  }
  auto host = Field(j, "mount_host_dir", &Json::is_string, "a string");
  if (!host.ok()) return host.status();
  b.mount_host_dir((*host)->get<std::string>());
  auto guest = Field(j, "guest_mount_path", &Json::is_string, "a string");
  if (!guest.ok()) return guest.status();
  b.guest_mount_path((*guest)->get<std::string>());
  for (const char* key : {"mount_data_dir", "guest_data_path"}) {
    auto it = j.find(key);
    if (it == j.end()) return InvalidArgument(std::string(key) + ": missing");
    if (it->is_null()) continue;
    if (!it->is_string()) return InvalidArgument(std::string(key) + ": must be a string or null");
    if (std::string(key) == "mount_data_dir") {
      b.mount_data_dir(std::filesystem::path(it->get<std::string>()));
    } else {
      b.guest_data_path(it->get<std::string>());
    }
  }
  auto argv = Field(j, "argv", &Json::is_array, "an array of strings");
  if (!argv.ok()) return argv.status();
  std::vector<std::string> args;
  for (const Json& a : **argv) {
    if (!a.is_string()) return InvalidArgument("argv: must be an array of strings");
    args.push_back(a.get<std::string>());
  }
  b.argv(std::move(args));
  auto env = Field(j, "env", &Json::is_object, "an object of strings");
  if (!env.ok()) return env.status();
  EnvironmentVariables vars;
  for (const auto& [k, v] : (*env)->items()) {
    if (!v.is_string()) return InvalidArgument("env." + k + ": must be a string");
    vars.emplace_back(k, v.get<std::string>());
  }
  b.env(std::move(vars));
  auto timeout = j.find("timeout_seconds");
  if (timeout == j.end()) return InvalidArgument("timeout_seconds: missing");
  if (!timeout->is_null()) {
    if (!timeout->is_number()) return InvalidArgument("timeout_seconds: must be a number or null");
    b.timeout_seconds(timeout->get<double>());
  }
  auto keep = Field(j, "preserve_logs", &Json::is_boolean, "a boolean");
  if (!keep.ok()) return keep.status();
  b.preserve_logs((*keep)->get<bool>());
  auto mounts = Field(j, "additional_readonly_mounts", &Json::is_array, "an array");
  if (!mounts.ok()) return mounts.status();
  for (const Json& m : **mounts) {
    if (!m.is_array() || m.size() != 2 || !m[0].is_string() || !m[1].is_string()) {
      return InvalidArgument("additional_readonly_mounts: each must be [host, guest]");
    }
    b.add_readonly_mount({m[0].get<std::string>(), m[1].get<std::string>()});
  }
  return b.Build();
}

}  // namespace snakecage
