#include "engine/installation.h"

namespace snakecage {

namespace {
std::filesystem::path PackagesDir() { return SNAKECAGE_GUEST_PACKAGES_DIR; }
}  // namespace

std::filesystem::path HostStdlibDir() { return SNAKECAGE_GUEST_STDLIB_DIR; }

std::filesystem::path HostDistPackagesDir() { return PackagesDir() / "dist-packages"; }

std::filesystem::path HostZoneinfoDir() { return PackagesDir() / "zoneinfo"; }

std::filesystem::path PackagesManifestPath() { return PackagesDir() / "packages.json"; }

std::vector<SystemMount> SystemMounts() {
  return {{HostStdlibDir(), kGuestStdlibPath},
          {HostDistPackagesDir(), kGuestDistPackagesPath},
          {HostZoneinfoDir(), kGuestZoneinfoPath}};
}

}  // namespace snakecage
