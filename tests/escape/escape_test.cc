// Runs every hostile program in this directory (see README.md) and checks the
// exact outcome its `# expect:` line states, plus the fixture's invariants:
// the read-only mount is unchanged on the host after every program.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>

#include "snakecage/execution.h"
#include "snakecage/executor.h"

namespace snakecage {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const char kSecret[] = "host secret: must never change\n";

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::set<std::string> ListTree(const fs::path& root) {
  std::set<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    out.insert(fs::relative(e.path(), root).string());
  }
  return out;
}

json HeaderJson(const std::string& source, const std::string& tag) {
  std::istringstream in(source);
  std::string line;
  const std::string prefix = "# " + tag + ": ";
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) == 0) return json::parse(line.substr(prefix.size()));
    if (line.rfind("#", 0) != 0) break;  // headers end at the first code line
  }
  return json();
}

// Every program runs in every mode, with the same verdict: the engine alone
// in this process (cold), a zygote's confined child, and a zygote's child
// without Landlock (WASI and seccomp must hold on their own).
enum class Mode { kCold, kZygote, kZygoteWithoutLandlock };

void PrintTo(Mode mode, std::ostream* os) {
  switch (mode) {
    case Mode::kCold:
      *os << "cold";
      return;
    case Mode::kZygote:
      *os << "zygote";
      return;
    case Mode::kZygoteWithoutLandlock:
      *os << "zygote without Landlock";
      return;
  }
}

Executor& ExecutorFor(Mode mode) {
  static Executor* with = new Executor();
  static Executor* without = [] {
    ExecutorOptions o;
    o.zygote_program = SNAKECAGE_WITHOUT_LANDLOCK_ZYGOTE;
    return new Executor(o);
  }();
  return mode == Mode::kZygote ? *with : *without;
}

class EscapeTest : public ::testing::TestWithParam<std::tuple<std::string, Mode>> {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/snakecage-escape-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    workspace_ = root_ / "workspace";
    data_ = root_ / "data";
    fs::create_directories(workspace_);
    fs::create_directories(data_ / "subdir");
    std::ofstream(data_ / "secret.txt") << kSecret;
    std::ofstream(workspace_ / "inside.txt") << "inside\n";
    fs::create_symlink("/etc/passwd", workspace_ / "link_to_passwd");
    fs::create_symlink("..", workspace_ / "link_to_parent");
    fs::create_symlink("/", workspace_ / "link_to_root");
    // Outside every grant, beside the workspace.
    std::ofstream(root_ / "outside.txt") << "outside\n";
  }
  void TearDown() override {
    std::error_code ec;
    fs::permissions(data_, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(root_, ec);
  }

  fs::path root_, workspace_, data_;
};

TEST_P(EscapeTest, OutcomeIsExactlyAsExpected) {
  const auto& [name, mode] = GetParam();
  const fs::path program = fs::path(SNAKECAGE_ESCAPE_DIR) / name;
  const std::string source = ReadFile(program);
  const json expect = HeaderJson(source, "expect");
  ASSERT_TRUE(expect.is_object()) << program << " has no '# expect: {...}' line";

  ExecutionPolicyBuilder builder;
  builder.mount_host_dir(workspace_).mount_data_dir(data_).timeout_seconds(
      20);  // a hung test fails instead of hanging CI
  const json p = HeaderJson(source, "policy");
  if (p.is_object()) {
    if (p.contains("memory_bytes")) builder.memory_bytes(p["memory_bytes"]);
    if (p.contains("fuel_budget")) builder.fuel_budget(p["fuel_budget"]);
    if (p.contains("stdout_max_bytes")) builder.stdout_max_bytes(p["stdout_max_bytes"]);
    if (p.contains("stderr_max_bytes")) builder.stderr_max_bytes(p["stderr_max_bytes"]);
    if (p.contains("timeout_seconds")) builder.timeout_seconds(p["timeout_seconds"].get<double>());
    if (p.contains("workspace_max_bytes")) builder.workspace_max_bytes(p["workspace_max_bytes"]);
    for (const auto& [key, value] : p.items()) {
      const std::set<std::string> known = {"memory_bytes",     "fuel_budget",
                                           "stdout_max_bytes", "stderr_max_bytes",
                                           "timeout_seconds",  "workspace_max_bytes"};
      if (!known.count(key)) ADD_FAILURE() << "unknown policy key " << key;
    }
  }
  const std::set<std::string> data_before = ListTree(data_);

  StatusOr<ExecutionPolicy> policy = builder.Build();
  ASSERT_TRUE(policy.ok()) << policy.status().message();
  StatusOr<ExecutionResult> got = Internal("not run");
  if (mode == Mode::kCold) {
    got = RunPython(source, *policy);
  } else {
    ASSERT_TRUE(StageUserCode(source, *policy).ok());
    got = ExecutorFor(mode).Run(*policy);
  }
  ASSERT_TRUE(got.ok()) << got.status().message();
  const ExecutionResult& r = *got;
  const std::string context = "stdout:\n" + r.stdout_text + "\nstderr:\n" + r.stderr_text;

  for (const auto& [key, want] : expect.items()) {
    if (key == "exit_code") {
      EXPECT_EQ(r.exit_code, want.get<int>()) << context;
    } else if (key == "success") {
      EXPECT_EQ(r.success(), want.get<bool>()) << context;
    } else if (key == "trap_reason") {
      std::string have = r.trap_reason ? std::string(TrapReasonWireName(*r.trap_reason)) : "null";
      EXPECT_EQ(have, want.is_null() ? "null" : want.get<std::string>()) << context;
    } else if (key == "stdout") {
      EXPECT_EQ(r.stdout_text, want.get<std::string>()) << context;
    } else if (key == "stderr") {
      EXPECT_EQ(r.stderr_text, want.get<std::string>()) << context;
    } else if (key == "stdout_prefix") {
      EXPECT_EQ(r.stdout_text.substr(0, want.get<std::string>().size()), want.get<std::string>())
          << context;
    } else if (key == "stderr_contains") {
      for (const auto& s : want) {
        EXPECT_NE(r.stderr_text.find(s.get<std::string>()), std::string::npos)
            << "missing " << s << "\n" << context;
      }
    } else if (key == "stdout_truncated") {
      EXPECT_EQ(r.stdout_truncated, want.get<bool>());
    } else if (key == "stderr_truncated") {
      EXPECT_EQ(r.stderr_truncated, want.get<bool>());
    } else if (key == "stdout_bytes") {
      EXPECT_EQ(r.stdout_bytes, want.get<uint64_t>());
    } else if (key == "stderr_bytes") {
      EXPECT_EQ(r.stderr_bytes, want.get<uint64_t>());
    } else if (key == "stdout_text_bytes") {
      EXPECT_EQ(r.stdout_text.size(), want.get<uint64_t>());
    } else if (key == "memory_peak_bytes_max") {
      EXPECT_LE(r.memory_peak_bytes, want.get<uint64_t>());
    } else if (key == "fuel_consumed") {
      EXPECT_EQ(r.fuel_consumed, want.get<uint64_t>());
    } else if (key == "path_denials_total") {
      EXPECT_EQ(r.path_denials_total, want.get<uint64_t>()) << context;
    } else if (key == "workspace_writes_refused") {
      EXPECT_EQ(r.workspace_writes_refused, want.get<uint64_t>()) << context;
    } else if (key == "duration_ms_max") {
      EXPECT_LE(r.duration_ms, want.get<double>());
    } else {
      ADD_FAILURE() << "unknown expectation key " << key;
    }
  }

  // Fixture invariants: the read-only mount is untouched on the host.
  EXPECT_EQ(ReadFile(data_ / "secret.txt"), kSecret);
  EXPECT_EQ(ListTree(data_), data_before);
  EXPECT_EQ(ReadFile(root_ / "outside.txt"), "outside\n");
}

std::vector<std::string> Programs() {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(SNAKECAGE_ESCAPE_DIR)) {
    if (e.path().extension() == ".py") out.push_back(e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

INSTANTIATE_TEST_SUITE_P(
    Programs, EscapeTest,
    ::testing::Combine(::testing::ValuesIn(Programs()),
                       ::testing::Values(Mode::kCold, Mode::kZygote,
                                         Mode::kZygoteWithoutLandlock)),
    [](const auto& info) {
      const std::string& file = std::get<0>(info.param);
      const Mode mode = std::get<1>(info.param);
      std::string name = file.substr(0, file.size() - 3);
      std::replace_if(name.begin(), name.end(), [](char c) { return !std::isalnum(c); }, '_');
      switch (mode) {
        case Mode::kCold:
          return name + "_cold";
        case Mode::kZygote:
          return name + "_zygote";
        case Mode::kZygoteWithoutLandlock:
          return name + "_zygote_without_landlock";
      }
      return name;
    });

}  // namespace
}  // namespace snakecage
