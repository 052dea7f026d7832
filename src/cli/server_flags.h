// What `snakecage mcp` and `snakecage serve` share: the server limits from
// their flags, and where their telemetry goes.
#pragma once

#include <memory>

#include "cli/commands.h"
#include "snakecage/server.h"
#include "snakecage/telemetry.h"

namespace snakecage::cli {

// The limits: the policy file (if any), then each flag; InvalidArgument
// naming the flag. Validated as a whole.
StatusOr<ServerLimits> ServerLimitsFrom(const ServerFlags& flags);

// --log-file (JSON lines appended) or, without it, stderr.
StatusOr<std::shared_ptr<TelemetryLogger>> ServerLogger(const ServerFlags& flags);

}  // namespace snakecage::cli
