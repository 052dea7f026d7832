// The guest's view of the host filesystem, derived from a policy.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "snakecage/policy.h"
#include "snakecage/status.h"

namespace snakecage {

struct GuestMount {
  std::filesystem::path host;
  std::string guest;
  bool read_only;
};

// Every preopen of an execution: the system mounts (the standard library,
// dist-packages and the time-zone database, read-only), the workspace
// (read-write), the data directory and additional mounts (read-only).
// An error when snakecage's installation cannot be found.
StatusOr<std::vector<GuestMount>> MountsFor(const ExecutionPolicy& policy);

}  // namespace snakecage
