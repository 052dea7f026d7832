#include "snakecage/packages.h"

#include <fstream>
#include <mutex>
#include <sstream>

#include "engine/installation.h"

namespace snakecage {
namespace {

using Json = nlohmann::json;

PackageOrigin OriginFromJson(const Json& j) {
  return {j.at("source").get<std::string>(), j.at("debian_package").get<std::string>(),
          j.at("debian_version").get<std::string>()};
}

void AddOrigin(const PackageOrigin& o, nlohmann::ordered_json& j) {
  j["source"] = o.source;
  j["debian_package"] = o.debian_package;
  j["debian_version"] = o.debian_version;
}

GuestPackage PackageFromJson(const Json& j) {
  return {j.at("name").get<std::string>(), j.at("version").get<std::string>(),
          j.at("import_names").get<std::vector<std::string>>(), OriginFromJson(j)};
}

GuestDataSet DataSetFromJson(const Json& j) {
  return {j.at("name").get<std::string>(), j.at("version").get<std::string>(),
          j.at("guest_path").get<std::string>(), OriginFromJson(j)};
}

StatusOr<GuestPackages> ReadManifest(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Internal("cannot read " + path.string() + " (a broken installation)");
  std::stringstream text;
  text << in.rdbuf();
  const Json j = Json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return Internal(path.string() + ": not a JSON object");
  try {
    GuestPackages out;
    for (const Json& p : j.at("packages")) out.packages.push_back(PackageFromJson(p));
    for (const Json& d : j.at("data")) out.data.push_back(DataSetFromJson(d));
    return out;
  } catch (const Json::exception& e) {
    return Internal(path.string() + ": malformed: " + e.what());
  }
}

}  // namespace

StatusOr<GuestPackages> LoadGuestPackages() {
  // Written once at build time and never changed under a running process.
  static std::once_flag once;
  static std::optional<StatusOr<GuestPackages>> loaded;
  std::call_once(once, [] {
    const StatusOr<Installation>& installation = ThisInstallation();
    loaded.emplace(installation.ok() ? ReadManifest(installation->packages_manifest())
                                     : StatusOr<GuestPackages>(installation.status()));
  });
  return *loaded;
}

nlohmann::ordered_json GuestPackagesToJson(const GuestPackages& packages) {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const GuestPackage& p : packages.packages) {
    nlohmann::ordered_json j = {
        {"name", p.name}, {"version", p.version}, {"import_names", p.import_names}};
    AddOrigin(p.origin, j);
    list.push_back(std::move(j));
  }
  nlohmann::ordered_json data = nlohmann::ordered_json::array();
  for (const GuestDataSet& d : packages.data) {
    nlohmann::ordered_json j = {
        {"name", d.name}, {"version", d.version}, {"guest_path", d.guest_path}};
    AddOrigin(d.origin, j);
    data.push_back(std::move(j));
  }
  return {{"packages", std::move(list)}, {"data", std::move(data)}};
}

}  // namespace snakecage
