#include "snakecage/packages.h"

#include <fstream>
#include <mutex>
#include <sstream>

#include "engine/installation.h"

namespace snakecage {
namespace {

using Json = nlohmann::json;

GuestPackage PackageFromJson(const Json& j) {
  GuestPackage p;
  p.name = j.at("name").get<std::string>();
  p.version = j.at("version").get<std::string>();
  p.import_names = j.at("import_names").get<std::vector<std::string>>();
  p.source = j.at("source").get<std::string>();
  p.debian_package = j.at("debian_package").get<std::string>();
  p.debian_version = j.at("debian_version").get<std::string>();
  return p;
}

GuestDataSet DataSetFromJson(const Json& j) {
  GuestDataSet d;
  d.name = j.at("name").get<std::string>();
  d.version = j.at("version").get<std::string>();
  d.guest_path = j.at("guest_path").get<std::string>();
  d.source = j.at("source").get<std::string>();
  d.debian_package = j.at("debian_package").get<std::string>();
  d.debian_version = j.at("debian_version").get<std::string>();
  return d;
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
  std::call_once(once, [] { loaded.emplace(ReadManifest(PackagesManifestPath())); });
  return *loaded;
}

nlohmann::ordered_json GuestPackagesToJson(const GuestPackages& packages) {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const GuestPackage& p : packages.packages) {
    list.push_back({{"name", p.name},
                    {"version", p.version},
                    {"import_names", p.import_names},
                    {"source", p.source},
                    {"debian_package", p.debian_package},
                    {"debian_version", p.debian_version}});
  }
  nlohmann::ordered_json data = nlohmann::ordered_json::array();
  for (const GuestDataSet& d : packages.data) {
    data.push_back({{"name", d.name},
                    {"version", d.version},
                    {"guest_path", d.guest_path},
                    {"source", d.source},
                    {"debian_package", d.debian_package},
                    {"debian_version", d.debian_version}});
  }
  return {{"packages", std::move(list)}, {"data", std::move(data)}};
}

}  // namespace snakecage
