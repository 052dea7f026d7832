#include "cli/policy_flags.h"

#include <CLI/CLI.hpp>
#include <filesystem>

#include "cli/cli_args.h"
#include "policy/policy_fields.h"

namespace snakecage::cli {
namespace {

namespace kinds = policy_kinds;
using Builder = ExecutionPolicyBuilder;

// Whether a kind's flag may be given more than once.
template <typename Kind>
constexpr bool kRepeatable = false;
template <>
constexpr bool kRepeatable<kinds::Env> = true;
template <>
constexpr bool kRepeatable<kinds::Mounts> = true;

// How each kind's flag text becomes a value. Kinds no row gives a flag have
// no overload: giving one a flag in the table does not compile until it has.
template <typename Set>
Status ApplyOnce(kinds::Operators, const char* flag, const std::string& text, Builder& b,
                 Set set) {
  auto v = ParsePositiveInteger(flag, text);
  if (!v.ok()) return v.status();
  (b.*set)(*v);
  return Status::Ok();
}
template <typename Set>
Status ApplyOnce(kinds::Bytes, const char* flag, const std::string& text, Builder& b, Set set) {
  auto v = ParseSize(flag, text);
  if (!v.ok()) return v.status();
  (b.*set)(*v);
  return Status::Ok();
}
template <typename Set>
Status ApplyOnce(kinds::OptionalSeconds, const char* flag, const std::string& text, Builder& b,
                 Set set) {
  auto v = ParseSeconds(flag, text);
  if (!v.ok()) return v.status();
  (b.*set)(*v);
  return Status::Ok();
}
template <typename Set>
Status ApplyOnce(kinds::OptionalHostDir, const char*, const std::string& text, Builder& b,
                 Set set) {
  (b.*set)(std::filesystem::path(text));
  return Status::Ok();
}
// Each --env KEY=VALUE is set over the policy's environment.
template <typename Set>
Status ApplyEach(kinds::Env, const char* flag, const std::string& text, Builder& b, Set) {
  auto kv = ParseEnvAssignment(flag, text);
  if (!kv.ok()) return kv.status();
  b.set_env(kv->first, kv->second);
  return Status::Ok();
}
// Each --mount is added to the policy's mounts.
template <typename Set>
Status ApplyEach(kinds::Mounts, const char* flag, const std::string& text, Builder& b, Set) {
  auto mount = ParseMount(flag, text);
  if (!mount.ok()) return mount.status();
  b.add_readonly_mount(*mount);
  return Status::Ok();
}

// kHasFlag: the row's flag is not "" (known at compile time, so rows
// without a flag instantiate nothing).
template <typename Kind, bool kHasFlag>
void Add(CLI::App& command, PolicyFlags& flags, const char* name, const char* flag,
         const char* help) {
  if constexpr (!kHasFlag) {
    return;
  } else if constexpr (kRepeatable<Kind>) {
    command.add_option(flag, flags.repeated[name], help);
  } else {
    command.add_option(flag, flags.once[name], help);
  }
}

template <typename Kind, bool kHasFlag, typename Set>
Status Apply(const PolicyFlags& flags, const char* name, const char* flag, Builder& b, Set set) {
  if constexpr (!kHasFlag) {
    return Status::Ok();
  } else if constexpr (kRepeatable<Kind>) {
    auto it = flags.repeated.find(name);
    if (it == flags.repeated.end()) return Status::Ok();
    for (const std::string& text : it->second) {
      if (Status s = ApplyEach(Kind{}, flag, text, b, set); !s.ok()) return s;
    }
    return Status::Ok();
  } else {
    auto it = flags.once.find(name);
    if (it == flags.once.end() || !it->second) return Status::Ok();
    return ApplyOnce(Kind{}, flag, *it->second, b, set);
  }
}

}  // namespace

void AddPolicyFlags(CLI::App& command, PolicyFlags& flags) {
#define SNAKECAGE_ADD_FLAG(name, Kind, flag, help) \
  Add<kinds::Kind, (sizeof(flag) > 1)>(command, flags, #name, flag, help);
  SNAKECAGE_POLICY_FIELDS(SNAKECAGE_ADD_FLAG)
#undef SNAKECAGE_ADD_FLAG
}

Status ApplyPolicyFlags(const PolicyFlags& flags, Builder& policy) {
#define SNAKECAGE_APPLY_FLAG(name, Kind, flag, help)                                       \
  if (Status s = Apply<kinds::Kind, (sizeof(flag) > 1)>(flags, #name, flag, policy,        \
                                                         &Builder::name);                 \
      !s.ok()) {                                                                           \
    return s;                                                                              \
  }
  SNAKECAGE_POLICY_FIELDS(SNAKECAGE_APPLY_FLAG)
#undef SNAKECAGE_APPLY_FLAG
  return Status::Ok();
}

StatusOr<ExecutionPolicy> PolicyFileOrDefaults(const std::optional<std::string>& file) {
  if (!file) return ExecutionPolicy();
  return LoadPolicy(*file);
}

}  // namespace snakecage::cli
