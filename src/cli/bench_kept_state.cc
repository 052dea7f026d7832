#include "cli/bench_kept_state.h"

#include <chrono>
#include <fstream>
#include <thread>
#include <string>
#include <string_view>

#include "cli/process_memory.h"
#include "snakecage/execution.h"
#include "snakecage/policy.h"

namespace snakecage::cli {
namespace {

using Clock = std::chrono::steady_clock;

// The 10 MB list: 2.5 million pointers of 4 bytes (wasm32).
constexpr uint64_t kListBytes = 10'000'000;

// Runs what is staged; OK when it ended with `exit_code` and `state`.
StatusOr<ExecutionResult> RunExpecting(Executor& executor, const ExecutionPolicy& policy,
                                       std::string_view what, int exit_code,
                                       StateOutcome state) {
  StatusOr<ExecutionResult> r = executor.Run(policy);
  if (!r.ok()) return Internal("bench: kept state: " + std::string(what) + ": " +
                               r.status().message());
  if (r->exit_code != exit_code || r->trapped || r->state != state) {
    return Internal("bench: kept state: " + std::string(what) + ": expected exit " +
                    std::to_string(exit_code) + " and state " +
                    std::string(StateOutcomeName(state)) + ", got exit " +
                    std::to_string(r->exit_code) + (r->trapped ? " (trapped: " + r->trap_message +
                                                                     ")"
                                                               : "") +
                    " and state " +
                    (r->state ? std::string(StateOutcomeName(*r->state)) : "none") + " (" +
                    r->state_reason + "; stderr " + r->stderr_text.substr(0, 200) + ")");
  }
  return r;
}

// The process state letter of `pid` ('Z' for a zombie), or 0 when it is gone.
char StateOf(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return 0;
  const size_t paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() ? stat[paren + 2] : 0;
}

// The idle live interpreter's private memory, counted with its spare's
// (the process forked ahead of the next request) as one: the pages only
// those two map. After a commit the previous live interpreter
// (`previous`, or -1) exits on its own; until it has, the pages the two
// share are not private to either, so this waits for it.
StatusOr<uint64_t> LivePrivateBytes(Executor& executor, pid_t previous) {
  for (int i = 0; previous > 0 && i < 2000; ++i) {
    const char state = StateOf(previous);
    if (state == 0 || state == 'Z') break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const std::vector<pid_t> pids = executor.LiveInterpreterPids();
  if (pids.size() != 1 || pids[0] <= 0) {
    return Internal("bench: kept state: expected one live interpreter, found " +
                    std::to_string(pids.size()));
  }
  // The spare is forked right after the result: wait for it.
  std::vector<pid_t> processes = ChildrenOf(pids[0]);
  for (int i = 0; processes.empty() && i < 1000; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    processes = ChildrenOf(pids[0]);
  }
  processes.push_back(pids[0]);
  // The two share the state's pages, so neither holds them privately.
  return GroupPrivateBytes(processes);
}

}  // namespace

StatusOr<KeptStateMeasures> TimeKeptState(Executor& executor,
                                          const std::filesystem::path& workspace,
                                          uint64_t warmup, uint64_t runs, uint64_t restores) {
  StatusOr<ExecutionPolicy> policy =
      ExecutionPolicyBuilder().mount_host_dir(workspace).keep_state(true).Build();
  if (!policy.ok()) return policy.status();
  auto stage = [&](std::string_view code) { return StageUserCode(code, *policy); };
  KeptStateMeasures out;
  if (Status s = stage("x = 0"); !s.ok()) return s;
  if (auto r = RunExpecting(executor, *policy, "x = 0", 0, StateOutcome::kFresh); !r.ok()) {
    return r.status();
  }
  StatusOr<uint64_t> empty = LivePrivateBytes(executor, -1);
  if (!empty.ok()) return empty.status();
  out.idle_private_bytes_empty = *empty;

  // Three kinds of cell, each run `warmup + runs` times in a row (a
  // notebook's steady state: what one outcome costs after the same one):
  // the commit of `x += 1`; a commit of the rolled-back cell's own code but
  // for its exit status, so that the two differ in their outcome alone (the
  // guest compiles and raises the same); and the rollback.
  struct Kind {
    std::string_view code;
    int exit_code;
    StateOutcome state;
    std::vector<double>* ms;
    std::vector<double>* in_child;
  };
  const Kind kinds[] = {
      {"x += 1", 0, StateOutcome::kCommitted, &out.commit_ms, &out.commit_in_child_ms},
      {"x += 1\nraise SystemExit(0)", 0, StateOutcome::kCommitted, &out.same_code_commit_ms,
       &out.same_code_commit_in_child_ms},
      {"x += 1\nraise SystemExit(1)", 1, StateOutcome::kRolledBack, &out.rollback_ms,
       &out.rollback_in_child_ms}};
  uint64_t commits = 0;
  for (const Kind& kind : kinds) {
    if (Status s = stage(kind.code); !s.ok()) return s;
    for (uint64_t i = 0; i < warmup + runs; ++i) {
      const auto start = Clock::now();
      StatusOr<ExecutionResult> r =
          RunExpecting(executor, *policy, kind.code, kind.exit_code, kind.state);
      const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
      if (!r.ok()) return r.status();
      if (kind.state == StateOutcome::kCommitted) ++commits;
      if (i < warmup) continue;
      kind.ms->push_back(ms);
      kind.in_child->push_back(r->duration_ms);
    }
  }
  // Every commit counted, no rollback did.
  if (Status s = stage("print(x)"); !s.ok()) return s;
  StatusOr<ExecutionResult> x =
      RunExpecting(executor, *policy, "print(x)", 0, StateOutcome::kCommitted);
  if (!x.ok()) return x.status();
  if (x->stdout_text != std::to_string(commits) + "\n") {
    return Internal("bench: kept state: x is " + x->stdout_text + " after " +
                    std::to_string(commits) + " commits");
  }
  if (Status s = stage("big = [None] * " + std::to_string(kListBytes / 4)); !s.ok()) return s;
  const std::vector<pid_t> before = executor.LiveInterpreterPids();
  if (auto r = RunExpecting(executor, *policy, "the 10 MB list", 0, StateOutcome::kCommitted);
      !r.ok()) {
    return r.status();
  }
  StatusOr<uint64_t> loaded = LivePrivateBytes(executor, before.empty() ? -1 : before[0]);
  if (!loaded.ok()) return loaded.status();
  out.idle_private_bytes_10mb = *loaded;

  // 100 small globals: saved and dropped, then restored.
  executor.DropState(workspace);
  if (Status s = stage("for i in range(100):\n    globals()[f'v{i}'] = {'i': i, 's': str(i)}");
      !s.ok()) {
    return s;
  }
  if (auto r = RunExpecting(executor, *policy, "100 globals", 0, StateOutcome::kFresh); !r.ok()) {
    return r.status();
  }
  if (Status s = stage("print(sum(globals()[f'v{i}']['i'] for i in range(100)))"); !s.ok()) {
    return s;
  }
  for (uint64_t i = 0; i < restores; ++i) {
    auto start = Clock::now();
    if (Status s = executor.SaveState(workspace); !s.ok()) {
      return Internal("bench: kept state: SaveState: " + s.message());
    }
    out.evict_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    start = Clock::now();
    StatusOr<ExecutionResult> r =
        RunExpecting(executor, *policy, "the restore", 0, StateOutcome::kRestored);
    out.restore_ms.push_back(
        std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    if (!r.ok()) return r.status();
    if (r->stdout_text != "4950\n" || !r->state_dropped.empty()) {
      return Internal("bench: kept state: the restored globals printed " + r->stdout_text);
    }
  }
  executor.DropState(workspace);
  return out;
}

}  // namespace snakecage::cli
