#include "engine/installation.h"

#include <dlfcn.h>
#include <link.h>

#include <cstdlib>
#include <mutex>
#include <optional>
#include <system_error>

#include "snakecage/policy.h"

#if !defined(SNAKECAGE_INSTALL_BINDIR) || !defined(SNAKECAGE_INSTALL_LIBDIR) || \
    !defined(SNAKECAGE_INSTALL_LIBEXECDIR) || !defined(SNAKECAGE_INSTALL_DATADIR)
#error "the build defines SNAKECAGE_INSTALL_{BINDIR,LIBDIR,LIBEXECDIR,DATADIR} (GNUInstallDirs)"
#endif

namespace snakecage {

namespace fs = std::filesystem;

namespace {

// The directories, relative to the prefix, a module of snakecage lives in.
constexpr std::string_view kModuleDirs[] = {
    SNAKECAGE_INSTALL_BINDIR, SNAKECAGE_INSTALL_LIBDIR, SNAKECAGE_INSTALL_LIBEXECDIR "/snakecage"};

// The file of the module holding this function: the main program's own
// link-map entry has no name, so it is read from /proc/self/exe.
StatusOr<fs::path> ThisModuleFile() {
  Dl_info info{};
  link_map* map = nullptr;
  if (dladdr1(reinterpret_cast<void*>(&ThisModuleFile), &info, reinterpret_cast<void**>(&map),
              RTLD_DL_LINKMAP) == 0 ||
      map == nullptr) {
    return Internal("snakecage cannot tell which file holds its own code (dladdr failed)");
  }
  fs::path file = (map->l_name != nullptr && map->l_name[0] != '\0') ? fs::path(map->l_name)
                                                                      : fs::path("/proc/self/exe");
  std::error_code ec;
  fs::path real = fs::canonical(file, ec);
  if (ec) return Internal("snakecage cannot resolve its own file " + file.string() + ": " +
                          ec.message());
  return real;
}

// `dir` without its trailing `suffix` components, if it ends with them.
std::optional<fs::path> StripSuffix(const fs::path& dir, const fs::path& suffix) {
  std::vector<fs::path> parts(dir.begin(), dir.end());
  std::vector<fs::path> tail(suffix.begin(), suffix.end());
  if (tail.empty() || tail.size() >= parts.size()) return std::nullopt;
  if (!std::equal(tail.begin(), tail.end(), parts.end() - static_cast<long>(tail.size()))) {
    return std::nullopt;
  }
  fs::path out;
  for (auto it = parts.begin(); it != parts.end() - static_cast<long>(tail.size()); ++it) {
    out /= *it;
  }
  return out;
}

std::mutex located_mu;
std::optional<StatusOr<Installation>> located;

StatusOr<Installation> Locate() {
  const char* env = std::getenv(std::string(kPrefixEnvVar).c_str());
  if (env != nullptr && env[0] != '\0') {
    StatusOr<Installation> in = Installation::At(env);
    if (!in.ok()) {
      return Status(in.status().code(),
                    in.status().message() + " (from $" + std::string(kPrefixEnvVar) + ")");
    }
    return in;
  }
  StatusOr<fs::path> prefix = PrefixOfThisModule();
  if (!prefix.ok()) return prefix.status();
  StatusOr<Installation> in = Installation::At(*prefix);
  if (!in.ok()) {
    return Status(in.status().code(), in.status().message() + " (set $" +
                                          std::string(kPrefixEnvVar) +
                                          " to the prefix snakecage is installed in)");
  }
  return in;
}

}  // namespace

StatusOr<Installation> Installation::At(const fs::path& prefix) {
  if (!prefix.is_absolute()) {
    return InvalidArgument("snakecage installation prefix " + prefix.string() +
                           " is not an absolute path");
  }
  Installation in(prefix.lexically_normal());
  for (const fs::path& needed : {in.stdlib_dir() / "os.py", in.packages_manifest()}) {
    std::error_code ec;
    if (!fs::is_regular_file(needed, ec)) {
      return NotFound("snakecage installation at " + in.prefix_.string() + " is incomplete: " +
                      needed.string() + " is missing");
    }
  }
  return in;
}

fs::path Installation::data_dir() const {
  return prefix_ / SNAKECAGE_INSTALL_DATADIR / "snakecage";
}

fs::path Installation::zygote_program() const {
  return prefix_ / SNAKECAGE_INSTALL_LIBEXECDIR / "snakecage" / "snakecage-zygote";
}

fs::path Installation::http_commands_program() const {
  return prefix_ / SNAKECAGE_INSTALL_LIBEXECDIR / "snakecage" / "snakecage-http";
}

fs::path Installation::stdlib_dir() const { return data_dir() / "lib" / "python3.11"; }

fs::path Installation::startup_snapshot_dir() const { return data_dir() / "snapshots"; }

fs::path Installation::dist_packages_dir() const {
  return data_dir() / "packages" / "dist-packages";
}

fs::path Installation::zoneinfo_dir() const { return data_dir() / "packages" / "zoneinfo"; }

fs::path Installation::packages_manifest() const {
  return data_dir() / "packages" / "packages.json";
}

std::vector<SystemMount> Installation::system_mounts() const {
  return {{stdlib_dir(), kGuestStdlibPath},
          {dist_packages_dir(), kGuestDistPackagesPath},
          {zoneinfo_dir(), kGuestZoneinfoPath}};
}

StatusOr<fs::path> PrefixOfThisModule() {
  StatusOr<fs::path> file = ThisModuleFile();
  if (!file.ok()) return file.status();
  const fs::path dir = file->parent_path();
  for (std::string_view module_dir : kModuleDirs) {
    if (std::optional<fs::path> prefix = StripSuffix(dir, module_dir)) return *prefix;
  }
  std::string expected;
  for (std::string_view module_dir : kModuleDirs) {
    expected += (expected.empty() ? "PREFIX/" : ", PREFIX/") + std::string(module_dir);
  }
  return NotFound("snakecage cannot find its installation: " + file->string() +
                  " is not in " + expected + " (set $" + std::string(kPrefixEnvVar) +
                  " to the prefix snakecage is installed in)");
}

const StatusOr<Installation>& ThisInstallation() {
  std::lock_guard<std::mutex> lock(located_mu);
  if (!located) located.emplace(Locate());
  return *located;
}

Status UseInstallationPrefix(const fs::path& prefix) {
  std::lock_guard<std::mutex> lock(located_mu);
  if (located) return Internal("snakecage's installation was located before it was chosen");
  located.emplace(Installation::At(prefix));
  return located->status();
}

}  // namespace snakecage
