// The Executor end to end: zygotes, forked children, their confinement,
// timeouts, crashes, concurrency and leaks.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "common/sanitizers.h"
#include "common/temp_dir.h"
#include "snakecage/execution.h"
#include "snakecage/executor.h"

namespace snakecage {
namespace {

namespace fs = std::filesystem;
using snakecage::testing::TempDir;
using snakecage::testing::WriteFile;

class ExecutorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ExecutorOptions o;
    o.zygote_program = SNAKECAGE_TEST_HOOKS_ZYGOTE;
    o.kill_grace = std::chrono::milliseconds(300);
    executor_ = new Executor(o);
  }
  static void TearDownTestSuite() {
    delete executor_;
    executor_ = nullptr;
  }

  ExecutorTest() : workspace_(dir_.Make("ws")) { policy_.mount_host_dir(workspace_); }

  ExecutionResult Run(const std::string& code, ExecutionPolicyBuilder builder) {
    StatusOr<ExecutionPolicy> policy = builder.Build();
    EXPECT_TRUE(policy.ok()) << policy.status().message();
    if (!policy.ok()) return {};
    EXPECT_TRUE(StageUserCode(code, *policy).ok());
    StatusOr<ExecutionResult> r = executor_->Run(*policy);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? std::move(*r) : ExecutionResult{};
  }
  ExecutionResult Run(const std::string& code) { return Run(code, policy_); }
  // Runs `code` under the fixture's policy on an executor of the test's own.
  ExecutionResult RunOn(Executor& executor, const std::string& code) {
    StatusOr<ExecutionPolicy> policy = policy_.Build();
    EXPECT_TRUE(policy.ok() && StageUserCode(code, *policy).ok());
    if (!policy.ok()) return {};
    StatusOr<ExecutionResult> r = executor.Run(*policy);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? std::move(*r) : ExecutionResult{};
  }

  static Executor* executor_;
  TempDir dir_;
  fs::path workspace_;
  ExecutionPolicyBuilder policy_;
};

Executor* ExecutorTest::executor_ = nullptr;

TEST_F(ExecutorTest, RunsCodeInAChild) {
  ExecutionResult r = Run("import sys\nprint(2 + 2)\nprint('e', file=sys.stderr)");
  EXPECT_TRUE(r.success()) << r.stderr_text;
  EXPECT_EQ(r.stdout_text, "4\n");
  EXPECT_EQ(r.stderr_text, "e\n");
  EXPECT_GT(r.fuel_consumed, 0u);
}

// The budget starts where the user's code starts, so a child of the zygote
// and a cold start charge exactly the same.
TEST_F(ExecutorTest, FuelIsTheSameAsACold) {
  // The environment's order is the policy's too (it once came back sorted).
  policy_.set_env("ZZZ", "last").set_env("AAA", "after it");
  const std::string code = "import json, os\nprint(json.dumps({'a': [1, 2, 3]}), list(os.environ))";
  ExecutionResult warm = Run(code);
  StatusOr<ExecutionPolicy> policy = policy_.Build();
  ASSERT_TRUE(policy.ok());
  StatusOr<ExecutionResult> cold = RunPython(code, *policy);
  ASSERT_TRUE(cold.ok());
  EXPECT_EQ(warm.fuel_consumed, cold->fuel_consumed);
  EXPECT_EQ(warm.stdout_text, cold->stdout_text);
  // The same with script arguments, which start-up never sees.
  policy_.argv({"python", "/app/user_code.py", "an", "argument"});
  StatusOr<ExecutionPolicy> with_args = policy_.Build();
  ASSERT_TRUE(with_args.ok());
  const uint64_t warm_args = Run("pass").fuel_consumed;
  StatusOr<ExecutionResult> cold_args = RunPython("pass", *with_args);
  ASSERT_TRUE(cold_args.ok());
  EXPECT_EQ(warm_args, cold_args->fuel_consumed);
}

TEST_F(ExecutorTest, EveryExecutionStartsPristine) {
  ExecutionResult first = Run(
      "import builtins, json, sys, xml.dom.minidom\n"
      "builtins.LEFT_BEHIND = 1\n"
      "json.dumps = None\n"
      "sys.modules['planted'] = sys\n"
      "kept_open = open('/app/open.txt', 'w')\n"
      "print('planted')\n");
  ASSERT_EQ(first.stdout_text, "planted\n") << first.stderr_text;
  ExecutionResult second = Run(
      "import builtins, json, sys\n"
      "print(hasattr(builtins, 'LEFT_BEHIND'), json.dumps([1]), 'planted' in sys.modules,\n"
      "      'xml.dom.minidom' in sys.modules)\n");
  EXPECT_EQ(second.stdout_text, "False [1] False False\n") << second.stderr_text;
}

// Waits until no child of executor_ is running (earlier runs' children may
// still be exiting after their results came back).
void WaitForNoChildren(Executor& executor) {
  for (int i = 0; i < 400 && !executor.RunningChildren().empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

TEST_F(ExecutorTest, RunningChildrenAreVisibleWhileTheyRun) {
  StatusOr<ExecutionPolicy> policy = policy_.Build();
  ASSERT_TRUE(policy.ok());
  ASSERT_TRUE(StageUserCode("import time\ntime.sleep(0.5)", *policy).ok());
  WaitForNoChildren(*executor_);
  ASSERT_TRUE(executor_->RunningChildren().empty());
  std::thread run([&] { EXPECT_TRUE(executor_->Run(*policy).ok()); });
  std::vector<pid_t> children;
  for (int i = 0; i < 200 && children.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    children = executor_->RunningChildren();
  }
  std::string ppid;
  if (children.size() == 1) {
    std::ifstream status("/proc/" + std::to_string(children[0]) + "/status");
    for (std::string line; std::getline(status, line);) {
      if (line.rfind("PPid:", 0) == 0) ppid = line.substr(5);
    }
  }
  run.join();
  ASSERT_EQ(children.size(), 1u);
  const std::vector<pid_t> zygotes = executor_->ZygotePids();
  EXPECT_NE(std::find(zygotes.begin(), zygotes.end(), std::stoi(ppid)), zygotes.end()) << ppid;
  WaitForNoChildren(*executor_);
  EXPECT_TRUE(executor_->RunningChildren().empty());
}

// A descriptor the caller left inheritable never reaches a zygote.
TEST_F(ExecutorTest, ZygotesInheritNoCallerDescriptors) {
  const fs::path leaked = dir_.path() / "leaked.txt";
  WriteFile(leaked, "x");
  // No O_CLOEXEC, on purpose, and clear of the low numbers a spawn reuses.
  const int low = open(leaked.c_str(), O_RDONLY);
  ASSERT_GE(low, 0);
  const int fd = fcntl(low, F_DUPFD, 100);
  close(low);
  ASSERT_GE(fd, 100);
  Executor fresh;
  StatusOr<ExecutionPolicy> policy = policy_.Build();
  ASSERT_TRUE(policy.ok());
  ASSERT_TRUE(StageUserCode("pass", *policy).ok());
  ASSERT_TRUE(fresh.Run(*policy).ok());
  close(fd);
  const std::vector<pid_t> zygotes = fresh.ZygotePids();
  ASSERT_EQ(zygotes.size(), 1u);
  for (const auto& e : fs::directory_iterator("/proc/" + std::to_string(zygotes[0]) + "/fd")) {
    std::error_code ec;
    EXPECT_NE(fs::read_symlink(e.path(), ec), leaked) << e.path();
  }
}

// The zygote keeps a spare child forked ahead of the next request; if it
// dies, the next execution is forked on demand and the executor goes on.
TEST_F(ExecutorTest, ADeadSpareChildIsReplaced) {
  ASSERT_TRUE(Run("pass").success());
  WaitForNoChildren(*executor_);
  // The zygote forks the next spare right after handing a request over.
  std::vector<pid_t> spares;
  for (int attempt = 0; attempt < 200 && spares.empty(); ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    for (pid_t zygote : executor_->ZygotePids()) {
      for (const auto& e : fs::directory_iterator("/proc")) {
        std::ifstream status(e.path() / "status");
        for (std::string line; std::getline(status, line);) {
          if (line.rfind("PPid:", 0) == 0 && std::stoi(line.substr(5)) == zygote) {
            spares.push_back(std::stoi(e.path().filename().string()));
          }
        }
      }
    }
  }
  ASSERT_FALSE(spares.empty()) << "no spare child waiting";
  for (pid_t pid : spares) kill(pid, SIGKILL);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Run("print(7)").stdout_text, "7\n");
}

// Waits up to `limit` for `executor.warm_pages()` to become non-zero (a
// child sends its lesson after its result) and returns it.
size_t WaitForWarmPages(const Executor& executor, std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (executor.warm_pages() == 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return executor.warm_pages();
}

// Under ASan the probes teach no warm set: ASan's shadow memory and
// quarantine make every probe fault in more pages than a lesson may hold.
#define SKIP_WITHOUT_WARMING()                                                         \
  if (testing::kUnderAddressSanitizer) GTEST_SKIP() << "no page warming under ASan"

TEST_F(ExecutorTest, WarmedSparesStillGivePristineResults) {
  SKIP_WITHOUT_WARMING();
  Executor executor;  // a zygote of its own, that has learned nothing yet
  auto run = [&](const std::string& code) { return RunOn(executor, code); };
  for (int i = 0; i < 3; ++i) EXPECT_EQ(run("print(2+2)").stdout_text, "4\n");
  const size_t warm = WaitForWarmPages(executor, std::chrono::seconds(10));
  EXPECT_GT(warm, 0u);
  EXPECT_LE(warm, 1024u + 8192u);  // the lesson caps, page_warming.h
  // Warmed spares change no byte: state set by one execution is gone in the
  // next, and every execution computes its own answer.
  EXPECT_TRUE(run("import json\njson.dumps = None\nleftover = 1").success());
  ExecutionResult after = run("import json\nprint('leftover' in globals(), json.dumps([1]))");
  EXPECT_EQ(after.stdout_text, "False [1]\n") << after.stderr_text;
  for (int i = 0; i < 10; ++i) {
    ExecutionResult r = run("print(sum(range(" + std::to_string(i) + ")))");
    EXPECT_EQ(r.stdout_text, std::to_string(i * (i - 1) / 2) + "\n");
  }
}

// The warm pages come from the zygote's own probe, never from users'
// executions: what one execution touched must not shape the timing of
// another's. Two zygotes whose first executions differ by 768 written pages
// (under the lesson caps, so they would have been learned) warm as many
// pages, give or take the probe's own noise (file pages the kernel maps
// around a fault vary from run to run by a hundred or so).
TEST_F(ExecutorTest, UsersExecutionsTeachNothing) {
  SKIP_WITHOUT_WARMING();
  const std::string heavy = "x = bytearray(3 << 20)\nx[::4096] = b'\\x01' * 768\nprint(sum(x))";
  Executor light_executor, heavy_executor;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(RunOn(light_executor, "print(2+2)").stdout_text, "4\n");
    EXPECT_EQ(RunOn(heavy_executor, heavy).stdout_text, "768\n");
  }
  const size_t light = WaitForWarmPages(light_executor, std::chrono::seconds(10));
  const size_t heavy_warm = WaitForWarmPages(heavy_executor, std::chrono::seconds(10));
  EXPECT_GT(light, 0u);
  EXPECT_LT(std::max(light, heavy_warm) - std::min(light, heavy_warm), 384u)
      << light << " pages vs " << heavy_warm;
}

// The probe's directory (/tmp/snakecage-probe-<zygote pid>-*) is gone once
// the probes are done, and so after the zygote stops.
TEST_F(ExecutorTest, TheProbeLeavesNothingBehind) {
  SKIP_WITHOUT_WARMING();
  auto probe_dirs = [](pid_t zygote) {
    const std::string prefix = "snakecage-probe-" + std::to_string(zygote) + "-";
    size_t n = 0;
    for (const auto& e : fs::directory_iterator("/tmp")) {
      n += e.path().filename().string().rfind(prefix, 0) == 0 ? 1 : 0;
    }
    return n;
  };
  pid_t zygote = -1;
  {
    Executor executor;
    EXPECT_EQ(RunOn(executor, "print(1)").stdout_text, "1\n");
    ASSERT_EQ(executor.ZygotePids().size(), 1u);
    zygote = executor.ZygotePids()[0];
    EXPECT_GT(WaitForWarmPages(executor, std::chrono::seconds(10)), 0u);
    for (int i = 0; i < 100 && probe_dirs(zygote) > 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_EQ(probe_dirs(zygote), 0u);  // the probes were reaped
  }
  EXPECT_EQ(probe_dirs(zygote), 0u);
}

TEST_F(ExecutorTest, RandomStateIsNotShared) {
  const std::string code = "import random\nprint(random.random())";
  ExecutionResult a = Run(code);
  ExecutionResult b = Run(code);
  ASSERT_TRUE(a.success() && b.success());
  EXPECT_NE(a.stdout_text, b.stdout_text);
}

// One zygote serves policies that differ only in what applies per execution.
TEST_F(ExecutorTest, PerExecutionPolicyDifferencesTakeEffectFromOneZygote) {
  fs::path data_a = dir_.Make("data_a"), data_b = dir_.Make("data_b");
  WriteFile(data_a / "f.txt", "A");
  WriteFile(data_b / "f.txt", "B");
  ExecutionPolicyBuilder base = policy_;
  base.mount_data_dir(data_a);
  ASSERT_TRUE(Run("pass", base).success());
  const size_t zygotes = executor_->zygote_count();

  ExecutionPolicyBuilder fuel = base;
  fuel.fuel_budget(1'000'000);
  EXPECT_EQ(Run("while True: pass", fuel).trap_reason, TrapReason::kOutOfFuel);

  ExecutionPolicyBuilder memory = base;
  memory.memory_bytes(40 << 20);
  ExecutionResult m = Run("x = bytearray(64 << 20)", memory);
  EXPECT_NE(m.stderr_text.find("MemoryError"), std::string::npos) << m.stderr_text;
  EXPECT_GT(m.memory_grows_refused, 0u);

  ExecutionPolicyBuilder env = base;
  env.set_env("GREETING", "hi");
  EXPECT_EQ(Run("import os\nprint(os.environ.get('GREETING'))", env).stdout_text, "hi\n");
  EXPECT_EQ(Run("import os\nprint(os.environ.get('GREETING'))", base).stdout_text, "None\n");

  ExecutionPolicyBuilder argv = base;
  argv.argv({"python", "/app/user_code.py", "x", "y"});
  EXPECT_EQ(Run("import sys\nprint(sys.argv)", argv).stdout_text,
            "['/app/user_code.py', 'x', 'y']\n");

  ExecutionPolicyBuilder other_data = base;
  other_data.mount_data_dir(data_b);
  EXPECT_EQ(Run("print(open('/data/f.txt').read())", base).stdout_text, "A\n");
  EXPECT_EQ(Run("print(open('/data/f.txt').read())", other_data).stdout_text, "B\n");

  ExecutionPolicyBuilder caps = base;
  caps.stdout_max_bytes(3);
  ExecutionResult c = Run("print('abcdef')", caps);
  EXPECT_EQ(c.stdout_text, "abc");
  EXPECT_TRUE(c.stdout_truncated);

  EXPECT_EQ(executor_->zygote_count(), zygotes);
}

// What start-up fixes needs its own zygote.
TEST_F(ExecutorTest, StartupDifferencesGetTheirOwnZygote) {
  ASSERT_TRUE(Run("pass").success());
  const size_t before = executor_->zygote_count();
  ExecutionPolicyBuilder other = policy_;
  other.guest_mount_path("/work");
  EXPECT_EQ(Run("print(__file__)", other).stdout_text, "/work/user_code.py\n");
  ExecutionPolicyBuilder hash = policy_;
  hash.set_env("PYTHONHASHSEED", "7");
  EXPECT_EQ(Run("import os, sys\nprint(sys.flags.hash_randomization, os.environ['PYTHONHASHSEED'])",
                hash)
                .stdout_text,
            "1 7\n");
  EXPECT_EQ(executor_->zygote_count(), before + 2);
}

TEST_F(ExecutorTest, TimeoutDuringSleepAndBusyLoop) {
  ExecutionPolicyBuilder p = policy_;
  p.timeout_seconds(0.3).fuel_budget(9'000'000'000'000'000'000u);
  ExecutionResult sleep = Run("import time\nprint('before', flush=True)\ntime.sleep(30)", p);
  EXPECT_EQ(sleep.trap_reason, TrapReason::kTimeout);
  EXPECT_EQ(sleep.exit_code, 124);
  EXPECT_EQ(sleep.stdout_text, "before\n");  // the child stopped itself: output kept
  EXPECT_LT(sleep.duration_ms, 5000);
  ExecutionResult busy = Run("while True: pass", p);
  EXPECT_EQ(busy.trap_reason, TrapReason::kTimeout);
  EXPECT_LT(busy.duration_ms, 5000);
}

// A child blocked in host code is killed by the executor at the timeout.
TEST_F(ExecutorTest, BlockedChildIsKilledAtTheTimeout) {
  ExecutionPolicyBuilder p = policy_;
  p.timeout_seconds(0.2).set_env("SNAKECAGE_TEST_HOOK", "block");
  ExecutionResult r = Run("print('never')", p);
  EXPECT_EQ(r.trap_reason, TrapReason::kTimeout);
  EXPECT_EQ(r.exit_code, 124);
  EXPECT_NE(r.trap_message.find("killed by the executor"), std::string::npos) << r.trap_message;
  EXPECT_LT(r.duration_ms, 5000);
  EXPECT_TRUE(Run("print('next')").success());
}

// The test hooks exist only in the test variant: the zygote that is
// installed has no code for them (not even the variable's name), and its
// children ignore the variable.
TEST_F(ExecutorTest, TheInstalledZygoteHasNoTestHooks) {
  std::ifstream in(SNAKECAGE_INSTALLED_ZYGOTE, std::ios::binary);
  ASSERT_TRUE(in) << SNAKECAGE_INSTALLED_ZYGOTE;
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_GT(bytes.size(), 1000000u);
  EXPECT_EQ(bytes.find("SNAKECAGE_TEST_HOOK"), std::string::npos);
  Executor installed;  // the installation's zygote
  ExecutionPolicyBuilder p = policy_;
  p.set_env("SNAKECAGE_TEST_HOOK", "open:/etc/passwd");
  StatusOr<ExecutionPolicy> policy = p.Build();
  ASSERT_TRUE(policy.ok()) << policy.status().message();
  ASSERT_TRUE(StageUserCode("print('ran')", *policy).ok());
  StatusOr<ExecutionResult> r = installed.Run(*policy);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->stdout_text, "ran\n");
  EXPECT_EQ(r->stderr_text, "");
  // The variant runs the hook: the same request proves it is a hook request.
  EXPECT_NE(Run("print('ran')", p).stderr_text.find("snakecage test hook: open /etc/passwd"),
            std::string::npos);
}

// Layer proofs, from host code inside a confined child (test hooks).
TEST_F(ExecutorTest, SeccompKillsAChildThatCreatesASocket) {
  ExecutionPolicyBuilder p = policy_;
  p.set_env("SNAKECAGE_TEST_HOOK", "socket");
  ExecutionResult r = Run("print('never')", p);
  EXPECT_TRUE(r.trapped);
  EXPECT_EQ(r.trap_reason, TrapReason::kKilled);
  EXPECT_NE(r.trap_message.find("SIGSYS"), std::string::npos) << r.trap_message;
  EXPECT_EQ(r.exit_code, 128 + SIGSYS);
  EXPECT_EQ(r.stdout_text, "");
  // The executor keeps serving.
  EXPECT_EQ(Run("print('after')").stdout_text, "after\n");
}

// A child is not trusted: one that writes without end on its result pipe
// (host code gone wrong; the guest cannot) costs the parent a bounded
// buffer, is killed, and the caller gets a host failure, never a result.
TEST_F(ExecutorTest, AChildFloodingItsResultPipeIsKilledAndIsAHostFailure) {
  ExecutionPolicyBuilder p = policy_;
  p.stdout_max_bytes(1000).stderr_max_bytes(1000).set_env("SNAKECAGE_TEST_HOOK", "flood_result");
  StatusOr<ExecutionPolicy> policy = p.Build();
  ASSERT_TRUE(policy.ok()) << policy.status().message();
  ASSERT_TRUE(StageUserCode("print('never')", *policy).ok());
  StatusOr<ExecutionResult> r = executor_->Run(*policy);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
  EXPECT_EQ(r.status().message(),
            "executor: the execution's process wrote more than 1060576 bytes on its result "
            "pipe and was killed");
  EXPECT_EQ(Run("print('after')").stdout_text, "after\n");
}

TEST_F(ExecutorTest, LandlockRefusesHostFilesOutsideTheGrants) {
  fs::path outside = dir_.path() / "outside.txt";
  WriteFile(outside, "secret");
  for (const std::string& path : {outside.string(), std::string("/etc/passwd")}) {
    ExecutionPolicyBuilder p = policy_;
    p.set_env("SNAKECAGE_TEST_HOOK", "open:" + path);
    ExecutionResult r = Run("print('ran')", p);
    EXPECT_EQ(r.stdout_text, "ran\n");
    EXPECT_NE(r.stderr_text.find("snakecage test hook: open " + path + ": Permission denied"),
              std::string::npos)
        << r.stderr_text;
  }
  // Inside the grants the same host code may open files.
  WriteFile(workspace_ / "inside.txt", "ok");
  ExecutionPolicyBuilder p = policy_;
  p.set_env("SNAKECAGE_TEST_HOOK", "open:" + (workspace_ / "inside.txt").string());
  EXPECT_NE(Run("pass", p).stderr_text.find("inside.txt: opened"), std::string::npos);
}

// The guest may leave user_code.py a hard link to, or a symlink at, another
// file; staging the next execution's code replaces the name and never
// writes through it.
TEST_F(ExecutorTest, StagingCodeNeverWritesThroughWhatTheGuestLeftAtItsName) {
  ExecutionResult linked = Run(
      "import os\n"
      "open('/app/keep.txt', 'w').write('keep me')\n"
      "os.remove('/app/user_code.py')\n"
      "os.link('/app/keep.txt', '/app/user_code.py')\n");
  ASSERT_TRUE(linked.success()) << linked.stderr_text;
  ASSERT_EQ(fs::hard_link_count(dir_.path() / "ws" / "keep.txt"), 2u);
  ExecutionResult next = Run("print(open('/app/keep.txt').read())\n"
                             "import os\n"
                             "os.remove('/app/user_code.py')\n"
                             "os.symlink('/app/keep.txt', '/app/user_code.py')\n");
  EXPECT_EQ(next.stdout_text, "keep me\n") << next.stderr_text;
  ExecutionResult last = Run("print(open('/app/keep.txt').read())");
  EXPECT_EQ(last.stdout_text, "keep me\n") << last.stderr_text;
  EXPECT_FALSE(fs::is_symlink(dir_.path() / "ws" / "user_code.py"));
}

TEST_F(ExecutorTest, MissingWorkspaceIsAStatusNotAResult) {
  StatusOr<ExecutionPolicy> policy = policy_.Build();
  ASSERT_TRUE(policy.ok());
  fs::remove_all(workspace_);
  StatusOr<ExecutionResult> r = executor_->Run(*policy);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find(workspace_.string()), std::string::npos)
      << r.status().message();
}

TEST_F(ExecutorTest, HundredConcurrentExecutionsGiveTheirOwnResults) {
  constexpr int kRuns = 100;
  std::vector<std::unique_ptr<TempDir>> dirs;
  for (int i = 0; i < kRuns; ++i) dirs.push_back(std::make_unique<TempDir>());
  std::vector<std::string> out(kRuns);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kRuns; ++i) {
    threads.emplace_back([&, i] {
      auto policy = ExecutionPolicyBuilder()
                        .mount_host_dir(dirs[i]->path())
                        .argv({"python", "/app/user_code.py", std::to_string(i)})
                        .Build();
      if (!policy.ok() ||
          !StageUserCode("import sys\nprint(int(sys.argv[1]) * 3)", *policy).ok()) {
        ++failures;
        return;
      }
      auto r = executor_->Run(*policy);
      if (!r.ok() || !r->success()) {
        ++failures;
        return;
      }
      out[i] = r->stdout_text;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  for (int i = 0; i < kRuns; ++i) EXPECT_EQ(out[i], std::to_string(i * 3) + "\n") << i;
}


uint64_t RssKb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6));
  }
  return 0;
}

// 10,000 executions leave the parent with the same descriptors and
// (within allocator noise) the same memory.
TEST_F(ExecutorTest, NoDescriptorOrMemoryGrowthOver10000Executions) {
  StatusOr<ExecutionPolicy> policy = policy_.Build();
  ASSERT_TRUE(policy.ok());
  ASSERT_TRUE(StageUserCode("print(1)", *policy).ok());
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(executor_->Run(*policy).ok());
  const size_t fds = testing::OpenFdCount();
  const uint64_t rss = RssKb();
  for (int i = 0; i < 10'000; ++i) {
    StatusOr<ExecutionResult> r = executor_->Run(*policy);
    ASSERT_TRUE(r.ok() && r->stdout_text == "1\n") << i;
  }
  EXPECT_EQ(testing::OpenFdCount(), fds);
  // ASan holds freed memory back on purpose (its quarantine, 256 MB).
  if (!testing::kUnderAddressSanitizer) {
    EXPECT_LT(RssKb(), rss + 4096) << "RSS grew from " << rss << " kB";
  }
}

}  // namespace
}  // namespace snakecage
