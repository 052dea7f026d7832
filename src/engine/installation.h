// Where snakecage's parts are on the host: the zygote program, the guest's
// standard library, its packages and time-zone database. An installation is
// a prefix laid out as `cmake --install` lays it out (and as the build tree
// is laid out, so a build runs from where it was built):
//
//   PREFIX/<bindir>/snakecage                    the CLI
//   PREFIX/<libdir>/libsnakecage.so              the library
//   PREFIX/<libexecdir>/snakecage/snakecage-zygote
//   PREFIX/<libexecdir>/snakecage/snakecage-http  `serve` and `bench`
//   PREFIX/<datadir>/snakecage/lib/python3.11    the standard library
//   PREFIX/<datadir>/snakecage/packages/{dist-packages,zoneinfo,packages.json}
//   PREFIX/<datadir>/snakecage/snapshots/        start-up snapshots
//
// The <...dir>s are CMake's GNUInstallDirs, relative, fixed at configure
// time. Nothing names an absolute path of the build tree or the cache.
#pragma once

#include <filesystem>
#include <string_view>
#include <vector>

#include "snakecage/status.h"

namespace snakecage {

// The variable that overrides where the installation is found.
inline constexpr std::string_view kPrefixEnvVar = "SNAKECAGE_PREFIX";

// A read-only directory every execution sees whatever its policy says.
struct SystemMount {
  std::filesystem::path host;
  std::string_view guest;
};

class Installation {
 public:
  // Checks that `prefix` holds an installation (its standard library and
  // packages manifest exist); the error names what is missing.
  static StatusOr<Installation> At(const std::filesystem::path& prefix);

  const std::filesystem::path& prefix() const { return prefix_; }
  std::filesystem::path zygote_program() const;
  // The command line with the commands that need cpp-httplib (`serve`,
  // `bench`), which `snakecage` hands them over to (src/cli/commands.h).
  std::filesystem::path http_commands_program() const;
  // Seen by the guest at kGuestStdlibPath (policy.h).
  std::filesystem::path stdlib_dir() const;
  // Start-up snapshots of the guest (engine/startup_snapshot.h), written
  // at build time; named by StartupSnapshotFileName().
  std::filesystem::path startup_snapshot_dir() const;
  // Seen at kGuestDistPackagesPath.
  std::filesystem::path dist_packages_dir() const;
  // Seen at kGuestZoneinfoPath.
  std::filesystem::path zoneinfo_dir() const;
  // packages.json: every third-party package the guest can import
  // (guest/package_manifest.py writes it).
  std::filesystem::path packages_manifest() const;
  // The standard library, dist-packages and the time-zone database, in the
  // order they are preopened.
  std::vector<SystemMount> system_mounts() const;

 private:
  explicit Installation(std::filesystem::path prefix) : prefix_(std::move(prefix)) {}
  std::filesystem::path data_dir() const;
  std::filesystem::path prefix_;
};

// The prefix of the module (executable or shared library) that holds this
// code, from its own location: PREFIX/<bindir>, PREFIX/<libdir> or
// PREFIX/<libexecdir>/snakecage. An error names the module's directory when
// it is none of these.
StatusOr<std::filesystem::path> PrefixOfThisModule();

// This process's installation, located once: $SNAKECAGE_PREFIX when set,
// else PrefixOfThisModule(); unless UseInstallationPrefix() chose it first.
const StatusOr<Installation>& ThisInstallation();

// Chooses this process's installation before anything located it (the
// zygote is given its executor's). An error if it was already located.
Status UseInstallationPrefix(const std::filesystem::path& prefix);

}  // namespace snakecage
