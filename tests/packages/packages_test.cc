// The third-party packages in the guest, used as a user's code uses them:
// every program in programs/ (NAME.py) runs in a zygote's confined child and must
// succeed printing exactly NAME.expected (the same programs print the same
// under native python3.11 with Debian's packages, but for certifi.where(),
// guest/patches/python3-certifi). Also: every shipped
// import name imports, and a missing module is reported by name.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/temp_dir.h"
#include "snakecage/execution.h"
#include "snakecage/executor.h"
#include "snakecage/packages.h"

namespace snakecage {
namespace {

namespace fs = std::filesystem;
using snakecage::testing::TempDir;

std::string ReadText(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

Executor& SharedExecutor() {
  static Executor* executor = new Executor();
  return *executor;
}

class PackagesTest : public ::testing::Test {
 protected:
  PackagesTest() : workspace_(dir_.Make("ws")) {}
  ExecutionPolicy Policy() {
    StatusOr<ExecutionPolicy> p =
        ExecutionPolicyBuilder().mount_host_dir(workspace_).timeout_seconds(60).Build();
    EXPECT_TRUE(p.ok()) << p.status().message();
    return *p;
  }
  // Through the executor: a zygote's confined child, as users run.
  ExecutionResult Run(const std::string& code) {
    const ExecutionPolicy policy = Policy();
    EXPECT_TRUE(StageUserCode(code, policy).ok());
    StatusOr<ExecutionResult> r = SharedExecutor().Run(policy);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? std::move(r).value() : ExecutionResult{};
  }
  // The engine alone in this process.
  ExecutionResult RunCold(const std::string& code) {
    StatusOr<ExecutionResult> r = RunPython(code, Policy());
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? std::move(r).value() : ExecutionResult{};
  }
  TempDir dir_;
  fs::path workspace_;
};

class PackageProgramTest : public PackagesTest,
                           public ::testing::WithParamInterface<std::string> {};

TEST_P(PackageProgramTest, PrintsExactlyWhatItShould) {
  const fs::path program = fs::path(SNAKECAGE_PACKAGES_PROGRAMS_DIR) / (GetParam() + ".py");
  const std::string expected = ReadText(program.parent_path() / (GetParam() + ".expected"));
  ASSERT_FALSE(expected.empty()) << GetParam() << ".expected is missing";
  ExecutionResult r = Run(ReadText(program));
  EXPECT_TRUE(r.success()) << r.stderr_text;
  EXPECT_EQ(r.stdout_text, expected);
  EXPECT_EQ(r.stderr_text, "");
}

std::vector<std::string> Programs() {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(SNAKECAGE_PACKAGES_PROGRAMS_DIR)) {
    if (e.path().extension() == ".py") out.push_back(e.path().stem().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

INSTANTIATE_TEST_SUITE_P(Programs, PackageProgramTest, ::testing::ValuesIn(Programs()),
                         [](const auto& info) { return info.param; });

TEST_F(PackagesTest, TheManifestListsTheLockedPackages) {
  StatusOr<GuestPackages> shipped = LoadGuestPackages();
  ASSERT_TRUE(shipped.ok()) << shipped.status().message();
  std::vector<std::string> names;
  for (const GuestPackage& p : shipped->packages) {
    names.push_back(p.name);
    EXPECT_EQ(p.origin.source, "debian") << p.name;
    EXPECT_EQ(p.origin.debian_package.rfind("python3-", 0), 0u) << p.name;
    EXPECT_FALSE(p.import_names.empty()) << p.name;
  }
  for (const char* expected : {"openpyxl", "XlsxWriter", "PyPDF2", "pdfminer.six", "odfpy",
                               "tabulate", "Jinja2", "MarkupSafe", "Markdown", "python-dateutil",
                               "six", "attrs", "idna", "charset-normalizer", "certifi",
                               "urllib3", "pytz", "PyYAML", "packaging", "typing_extensions",
                               "chardet", "beautifulsoup4", "soupsieve", "defusedxml",
                               "et-xmlfile"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), expected), names.end()) << expected;
  }
  ASSERT_EQ(shipped->data.size(), 1u);
  EXPECT_EQ(shipped->data[0].name, "tzdata");
  EXPECT_EQ(shipped->data[0].guest_path, std::string(kGuestZoneinfoPath));
}

// Nothing shipped is half-importable: every import name the manifest lists
// imports, from dist-packages (a dropped C extension must have left a
// pure-Python path that works).
TEST_F(PackagesTest, EveryShippedImportNameImportsFromDistPackages) {
  StatusOr<GuestPackages> shipped = LoadGuestPackages();
  ASSERT_TRUE(shipped.ok()) << shipped.status().message();
  std::string code = "import importlib\n";
  std::string expected;
  for (const GuestPackage& p : shipped->packages) {
    for (const std::string& name : p.import_names) {
      code += "m = importlib.import_module('" + name + "')\n"
              "print('" + name + "', m.__file__.startswith('" +
              std::string(kGuestDistPackagesPath) + "/'))\n";
      expected += name + " True\n";
    }
  }
  ExecutionResult r = Run(code);
  EXPECT_TRUE(r.success()) << r.stderr_text;
  EXPECT_EQ(r.stdout_text, expected);
}

TEST_F(PackagesTest, AnUncaughtModuleNotFoundErrorNamesTheModule) {
  for (bool cold : {true, false}) {
    SCOPED_TRACE(cold ? "cold" : "zygote");
    ExecutionResult r = cold ? RunCold("import sklearn.linear_model\n")
                             : Run("import sklearn.linear_model\n");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_FALSE(r.trapped);
    ASSERT_TRUE(r.missing_module.has_value());
    EXPECT_EQ(*r.missing_module, "sklearn");
    EXPECT_NE(r.stderr_text.find("ModuleNotFoundError: No module named 'sklearn'"),
              std::string::npos)
        << r.stderr_text;
  }
  // A submodule of a shipped package whose C extension was dropped.
  ExecutionResult c_ext = Run("import yaml._yaml\n");
  ASSERT_TRUE(c_ext.missing_module.has_value());
  EXPECT_EQ(*c_ext.missing_module, "yaml._yaml");
}

TEST_F(PackagesTest, OnlyAnUncaughtModuleNotFoundErrorWithANameIsReported) {
  ExecutionResult caught =
      Run("try:\n    import sklearn\nexcept ModuleNotFoundError:\n    print('fallback')\n");
  EXPECT_TRUE(caught.success());
  EXPECT_FALSE(caught.missing_module.has_value());
  ExecutionResult unnamed = Run("raise ModuleNotFoundError('made up')\n");
  EXPECT_EQ(unnamed.exit_code, 1);
  EXPECT_FALSE(unnamed.missing_module.has_value());
  ExecutionResult other = Run("raise ValueError('no')\n");
  EXPECT_EQ(other.exit_code, 1);
  EXPECT_FALSE(other.missing_module.has_value());
  ExecutionResult exited = Run("import sys\ntry:\n    import sklearn\nexcept ImportError:\n"
                               "    sys.exit(3)\n");
  EXPECT_EQ(exited.exit_code, 3);
  EXPECT_FALSE(exited.missing_module.has_value());
}

}  // namespace
}  // namespace snakecage
