// CheckExecutionPolicy(): every violation is refused, naming field and value.
#include <gtest/gtest.h>

#include "snakecage/execution.h"
#include "test_workspace.h"

namespace snakecage {
namespace {

using snakecage::testing::TempDir;

class PolicyTest : public ::testing::Test {
 protected:
  PolicyTest() { policy_.workspace_dir = dir_.Make("ws"); }
  void ExpectRefused(const std::string& field, const std::string& value) {
    Status s = CheckExecutionPolicy(policy_);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(s.message().rfind(field + ":", 0), 0u) << s.message();
    EXPECT_NE(s.message().find(value), std::string::npos) << s.message();
  }
  TempDir dir_;
  ExecutionPolicy policy_;
};

TEST_F(PolicyTest, DefaultsAreValid) {
  EXPECT_TRUE(CheckExecutionPolicy(policy_).ok());
  EXPECT_EQ(policy_.fuel_budget, 5'000'000'000u);
  EXPECT_EQ(policy_.memory_bytes, 128'000'000u);
  EXPECT_EQ(policy_.stdout_max_bytes, 2'000'000u);
  EXPECT_EQ(policy_.stderr_max_bytes, 1'000'000u);
  EXPECT_EQ(policy_.guest_mount_path, "/app");
  EXPECT_EQ(ExecutionPolicy::DefaultArgv("/app"),
            (std::vector<std::string>{"python", "/app/user_code.py"}));
  EXPECT_EQ(policy_.env.size(), 4u);
}

TEST_F(PolicyTest, ZeroFuelRefused) {
  policy_.fuel_budget = 0;
  ExpectRefused("fuel_budget", "got 0");
}

TEST_F(PolicyTest, FuelAboveInt64Refused) {
  policy_.fuel_budget = (1ull << 63);
  ExpectRefused("fuel_budget", "9223372036854775808");
}

TEST_F(PolicyTest, MemoryBelowOnePageRefused) {
  policy_.memory_bytes = 1000;
  ExpectRefused("memory_bytes", "got 1000");
}

TEST_F(PolicyTest, ZeroOutputCapsRefused) {
  policy_.stdout_max_bytes = 0;
  ExpectRefused("stdout_max_bytes", "got 0");
  policy_.stdout_max_bytes = 1;
  policy_.stderr_max_bytes = 0;
  ExpectRefused("stderr_max_bytes", "got 0");
}

TEST_F(PolicyTest, NegativeOrNanTimeoutRefused) {
  policy_.timeout_seconds = -1;
  ExpectRefused("timeout_seconds", "-1");
  policy_.timeout_seconds = std::numeric_limits<double>::quiet_NaN();
  ExpectRefused("timeout_seconds", "nan");
  policy_.timeout_seconds = 0;
  EXPECT_TRUE(CheckExecutionPolicy(policy_).ok());
}

TEST_F(PolicyTest, GuestPathsMustBeAbsoluteAndNormalised) {
  for (const char* bad : {"app", "/app/", "/app/../etc", "/a//b", "/a/./b", ""}) {
    policy_.guest_mount_path = bad;
    ExpectRefused("guest_mount_path", std::string("\"") + bad + "\"");
  }
}

TEST_F(PolicyTest, GuestPathsMustBeDistinct) {
  policy_.mount_data_dir = dir_.Make("data");
  policy_.guest_data_path = "/app";
  ExpectRefused("guest_data_path", "\"/app\"");
}

TEST_F(PolicyTest, GuestPathInsideTheStandardLibraryRefused) {
  policy_.additional_readonly_mounts.push_back(
      {dir_.Make("m"), "/usr/local/lib/python3.11/json"});
  ExpectRefused("additional_readonly_mounts[0].guest", "/usr/local/lib/python3.11/json");
}

TEST_F(PolicyTest, MissingHostDirectoriesRefused) {
  policy_.workspace_dir = dir_.path() / "absent";
  ExpectRefused("workspace_dir", "absent");
  policy_.workspace_dir = dir_.Make("ws");
  policy_.mount_data_dir = dir_.path() / "nodata";
  ExpectRefused("mount_data_dir", "nodata");
  policy_.mount_data_dir.reset();
  policy_.additional_readonly_mounts.push_back({dir_.path() / "nomount", "/ref"});
  ExpectRefused("additional_readonly_mounts[0].host", "nomount");
}

TEST_F(PolicyTest, DataPathWithoutDataDirRefused) {
  policy_.guest_data_path = "/input";
  ExpectRefused("guest_data_path", "/input");
}

TEST_F(PolicyTest, BadEnvironmentRefused) {
  policy_.env = {{"A=B", "x"}};
  ExpectRefused("env", "A=B");
  policy_.env = {{"", "x"}};
  ExpectRefused("env", "\"\"");
  policy_.env = {{"K", std::string("a\0b", 3)}};
  ExpectRefused("env", "K");
}

TEST_F(PolicyTest, NulInArgvRefused) {
  policy_.argv = {"python", std::string("/app/x\0y", 8)};
  ExpectRefused("argv", "NUL");
}

TEST_F(PolicyTest, RunPythonRefusesAnInvalidPolicyBeforeTouchingTheWorkspace) {
  policy_.memory_bytes = 0;
  StatusOr<ExecutionResult> r = RunPython("print(1)", policy_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(policy_.workspace_dir / "user_code.py"));
}

}  // namespace
}  // namespace snakecage
