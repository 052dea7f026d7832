// Where this build of snakecage keeps the guest's files on the host.
#pragma once

#include <filesystem>
#include <string_view>
#include <vector>

#include "snakecage/policy.h"

namespace snakecage {

// kGuestStdlibPath (policy.h) is where the guest sees the standard library;
// the guest interpreter is built with prefix /usr/local.

// Host directory holding the byte-compiled standard library, fixed when
// snakecage was built (SNAKECAGE_GUEST_STDLIB_DIR).
std::filesystem::path HostStdlibDir();

// Host directory of the third-party packages (guest/build-packages.sh),
// seen at kGuestDistPackagesPath (SNAKECAGE_GUEST_PACKAGES_DIR/dist-packages).
std::filesystem::path HostDistPackagesDir();

// Host directory of the time-zone database, seen at kGuestZoneinfoPath.
std::filesystem::path HostZoneinfoDir();

// packages.json: every third-party package the guest can import, with its
// version and origin (guest/package_manifest.py writes it).
std::filesystem::path PackagesManifestPath();

// The read-only directories every execution sees whatever its policy says:
// the standard library, dist-packages and the time-zone database, in the
// order they are preopened.
struct SystemMount {
  std::filesystem::path host;
  std::string_view guest;
};
std::vector<SystemMount> SystemMounts();

}  // namespace snakecage
