// Plain-words guidance for the failures a user can do something about.
#pragma once

#include <optional>
#include <string>

#include "snakecage/execution.h"

namespace snakecage {

// For a failed execution (success() false) that ran out of fuel, hit the
// memory cap (a trap, or memory.grow refused so Python raised MemoryError),
// was cut at the timeout, ended on an uncaught ModuleNotFoundError (naming
// the packages the guest does have), or was refused a path outside its
// grants: what happened and what to change. nullopt for successes and other failures
// (an ordinary exception's traceback says it better).
std::optional<std::string> ErrorGuidanceFor(const ExecutionResult& result);

}  // namespace snakecage
