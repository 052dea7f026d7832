// snakecage/packages.h: the third-party packages the guest can import.
//
// The guest sees its standard library and, read-only beside it, the
// packages this build of snakecage ships (guest/packages.lock; dist-packages
// at kGuestDistPackagesPath) and the time-zone database (kGuestZoneinfoPath).
// Their list, with versions and origins, is written at build time
// (packages.json); `snakecage packages`, get_capabilities and the guidance
// for a ModuleNotFoundError read it through LoadGuestPackages().
//
// Thread-safety: LoadGuestPackages() reads the file once per process and is
// safe to call from any thread.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "snakecage/status.h"

namespace snakecage {

// Where a package or data set came from.
struct PackageOrigin {
  std::string source;          // "debian": files of a Debian binary package
  std::string debian_package;  // e.g. "python3-bs4"
  std::string debian_version;  // e.g. "4.11.2-2"
};

// One importable distribution, e.g. beautifulsoup4 4.11.2 (import bs4).
struct GuestPackage {
  std::string name;                       // distribution name
  std::string version;                    // upstream version
  std::vector<std::string> import_names;  // top-level modules it provides
  PackageOrigin origin;
};

// Data the guest can read that is not a Python package (the tzdata database).
struct GuestDataSet {
  std::string name;
  std::string version;
  std::string guest_path;
  PackageOrigin origin;
};

struct GuestPackages {
  std::vector<GuestPackage> packages;  // sorted by name, case-insensitively
  std::vector<GuestDataSet> data;
};

// This installation's packages.json. Internal (a broken installation,
// naming the file and what is wrong) when it is missing or malformed.
StatusOr<GuestPackages> LoadGuestPackages();

// {"packages": [{name, version, import_names, source, debian_package,
// debian_version}], "data": [{name, version, guest_path, source,
// debian_package, debian_version}]}: each origin's fields beside the rest.
nlohmann::ordered_json GuestPackagesToJson(const GuestPackages& packages);

}  // namespace snakecage
