// Resident children (src/executor/zygote_child.h, "Residents"): a child
// that served a request serves the next one of the same confinement, with
// its interpreter put back exactly as a fresh child's; anything else gets
// another child.
//
// A resident takes a request only once it has said it is idle, a little
// after its result: each test waits kSettle after a run it wants the next
// one to find the resident idle.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
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

constexpr auto kSettle = std::chrono::milliseconds(150);

class ResidentTest : public ::testing::Test {
 protected:
  ResidentTest() : workspace_(dir_.Make("ws")) {
    ExecutorOptions o;
    o.zygote_program = SNAKECAGE_TEST_HOOKS_ZYGOTE;
    o.kill_grace = std::chrono::milliseconds(300);
    executor_ = std::make_unique<Executor>(o);
    policy_.mount_host_dir(workspace_);
  }

  // Runs `code` under `builder`, then lets the child settle.
  ExecutionResult Run(const std::string& code, ExecutionPolicyBuilder builder) {
    StatusOr<ExecutionPolicy> policy = builder.Build();
    EXPECT_TRUE(policy.ok()) << policy.status().message();
    if (!policy.ok()) return {};
    EXPECT_TRUE(StageUserCode(code, *policy).ok());
    StatusOr<ExecutionResult> r = executor_->Run(*policy);
    EXPECT_TRUE(r.ok()) << r.status().message();
    std::this_thread::sleep_for(kSettle);
    return r.ok() ? std::move(*r) : ExecutionResult{};
  }
  ExecutionResult Run(const std::string& code) { return Run(code, policy_); }
  uint64_t Reused() const { return executor_->reused_process_runs(); }

  TempDir dir_;
  fs::path workspace_;
  ExecutionPolicyBuilder policy_;
  std::unique_ptr<Executor> executor_;
};

// What a run that plants state everywhere it can leaves for the next one
// of its workspace: nothing, to the operator of fuel and the byte of memory.
TEST_F(ResidentTest, TheNextRequestOfAWorkspaceFindsTheInterpreterPristine) {
  const std::string check =
      "import builtins, json, sys\n"
      "print(hasattr(builtins, 'LEFT_BEHIND'), json.dumps([1]), 'planted' in sys.modules,\n"
      "      'xml.dom.minidom' in sys.modules, 'left' in globals(), len(sys.argv))\n";
  const ExecutionResult fresh = Run(check);
  ASSERT_EQ(fresh.stdout_text, "False [1] False False False 1\n") << fresh.stderr_text;
  EXPECT_EQ(Reused(), 0u);

  const ExecutionResult planted = Run(
      "import builtins, json, sys, xml.dom.minidom\n"
      "builtins.LEFT_BEHIND = 1\n"
      "json.dumps = None\n"
      "sys.modules['planted'] = sys\n"
      "sys.argv.append('more')\n"
      "left = bytearray(50_000_000)\n"
      "kept_open = open('/app/open.txt', 'w')\n"
      "print('planted')\n");
  ASSERT_EQ(planted.stdout_text, "planted\n") << planted.stderr_text;
  EXPECT_EQ(Reused(), 1u);
  EXPECT_GT(planted.memory_peak_bytes, fresh.memory_peak_bytes + 40'000'000);

  const ExecutionResult again = Run(check);
  EXPECT_EQ(Reused(), 2u);
  EXPECT_EQ(again.stdout_text, fresh.stdout_text) << again.stderr_text;
  EXPECT_EQ(again.fuel_consumed, fresh.fuel_consumed);
  EXPECT_EQ(again.memory_peak_bytes, fresh.memory_peak_bytes);
  // The file the planting run left open was closed with its run; the file
  // itself stays, as every workspace file does.
  EXPECT_TRUE(fs::exists(workspace_ / "open.txt"));
}

// A failed run (an exception, a non-zero exit) keeps its child; a trap
// ends it, and the next request gets a fresh one.
TEST_F(ResidentTest, AnExceptionKeepsTheResidentATrapEndsIt) {
  ASSERT_EQ(Run("print(1)").stdout_text, "1\n");
  const ExecutionResult failed = Run("raise ValueError('no')");
  EXPECT_EQ(failed.exit_code, 1);
  EXPECT_NE(failed.stderr_text.find("ValueError: no"), std::string::npos) << failed.stderr_text;
  const ExecutionResult exited = Run("import sys\nsys.exit(3)");
  EXPECT_EQ(exited.exit_code, 3);
  EXPECT_EQ(Reused(), 2u);

  ExecutionPolicyBuilder small = policy_;
  small.fuel_budget(1'000'000);
  // Another budget is the same confinement: the resident takes it.
  const ExecutionResult out_of_fuel = Run("while True: pass", small);
  EXPECT_EQ(out_of_fuel.trap_reason, TrapReason::kOutOfFuel);
  EXPECT_EQ(Reused(), 3u);
  const ExecutionResult after = Run("print(2)");
  EXPECT_EQ(after.stdout_text, "2\n");
  EXPECT_EQ(Reused(), 3u) << "a child that trapped served again";
  EXPECT_EQ(Run("print(3)").stdout_text, "3\n");
  EXPECT_EQ(Reused(), 4u);
}

// Only a request of the same confinement: the same workspace directory
// (not only its path), mounts and timeout.
TEST_F(ResidentTest, OnlyTheSameConfinementFindsTheResident) {
  ASSERT_EQ(Run("print(1)").stdout_text, "1\n");
  const fs::path other = dir_.Make("other");
  ExecutionPolicyBuilder elsewhere = policy_;
  elsewhere.mount_host_dir(other);
  EXPECT_EQ(Run("print(2)", elsewhere).stdout_text, "2\n");
  EXPECT_EQ(Reused(), 0u);

  ExecutionPolicyBuilder timed = policy_;
  timed.timeout_seconds(7);
  EXPECT_EQ(Run("print(3)", timed).stdout_text, "3\n");
  EXPECT_EQ(Reused(), 0u);

  // The workspace removed and made again at its path: a new directory,
  // which the resident's Landlock rules do not cover.
  fs::remove_all(workspace_);
  fs::create_directory(workspace_);
  const ExecutionResult renewed = Run("open('/app/new.txt', 'w').write('x')\nprint('wrote')");
  EXPECT_EQ(renewed.stdout_text, "wrote\n") << renewed.stderr_text;
  EXPECT_EQ(Reused(), 0u);
  EXPECT_TRUE(fs::exists(workspace_ / "new.txt"));
  EXPECT_EQ(Run("print(open('/app/new.txt').read())").stdout_text, "x\n");
  EXPECT_EQ(Reused(), 1u);
}

// RunOptions::reuse_process off: a fresh child that exits, for that
// execution and for the ones after it.
TEST_F(ResidentTest, AnExecutionNotToReuseGetsAFreshChildThatExits) {
  StatusOr<ExecutionPolicy> policy = policy_.Build();
  ASSERT_TRUE(policy.ok());
  ASSERT_TRUE(StageUserCode("print(1)", *policy).ok());
  RunOptions fresh;
  fresh.reuse_process = false;
  for (int i = 0; i < 3; ++i) {
    StatusOr<ExecutionResult> r = executor_->Run(*policy, fresh);
    ASSERT_TRUE(r.ok() && r->stdout_text == "1\n");
    std::this_thread::sleep_for(kSettle);
  }
  EXPECT_EQ(Reused(), 0u);
  // Nor is a child of such an execution there for the next one that may
  // reuse.
  ASSERT_TRUE(executor_->Run(*policy).ok());
  EXPECT_EQ(Reused(), 0u);
  std::this_thread::sleep_for(kSettle);
  ASSERT_TRUE(executor_->Run(*policy).ok());
  EXPECT_EQ(Reused(), 1u);
}

// Each request gets its own timer and its own kill in a resident.
TEST_F(ResidentTest, TimeoutsAndKillsWorkInAResident) {
  ExecutionPolicyBuilder timed = policy_;
  // Fuel enough for far longer than the timeout.
  timed.timeout_seconds(0.4).fuel_budget(1'000'000'000'000);
  ASSERT_EQ(Run("print(1)", timed).stdout_text, "1\n");
  const ExecutionResult busy = Run("while True: pass", timed);
  EXPECT_EQ(busy.trap_reason, TrapReason::kTimeout)
      << busy.stdout_text << busy.stderr_text << busy.trap_message << " exit " << busy.exit_code
      << " fuel " << busy.fuel_consumed << " ms " << busy.duration_ms;
  EXPECT_EQ(Reused(), 1u);

  // A quick run's timer never fires in a later one, however long after.
  ASSERT_EQ(Run("print(2)", timed).stdout_text, "2\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  const ExecutionResult later = Run("import time\ntime.sleep(0.2)\nprint('later')", timed);
  EXPECT_EQ(later.stdout_text, "later\n") << later.trap_message;
  EXPECT_FALSE(later.trapped);
  EXPECT_EQ(Reused(), 2u);  // the busy run's child ended with its trap
  const uint64_t before = Reused();
  ExecutionPolicyBuilder blocking = timed;
  blocking.set_env("SNAKECAGE_TEST_HOOK", "block");  // hangs in host code
  const ExecutionResult blocked = Run("print('never')", blocking);
  EXPECT_EQ(Reused(), before + 1);
  EXPECT_EQ(blocked.trap_reason, TrapReason::kTimeout);
  EXPECT_EQ(blocked.stdout_text, "");
  EXPECT_EQ(Run("print(3)", timed).stdout_text, "3\n");
}

// The processes the zygote forked and their open descriptors.
std::vector<pid_t> ChildrenOf(pid_t pid) {
  std::vector<pid_t> out;
  for (const auto& task : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
    std::ifstream in(task.path() / "children");
    pid_t child;
    while (in >> child) out.push_back(child);
  }
  return out;
}
// What the descriptors of `pid` refer to.
std::multiset<std::string> FdsOf(pid_t pid) {
  std::multiset<std::string> out;
  std::error_code ec;
  for (auto it = fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != fs::directory_iterator(); it.increment(ec)) {
    out.insert(fs::read_symlink(it->path(), ec).string());
  }
  return out;
}
// A resident holds its /proc/self/pagemap open (to put its guest back);
// a spare does not yet.
bool IsResident(const std::multiset<std::string>& fds) {
  for (const std::string& f : fds) {
    if (f.ends_with("/pagemap")) return true;
  }
  return false;
}

// Hundreds of requests in one resident: the same descriptors after as
// before, and every result right.
TEST_F(ResidentTest, AResidentKeepsNoDescriptorsOfItsRequests) {
  StatusOr<ExecutionPolicy> policy = policy_.Build();
  ASSERT_TRUE(policy.ok());
  ASSERT_TRUE(StageUserCode("f = open('/app/f.txt', 'w')\nprint(1)", *policy).ok());
  ASSERT_TRUE(executor_->Run(*policy).ok());
  std::this_thread::sleep_for(kSettle);
  const std::vector<pid_t> zygotes = executor_->ZygotePids();
  ASSERT_EQ(zygotes.size(), 1u);
  std::map<pid_t, std::multiset<std::string>> before;
  for (pid_t child : ChildrenOf(zygotes[0])) {
    std::multiset<std::string> fds = FdsOf(child);
    if (IsResident(fds)) before[child] = std::move(fds);
  }
  ASSERT_FALSE(before.empty());
  const uint64_t reused_before = Reused();
  for (int i = 0; i < 300; ++i) {
    StatusOr<ExecutionResult> r = executor_->Run(*policy);
    ASSERT_TRUE(r.ok() && r->stdout_text == "1\n") << i;
    if (i % 10 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::this_thread::sleep_for(kSettle);
  EXPECT_GT(Reused(), reused_before + 100);
  size_t residents_seen = 0;
  for (pid_t child : ChildrenOf(zygotes[0])) {
    auto it = before.find(child);
    if (it == before.end()) continue;  // a spare then
    ++residents_seen;
    // Pipes and sockets by inode: the same objects, not only as many.
    EXPECT_EQ(FdsOf(child), it->second) << "child " << child;
  }
  EXPECT_GE(residents_seen, 1u);
}

// Where in the memory of `pid` each of `needles` lies: for each, one line
// per readable mapping holding it (its line of /proc/PID/maps). Read once,
// 1 MiB at a time (each read overlapping the last by a needle's length, so
// that none is missed across a boundary). nullopt when the memory cannot be
// read (no ptrace access).
std::optional<std::vector<std::vector<std::string>>> MappingsHolding(
    pid_t pid, const std::vector<std::string>& needles) {
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  const int mem = open(("/proc/" + std::to_string(pid) + "/mem").c_str(), O_RDONLY | O_CLOEXEC);
  if (mem < 0) return std::nullopt;
  size_t overlap = 0;
  for (const std::string& n : needles) overlap = std::max(overlap, n.size());
  constexpr size_t kChunk = 1 << 20;
  std::vector<std::vector<std::string>> found(needles.size());
  std::vector<char> buf(kChunk + overlap);
  std::string line;
  while (std::getline(maps, line)) {
    unsigned long start = 0, end = 0;
    char perms[5] = {};
    if (sscanf(line.c_str(), "%lx-%lx %4s", &start, &end, perms) != 3 || perms[0] != 'r') continue;
    if (line.ends_with("[vvar]") || line.ends_with("[vsyscall]") || line.ends_with("[vvar_vclock]")) {
      continue;
    }
    std::vector<bool> in_this(needles.size(), false);
    for (unsigned long at = start; at < end; at += kChunk) {
      const size_t want = std::min<unsigned long>(end - at, kChunk + overlap);
      const ssize_t n = pread(mem, buf.data(), want, static_cast<off_t>(at));
      if (n <= 0) break;
      for (size_t i = 0; i < needles.size(); ++i) {
        in_this[i] = in_this[i] || std::search(buf.begin(), buf.begin() + n, needles[i].begin(),
                                               needles[i].end()) != buf.begin() + n;
      }
    }
    for (size_t i = 0; i < needles.size(); ++i) {
      if (in_this[i]) found[i].push_back(line);
    }
  }
  close(mem);
  return found;
}

// A resident that served a request holds nothing of it once idle: not its
// code, output, files or state, in the guest's memory or the host's (the
// freed heap, the dead stack). Code that escaped the WebAssembly sandbox in
// the next request, perhaps another client's, would find none of it.
TEST_F(ResidentTest, AnIdleResidentHoldsNothingOfItsLastRequest) {
  if (snakecage::testing::kUnderAddressSanitizer) {
    GTEST_SKIP() << "ASan's allocator keeps freed blocks as they were (zeroing_free.cc is not "
                    "built there)";
  }
  std::mt19937_64 random(std::random_device{}());
  const auto fresh_secret = [&random] {
    std::string s = "secret-";
    for (int i = 0; i < 24; ++i) s += "0123456789abcdef"[random() % 16];
    return s;
  };
  // In the code, reversed; made by the guest, never in the code: its
  // state and output (the secret) and a file's content ("!" and the code's).
  const std::string secret = fresh_secret();
  const std::string in_code(secret.rbegin(), secret.rend());
  const ExecutionResult r = Run("import sys\n"
                                "s = '" + in_code + "'[::-1] + '!'\n"
                                "print(s[:-1])\n"
                                "sys.stderr.write(s[:-1] * 2000)\n"
                                "open('/app/out.txt', 'w').write(s[::-1] * 3000)\n"
                                "back = open('/app/out.txt').read()\n"
                                "kept = [s] * 1000\n");
  ASSERT_EQ(r.stdout_text, secret + "\n");
  ASSERT_EQ(r.stderr_text.size(), secret.size() * 2000);
  const std::vector<pid_t> zygotes = executor_->ZygotePids();
  ASSERT_EQ(zygotes.size(), 1u);
  std::vector<pid_t> residents;
  for (pid_t child : ChildrenOf(zygotes[0])) {
    if (IsResident(FdsOf(child))) residents.push_back(child);
  }
  ASSERT_EQ(residents.size(), 1u);
  const std::vector<std::string> needles = {in_code, secret, "!" + in_code};
  std::optional<std::vector<std::vector<std::string>>> where =
      MappingsHolding(residents[0], needles);
  if (!where) GTEST_SKIP() << "cannot read /proc/" << residents[0] << "/mem (no ptrace access)";
  for (size_t i = 0; i < needles.size(); ++i) {
    std::string lines;
    for (const std::string& l : (*where)[i]) lines += "\n  " + l;
    EXPECT_TRUE((*where)[i].empty()) << "'" << needles[i] << "' is still in:" << lines;
  }
}

}  // namespace
}  // namespace snakecage
