// ExecutionPolicy <-> JSON: the effective policy in telemetry, and the
// executor's requests to its zygotes. The fields and their order come from
// policy_fields.h; here is how each kind of value is written and read.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "policy/policy_fields.h"
#include "snakecage/policy.h"

namespace snakecage {
namespace {

using Json = nlohmann::ordered_json;
namespace fs = std::filesystem;
namespace kinds = policy_kinds;

// Writing: by the value's type.
Json ToJson(uint64_t v) { return v; }
Json ToJson(bool v) { return v; }
Json ToJson(const fs::path& v) { return v.string(); }
Json ToJson(const std::string& v) { return v; }
Json ToJson(const std::vector<std::string>& v) { return v; }
Json ToJson(const EnvironmentVariables& vars) {
  Json env = Json::object();
  for (const auto& [k, v] : vars) env[k] = v;
  return env;
}
Json ToJson(const std::vector<ReadOnlyMount>& mounts) {
  Json out = Json::array();
  for (const auto& m : mounts) out.push_back({m.host.string(), m.guest});
  return out;
}
template <typename T>
Json ToJson(const std::optional<T>& v) {
  if (!v) return nullptr;
  return ToJson(*v);
}
Json ToJson(const std::optional<double>& v) {
  if (!v) return nullptr;
  return *v;
}

Status Refuse(std::string_view key, std::string_view what) {
  return InvalidArgument(std::string(key) + ": " + std::string(what));
}

// Reading: by kind, from the value at `key` (present, maybe null).
StatusOr<uint64_t> Unsigned(const Json& v, std::string_view key) {
  if (!v.is_number_unsigned()) return Refuse(key, "must be an unsigned integer");
  return v.get<uint64_t>();
}
StatusOr<uint64_t> FromJson(kinds::Operators, const Json& v, std::string_view key) {
  return Unsigned(v, key);
}
StatusOr<uint64_t> FromJson(kinds::Bytes, const Json& v, std::string_view key) {
  return Unsigned(v, key);
}
StatusOr<std::string> FromJson(kinds::GuestPath, const Json& v, std::string_view key) {
  if (!v.is_string()) return Refuse(key, "must be a string");
  return v.get<std::string>();
}
StatusOr<fs::path> FromJson(kinds::HostDir, const Json& v, std::string_view key) {
  if (!v.is_string()) return Refuse(key, "must be a string");
  return fs::path(v.get<std::string>());
}
StatusOr<std::optional<std::string>> FromJson(kinds::OptionalGuestPath, const Json& v,
                                              std::string_view key) {
  if (v.is_null()) return std::optional<std::string>();
  if (!v.is_string()) return Refuse(key, "must be a string or null");
  return std::optional<std::string>(v.get<std::string>());
}
StatusOr<std::optional<fs::path>> FromJson(kinds::OptionalHostDir, const Json& v,
                                           std::string_view key) {
  if (v.is_null()) return std::optional<fs::path>();
  if (!v.is_string()) return Refuse(key, "must be a string or null");
  return std::optional<fs::path>(v.get<std::string>());
}
StatusOr<std::vector<std::string>> FromJson(kinds::Argv, const Json& v, std::string_view key) {
  if (!v.is_array()) return Refuse(key, "must be an array of strings");
  std::vector<std::string> args;
  for (const Json& a : v) {
    if (!a.is_string()) return Refuse(key, "must be an array of strings");
    args.push_back(a.get<std::string>());
  }
  return args;
}
StatusOr<EnvironmentVariables> FromJson(kinds::Env, const Json& v, std::string_view key) {
  if (!v.is_object()) return Refuse(key, "must be an object of strings");
  EnvironmentVariables vars;
  for (const auto& [k, value] : v.items()) {
    if (!value.is_string()) return Refuse(std::string(key) + "." + k, "must be a string");
    vars.emplace_back(k, value.get<std::string>());
  }
  return vars;
}
StatusOr<std::optional<double>> FromJson(kinds::OptionalSeconds, const Json& v,
                                         std::string_view key) {
  if (v.is_null()) return std::optional<double>();
  if (!v.is_number()) return Refuse(key, "must be a number or null");
  return std::optional<double>(v.get<double>());
}
StatusOr<bool> FromJson(kinds::Flag, const Json& v, std::string_view key) {
  if (!v.is_boolean()) return Refuse(key, "must be a boolean");
  return v.get<bool>();
}
StatusOr<std::vector<ReadOnlyMount>> FromJson(kinds::Mounts, const Json& v,
                                              std::string_view key) {
  if (!v.is_array()) return Refuse(key, "must be an array");
  std::vector<ReadOnlyMount> mounts;
  for (const Json& m : v) {
    if (!m.is_array() || m.size() != 2 || !m[0].is_string() || !m[1].is_string()) {
      return Refuse(key, "each must be [host, guest]");
    }
    mounts.push_back({m[0].get<std::string>(), m[1].get<std::string>()});
  }
  return mounts;
}

}  // namespace

nlohmann::ordered_json PolicyToJson(const ExecutionPolicy& p) {
  Json j = Json::object();
#define SNAKECAGE_FIELD_TO_JSON(name, Kind, flag, help) j[#name] = ToJson(p.name());
  SNAKECAGE_POLICY_FIELDS(SNAKECAGE_FIELD_TO_JSON)
#undef SNAKECAGE_FIELD_TO_JSON
  return j;
}

StatusOr<ExecutionPolicy> PolicyFromJson(const nlohmann::ordered_json& j) {
  if (!j.is_object()) return InvalidArgument("policy: must be a JSON object");
  ExecutionPolicyBuilder b;
#define SNAKECAGE_FIELD_FROM_JSON(name, Kind, flag, help)           \
  {                                                                 \
    auto it = j.find(#name);                                        \
    if (it == j.end()) return InvalidArgument(#name ": missing");   \
    auto value = FromJson(kinds::Kind{}, *it, #name);               \
    if (!value.ok()) return value.status();                         \
    b.name(std::move(*value));                                      \
  }
  SNAKECAGE_POLICY_FIELDS(SNAKECAGE_FIELD_FROM_JSON)
#undef SNAKECAGE_FIELD_FROM_JSON
  return b.Build();
}

}  // namespace snakecage
