// What `snakecage mcp` and `snakecage serve` share: the server limits from
// their flags, and where their telemetry goes.
#pragma once

#include <memory>

#include "base/scoped_temp_dir.h"
#include "cli/commands.h"
#include "snakecage/server.h"
#include "snakecage/telemetry.h"

namespace snakecage::cli {

// The limits: the policy file (if any), then each flag; InvalidArgument
// naming the flag. Validated as a whole.
StatusOr<ServerLimits> ServerLimitsFrom(const ServerFlags& flags);

// --log-file (JSON lines appended) or, without it, stderr.
StatusOr<std::shared_ptr<TelemetryLogger>> ServerLogger(const ServerFlags& flags);

// The service over --workspace-root, or over `temp_root` (created here as
// <tmp>/<temp_prefix>XXXXXX, removed with it) when the flag is absent.
StatusOr<std::unique_ptr<SandboxService>> CreateServerService(
    const ServerFlags& flags, ServerLimits limits, std::shared_ptr<TelemetryLogger> logger,
    ScopedTempDir& temp_root, std::string_view temp_prefix);

}  // namespace snakecage::cli
