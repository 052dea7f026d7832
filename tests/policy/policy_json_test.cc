// PolicyToJson / PolicyFromJson: the form a policy takes in telemetry and
// in the executor's requests to its zygotes. Both are derived from the
// field table (src/policy/policy_fields.h): every field, in order, and back.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "policy_test_util.h"
#include "snakecage/policy.h"

namespace snakecage {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;
using policy_testing::TempDir;

// The documented key order (policy.h, PolicyToJson).
const std::vector<std::string> kKeys = {
    "fuel_budget",    "memory_bytes",    "stdout_max_bytes", "stderr_max_bytes",
    "workspace_max_bytes", "mount_host_dir", "guest_mount_path", "mount_data_dir",  "guest_data_path",
    "argv",           "env",              "timeout_seconds", "preserve_logs",
    "keep_state",     "additional_readonly_mounts"};

class PolicyJsonTest : public ::testing::Test {
 protected:
  // A policy with every field away from its default.
  ExecutionPolicy Unusual() {
    fs::create_directories(dir_.path() / "data");
    fs::create_directories(dir_.path() / "refs");
    StatusOr<ExecutionPolicy> p = ExecutionPolicyBuilder()
                                      .fuel_budget(123)
                                      .memory_bytes(1 << 20)
                                      .stdout_max_bytes(7)
                                      .stderr_max_bytes(8)
                                      .workspace_max_bytes(9)
                                      .mount_host_dir(dir_.path() / "ws")
                                      .guest_mount_path("/work")
                                      .mount_data_dir(dir_.path() / "data")
                                      .guest_data_path("/in")
                                      .argv({"python", "-X", "dev", "/work/main.py"})
                                      .env({{"Z", "1"}, {"A", "2"}})
                                      .timeout_seconds(2.5)
                                      .preserve_logs(true)
                                      .keep_state(true)
                                      .add_readonly_mount({dir_.path() / "refs", "/refs"})
                                      .Build();
    EXPECT_TRUE(p.ok()) << p.status().message();
    return p.ok() ? *p : ExecutionPolicy();
  }
  TempDir dir_;
};

TEST_F(PolicyJsonTest, EveryFieldInTheDocumentedOrder) {
  Json j = PolicyToJson(Unusual());
  std::vector<std::string> keys;
  for (const auto& [k, v] : j.items()) keys.push_back(k);
  EXPECT_EQ(keys, kKeys);
  EXPECT_EQ(j["fuel_budget"], 123u);
  EXPECT_EQ(j["mount_data_dir"], (dir_.path() / "data").string());
  EXPECT_EQ(j["env"].dump(), R"({"Z":"1","A":"2"})");
  EXPECT_EQ(j["timeout_seconds"], 2.5);
  EXPECT_EQ(j["additional_readonly_mounts"].dump(),
            Json::array({Json::array({(dir_.path() / "refs").string(), "/refs"})}).dump());
}

TEST_F(PolicyJsonTest, AbsentValuesAreNull) {
  Json j = PolicyToJson(ExecutionPolicy());
  EXPECT_TRUE(j["mount_data_dir"].is_null());
  EXPECT_TRUE(j["guest_data_path"].is_null());
  EXPECT_TRUE(j["timeout_seconds"].is_null());
}

TEST_F(PolicyJsonTest, RoundTripGivesTheSamePolicy) {
  for (const ExecutionPolicy& p : {ExecutionPolicy(), Unusual()}) {
    StatusOr<ExecutionPolicy> back = PolicyFromJson(PolicyToJson(p));
    ASSERT_TRUE(back.ok()) << back.status().message();
    EXPECT_EQ(*back, p);
  }
}

TEST_F(PolicyJsonTest, EachMissingKeyIsNamed) {
  const Json full = PolicyToJson(Unusual());
  for (const std::string& key : kKeys) {
    Json j = full;
    j.erase(key);
    StatusOr<ExecutionPolicy> p = PolicyFromJson(j);
    ASSERT_FALSE(p.ok()) << key;
    EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(p.status().message(), key + ": missing");
  }
}

TEST_F(PolicyJsonTest, EachMistypedValueIsNamedWithWhatItMustBe) {
  const Json full = PolicyToJson(Unusual());
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"fuel_budget", "fuel_budget: must be an unsigned integer"},
      {"memory_bytes", "memory_bytes: must be an unsigned integer"},
      {"stdout_max_bytes", "stdout_max_bytes: must be an unsigned integer"},
      {"stderr_max_bytes", "stderr_max_bytes: must be an unsigned integer"},
      {"workspace_max_bytes", "workspace_max_bytes: must be an unsigned integer"},
      {"mount_host_dir", "mount_host_dir: must be a string"},
      {"guest_mount_path", "guest_mount_path: must be a string"},
      {"mount_data_dir", "mount_data_dir: must be a string or null"},
      {"guest_data_path", "guest_data_path: must be a string or null"},
      {"argv", "argv: must be an array of strings"},
      {"env", "env: must be an object of strings"},
      {"timeout_seconds", "timeout_seconds: must be a number or null"},
      {"preserve_logs", "preserve_logs: must be a boolean"},
      {"keep_state", "keep_state: must be a boolean"},
      {"additional_readonly_mounts", "additional_readonly_mounts: must be an array"}};
  ASSERT_EQ(expected.size(), kKeys.size());
  for (const auto& [key, message] : expected) {
    Json j = full;
    // A boolean is no other kind; the flags, which are, get a string.
    j[key] = key == "preserve_logs" || key == "keep_state" ? Json("yes") : Json(true);
    StatusOr<ExecutionPolicy> p = PolicyFromJson(j);
    ASSERT_FALSE(p.ok()) << key;
    EXPECT_EQ(p.status().message(), message);
  }
  Json j = full;
  j["env"]["Z"] = 1;
  EXPECT_EQ(PolicyFromJson(j).status().message(), "env.Z: must be a string");
  j = full;
  j["additional_readonly_mounts"] = Json::array({Json::array({"/only-host"})});
  EXPECT_EQ(PolicyFromJson(j).status().message(),
            "additional_readonly_mounts: each must be [host, guest]");
  j = full;
  j["argv"] = Json::array({"python", 3});
  EXPECT_EQ(PolicyFromJson(j).status().message(), "argv: must be an array of strings");
}

TEST_F(PolicyJsonTest, TheRebuiltPolicyIsValidatedAgain) {
  Json j = PolicyToJson(Unusual());
  j["fuel_budget"] = 0;
  StatusOr<ExecutionPolicy> p = PolicyFromJson(j);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().message().rfind("fuel_budget:", 0), 0u) << p.status().message();
}

}  // namespace
}  // namespace snakecage
