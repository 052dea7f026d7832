#include "engine/installation.h"

namespace snakecage {

namespace {
const std::filesystem::path& PackagesDir() {
  static const std::filesystem::path dir = SNAKECAGE_GUEST_PACKAGES_DIR;
  return dir;
}
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
