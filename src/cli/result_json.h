// The JSON shape of an execution result, as `snakecage run --json` prints it.
// Scripts depend on it: field names and types are fixed (tests pin them).
#pragma once

#include <nlohmann/json.hpp>

#include "snakecage/execution.h"

namespace snakecage::cli {

nlohmann::ordered_json ResultToJson(const ExecutionResult& result);

}  // namespace snakecage::cli
