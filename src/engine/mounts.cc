#include "engine/mounts.h"

#include "engine/installation.h"

namespace snakecage {

StatusOr<std::vector<GuestMount>> MountsFor(const ExecutionPolicy& policy) {
  const StatusOr<Installation>& installation = ThisInstallation();
  if (!installation.ok()) return installation.status();
  std::vector<GuestMount> mounts;
  for (const SystemMount& m : installation->system_mounts()) {
    mounts.push_back({m.host, std::string(m.guest), true});
  }
  mounts.push_back({policy.mount_host_dir(), policy.guest_mount_path(), false});
  if (policy.mount_data_dir()) {
    mounts.push_back({*policy.mount_data_dir(), policy.guest_data_path().value_or("/data"), true});
  }
  for (const auto& m : policy.additional_readonly_mounts()) {
    mounts.push_back({m.host, m.guest, true});
  }
  return mounts;
}

}  // namespace snakecage
