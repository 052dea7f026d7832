// Policy files: LoadPolicyBuilder, LoadPolicy and LoadDefaultPolicy. Every
// malformed file is refused naming the file and the key (or line and column).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "policy_test_util.h"
#include "snakecage/policy.h"

namespace snakecage {
namespace {

namespace fs = std::filesystem;
using policy_testing::ScopedCwd;
using policy_testing::TempDir;
using policy_testing::WriteFile;

class PolicyFileTest : public ::testing::Test {
 protected:
  // Writes `text` to <tmp>/policy.toml and returns that path.
  fs::path Write(const std::string& text, const std::string& name = "policy.toml") {
    fs::path p = dir_.path() / name;
    WriteFile(p, text);
    return p;
  }
  // LoadPolicy(path) must fail with `code` and exactly `message`.
  static void ExpectLoadError(const fs::path& path, StatusCode code, const std::string& message) {
    StatusOr<ExecutionPolicy> p = LoadPolicy(path);
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.status().code(), code);
    EXPECT_EQ(p.status().message(), message);
  }
  // The same file's contents must be refused by LoadPolicyBuilder too.
  void ExpectInvalid(const std::string& text, const std::string& after_path) {
    fs::path p = Write(text);
    StatusOr<ExecutionPolicyBuilder> b = LoadPolicyBuilder(p);
    ASSERT_FALSE(b.ok()) << text;
    EXPECT_EQ(b.status().code(), StatusCode::kInvalidArgument) << text;
    EXPECT_EQ(b.status().message(), p.string() + ": " + after_path) << text;
    ExpectLoadError(p, StatusCode::kInvalidArgument, p.string() + ": " + after_path);
  }
  ExecutionPolicy LoadOk(const fs::path& p) {
    StatusOr<ExecutionPolicy> r = LoadPolicy(p);
    EXPECT_TRUE(r.ok()) << r.status().message();
    if (!r.ok()) return ExecutionPolicy();
    return *r;
  }

  TempDir dir_;
};

TEST_F(PolicyFileTest, FullFileParsesToTheExactPolicy) {
  const fs::path ws = dir_.Make("ws");
  const fs::path data = dir_.Make("data");
  const fs::path ref = dir_.Make("ref");
  const fs::path lib = dir_.Make("lib");
  const fs::path file = Write(
      "# every field\n"
      "fuel_budget = 1_000_000\n"
      "memory_bytes = 67108864\n"
      "stdout_max_bytes = 1000\n"
      "stderr_max_bytes = 2000\n"
      "workspace_max_bytes = 3000\n"
      "mount_host_dir = \"" +
      ws.string() +
      "\"\n"
      "guest_mount_path = \"/work\"\n"
      "mount_data_dir = \"" +
      data.string() +
      "\"\n"
      "guest_data_path = \"/input\"\n"
      "argv = [\"python\", \"-X\", \"dev\", \"/work/main.py\"]\n"
      "timeout_seconds = 2.5\n"
      "preserve_logs = true\n"
      "keep_state = true\n"
      "additional_readonly_mounts = [\n"
      "  [\"" +
      ref.string() +
      "\", \"/refs\"],\n"
      "  [\"" +
      lib.string() +
      "\", \"/lib/extra\"],\n"
      "]\n"
      "[env]\n"
      "TZ = \"UTC\"\n");
  StatusOr<ExecutionPolicy> loaded = LoadPolicy(file);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  StatusOr<ExecutionPolicy> expected =
      ExecutionPolicyBuilder()
          .fuel_budget(1'000'000)
          .memory_bytes(67108864)
          .stdout_max_bytes(1000)
          .stderr_max_bytes(2000)
          .workspace_max_bytes(3000)
          .mount_host_dir(ws)
          .guest_mount_path("/work")
          .mount_data_dir(data)
          .guest_data_path("/input")
          .argv({"python", "-X", "dev", "/work/main.py"})
          .set_env("TZ", "UTC")
          .timeout_seconds(2.5)
          .preserve_logs(true)
          .keep_state(true)
          .additional_readonly_mounts({{ref, "/refs"}, {lib, "/lib/extra"}})
          .Build();
  ASSERT_TRUE(expected.ok()) << expected.status().message();
  EXPECT_EQ(*loaded, *expected);
  // And field by field, so a failure says which.
  EXPECT_EQ(loaded->fuel_budget(), 1'000'000u);
  EXPECT_EQ(loaded->memory_bytes(), 67108864u);
  EXPECT_EQ(loaded->stdout_max_bytes(), 1000u);
  EXPECT_EQ(loaded->stderr_max_bytes(), 2000u);
  EXPECT_EQ(loaded->workspace_max_bytes(), 3000u);
  EXPECT_EQ(loaded->mount_host_dir(), ws);
  EXPECT_EQ(loaded->guest_mount_path(), "/work");
  EXPECT_EQ(loaded->mount_data_dir(), data);
  EXPECT_EQ(loaded->guest_data_path(), "/input");
  EXPECT_EQ(loaded->argv(), (std::vector<std::string>{"python", "-X", "dev", "/work/main.py"}));
  EXPECT_EQ(loaded->env().size(), 6u);
  EXPECT_EQ(loaded->env()[4], (std::pair<std::string, std::string>{"TMPDIR", "/work"}));
  EXPECT_EQ(loaded->env().back(), (std::pair<std::string, std::string>{"TZ", "UTC"}));
  EXPECT_EQ(loaded->timeout_seconds(), 2.5);
  EXPECT_TRUE(loaded->preserve_logs());
  EXPECT_TRUE(loaded->keep_state());
  EXPECT_EQ(loaded->additional_readonly_mounts(),
            (std::vector<ReadOnlyMount>{{ref, "/refs"}, {lib, "/lib/extra"}}));
}

TEST_F(PolicyFileTest, EmptyFileGivesTheDefaults) {
  EXPECT_EQ(LoadOk(Write("")), ExecutionPolicy());
  EXPECT_EQ(LoadOk(Write("# nothing but a comment\n")), ExecutionPolicy());
}

TEST_F(PolicyFileTest, EnvIsMergedOverTheDefaultsInFileOrder) {
  ExecutionPolicy p =
      LoadOk(Write("[env]\n"
                   "ZED = \"z\"\n"
                   "LC_ALL = \"C\"\n"
                   "ALPHA = \"a\"\n"
                   "\"WITH SPACE\" = \"\"\n"));
  EXPECT_EQ(p.env(), (EnvironmentVariables{{"PYTHONUTF8", "1"},
                                           {"LC_ALL", "C"},
                                           {"PYTHONIOENCODING", "utf-8"},
                                           {"PYTHONHASHSEED", "0"},
                                           {"TMPDIR", "/app"},
                                           {"ZED", "z"},
                                           {"ALPHA", "a"},
                                           {"WITH SPACE", ""}}));
  // An inline table and dotted keys are the same table.
  ExecutionPolicy q = LoadOk(Write("env = { B = \"2\", A = \"1\" }\n"));
  EXPECT_EQ(q.env().size(), 7u);
  EXPECT_EQ(q.env()[5], (std::pair<std::string, std::string>{"B", "2"}));
  EXPECT_EQ(q.env()[6], (std::pair<std::string, std::string>{"A", "1"}));
  ExecutionPolicy r = LoadOk(Write("env.PYTHONHASHSEED = \"42\"\n"));
  EXPECT_EQ(r.env()[3], (std::pair<std::string, std::string>{"PYTHONHASHSEED", "42"}));
  EXPECT_EQ(r.env().size(), 5u);
}

TEST_F(PolicyFileTest, FileAppliesOverAGivenBaseAndMergesEnvOverItsEnv) {
  StatusOr<ExecutionPolicy> base = ExecutionPolicyBuilder()
                                       .fuel_budget(2'000'000'000)
                                       .env({{"A", "1"}, {"B", "2"}})
                                       .preserve_logs(true)
                                       .Build();
  ASSERT_TRUE(base.ok()) << base.status().message();
  StatusOr<ExecutionPolicyBuilder> b = LoadPolicyBuilder(
      Write("memory_bytes = 65536\n[env]\nB = \"3\"\nC = \"4\"\n"), ExecutionPolicyBuilder(*base));
  ASSERT_TRUE(b.ok()) << b.status().message();
  StatusOr<ExecutionPolicy> p = b->Build();
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->fuel_budget(), 2'000'000'000u);  // the base's, not the default 5e9
  EXPECT_EQ(p->memory_bytes(), 65'536u);        // the file's
  EXPECT_TRUE(p->preserve_logs());
  EXPECT_EQ(p->env(), (EnvironmentVariables{{"A", "1"}, {"B", "3"}, {"C", "4"}}));
  // The base itself is untouched.
  EXPECT_EQ(base->memory_bytes(), 128'000'000u);
}

TEST_F(PolicyFileTest, EnvKeysTheBuilderRefusesAreReportedWithTheFile) {
  const fs::path p = Write("[env]\n\"A=B\" = \"x\"\n");
  ExpectLoadError(p, StatusCode::kInvalidArgument,
                  p.string() + ": env: keys must be non-empty, without '=' or NUL (got \"A=B\")");
}

TEST_F(PolicyFileTest, UnknownKeyRefused) {
  ExpectInvalid("fuel_budgett = 5\n", "unknown key \"fuel_budgett\"");
  ExpectInvalid("fuel_budget = 5\n[limits]\nmemory = 1\n", "unknown key \"limits\"");
  ExpectInvalid("workspace_dir = \"ws\"\n", "unknown key \"workspace_dir\"");
  // The first unknown key in the file is the one named, not the first in
  // alphabetical order.
  ExpectInvalid("zzz = 1\naaa = 2\n", "unknown key \"zzz\"");
}

TEST_F(PolicyFileTest, WrongTypePerFieldRefused) {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"fuel_budget = \"5\"", "fuel_budget: must be an integer (got string)"},
      {"fuel_budget = 1e9", "fuel_budget: must be an integer (got float)"},
      {"fuel_budget = 1979-05-27T07:32:00Z", "fuel_budget: must be an integer (got date-time)"},
      {"memory_bytes = 1.5", "memory_bytes: must be an integer (got float)"},
      {"stdout_max_bytes = true", "stdout_max_bytes: must be an integer (got boolean)"},
      {"stderr_max_bytes = [1]", "stderr_max_bytes: must be an integer (got array)"},
      {"mount_host_dir = 5", "mount_host_dir: must be a string (got integer)"},
      {"guest_mount_path = { a = 1 }", "guest_mount_path: must be a string (got table)"},
      {"mount_data_dir = 1979-05-27", "mount_data_dir: must be a string (got date)"},
      {"guest_data_path = 07:32:00", "guest_data_path: must be a string (got time)"},
      {"argv = \"python x.py\"", "argv: must be an array of strings (got string)"},
      {"argv = [\"python\", 3]", "argv[1]: must be a string (got integer)"},
      {"env = [\"A=1\"]", "env: must be a table of strings (got array)"},
      {"env = { A = 1 }", "env.A: must be a string (got integer)"},
      {"[env.SUB]\nX = \"1\"", "env.SUB: must be a string (got table)"},
      {"timeout_seconds = \"5\"",
       "timeout_seconds: must be a number of seconds (integer or float) (got string)"},
      {"timeout_seconds = true",
       "timeout_seconds: must be a number of seconds (integer or float) (got boolean)"},
      {"preserve_logs = \"yes\"", "preserve_logs: must be a boolean (got string)"},
      {"preserve_logs = 1", "preserve_logs: must be a boolean (got integer)"},
      {"additional_readonly_mounts = {}",
       "additional_readonly_mounts: must be an array of [host, guest] pairs (got table)"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    ExpectInvalid(std::string(c.text) + "\n", c.message);
  }
}

TEST_F(PolicyFileTest, NegativeIntegersRefusedNotWrappedAround) {
  for (const char* key : {"fuel_budget", "memory_bytes", "stdout_max_bytes", "stderr_max_bytes",
                          "workspace_max_bytes"}) {
    SCOPED_TRACE(key);
    ExpectInvalid(std::string(key) + " = -1\n",
                  std::string(key) + ": must not be negative (got -1)");
  }
  ExpectInvalid("fuel_budget = -9223372036854775808\n",
                "fuel_budget: must not be negative (got -9223372036854775808)");
}

TEST_F(PolicyFileTest, OutOfRangeValuesAreLeftToTheBuilderAndNamedWithTheFile) {
  const fs::path p = Write("memory_bytes = 0\n");
  // The builder accepts the value; Build() refuses it.
  StatusOr<ExecutionPolicyBuilder> b = LoadPolicyBuilder(p);
  ASSERT_TRUE(b.ok()) << b.status().message();
  ExpectLoadError(p, StatusCode::kInvalidArgument,
                  p.string() +
                      ": memory_bytes: must be between 65536 (one page) and 4294967296 (4 GiB) "
                      "(got 0)");
  ExpectLoadError(Write("fuel_budget = 0\n"), StatusCode::kInvalidArgument,
                  p.string() + ": fuel_budget: must be between 1 and 9223372036854775807 (got 0)");
  ExpectLoadError(
      Write("timeout_seconds = -3\n"), StatusCode::kInvalidArgument,
      p.string() + ": timeout_seconds: must be a finite number of seconds, 0 .. 1e9 (got -3)");
  ExpectLoadError(
      Write("timeout_seconds = nan\n"), StatusCode::kInvalidArgument,
      p.string() + ": timeout_seconds: must be a finite number of seconds, 0 .. 1e9 (got nan)");
  ExpectLoadError(Write("argv = []\n"), StatusCode::kInvalidArgument,
                  p.string() + ": argv: must not be empty (got [])");
}

TEST_F(PolicyFileTest, TimeoutIsAnIntegerOrAFloat) {
  EXPECT_EQ(LoadOk(Write("timeout_seconds = 5\n")).timeout_seconds(), 5.0);
  EXPECT_EQ(LoadOk(Write("timeout_seconds = 0.25\n")).timeout_seconds(), 0.25);
  EXPECT_EQ(LoadOk(Write("timeout_seconds = 0\n")).timeout_seconds(), 0.0);
}

TEST_F(PolicyFileTest, SyntaxErrorNamesFileLineAndColumn) {
  const fs::path p = Write("fuel_budget = 5\nmemory_bytes = = 3\n");
  StatusOr<ExecutionPolicyBuilder> b = LoadPolicyBuilder(p);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), StatusCode::kInvalidArgument);
  const std::string prefix = p.string() + ":2:16: ";
  EXPECT_EQ(b.status().message().rfind(prefix, 0), 0u) << b.status().message();
  EXPECT_GT(b.status().message().size(), prefix.size()) << "no description";

  // A key given twice is a TOML error too, on the line of the second.
  const fs::path q = Write("preserve_logs = true\n\n\npreserve_logs = false\n");
  StatusOr<ExecutionPolicy> r = LoadPolicy(q);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message().rfind(q.string() + ":4:", 0), 0u) << r.status().message();
}

TEST_F(PolicyFileTest, MissingExplicitFileIsNotFoundNamingIt) {
  const fs::path p = dir_.path() / "absent.toml";
  StatusOr<ExecutionPolicyBuilder> b = LoadPolicyBuilder(p);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(b.status().message(), p.string() + ": policy file not found");
  ExpectLoadError(p, StatusCode::kNotFound, p.string() + ": policy file not found");
  ExpectLoadError(dir_.path() / "no" / "dir.toml", StatusCode::kNotFound,
                  (dir_.path() / "no" / "dir.toml").string() + ": policy file not found");
}

TEST_F(PolicyFileTest, DirectoryInsteadOfAFileRefusedNamingIt) {
  const fs::path d = dir_.Make("policy.toml");
  ExpectLoadError(d, StatusCode::kInvalidArgument,
                  d.string() + ": is a directory, not a policy file");
}

TEST_F(PolicyFileTest, UnreadableFileRefusedNamingIt) {
  if (geteuid() == 0) GTEST_SKIP() << "root reads files whatever their mode";
  const fs::path p = Write("fuel_budget = 5\n");
  fs::permissions(p, fs::perms::none);
  ExpectLoadError(p, StatusCode::kPermissionDenied,
                  p.string() + ": cannot read policy file: Permission denied");
}

TEST_F(PolicyFileTest, RelativeHostPathsResolveAgainstTheFilesDirectory) {
  const fs::path conf = dir_.Make("conf");
  dir_.Make("conf/data");
  dir_.Make("ref");
  WriteFile(conf / "policy.toml",
            "mount_host_dir = \"ws\"\n"
            "mount_data_dir = \"data\"\n"
            "guest_mount_path = \"/app\"\n"
            "additional_readonly_mounts = [[\"../ref\", \"/ref\"]]\n");
  const fs::path elsewhere = dir_.Make("elsewhere");
  // Loaded by a relative path from another working directory, built after
  // the working directory changed again: still the file's directory.
  StatusOr<ExecutionPolicyBuilder> b = [&] {
    ScopedCwd cwd(dir_.path());
    return LoadPolicyBuilder("conf/policy.toml");
  }();
  ASSERT_TRUE(b.ok()) << b.status().message();
  ScopedCwd cwd(elsewhere);
  StatusOr<ExecutionPolicy> p = b->Build();
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->mount_host_dir(), conf / "ws");
  EXPECT_EQ(p->mount_data_dir(), conf / "data");
  EXPECT_EQ(p->guest_data_path(), "/data");
  EXPECT_EQ(p->additional_readonly_mounts(),
            (std::vector<ReadOnlyMount>{{dir_.path() / "ref", "/ref"}}));
}

TEST_F(PolicyFileTest, MissingHostDirectoryIsNamedWithTheFile) {
  const fs::path p = Write("additional_readonly_mounts = [[\"nope\", \"/ref\"]]\n");
  ExpectLoadError(p, StatusCode::kInvalidArgument,
                  p.string() +
                      ": additional_readonly_mounts[0].host: must be an existing "
                      "directory (got \"" +
                      (dir_.path() / "nope").string() + "\")");
}

TEST_F(PolicyFileTest, MountsArrayShapeErrors) {
  const std::string k = "additional_readonly_mounts";
  ExpectInvalid(k + " = [[\"/tmp\"]]\n",
                k + "[0]: must be a [host, guest] pair of strings (got an array of 1)");
  ExpectInvalid(k + " = [[]]\n",
                k + "[0]: must be a [host, guest] pair of strings (got an array of 0)");
  ExpectInvalid(k + " = [[\"/tmp\", \"/t\", \"/u\"]]\n",
                k + "[0]: must be a [host, guest] pair of strings (got an array of 3)");
  ExpectInvalid(k + " = [[\"/tmp\", \"/t\"], [1, \"/g\"]]\n",
                k + "[1][0]: must be a string (the host directory) (got integer)");
  ExpectInvalid(k + " = [[\"/tmp\", 2]]\n",
                k + "[0][1]: must be a string (the guest path) (got integer)");
  ExpectInvalid(k + " = [\"/tmp\", \"/t\"]\n",
                k + "[0]: must be a [host, guest] pair of strings (got string)");
  ExpectInvalid("[[" + k + "]]\nhost = \"/tmp\"\nguest = \"/t\"\n",
                k + "[0]: must be a [host, guest] pair of strings (got table)");
  ExpectInvalid(k + " = \"/tmp:/t\"\n",
                k + ": must be an array of [host, guest] pairs (got string)");
  // An empty array is no mounts.
  EXPECT_TRUE(LoadOk(Write(k + " = []\n")).additional_readonly_mounts().empty());
}

class DefaultPolicyFileTest : public PolicyFileTest {
 protected:
  DefaultPolicyFileTest() : cwd_(dir_.path()) {}
  ScopedCwd cwd_;
};

TEST_F(DefaultPolicyFileTest, NoConfigFileGivesTheDefaults) {
  ASSERT_EQ(fs::current_path(), dir_.path());
  StatusOr<ExecutionPolicy> p = LoadDefaultPolicy();
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(*p, ExecutionPolicy());
  EXPECT_EQ(p->mount_host_dir(), dir_.path() / "workspace");
  // An empty config directory is the same.
  dir_.Make("config");
  StatusOr<ExecutionPolicy> q = LoadDefaultPolicy();
  ASSERT_TRUE(q.ok()) << q.status().message();
  EXPECT_EQ(*q, ExecutionPolicy());
}

TEST_F(DefaultPolicyFileTest, ConfigFileIsUsedWhenPresent) {
  WriteFile(dir_.path() / "config" / "policy.toml", "fuel_budget = 42\nmount_host_dir = \"ws\"\n");
  StatusOr<ExecutionPolicy> p = LoadDefaultPolicy();
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->fuel_budget(), 42u);
  EXPECT_EQ(p->mount_host_dir(), dir_.path() / "config" / "ws");
}

TEST_F(DefaultPolicyFileTest, MalformedConfigFileIsAnErrorNotTheDefaults) {
  WriteFile(dir_.path() / "config" / "policy.toml", "fuel_budget = [\n");
  StatusOr<ExecutionPolicy> p = LoadDefaultPolicy();
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(p.status().message().rfind("config/policy.toml:", 0), 0u) << p.status().message();

  WriteFile(dir_.path() / "config" / "policy.toml", "memory_bytes = 1\n");
  StatusOr<ExecutionPolicy> q = LoadDefaultPolicy();
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(q.status().message(),
            "config/policy.toml: memory_bytes: must be between 65536 (one page) and "
            "4294967296 (4 GiB) (got 1)");

  WriteFile(dir_.path() / "config" / "policy.toml", "fuel_budgt = 1\n");
  StatusOr<ExecutionPolicy> r = LoadDefaultPolicy();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "config/policy.toml: unknown key \"fuel_budgt\"");
}

TEST_F(DefaultPolicyFileTest, ConfigPathThatIsNotAReadableFileIsAnError) {
  dir_.Make("config/policy.toml");
  StatusOr<ExecutionPolicy> p = LoadDefaultPolicy();
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().message(), "config/policy.toml: is a directory, not a policy file");
  fs::remove(dir_.path() / "config" / "policy.toml");
  fs::create_symlink(dir_.path() / "gone.toml", dir_.path() / "config" / "policy.toml");
  StatusOr<ExecutionPolicy> q = LoadDefaultPolicy();
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(q.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(q.status().message(), "config/policy.toml: policy file not found");
}

}  // namespace
}  // namespace snakecage
