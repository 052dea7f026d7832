// `snakecage packages`: the third-party packages the guest can import and
// the data it can read, with versions and origins (LoadGuestPackages()).
#include <algorithm>
#include <iostream>

#include "cli/commands.h"
#include "snakecage/packages.h"

namespace snakecage::cli {

int PackagesCommand(const PackagesFlags& flags) {
  StatusOr<GuestPackages> shipped = LoadGuestPackages();
  if (!shipped.ok()) return ExitFor(shipped.status());
  if (flags.json) {
    std::cout << GuestPackagesToJson(*shipped).dump() << "\n";
    return 0;
  }
  size_t name_width = 7;  // "package"
  size_t version_width = 7;
  for (const GuestPackage& p : shipped->packages) {
    name_width = std::max(name_width, p.name.size());
    version_width = std::max(version_width, p.version.size());
  }
  auto pad = [](const std::string& s, size_t width) {
    return s + std::string(width - std::min(width, s.size()) + 2, ' ');
  };
  auto from = [](const PackageOrigin& o) {
    return "  (" + o.source + " " + o.debian_package + " " + o.debian_version + ")\n";
  };
  std::cout << pad("package", name_width) << pad("version", version_width) << "import as"
            << "  (from)\n";
  for (const GuestPackage& p : shipped->packages) {
    std::string names;
    for (const std::string& n : p.import_names) names += (names.empty() ? "" : ", ") + n;
    std::cout << pad(p.name, name_width) << pad(p.version, version_width) << names
              << from(p.origin);
  }
  for (const GuestDataSet& d : shipped->data) {
    std::cout << "\ndata: " << d.name << " " << d.version << " at " << d.guest_path
              << from(d.origin);
  }
  return 0;
}

}  // namespace snakecage::cli
