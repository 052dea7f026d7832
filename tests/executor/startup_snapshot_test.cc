// Start-up snapshots (src/engine/startup_snapshot.h): zygotes resume from
// the installation's snapshot of the default start-up, and what the user's
// code does, and is charged, is the same as after a start-up.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/temp_dir.h"
#include "engine/guest_runner.h"
#include "engine/installation.h"
#include "engine/startup_snapshot.h"
#include "engine/startup_key.h"
#include "snakecage/execution.h"
#include "snakecage/executor.h"

namespace snakecage {
namespace {

namespace fs = std::filesystem;
using snakecage::testing::TempDir;

class StartupSnapshotTest : public ::testing::Test {
 protected:
  StartupSnapshotTest() : workspace_(dir_.Make("ws")) { policy_.mount_host_dir(workspace_); }

  static ExecutorOptions Options(bool snapshots, bool fork_ahead = true) {
    ExecutorOptions o;
    o.zygote_program = SNAKECAGE_INSTALLED_ZYGOTE;
    o.startup_snapshots = snapshots;
    o.fork_ahead = fork_ahead;
    return o;
  }

  ExecutionResult RunOn(Executor& executor, const std::string& code,
                        ExecutionPolicyBuilder builder) {
    builder.mount_host_dir(workspace_);
    StatusOr<ExecutionPolicy> policy = builder.Build();
    EXPECT_TRUE(policy.ok()) << policy.status().message();
    if (!policy.ok()) return {};
    EXPECT_TRUE(StageUserCode(code, *policy).ok());
    StatusOr<ExecutionResult> r = executor.Run(*policy);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? std::move(*r) : ExecutionResult{};
  }
  ExecutionResult RunOn(Executor& executor, const std::string& code) {
    return RunOn(executor, code, policy_);
  }

  // The default start-up's snapshot in this build's installation.
  static fs::path DefaultSnapshot() {
    StatusOr<ExecutionPolicy> defaults =
        ExecutionPolicyBuilder().mount_host_dir(ThisInstallation()->stdlib_dir()).Build();
    EXPECT_TRUE(defaults.ok());
    return StartupSnapshotPath(*ThisInstallation(), StartupKeyFor(*defaults));
  }

  TempDir dir_;
  fs::path workspace_;
  ExecutionPolicyBuilder policy_;
};

TEST_F(StartupSnapshotTest, TheBuildWritesTheDefaultStartupsSnapshot) {
  ASSERT_TRUE(ThisInstallation().ok());
  StatusOr<ExecutionPolicy> defaults =
      ExecutionPolicyBuilder().mount_host_dir(ThisInstallation()->stdlib_dir()).Build();
  ASSERT_TRUE(defaults.ok());
  const std::string key = StartupKeyToJson(StartupKeyFor(*defaults)).dump();
  StatusOr<StartupSnapshot> s = OpenStartupSnapshot(DefaultSnapshot(), key);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_GT(s->memory_pages, 100u);  // CPython with its preimported modules: ~10 MB
  EXPECT_NE(s->stack_pointer, 0u);
  EXPECT_NE(s->entry, 0u);
}

TEST_F(StartupSnapshotTest, AZygoteResumesFromItAndSaysSo) {
  Executor with(Options(true));
  EXPECT_EQ(RunOn(with, "print(6 * 7)").stdout_text, "42\n");
  EXPECT_EQ(with.ZygoteStartups(), std::vector<std::string>{"snapshot"});
  Executor without(Options(false));
  EXPECT_EQ(RunOn(without, "print(6 * 7)").stdout_text, "42\n");
  EXPECT_EQ(without.ZygoteStartups(),
            std::vector<std::string>{"started: --no-startup-snapshot"});
}

// A start-up no snapshot was written for starts the interpreter, and says
// why.
TEST_F(StartupSnapshotTest, AnotherStartupStartsTheInterpreter) {
  Executor executor(Options(true));
  ExecutionPolicyBuilder other = policy_;
  other.guest_mount_path("/work");
  EXPECT_EQ(RunOn(executor, "print(__file__)", other).stdout_text, "/work/user_code.py\n");
  const std::vector<std::string> startups = executor.ZygoteStartups();
  ASSERT_EQ(startups.size(), 1u);
  EXPECT_NE(startups[0].find("started: startup snapshot"), std::string::npos) << startups[0];
  EXPECT_NE(startups[0].find("no such file"), std::string::npos) << startups[0];
}

// Every kind of outcome, to the operator of fuel and the page of memory,
// whether the zygote resumed from the snapshot or started the interpreter;
// and the same again from a zygote that forks nothing ahead and maps the
// snapshot instead of reading it, and from RunPython() in this process,
// which resumes from it too.
TEST_F(StartupSnapshotTest, ResultsAndFuelAreTheSameWithAndWithoutIt) {
  struct Case {
    std::string name;
    std::string code;
    ExecutionPolicyBuilder policy;
  };
  std::vector<Case> cases = {
      {"print", "import json\nprint(json.dumps({'a': [1, 2.5, None]}))", policy_},
      {"exception", "def f():\n    raise ValueError('no')\nf()", policy_},
      {"exit status", "import sys\nprint('bye')\nsys.exit(3)", policy_},
      {"imports", "import decimal, fractions, statistics, textwrap\n"
                  "print(statistics.mean([1, 2, 4]), fractions.Fraction(3, 6))",
       policy_},
      {"files", "open('/app/out.txt', 'w').write('x' * 1000)\nprint(open('/app/out.txt').read(3))",
       policy_},
      {"out of fuel", "while True:\n    pass", ExecutionPolicyBuilder(policy_).fuel_budget(2'000'000)},
      {"memory cap", "x = bytearray(200 * 1024 * 1024)",
       ExecutionPolicyBuilder(policy_).memory_bytes(64u << 20)},
      // Past Python's recursion limit, recursing through C (sorted's key):
      // it ends where a stack runs out.
      {"deep recursion", "import sys\nsys.setrecursionlimit(10**8)\n"
                         "def f(n):\n    return sorted([n], key=f)\nf(0)",
       policy_},
      {"argv and environment", "import os, sys\nprint(sys.argv, os.environ.get('ANSWER'))",
       ExecutionPolicyBuilder(policy_)
           .argv({"python", "/app/user_code.py", "one"})
           .set_env("ANSWER", "42")},
  };
  Executor with(Options(true));
  Executor mapped(Options(true, /*fork_ahead=*/false));
  Executor without(Options(false));
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    ExecutionResult a = RunOn(without, c.code, c.policy);
    ExecutionResult b = RunOn(with, c.code, c.policy);
    ExecutionResult m = RunOn(mapped, c.code, c.policy);
    ExecutionPolicyBuilder in_process = c.policy;
    StatusOr<ExecutionPolicy> policy = in_process.mount_host_dir(workspace_).Build();
    ASSERT_TRUE(policy.ok());
    StatusOr<ExecutionResult> p = RunPython(c.code, *policy);
    ASSERT_TRUE(p.ok()) << p.status().message();
    for (const ExecutionResult* r : {&b, &m, &*p}) {
      EXPECT_EQ(r->stdout_text, a.stdout_text);
      EXPECT_EQ(r->stderr_text, a.stderr_text);
      EXPECT_EQ(r->exit_code, a.exit_code);
      EXPECT_EQ(r->trapped, a.trapped);
      EXPECT_EQ(r->trap_reason, a.trap_reason);
      EXPECT_EQ(r->fuel_consumed, a.fuel_consumed);
      EXPECT_EQ(r->memory_peak_pages, a.memory_peak_pages);
    }
  }
  // The cases above must have run as their names say.
  EXPECT_EQ(with.ZygoteStartups(), std::vector<std::string>{"snapshot"});
  EXPECT_EQ(mapped.ZygoteStartups(), std::vector<std::string>{"snapshot"});
  ExecutionResult stack = RunOn(with, cases[7].code, cases[7].policy);
  EXPECT_TRUE(stack.trapped);
  EXPECT_NE(stack.trap_reason, TrapReason::kOutOfFuel) << stack.trap_message;
  ExecutionResult fuel = RunOn(with, cases[5].code, cases[5].policy);
  EXPECT_EQ(fuel.trap_reason, TrapReason::kOutOfFuel);
}

// RunPython() resumes from the snapshot of its start-up, and starts the
// interpreter for a start-up without one.
TEST_F(StartupSnapshotTest, RunPythonResumesFromItWhenItsStartupHasOne) {
  const uint64_t before = RunsResumedFromSnapshots();
  StatusOr<ExecutionPolicy> policy = ExecutionPolicyBuilder(policy_).Build();
  ASSERT_TRUE(policy.ok());
  StatusOr<ExecutionResult> r = RunPython("print(6 * 7)", *policy);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->stdout_text, "42\n");
  EXPECT_EQ(RunsResumedFromSnapshots(), before + 1);

  StatusOr<ExecutionPolicy> other =
      ExecutionPolicyBuilder(policy_).guest_mount_path("/work").Build();
  ASSERT_TRUE(other.ok());
  StatusOr<ExecutionResult> started = RunPython("print(__file__)", *other);
  ASSERT_TRUE(started.ok()) << started.status().message();
  EXPECT_EQ(started->stdout_text, "/work/user_code.py\n");
  EXPECT_EQ(RunsResumedFromSnapshots(), before + 1);
}

// A memory cap below the snapshot's memory (about 10 MB, which is also the
// module's initial memory): instantiating meets the cap, as it does before
// a start-up, so the result is the memory-limit trap it always was, never a
// failure to put the snapshot in place.
TEST_F(StartupSnapshotTest, RunPythonUnderACapBelowTheSnapshotIsAMemoryLimitTrap) {
  StatusOr<ExecutionPolicy> policy =
      ExecutionPolicyBuilder(policy_).memory_bytes(8u << 20).Build();
  ASSERT_TRUE(policy.ok()) << policy.status().message();
  StatusOr<ExecutionResult> r = RunPython("print('never')", *policy);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->trapped);
  EXPECT_EQ(r->trap_reason, TrapReason::kMemoryLimit) << r->trap_message;
  EXPECT_EQ(r->fuel_consumed, 0u);
  EXPECT_EQ(r->stdout_text, "");
}

// A zygote that forks nothing ahead still serves execution after execution,
// each from a pristine interpreter.
TEST_F(StartupSnapshotTest, AZygoteThatForksNothingAheadServesEveryExecution) {
  Executor executor(Options(true, /*fork_ahead=*/false));
  for (int i = 0; i < 5; ++i) {
    ExecutionResult r = RunOn(executor, "print('seen' in globals())\nseen = 1");
    EXPECT_EQ(r.stdout_text, "False\n") << r.stderr_text;
  }
  EXPECT_EQ(executor.warm_pages(), 0u);  // no probe ran
}

// What OpenStartupSnapshot refuses: another start-up, another guest, a
// file cut short, no file.
TEST_F(StartupSnapshotTest, ASnapshotOfAnotherStartupOrGuestOrCutShortIsRefused) {
  const fs::path original = DefaultSnapshot();
  StatusOr<ExecutionPolicy> defaults =
      ExecutionPolicyBuilder().mount_host_dir(ThisInstallation()->stdlib_dir()).Build();
  ASSERT_TRUE(defaults.ok());
  const std::string key = StartupKeyToJson(StartupKeyFor(*defaults)).dump();

  StatusOr<StartupSnapshot> other = OpenStartupSnapshot(original, key + " ");
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.status().message().find("another start-up"), std::string::npos);

  const fs::path copy = dir_.path() / "copy.snapshot";
  fs::copy_file(original, copy);
  {
    std::fstream f(copy, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(std::string_view("snakecage startup snapshot 1\n").size());
    f.put(GuestIdentity()[0] == 'a' ? 'b' : 'a');  // another guest's hash
  }
  StatusOr<StartupSnapshot> guest = OpenStartupSnapshot(copy, key);
  ASSERT_FALSE(guest.ok());
  EXPECT_NE(guest.status().message().find("another guest build"), std::string::npos);

  fs::copy_file(original, copy, fs::copy_options::overwrite_existing);
  fs::resize_file(copy, fs::file_size(copy) - 65536);
  StatusOr<StartupSnapshot> cut = OpenStartupSnapshot(copy, key);
  ASSERT_FALSE(cut.ok());
  EXPECT_NE(cut.status().message().find("bytes, expected"), std::string::npos);

  StatusOr<StartupSnapshot> none = OpenStartupSnapshot(dir_.path() / "none.snapshot", key);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace snakecage
