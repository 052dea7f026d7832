// Sessions that keep their Python state (ExecutionPolicy::keep_state)
// through the Executor: commits, rollbacks after every kind of failure,
// isolation, eviction, concurrency and leaks.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/sanitizers.h"
#include "common/temp_dir.h"
#include "snakecage/execution.h"
#include "snakecage/executor.h"

namespace snakecage {
namespace {

namespace fs = std::filesystem;
using snakecage::testing::TempDir;

class LiveInterpretersTest : public ::testing::Test {
 protected:
  static ExecutorOptions Options() {
    ExecutorOptions o;
    o.zygote_program = SNAKECAGE_TEST_HOOKS_ZYGOTE;
    o.kill_grace = std::chrono::milliseconds(300);
    return o;
  }
  static void SetUpTestSuite() { executor_ = new Executor(Options()); }
  static void TearDownTestSuite() {
    delete executor_;
    executor_ = nullptr;
  }

  LiveInterpretersTest() : workspace_(dir_.Make("ws")) {
    policy_.mount_host_dir(workspace_).keep_state(true);
  }
  // The shared executor keeps no state of this test's sessions.
  ~LiveInterpretersTest() override {
    for (const auto& e : fs::directory_iterator(dir_.path())) executor_->DropState(e.path());
  }

  ExecutionResult RunOn(Executor& executor, const std::string& code,
                        ExecutionPolicyBuilder builder) {
    StatusOr<ExecutionPolicy> policy = builder.Build();
    EXPECT_TRUE(policy.ok()) << policy.status().message();
    if (!policy.ok()) return {};
    EXPECT_TRUE(StageUserCode(code, *policy).ok());
    StatusOr<ExecutionResult> r = executor.Run(*policy);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? std::move(*r) : ExecutionResult{};
  }
  ExecutionResult Run(const std::string& code, ExecutionPolicyBuilder builder) {
    return RunOn(*executor_, code, std::move(builder));
  }
  ExecutionResult Run(const std::string& code) { return Run(code, policy_); }

  static Executor* executor_;
  TempDir dir_;
  fs::path workspace_;
  ExecutionPolicyBuilder policy_;
};

Executor* LiveInterpretersTest::executor_ = nullptr;

::testing::AssertionResult StateIs(const ExecutionResult& r, StateOutcome want) {
  if (!r.state) return ::testing::AssertionFailure() << "no state in the result";
  if (*r.state != want) {
    return ::testing::AssertionFailure()
           << "state " << StateOutcomeName(*r.state) << ", want " << StateOutcomeName(want)
           << " (" << r.state_reason << "); stderr: " << r.stderr_text;
  }
  return ::testing::AssertionSuccess();
}

TEST_F(LiveInterpretersTest, StateIsKeptBetweenExecutions) {
  ExecutionResult first = Run("import json\nx = 1\nrows = [{'n': n} for n in range(3)]");
  ASSERT_TRUE(first.success()) << first.stderr_text;
  EXPECT_TRUE(StateIs(first, StateOutcome::kFresh));
  EXPECT_NE(first.state_reason.find("no kept state"), std::string::npos) << first.state_reason;

  ExecutionResult second = Run("x += 1\nprint(x, json.dumps(rows[-1]))");
  ASSERT_TRUE(second.success()) << second.stderr_text;
  EXPECT_EQ(second.stdout_text, "2 {\"n\": 2}\n");
  EXPECT_TRUE(StateIs(second, StateOutcome::kCommitted));
  EXPECT_GT(second.fuel_consumed, 0u);
  EXPECT_EQ(executor_->live_interpreter_count(), 1u);

  ExecutionResult third = Run("print(x)");
  EXPECT_EQ(third.stdout_text, "2\n");
}

TEST_F(LiveInterpretersTest, WithoutKeepStateNothingIsKeptOrReported) {
  ASSERT_TRUE(Run("x = 1").success());
  ExecutionPolicyBuilder fresh = policy_;
  fresh.keep_state(false);
  ExecutionResult r = Run("print('x' in globals())", fresh);
  EXPECT_EQ(r.stdout_text, "False\n");
  EXPECT_FALSE(r.state.has_value());
}

// Each failing cell first changes the state, then fails; the next cell must
// see the state as it was before.
struct Failure {
  const char* name;
  const char* code;
  std::optional<TrapReason> trap;  // nullopt: an exit status, no trap
  int exit_code;
};

void PrintTo(const Failure& f, std::ostream* os) { *os << f.name; }

class RollbackTest : public LiveInterpretersTest,
                     public ::testing::WithParamInterface<Failure> {};

TEST_P(RollbackTest, AFailedExecutionLeavesTheStateAsItWas) {
  const Failure& f = GetParam();
  ASSERT_TRUE(Run("x = 'kept'\nitems = [1, 2]").success());
  ExecutionPolicyBuilder limited = policy_;
  limited.fuel_budget(200'000'000).memory_bytes(64'000'000).timeout_seconds(1.0);
  ExecutionResult failed =
      Run(std::string("x = 'changed'\nitems.append(3)\nimport statistics\n") + f.code, limited);
  EXPECT_FALSE(failed.success());
  EXPECT_TRUE(StateIs(failed, StateOutcome::kRolledBack));
  if (std::string(f.name) == "MemoryCap") {
    EXPECT_GT(failed.memory_grows_refused, 0u);
    EXPECT_NE(failed.stderr_text.find("MemoryError"), std::string::npos) << failed.stderr_text;
  }
  EXPECT_EQ(failed.trap_reason, f.trap) << failed.trap_message << failed.stderr_text;
  if (!f.trap) EXPECT_EQ(failed.exit_code, f.exit_code);
  EXPECT_NE(failed.state_reason.find("as it was before"), std::string::npos)
      << failed.state_reason;

  ExecutionResult after = Run("print(x, items)");
  ASSERT_TRUE(after.success()) << after.stderr_text;
  EXPECT_EQ(after.stdout_text, "kept [1, 2]\n");
  EXPECT_TRUE(StateIs(after, StateOutcome::kCommitted));
}

INSTANTIATE_TEST_SUITE_P(
    EveryKindOfFailure, RollbackTest,
    ::testing::Values(
        Failure{"Exception", "raise ValueError('no')", std::nullopt, 1},
        Failure{"SysExit", "import sys\nsys.exit(3)", std::nullopt, 3},
        Failure{"OutOfFuel", "while True: pass", TrapReason::kOutOfFuel, 0},
        // Python raises MemoryError when memory.grow is refused: uncaught,
        // an exception like any other.
        Failure{"MemoryCap", "keep = []\nwhile True: keep.append(bytearray(10**6))",
                std::nullopt, 1},
        Failure{"Timeout", "import time\ntime.sleep(30)", TrapReason::kTimeout, 0}),
    [](const auto& info) { return std::string(info.param.name); });

// A cell hung in host code (where the guest's own timer cannot stop it) is
// killed by the executor, through the pidfd its live interpreter sent, at
// its timeout and the grace; the state is as it was.
TEST_F(LiveInterpretersTest, ACellHungInHostCodeIsKilledAtItsTimeoutAndRolledBack) {
  ASSERT_TRUE(Run("x = 'kept'").success());
  const std::vector<pid_t> live = executor_->LiveInterpreterPids();
  ExecutionPolicyBuilder hung = policy_;
  hung.timeout_seconds(0.5).set_env("SNAKECAGE_TEST_HOOK", "block");
  const auto start = std::chrono::steady_clock::now();
  ExecutionResult r = Run("x = 'changed'", hung);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(r.trap_reason, TrapReason::kTimeout) << r.trap_message;
  EXPECT_TRUE(StateIs(r, StateOutcome::kRolledBack));
  EXPECT_LT(seconds, 5.0);  // killed at 0.5 s + 0.3 s grace, not left hanging
  // The live interpreter itself is untouched.
  EXPECT_EQ(executor_->LiveInterpreterPids(), live);
  ExecutionResult after = Run("print(x)");
  EXPECT_EQ(after.stdout_text, "kept\n") << after.stderr_text;
  EXPECT_TRUE(StateIs(after, StateOutcome::kCommitted));
}

TEST_F(LiveInterpretersTest, AKilledExecutionIsRolledBack) {
  ASSERT_TRUE(Run("x = 'kept'").success());
  const std::vector<pid_t> live = executor_->LiveInterpreterPids();
  ASSERT_EQ(live.size(), 1u);
  ExecutionResult killed;
  std::thread runner([&] { killed = Run("x = 'changed'\nwhile True: pass"); });
  // The cell runs in a child of the live interpreter.
  pid_t cell = -1;
  for (int i = 0; i < 500 && cell < 0; ++i) {
    std::ifstream children("/proc/" + std::to_string(live[0]) + "/task/" +
                           std::to_string(live[0]) + "/children");
    pid_t pid = -1;
    if (children >> pid) cell = pid;
    else std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_GT(cell, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_EQ(kill(cell, SIGKILL), 0);
  runner.join();
  EXPECT_EQ(killed.trap_reason, TrapReason::kKilled) << killed.trap_message;
  EXPECT_TRUE(StateIs(killed, StateOutcome::kRolledBack));
  ExecutionResult after = Run("print(x)");
  EXPECT_EQ(after.stdout_text, "kept\n");
  EXPECT_TRUE(StateIs(after, StateOutcome::kCommitted));
}

// The memory cap covers the whole state: a cell whose cap is below what the
// state holds already cannot run, and the state stays.
TEST_F(LiveInterpretersTest, TheMemoryCapCoversTheWholeState) {
  ASSERT_TRUE(Run("block = bytearray(40 * 10**6)").success());
  ExecutionPolicyBuilder small = policy_;
  small.memory_bytes(30'000'000);
  ExecutionResult r = Run("print('ran')", small);
  EXPECT_EQ(r.trap_reason, TrapReason::kMemoryLimit);
  EXPECT_NE(r.trap_message.find("kept state"), std::string::npos) << r.trap_message;
  EXPECT_EQ(r.stdout_text, "");
  EXPECT_TRUE(StateIs(r, StateOutcome::kRolledBack));
  EXPECT_EQ(Run("print(len(block))").stdout_text, "40000000\n");
}

TEST_F(LiveInterpretersTest, EachExecutionHasItsOwnArgvEnvironmentAndOutputCaps) {
  ASSERT_TRUE(Run("import os, sys\nseen = []").success());
  ExecutionPolicyBuilder other = policy_;
  other.set_env("CELL", "two").argv({"python", "/app/user_code.py", "arg"}).stdout_max_bytes(5);
  ExecutionResult r = Run("seen.append(os.environ['CELL'])\nprint(sys.argv[1:], 'and more')",
                          other);
  EXPECT_TRUE(r.success()) << r.stderr_text;
  EXPECT_EQ(r.stdout_text, "['arg");
  EXPECT_TRUE(r.stdout_truncated);
  ExecutionResult back = Run("print(seen, os.environ.get('CELL'), sys.argv[1:])");
  EXPECT_EQ(back.stdout_text, "['two'] None []\n");
}

TEST_F(LiveInterpretersTest, OpenFilesStayOpenBetweenExecutions) {
  ASSERT_TRUE(Run("log = open('/app/log.txt', 'w')\nlog.write('one ')").success());
  ASSERT_TRUE(Run("log.write('two')").success());
  std::ifstream in(workspace_ / "log.txt");
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), "one two");  // flushed at the end of each execution
}

TEST_F(LiveInterpretersTest, SessionsNeverSeeEachOthersState) {
  ASSERT_TRUE(Run("secret = 'a'").success());
  ExecutionPolicyBuilder other = policy_;
  other.mount_host_dir(dir_.Make("other"));
  ExecutionResult r = Run("print('secret' in globals())\nsecret = 'b'", other);
  EXPECT_EQ(r.stdout_text, "False\n");
  EXPECT_TRUE(StateIs(r, StateOutcome::kFresh));
  EXPECT_EQ(Run("print(secret)").stdout_text, "a\n");
  EXPECT_EQ(Run("print(secret)", other).stdout_text, "b\n");
}

TEST_F(LiveInterpretersTest, DropStateStartsTheNextExecutionFresh) {
  ASSERT_TRUE(Run("x = 1").success());
  EXPECT_TRUE(executor_->DropState(workspace_));
  EXPECT_FALSE(executor_->DropState(workspace_));
  ExecutionResult r = Run("print('x' in globals())");
  EXPECT_EQ(r.stdout_text, "False\n");
  EXPECT_TRUE(StateIs(r, StateOutcome::kFresh));
  EXPECT_NE(r.state_reason.find("no kept state"), std::string::npos) << r.state_reason;
}

TEST_F(LiveInterpretersTest, AFailedFirstExecutionKeepsNoState) {
  ExecutionResult r = Run("x = 1\nraise SystemExit(2)");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(StateIs(r, StateOutcome::kFresh));
  EXPECT_NE(r.state_reason.find("no state is kept"), std::string::npos) << r.state_reason;
  ExecutionResult next = Run("print('x' in globals())");
  EXPECT_EQ(next.stdout_text, "False\n");
  EXPECT_TRUE(StateIs(next, StateOutcome::kFresh));
}

TEST_F(LiveInterpretersTest, ADeadLiveInterpreterGivesAFreshStateAndSaysSo) {
  ASSERT_TRUE(Run("x = 1").success());
  ASSERT_TRUE(Run("x += 1").success());  // a committed cell's process holds it now
  const std::vector<pid_t> live = executor_->LiveInterpreterPids();
  ASSERT_EQ(live.size(), 1u);
  ASSERT_EQ(kill(live[0], SIGKILL), 0);
  ExecutionResult r;
  for (int i = 0; i < 100; ++i) {  // until the socket has closed
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (executor_->LiveInterpreterPids().empty() || i > 20) break;
  }
  r = Run("print('x' in globals())");
  EXPECT_EQ(r.stdout_text, "False\n");
  EXPECT_TRUE(StateIs(r, StateOutcome::kFresh));
  EXPECT_NE(r.state_reason.find("had died"), std::string::npos) << r.state_reason;
}

TEST_F(LiveInterpretersTest, OtherMountsStartFreshAndSayWhy) {
  ASSERT_TRUE(Run("x = 1").success());
  ExecutionPolicyBuilder with_data = policy_;
  with_data.mount_data_dir(dir_.Make("data"));
  ExecutionResult r = Run("print('x' in globals())", with_data);
  EXPECT_EQ(r.stdout_text, "False\n");
  EXPECT_TRUE(StateIs(r, StateOutcome::kFresh));
  EXPECT_NE(r.state_reason.find("mounts"), std::string::npos) << r.state_reason;
}

// Each execution reads n, sleeps, writes n + 1: interleaved, some increments
// would be lost.
TEST_F(LiveInterpretersTest, ConcurrentExecutionsOfOneSessionAreSerialised) {
  ASSERT_TRUE(Run("n = 0").success());
  StatusOr<ExecutionPolicy> policy = policy_.Build();
  ASSERT_TRUE(policy.ok());
  // Staged once: the executor runs what is staged, and a sandbox holds the
  // session's lock from staging to the end (the executor's own lock is what
  // this tests).
  ASSERT_TRUE(StageUserCode("m = n\nimport time\ntime.sleep(0.001)\nn = m + 1", *policy).ok());
  constexpr int kThreads = 6;
  constexpr int kEach = 10;
  std::vector<std::thread> threads;
  std::atomic<int> committed{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        StatusOr<ExecutionResult> r = executor_->Run(*policy);
        if (r.ok() && r->state == StateOutcome::kCommitted) ++committed;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(committed.load(), kThreads * kEach);
  EXPECT_EQ(Run("print(n)").stdout_text, std::to_string(kThreads * kEach) + "\n");
}

// What a session keeps across an eviction: modules (imported again),
// values that pickle; not functions, classes or their instances defined in
// __main__, nor what does not pickle (a generator).
constexpr char kRichState[] =
    "import json\n"
    "import collections as coll\n"
    "from math import sqrt\n"
    "n = 41\n"
    "data = {'k': [1, 2], 't': (3, 'x')}\n"
    "counts = coll.Counter('abca')\n"
    "def helper(): return 1\n"
    "class Point: pass\n"
    "point = Point()\n"
    "gen = (i for i in range(3))\n"
    "square = lambda v: v * v\n";
constexpr char kUseRichState[] =
    "print(json.dumps(data), n + 1, counts['a'], sqrt(16.0), coll.__name__)\n"
    "print(sorted(k for k in ('helper', 'Point', 'point', 'gen', 'square') if k in globals()))\n";
constexpr char kRichStateOutput[] =
    "{\"k\": [1, 2], \"t\": [3, \"x\"]} 42 2 4.0 collections\n[]\n";
const std::vector<std::string> kRichStateDropped = {"Point", "gen", "helper", "point",
                                                    "square"};

TEST_F(LiveInterpretersTest, TheLeastRecentlyUsedIsSavedAndDroppedToMakeRoom) {
  ExecutorOptions o = Options();
  o.max_live_interpreters = 2;
  Executor executor(o);
  std::vector<ExecutionPolicyBuilder> sessions(3, policy_);
  std::vector<fs::path> workspaces;
  for (size_t i = 0; i < sessions.size(); ++i) {
    workspaces.push_back(dir_.Make("s" + std::to_string(i)));
    sessions[i].mount_host_dir(workspaces[i]);
    const std::string code = i == 0 ? kRichState : "v = " + std::to_string(i);
    ASSERT_TRUE(RunOn(executor, code, sessions[i]).success());
  }
  EXPECT_EQ(executor.live_interpreter_count(), 2u);
  // Saved beside the workspace, where the guest cannot reach.
  const fs::path saved = fs::path(workspaces[0].string() + ".snakecage-state");
  EXPECT_TRUE(fs::exists(saved));
  EXPECT_FALSE(fs::exists(workspaces[0] / ".snakecage-saved-state"));
  ExecutionResult first = RunOn(executor, kUseRichState, sessions[0]);
  EXPECT_TRUE(first.success()) << first.stderr_text;
  EXPECT_EQ(first.stdout_text, kRichStateOutput);
  EXPECT_TRUE(StateIs(first, StateOutcome::kRestored));
  EXPECT_EQ(first.state_dropped, kRichStateDropped);
  EXPECT_NE(first.state_reason.find("max_live_interpreters"), std::string::npos)
      << first.state_reason;
  // The restored state is live again; its save is spent, the restore file gone.
  EXPECT_FALSE(fs::exists(saved));
  EXPECT_FALSE(fs::exists(workspaces[0] / ".snakecage-saved-state"));
  ExecutionResult again = RunOn(executor, "n += 1\nprint(n)", sessions[0]);
  EXPECT_EQ(again.stdout_text, "42\n");
  EXPECT_TRUE(StateIs(again, StateOutcome::kCommitted));
  EXPECT_EQ(RunOn(executor, "print(v)", sessions[2]).stdout_text, "2\n");
}

TEST_F(LiveInterpretersTest, AnIdleLiveInterpreterIsSavedAndDropped) {
  ExecutorOptions o = Options();
  o.live_idle_timeout = std::chrono::milliseconds(200);
  Executor executor(o);
  ASSERT_TRUE(RunOn(executor, "v = [1, 2, 3]", policy_).success());
  for (int i = 0; i < 300 && executor.live_interpreter_count() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(executor.live_interpreter_count(), 0u);
  ExecutionResult r = RunOn(executor, "print(sum(v))", policy_);
  EXPECT_EQ(r.stdout_text, "6\n");
  EXPECT_TRUE(StateIs(r, StateOutcome::kRestored));
  EXPECT_TRUE(r.state_dropped.empty());
  EXPECT_NE(r.state_reason.find("live_idle_timeout"), std::string::npos) << r.state_reason;
}

// The globals outlive the executor (a server restarted, a CLI process per
// call): the next executor restores them.
TEST_F(LiveInterpretersTest, TheStateOutlivesItsExecutor) {
  {
    Executor first(Options());
    ASSERT_TRUE(RunOn(first, kRichState, policy_).success());
  }
  Executor second(Options());
  ExecutionResult r = RunOn(second, kUseRichState, policy_);
  EXPECT_EQ(r.stdout_text, kRichStateOutput) << r.stderr_text;
  EXPECT_TRUE(StateIs(r, StateOutcome::kRestored));
  EXPECT_EQ(r.state_dropped, kRichStateDropped);
}

TEST_F(LiveInterpretersTest, AFailedRestoredExecutionKeepsTheSaveForTheNext) {
  {
    Executor first(Options());
    ASSERT_TRUE(RunOn(first, "v = 7", policy_).success());
  }
  Executor second(Options());
  ExecutionResult failed = RunOn(second, "v = 0\nraise RuntimeError('x')", policy_);
  EXPECT_TRUE(StateIs(failed, StateOutcome::kRestored));
  EXPECT_NE(failed.state_reason.find("saved globals stay"), std::string::npos)
      << failed.state_reason;
  EXPECT_FALSE(fs::exists(workspace_ / ".snakecage-saved-state"));
  ExecutionResult next = RunOn(second, "print(v)", policy_);
  EXPECT_EQ(next.stdout_text, "7\n");
  EXPECT_TRUE(StateIs(next, StateOutcome::kRestored));
}

// The processes whose parent is `pid` (from /proc/*/stat).
std::vector<pid_t> ChildrenOf(pid_t pid) {
  std::vector<pid_t> out;
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(e.path() / "stat");
    std::string stat;
    if (!std::getline(in, stat) || stat.rfind(')') == std::string::npos) continue;
    std::istringstream rest(stat.substr(stat.rfind(')') + 1));
    std::string state;
    pid_t ppid = 0;
    if (rest >> state >> ppid && ppid == pid && state != "Z") out.push_back(std::stoi(name));
  }
  return out;
}

bool Alive(pid_t pid) { return kill(pid, 0) == 0; }

// The next cell's process is forked ahead of the request (off its path):
// after each commit the live interpreter has one child, waiting. It takes
// the next request and becomes the live interpreter when that commits; it
// goes with the state, and with its live interpreter.
TEST_F(LiveInterpretersTest, ASpareCellWaitsAheadOfEachRequestAndGoesWithTheState) {
  ASSERT_TRUE(Run("x = 1").success());
  // The live interpreter's children once `gone` (a failed cell's process,
  // which may take a while to exit) is no longer among them.
  auto spare_of = [](pid_t live, pid_t gone = -1) {
    std::vector<pid_t> children;
    for (int i = 0; i < 1000; ++i) {
      children = ChildrenOf(live);
      if (!children.empty() &&
          std::find(children.begin(), children.end(), gone) == children.end()) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return children;
  };
  const pid_t first = executor_->LiveInterpreterPids().at(0);
  const std::vector<pid_t> spare = spare_of(first);
  ASSERT_EQ(spare.size(), 1u);
  ASSERT_TRUE(Run("x += 1").success());
  // The spare ran that cell and holds the state now.
  EXPECT_EQ(executor_->LiveInterpreterPids(), spare);
  const std::vector<pid_t> next = spare_of(spare[0]);
  ASSERT_EQ(next.size(), 1u);
  // A rollback keeps the live interpreter; a new spare waits.
  ASSERT_FALSE(Run("x += 1\nraise ValueError").success());
  EXPECT_EQ(executor_->LiveInterpreterPids(), spare);
  const std::vector<pid_t> after_rollback = spare_of(spare[0], next[0]);
  ASSERT_EQ(after_rollback.size(), 1u);
  EXPECT_NE(after_rollback, next);
  EXPECT_EQ(Run("print(x)").stdout_text, "2\n");
  const pid_t live = executor_->LiveInterpreterPids().at(0);
  const std::vector<pid_t> last = spare_of(live);
  ASSERT_EQ(last.size(), 1u);
  EXPECT_TRUE(executor_->DropState(workspace_));
  for (int i = 0; i < 500 && (Alive(live) || Alive(last[0])); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  // Reaped by the zygote (their subreaper), so gone, not zombies.
  EXPECT_FALSE(Alive(live));
  EXPECT_FALSE(Alive(last[0]));
}

TEST_F(LiveInterpretersTest, DropStateDeletesTheSavedGlobalsToo) {
  {
    Executor first(Options());
    ASSERT_TRUE(RunOn(first, "v = 7", policy_).success());
  }
  Executor second(Options());
  EXPECT_TRUE(second.DropState(workspace_));
  ExecutionResult r = RunOn(second, "print('v' in globals())", policy_);
  EXPECT_EQ(r.stdout_text, "False\n");
  EXPECT_TRUE(StateIs(r, StateOutcome::kFresh));
}

long MaxRssKb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

TEST_F(LiveInterpretersTest, AThousandExecutionsKeepTheStateWithoutGrowth) {
  ASSERT_TRUE(Run("x = 0").success());
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(Run("x += 1").success());  // warm up
  const size_t fds = snakecage::testing::OpenFdCount();
  const long rss = MaxRssKb();
  for (int i = 0; i < 1000; ++i) {
    ExecutionResult r = Run("x += 1");
    ASSERT_TRUE(r.success()) << i << ": " << r.stderr_text;
  }
  EXPECT_EQ(Run("print(x)").stdout_text, "1050\n");
  EXPECT_EQ(snakecage::testing::OpenFdCount(), fds);
  // ASan holds freed memory back on purpose (its quarantine, 256 MB).
  if (!snakecage::testing::kUnderAddressSanitizer) {
    EXPECT_LT(MaxRssKb() - rss, 8 * 1024) << "kB of host memory growth";
  }
  EXPECT_EQ(executor_->live_interpreter_count(), 1u);
}

}  // namespace
}  // namespace snakecage
