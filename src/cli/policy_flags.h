// `snakecage run`'s policy flags (--fuel, --memory, --env, ...): one per
// policy field that has a flag in policy/policy_fields.h, registered and
// applied from that table.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "snakecage/policy.h"
#include "snakecage/status.h"

namespace CLI {
class App;
}

namespace snakecage::cli {

// What was given, by field name: once for most flags, any number of times
// for the repeatable ones (--env, --mount).
struct PolicyFlags {
  std::map<std::string, std::optional<std::string>> once;
  std::map<std::string, std::vector<std::string>> repeated;
};

// Adds every policy flag to `command`, storing into `flags`.
void AddPolicyFlags(CLI::App& command, PolicyFlags& flags);

// Applies what was given over `policy`, in field order; an error names the
// flag and the bad value.
Status ApplyPolicyFlags(const PolicyFlags& flags, ExecutionPolicyBuilder& policy);

// --policy: the file's policy (errors name it), or the defaults without one.
StatusOr<ExecutionPolicy> PolicyFileOrDefaults(const std::optional<std::string>& file);

}  // namespace snakecage::cli
