// snakecage/executor.h: runs executions in forked children of pre-initialised
// interpreters (zygotes), each child confined by the kernel.
//
// An Executor starts a zygote process (the snakecage-zygote program) per
// distinct start-up configuration (see StartupKey in src/executor) on first
// use and keeps it. Each Run() takes a child of the right zygote (one forked
// for it, or a resident one that served the same confinement before, its
// interpreter put back; RunOptions); the child applies the execution's policy (fuel, memory cap, output caps, argv,
// env, workspace and mounts, timeout), confines itself (rlimits,
// no_new_privs, Landlock, seccomp), runs the code staged in the workspace and
// reports. Every execution starts from the zygote's pristine state: nothing
// an earlier execution did (globals, modules, open files) is visible.
//
// Except when the policy keeps its state (ExecutionPolicy::keep_state): the
// session (its workspace, mount_host_dir) then has a live interpreter, a
// confined process forked from the zygote that holds the session's Python
// state. Each such execution runs in a process forked from it: if the code
// succeeds, that process becomes the live interpreter; if it fails in any
// way (exception, non-zero exit, trap, timeout, kill), it is discarded and
// the state is exactly as before. The result's `state` says which
// (ExecutionResult). Files are not rolled back: the workspace is the
// session's durable part. Live interpreters are bounded in number
// (least recently used first out) and in idle time. An evicted one, and
// every one when the Executor is destroyed, first saves the globals it can
// (modules by name, values that pickle) beside the workspace; the next
// execution restores them ("restored", with the names it could not keep).
// A dead one makes the next execution start fresh, and its result says why.
//
// The zygote imports the modules listed in guest/snakecage_main.c
// (kPreimportedModules) during start-up.
//
// Timeouts: the child stops itself at the policy's timeout_seconds (the
// result says timeout, with the output so far); if it has not finished
// kill_grace later (blocked in a host call), the executor kills it and the
// result says timeout with the output lost. A child that dies from a signal
// (a seccomp violation, the CPU-time backstop) gives a trapped result with
// reason `killed` and the signal's name; the executor keeps serving. A
// zygote that dies is restarted by the next Run().
//
// Thread-safety: Run() may be called from any number of threads at once.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <sys/types.h>

#include <string>
#include <vector>

#include "snakecage/execution.h"
#include "snakecage/policy.h"
#include "snakecage/status.h"
#include "snakecage/telemetry.h"

namespace snakecage {

struct ExecutorOptions {
  // The snakecage-zygote program. Default: the installation's
  // (PREFIX/libexec/snakecage/snakecage-zygote). The project's tests point
  // it at test variants of the zygote that are never installed.
  std::filesystem::path zygote_program;
  // Zygotes kept at once; the least recently used idle one is stopped to
  // make room for another start-up configuration.
  size_t max_zygotes = 4;
  // After the policy's timeout, how long the child may take to stop itself
  // before it is killed.
  std::chrono::milliseconds kill_grace{500};
  // Where executor warnings go (Landlock unavailable); null: nowhere.
  std::shared_ptr<TelemetryLogger> logger;
  // Live interpreters (keep_state sessions) kept at once; the least
  // recently used idle one is dropped to make room.
  size_t max_live_interpreters = 32;
  // A live interpreter unused this long is dropped.
  std::chrono::milliseconds live_idle_timeout{std::chrono::minutes(30)};
  // Zygotes resume from the installation's start-up snapshot when it has
  // one for their start-up (a few milliseconds instead of about 30); off,
  // they start the interpreter. Results and fuel are the same either way.
  bool startup_snapshots = true;
  // Zygotes fork children ahead of requests (spares), and first run probe
  // children that teach the spares which pages to touch. Off for an executor
  // that runs a single execution (`snakecage run`): that work would only
  // take CPU from it.
  bool fork_ahead = true;
};

// How Executor::Run() may place one execution.
struct RunOptions {
  // The execution may run in a process that served an earlier execution of
  // the same confinement (a resident child: the same workspace directory,
  // mounts and timeout), its interpreter put back exactly as a fresh
  // child's and what the host held of the earlier one cleared (zygote_child.h,
  // "Residents"), and its process may serve the next such execution. Off, it
  // runs in a fresh child that exits after it.
  bool reuse_process = true;
};

namespace executor {
class Zygote;
class LiveInterpreters;
}

class Executor {
 public:
  explicit Executor(ExecutorOptions options = {});
  // Stops every zygote (their children are killed).
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // The process-wide executor the sandbox uses unless given another.
  static std::shared_ptr<Executor> Default();

  // Runs the code staged in policy.mount_host_dir() (StageUserCode()) in a
  // fresh child, or (RunOptions::reuse_process) in one that served an
  // earlier request of the same confinement and whose interpreter was put
  // back exactly as a fresh child's is: the same result and fuel either way
  // (see reused_process_runs()). A non-OK status means no result could be had (the zygote
  // could not start, the workspace is missing); everything the guest did is
  // the result.
  StatusOr<ExecutionResult> Run(const ExecutionPolicy& policy, RunOptions options = {});

  // Drops the live interpreter of the session whose workspace is
  // `workspace` (its mount_host_dir), and with it the session's Python
  // state; waits for an execution of that session that is running. True
  // when there was one. (reset_session, session deletion.)
  bool DropState(const std::filesystem::path& workspace);
  // Saves the globals of that session's live interpreter beside its
  // workspace (what eviction does), then drops the interpreter: the next
  // kept-state execution restores them. NotFound without a live
  // interpreter; Internal when the save failed (the interpreter is dropped
  // all the same, and the result of the next execution says so).
  Status SaveState(const std::filesystem::path& workspace);
  // Live interpreters now, and their process ids (for tests, benchmarks and
  // metrics).
  size_t live_interpreter_count() const;
  std::vector<pid_t> LiveInterpreterPids() const;

  // Zygotes running now (for tests and metrics).
  size_t zygote_count() const;
  // Pages the zygotes' spares touch before taking a request, summed over
  // zygotes: each zygote learns them from its first executions, then every
  // spare takes their copy-on-write faults while it waits instead of during
  // the execution (for tests and benchmarks).
  size_t warm_pages() const;
  // Process ids of the zygotes, and of the children whose executions are
  // running now (results not back yet; for benchmarks and metrics: their
  // memory can be read in /proc).
  std::vector<pid_t> ZygotePids() const;
  std::vector<pid_t> RunningChildren() const;
  // Executions run by a child that had served another before, over the
  // running zygotes (for tests and benchmarks: nothing else tells them
  // apart).
  uint64_t reused_process_runs() const;
  // How each running zygote's interpreter got ready: "snapshot" (resumed
  // from the installation's start-up snapshot), or "started: " and why not
  // (for tests and benchmarks).
  std::vector<std::string> ZygoteStartups() const;

 private:
  StatusOr<std::shared_ptr<executor::Zygote>> ZygoteFor(const ExecutionPolicy& policy);
  // Logs the first Landlock warning a child reports.
  void NoteLandlockWarning(const std::string& warning);

  ExecutorOptions options_;
  mutable std::mutex mu_;
  uint64_t next_use_ = 0;
  struct Entry {
    std::shared_ptr<executor::Zygote> zygote;
    uint64_t last_use = 0;
  };
  std::map<std::string, Entry> zygotes_;  // by StartupKey JSON
  bool landlock_warning_logged_ = false;
  // Declared last: destroyed first, so live interpreters go before the
  // zygotes they came from.
  std::unique_ptr<executor::LiveInterpreters> live_;
};

}  // namespace snakecage
