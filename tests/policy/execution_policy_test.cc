// ExecutionPolicy defaults and ExecutionPolicyBuilder: every validation rule
// is refused naming its field and value, Build() fills in what it promises,
// and a builder started from a policy never changes that policy.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "policy_test_util.h"
#include "snakecage/policy.h"

namespace snakecage {
namespace {

namespace fs = std::filesystem;
using policy_testing::ScopedCwd;
using policy_testing::TempDir;

const std::vector<std::string> kDefaultArgv = {"python", "/app/user_code.py"};
const EnvironmentVariables kDefaultEnv = {{"PYTHONUTF8", "1"},
                                          {"LC_ALL", "C.UTF-8"},
                                          {"PYTHONIOENCODING", "utf-8"},
                                          {"PYTHONHASHSEED", "0"},
                                          {"TMPDIR", "/app"}};

// Validate() names `field` and `value` with `reason`; Build() refuses with
// InvalidArgument and exactly "<field>: <reason> (got <value>)".
void ExpectRefused(const ExecutionPolicyBuilder& b, const std::string& field,
                   const std::string& value, const std::string& reason) {
  std::optional<PolicyValidationError> e = b.Validate();
  ASSERT_TRUE(e.has_value()) << "expected " << field << " to be refused";
  EXPECT_EQ(e->field, field);
  EXPECT_EQ(e->value, value);
  EXPECT_EQ(e->reason, reason);
  StatusOr<ExecutionPolicy> p = b.Build();
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(p.status().message(), field + ": " + reason + " (got " + value + ")");
}

ExecutionPolicy BuildOrDie(const ExecutionPolicyBuilder& b) {
  StatusOr<ExecutionPolicy> p = b.Build();
  EXPECT_TRUE(p.ok()) << p.status().message();
  if (!p.ok()) return ExecutionPolicy();
  return *p;
}

class ExecutionPolicyTest : public ::testing::Test {
 protected:
  TempDir dir_;
};

TEST_F(ExecutionPolicyTest, DefaultsAreExactlyWhatTheHeaderSays) {
  const ExecutionPolicy p;
  EXPECT_EQ(p.fuel_budget(), 5'000'000'000u);
  EXPECT_EQ(p.memory_bytes(), 128'000'000u);
  EXPECT_EQ(p.stdout_max_bytes(), 2'000'000u);
  EXPECT_EQ(p.stderr_max_bytes(), 1'000'000u);
  EXPECT_EQ(p.workspace_max_bytes(), 1'000'000'000u);
  EXPECT_EQ(p.mount_host_dir(), fs::current_path() / "workspace");
  EXPECT_TRUE(p.mount_host_dir().is_absolute());
  EXPECT_EQ(p.guest_mount_path(), "/app");
  EXPECT_EQ(p.mount_data_dir(), std::nullopt);
  EXPECT_EQ(p.guest_data_path(), std::nullopt);
  EXPECT_TRUE(p.additional_readonly_mounts().empty());
  EXPECT_EQ(p.argv(), kDefaultArgv);
  EXPECT_EQ(p.env(), kDefaultEnv);
  EXPECT_EQ(p.timeout_seconds(), std::nullopt);
  EXPECT_FALSE(p.preserve_logs());
}

TEST_F(ExecutionPolicyTest, DefaultArgvAndEnvHelpers) {
  EXPECT_EQ(ExecutionPolicy::DefaultArgv("/app"), kDefaultArgv);
  EXPECT_EQ(ExecutionPolicy::DefaultArgv("/work/x"),
            (std::vector<std::string>{"python", "/work/x/user_code.py"}));
  EXPECT_EQ(ExecutionPolicy::DefaultArgv("/"),
            (std::vector<std::string>{"python", "/user_code.py"}));
  EXPECT_EQ(ExecutionPolicy::DefaultEnv(), kDefaultEnv);
  EXPECT_EQ(ExecutionPolicy::DefaultEnv("/work").back(),
            (std::pair<std::string, std::string>{"TMPDIR", "/work"}));
}

// TMPDIR is the workspace (the one writable place) and follows its guest
// path, until the caller sets TMPDIR or the whole environment.
TEST_F(ExecutionPolicyTest, TmpdirFollowsTheGuestMountPathUntilSet) {
  auto tmpdir = [](const ExecutionPolicy& p) -> std::optional<std::string> {
    for (const auto& [k, v] : p.env()) {
      if (k == "TMPDIR") return v;
    }
    return std::nullopt;
  };
  ExecutionPolicy moved = BuildOrDie(ExecutionPolicyBuilder().guest_mount_path("/work"));
  EXPECT_EQ(tmpdir(moved), "/work");
  EXPECT_EQ(moved.env().size(), kDefaultEnv.size());
  EXPECT_EQ(tmpdir(BuildOrDie(ExecutionPolicyBuilder().set_env("A", "1").guest_mount_path("/w"))),
            "/w");
  EXPECT_EQ(tmpdir(BuildOrDie(ExecutionPolicyBuilder().set_env("TMPDIR", "/app/t")
                                  .guest_mount_path("/w"))),
            "/app/t");
  EXPECT_EQ(tmpdir(BuildOrDie(ExecutionPolicyBuilder().env({{"A", "1"}}))), std::nullopt);
  // Rebuilt from a built policy: a default TMPDIR keeps following the path.
  EXPECT_EQ(tmpdir(BuildOrDie(ExecutionPolicyBuilder(moved).guest_mount_path("/other"))),
            "/other");
  ExecutionPolicy chosen = BuildOrDie(ExecutionPolicyBuilder().set_env("TMPDIR", "/app/t"));
  EXPECT_EQ(tmpdir(BuildOrDie(ExecutionPolicyBuilder(chosen).guest_mount_path("/other"))),
            "/app/t");
}

TEST_F(ExecutionPolicyTest, DefaultBuilderIsValidAndBuildsTheDefaults) {
  ExecutionPolicyBuilder b;
  EXPECT_EQ(b.Validate(), std::nullopt);
  EXPECT_EQ(BuildOrDie(b), ExecutionPolicy());
}

TEST_F(ExecutionPolicyTest, EveryFieldIsCarriedIntoThePolicy) {
  fs::path data = dir_.Make("data");
  fs::path ref = dir_.Make("ref");
  ExecutionPolicy p = BuildOrDie(ExecutionPolicyBuilder()
                                     .fuel_budget(7)
                                     .memory_bytes(65536)
                                     .stdout_max_bytes(3)
                                     .stderr_max_bytes(4)
                                     .workspace_max_bytes(5)
                                     .mount_host_dir(dir_.path() / "ws")
                                     .guest_mount_path("/work")
                                     .mount_data_dir(data)
                                     .guest_data_path("/input")
                                     .add_readonly_mount({ref, "/refs"})
                                     .argv({"python", "-c", "print(1)"})
                                     .env({{"A", "1"}})
                                     .timeout_seconds(2.5)
                                     .preserve_logs(true));
  EXPECT_EQ(p.fuel_budget(), 7u);
  EXPECT_EQ(p.memory_bytes(), 65536u);
  EXPECT_EQ(p.stdout_max_bytes(), 3u);
  EXPECT_EQ(p.stderr_max_bytes(), 4u);
  EXPECT_EQ(p.workspace_max_bytes(), 5u);
  EXPECT_EQ(p.mount_host_dir(), dir_.path() / "ws");
  EXPECT_EQ(p.guest_mount_path(), "/work");
  EXPECT_EQ(p.mount_data_dir(), data);
  EXPECT_EQ(p.guest_data_path(), "/input");
  EXPECT_EQ(p.additional_readonly_mounts(), (std::vector<ReadOnlyMount>{{ref, "/refs"}}));
  EXPECT_EQ(p.argv(), (std::vector<std::string>{"python", "-c", "print(1)"}));
  EXPECT_EQ(p.env(), (EnvironmentVariables{{"A", "1"}}));
  EXPECT_EQ(p.timeout_seconds(), 2.5);
  EXPECT_TRUE(p.preserve_logs());
}

TEST_F(ExecutionPolicyTest, GuestDataPathDefaultsToDataWhenOnlyTheDataDirIsSet) {
  ExecutionPolicy p = BuildOrDie(ExecutionPolicyBuilder().mount_data_dir(dir_.Make("data")));
  EXPECT_EQ(p.guest_data_path(), "/data");
  EXPECT_EQ(p.mount_data_dir(), dir_.path() / "data");
}

TEST_F(ExecutionPolicyTest, ClearingTheDataDirOfABuiltPolicyRemovesTheDataMountWhole) {
  fs::path data = dir_.Make("data");
  StatusOr<ExecutionPolicy> with_data = ExecutionPolicyBuilder().mount_data_dir(data).Build();
  ASSERT_TRUE(with_data.ok()) << with_data.status().message();
  StatusOr<ExecutionPolicy> without =
      ExecutionPolicyBuilder(*with_data).mount_data_dir(std::nullopt).Build();
  ASSERT_TRUE(without.ok()) << without.status().message();
  EXPECT_EQ(without->mount_data_dir(), std::nullopt);
  EXPECT_EQ(without->guest_data_path(), std::nullopt);
  // A guest path the caller chose is kept, and then refused without a data dir.
  StatusOr<ExecutionPolicy> custom =
      ExecutionPolicyBuilder().mount_data_dir(data).guest_data_path("/in").Build();
  ASSERT_TRUE(custom.ok());
  EXPECT_FALSE(ExecutionPolicyBuilder(*custom).mount_data_dir(std::nullopt).Build().ok());
}

TEST_F(ExecutionPolicyTest, HostPathsAreMadeAbsoluteAndNormal) {
  dir_.Make("data");
  dir_.Make("ref");
  ScopedCwd cwd(dir_.path());
  ExecutionPolicy p = BuildOrDie(ExecutionPolicyBuilder()
                                     .mount_host_dir("ws")
                                     .mount_data_dir("ref/../data")
                                     .add_readonly_mount({"./ref", "/refs"}));
  EXPECT_EQ(p.mount_host_dir(), dir_.path() / "ws");
  EXPECT_EQ(p.mount_data_dir(), dir_.path() / "data");
  ASSERT_EQ(p.additional_readonly_mounts().size(), 1u);
  EXPECT_EQ(p.additional_readonly_mounts()[0].host, dir_.path() / "ref");
}

TEST_F(ExecutionPolicyTest, FuelOutOfRangeRefused) {
  const std::string reason = "must be between 1 and 9223372036854775807";
  ExpectRefused(ExecutionPolicyBuilder().fuel_budget(0), "fuel_budget", "0", reason);
  ExpectRefused(ExecutionPolicyBuilder().fuel_budget(1ull << 63), "fuel_budget",
                "9223372036854775808", reason);
  EXPECT_EQ(ExecutionPolicyBuilder().fuel_budget((1ull << 63) - 1).Validate(), std::nullopt);
  EXPECT_EQ(ExecutionPolicyBuilder().fuel_budget(1).Validate(), std::nullopt);
}

TEST_F(ExecutionPolicyTest, MemoryOutOfRangeRefused) {
  const std::string reason = "must be between 65536 (one page) and 4294967296 (4 GiB)";
  ExpectRefused(ExecutionPolicyBuilder().memory_bytes(0), "memory_bytes", "0", reason);
  ExpectRefused(ExecutionPolicyBuilder().memory_bytes(65535), "memory_bytes", "65535", reason);
  ExpectRefused(ExecutionPolicyBuilder().memory_bytes((4ull << 30) + 1), "memory_bytes",
                "4294967297", reason);
  EXPECT_EQ(ExecutionPolicyBuilder().memory_bytes(65536).Validate(), std::nullopt);
  EXPECT_EQ(ExecutionPolicyBuilder().memory_bytes(4ull << 30).Validate(), std::nullopt);
}

TEST_F(ExecutionPolicyTest, ZeroOutputCapsAndQuotaRefused) {
  ExpectRefused(ExecutionPolicyBuilder().stdout_max_bytes(0), "stdout_max_bytes", "0",
                "must be > 0");
  ExpectRefused(ExecutionPolicyBuilder().stderr_max_bytes(0), "stderr_max_bytes", "0",
                "must be > 0");
  ExpectRefused(ExecutionPolicyBuilder().workspace_max_bytes(0), "workspace_max_bytes", "0",
                "must be > 0");
  EXPECT_EQ(ExecutionPolicyBuilder()
                .stdout_max_bytes(1)
                .stderr_max_bytes(1)
                .workspace_max_bytes(1)
                .Validate(),
            std::nullopt);
}

TEST_F(ExecutionPolicyTest, BadMountHostDirRefused) {
  ExpectRefused(ExecutionPolicyBuilder().mount_host_dir(""), "mount_host_dir", "\"\"",
                "must name a host directory");
  ExpectRefused(ExecutionPolicyBuilder().mount_host_dir(std::string("/tmp/a\0b", 8)),
                "mount_host_dir", "\"/tmp/a\\x00b\"", "must not contain a NUL byte");
  // It need not exist yet: RunPython() checks it when it runs.
  EXPECT_EQ(ExecutionPolicyBuilder().mount_host_dir(dir_.path() / "absent").Validate(),
            std::nullopt);
}

TEST_F(ExecutionPolicyTest, GuestPathsMustBeAbsoluteAndNormalised) {
  for (const char* bad : {"app", "/app/", "/app/../etc", "/a//b", "/a/./b", "/a/..", ""}) {
    SCOPED_TRACE(bad);
    ExpectRefused(ExecutionPolicyBuilder().guest_mount_path(bad), "guest_mount_path",
                  std::string("\"") + bad + "\"", "must be an absolute, normalised path");
  }
  ExpectRefused(ExecutionPolicyBuilder().mount_data_dir(dir_.Make("d")).guest_data_path("in"),
                "guest_data_path", "\"in\"", "must be an absolute, normalised path");
  ExpectRefused(ExecutionPolicyBuilder().add_readonly_mount({dir_.Make("r"), "/refs/"}),
                "additional_readonly_mounts[0].guest", "\"/refs/\"",
                "must be an absolute, normalised path");
}

TEST_F(ExecutionPolicyTest, GuestPathInsideOrContainingTheStandardLibraryRefused) {
  const std::string reason =
      "must not contain or lie inside the standard library's /usr/local/lib/python3.11";
  for (const char* bad : {"/usr/local/lib/python3.11", "/usr/local/lib/python3.11/json",
                          "/usr/local/lib", "/usr", "/"}) {
    SCOPED_TRACE(bad);
    ExpectRefused(ExecutionPolicyBuilder().guest_mount_path(bad), "guest_mount_path",
                  std::string("\"") + bad + "\"", reason);
    ExpectRefused(ExecutionPolicyBuilder().add_readonly_mount({dir_.Make("m"), bad}),
                  "additional_readonly_mounts[0].guest", std::string("\"") + bad + "\"", reason);
  }
  ExpectRefused(ExecutionPolicyBuilder()
                    .mount_data_dir(dir_.Make("d"))
                    .guest_data_path("/usr/local/lib/python3.11/site-packages"),
                "guest_data_path", "\"/usr/local/lib/python3.11/site-packages\"", reason);
  // A sibling that merely shares the prefix is fine.
  EXPECT_EQ(ExecutionPolicyBuilder().guest_mount_path("/usr/local/lib/python3.110").Validate(),
            std::nullopt);
  EXPECT_EQ(ExecutionPolicyBuilder().guest_mount_path("/usr/local/lib/python3").Validate(),
            std::nullopt);
}

TEST_F(ExecutionPolicyTest, GuestPathInsideOrContainingTheTimeZoneDatabaseRefused) {
  const std::string reason =
      "must not contain or lie inside the time-zone database's /usr/share/zoneinfo";
  for (const char* bad : {"/usr/share/zoneinfo", "/usr/share/zoneinfo/Europe", "/usr/share"}) {
    SCOPED_TRACE(bad);
    ExpectRefused(ExecutionPolicyBuilder().guest_mount_path(bad), "guest_mount_path",
                  std::string("\"") + bad + "\"", reason);
    ExpectRefused(ExecutionPolicyBuilder().add_readonly_mount({dir_.Make("m"), bad}),
                  "additional_readonly_mounts[0].guest", std::string("\"") + bad + "\"", reason);
  }
  EXPECT_EQ(ExecutionPolicyBuilder().guest_mount_path("/usr/share/zoneinfo2").Validate(),
            std::nullopt);
  EXPECT_EQ(ExecutionPolicyBuilder().guest_mount_path("/usr/share/doc").Validate(), std::nullopt);
}

TEST_F(ExecutionPolicyTest, EqualGuestPathsRefused) {
  const std::string reason = "guest path used by another mount";
  ExpectRefused(ExecutionPolicyBuilder().mount_data_dir(dir_.Make("d")).guest_data_path("/app"),
                "guest_data_path", "\"/app\"", reason);
  // The default guest_data_path "/data" counts too.
  ExpectRefused(ExecutionPolicyBuilder()
                    .mount_data_dir(dir_.Make("d"))
                    .add_readonly_mount({dir_.Make("r"), "/data"}),
                "additional_readonly_mounts[0].guest", "\"/data\"", reason);
  ExpectRefused(ExecutionPolicyBuilder()
                    .add_readonly_mount({dir_.Make("r1"), "/refs"})
                    .add_readonly_mount({dir_.Make("r2"), "/refs"}),
                "additional_readonly_mounts[1].guest", "\"/refs\"", reason);
  ExpectRefused(ExecutionPolicyBuilder().add_readonly_mount({dir_.Make("r"), "/app"}),
                "additional_readonly_mounts[0].guest", "\"/app\"", reason);
}

TEST_F(ExecutionPolicyTest, MissingHostDirectoriesRefused) {
  const fs::path nodata = dir_.path() / "nodata";
  ExpectRefused(ExecutionPolicyBuilder().mount_data_dir(nodata), "mount_data_dir",
                "\"" + nodata.string() + "\"", "must be an existing directory");
  ExpectRefused(ExecutionPolicyBuilder().mount_data_dir(fs::path()), "mount_data_dir", "\"\"",
                "must name a host directory");
  const fs::path file = dir_.path() / "file";
  policy_testing::WriteFile(file, "x");
  ExpectRefused(ExecutionPolicyBuilder().mount_data_dir(file), "mount_data_dir",
                "\"" + file.string() + "\"", "must be an existing directory");
  const fs::path nomount = dir_.path() / "nomount";
  ExpectRefused(ExecutionPolicyBuilder()
                    .add_readonly_mount({dir_.Make("ok"), "/ok"})
                    .add_readonly_mount({nomount, "/ref"}),
                "additional_readonly_mounts[1].host", "\"" + nomount.string() + "\"",
                "must be an existing directory");
}

TEST_F(ExecutionPolicyTest, DataPathWithoutDataDirRefused) {
  ExpectRefused(ExecutionPolicyBuilder().guest_data_path("/input"), "guest_data_path", "\"/input\"",
                "must not be set without mount_data_dir");
  EXPECT_EQ(ExecutionPolicyBuilder().guest_data_path(std::nullopt).Validate(), std::nullopt);
}

TEST_F(ExecutionPolicyTest, BadTimeoutRefused) {
  const std::string reason = "must be a finite number of seconds, 0 .. 1e9";
  ExpectRefused(ExecutionPolicyBuilder().timeout_seconds(-1), "timeout_seconds", "-1", reason);
  ExpectRefused(ExecutionPolicyBuilder().timeout_seconds(-0.5), "timeout_seconds", "-0.5", reason);
  ExpectRefused(ExecutionPolicyBuilder().timeout_seconds(std::numeric_limits<double>::quiet_NaN()),
                "timeout_seconds", "nan", reason);
  ExpectRefused(ExecutionPolicyBuilder().timeout_seconds(std::numeric_limits<double>::infinity()),
                "timeout_seconds", "inf", reason);
  ExpectRefused(ExecutionPolicyBuilder().timeout_seconds(2e9), "timeout_seconds", "2e+09", reason);
  EXPECT_EQ(ExecutionPolicyBuilder().timeout_seconds(0).Validate(), std::nullopt);
  EXPECT_EQ(ExecutionPolicyBuilder().timeout_seconds(0.25).Validate(), std::nullopt);
  EXPECT_EQ(ExecutionPolicyBuilder().timeout_seconds(1e9).Validate(), std::nullopt);
}

TEST_F(ExecutionPolicyTest, BadArgvRefused) {
  ExpectRefused(ExecutionPolicyBuilder().argv({}), "argv", "[]", "must not be empty");
  ExpectRefused(ExecutionPolicyBuilder().argv({"python", std::string("/app/x\0y", 8)}), "argv[1]",
                "\"/app/x\\x00y\"", "must not contain a NUL byte");
}

TEST_F(ExecutionPolicyTest, BadEnvironmentRefused) {
  const std::string key_reason = "keys must be non-empty, without '=' or NUL";
  ExpectRefused(ExecutionPolicyBuilder().env({{"A=B", "x"}}), "env", "\"A=B\"", key_reason);
  ExpectRefused(ExecutionPolicyBuilder().env({{"", "x"}}), "env", "\"\"", key_reason);
  ExpectRefused(ExecutionPolicyBuilder().env({{std::string("K\0L", 3), "x"}}), "env", "\"K\\x00L\"",
                key_reason);
  ExpectRefused(ExecutionPolicyBuilder().env({{"K", std::string("a\0b", 3)}}), "env.K", "\"a\\x00b\"",
                "must not contain a NUL byte");
  EXPECT_EQ(ExecutionPolicyBuilder().env({}).Validate(), std::nullopt);
  EXPECT_EQ(ExecutionPolicyBuilder().env({{"K", ""}}).Validate(), std::nullopt);
}

TEST_F(ExecutionPolicyTest, DuplicateEnvKeyRefused) {
  ExpectRefused(ExecutionPolicyBuilder().env({{"K", "1"}, {"J", "2"}, {"K", "3"}}), "env", "\"K\"",
                "key given twice");
}

TEST_F(ExecutionPolicyTest, TheFirstBrokenRuleInFieldOrderIsReported) {
  ExpectRefused(ExecutionPolicyBuilder().fuel_budget(0).memory_bytes(0), "fuel_budget", "0",
                "must be between 1 and 9223372036854775807");
  // guest_mount_path comes before mount_data_dir.
  ExpectRefused(
      ExecutionPolicyBuilder().guest_mount_path("rel").mount_data_dir(dir_.path() / "absent"),
      "guest_mount_path", "\"rel\"", "must be an absolute, normalised path");
  // A mount's guest path is checked before the next mount's host.
  ExpectRefused(ExecutionPolicyBuilder()
                    .add_readonly_mount({dir_.Make("r"), "bad"})
                    .add_readonly_mount({dir_.path() / "absent", "/x"}),
                "additional_readonly_mounts[0].guest", "\"bad\"",
                "must be an absolute, normalised path");
  // env comes before timeout_seconds.
  ExpectRefused(ExecutionPolicyBuilder().env({{"", "x"}}).timeout_seconds(-1), "env", "\"\"",
                "keys must be non-empty, without '=' or NUL");
}

TEST_F(ExecutionPolicyTest, BuilderFromABaseDoesNotModifyTheBase) {
  const ExecutionPolicy base = BuildOrDie(ExecutionPolicyBuilder()
                                              .fuel_budget(100)
                                              .mount_data_dir(dir_.Make("data"))
                                              .set_env("A", "1"));
  const ExecutionPolicy copy = base;
  ExecutionPolicyBuilder b(base);
  b.fuel_budget(200)
      .memory_bytes(1 << 20)
      .guest_mount_path("/work")
      .set_env("A", "2")
      .add_readonly_mount({dir_.Make("r"), "/r"})
      .preserve_logs(true);
  ExecutionPolicy changed = BuildOrDie(b);
  EXPECT_EQ(base, copy);
  EXPECT_EQ(base.fuel_budget(), 100u);
  EXPECT_EQ(base.guest_mount_path(), "/app");
  EXPECT_EQ(base.env().back(), (std::pair<std::string, std::string>{"A", "1"}));
  EXPECT_TRUE(base.additional_readonly_mounts().empty());
  EXPECT_EQ(changed.fuel_budget(), 200u);
  EXPECT_EQ(changed.memory_bytes(), 1u << 20);
  EXPECT_EQ(changed.env().back(), (std::pair<std::string, std::string>{"A", "2"}));
  EXPECT_EQ(changed.mount_data_dir(), base.mount_data_dir());
  EXPECT_EQ(changed.guest_data_path(), "/data");
  // A builder from a policy, unchanged, builds that policy.
  EXPECT_EQ(BuildOrDie(ExecutionPolicyBuilder(base)), base);
}

TEST_F(ExecutionPolicyTest, GuestMountPathMovesTheDefaultArgv) {
  ExecutionPolicy fresh = BuildOrDie(ExecutionPolicyBuilder().guest_mount_path("/work"));
  EXPECT_EQ(fresh.argv(), (std::vector<std::string>{"python", "/work/user_code.py"}));
  // Also from a built policy whose argv is the default.
  ExecutionPolicy moved =
      BuildOrDie(ExecutionPolicyBuilder(ExecutionPolicy()).guest_mount_path("/w"));
  EXPECT_EQ(moved.argv(), (std::vector<std::string>{"python", "/w/user_code.py"}));
  ExecutionPolicy again = BuildOrDie(ExecutionPolicyBuilder(moved).guest_mount_path("/x"));
  EXPECT_EQ(again.argv(), (std::vector<std::string>{"python", "/x/user_code.py"}));
}

TEST_F(ExecutionPolicyTest, AnExplicitArgvSurvivesAGuestMountPathChange) {
  const std::vector<std::string> mine = {"python", "-c", "print(1)"};
  ExecutionPolicy p = BuildOrDie(ExecutionPolicyBuilder().argv(mine).guest_mount_path("/work"));
  EXPECT_EQ(p.argv(), mine);
  ExecutionPolicy q = BuildOrDie(ExecutionPolicyBuilder().guest_mount_path("/work").argv(mine));
  EXPECT_EQ(q.argv(), mine);
  ExecutionPolicy r = BuildOrDie(ExecutionPolicyBuilder(p).guest_mount_path("/other"));
  EXPECT_EQ(r.argv(), mine);
  EXPECT_EQ(r.guest_mount_path(), "/other");
}

TEST_F(ExecutionPolicyTest, SetEnvReplacesInPlaceElseAppends) {
  ExecutionPolicy p =
      BuildOrDie(ExecutionPolicyBuilder().set_env("LC_ALL", "C").set_env("NEW", "x"));
  EXPECT_EQ(p.env(), (EnvironmentVariables{{"PYTHONUTF8", "1"},
                                           {"LC_ALL", "C"},
                                           {"PYTHONIOENCODING", "utf-8"},
                                           {"PYTHONHASHSEED", "0"},
                                           {"TMPDIR", "/app"},
                                           {"NEW", "x"}}));
  ExecutionPolicy q = BuildOrDie(ExecutionPolicyBuilder().env({{"B", "1"}}).set_env("B", "2"));
  EXPECT_EQ(q.env(), (EnvironmentVariables{{"B", "2"}}));
}

TEST_F(ExecutionPolicyTest, MountSettersReplaceOrAppend) {
  const fs::path a = dir_.Make("a");
  const fs::path b = dir_.Make("b");
  ExecutionPolicy p = BuildOrDie(ExecutionPolicyBuilder()
                                     .add_readonly_mount({a, "/a"})
                                     .additional_readonly_mounts({{b, "/b"}})
                                     .add_readonly_mount({a, "/a"}));
  EXPECT_EQ(p.additional_readonly_mounts(), (std::vector<ReadOnlyMount>{{b, "/b"}, {a, "/a"}}));
}

TEST_F(ExecutionPolicyTest, ValidationErrorMessageFormat) {
  PolicyValidationError e{"memory_bytes", "0", "must be > 0"};
  EXPECT_EQ(e.message(), "memory_bytes: must be > 0 (got 0)");
}

}  // namespace
}  // namespace snakecage
