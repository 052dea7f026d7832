// engine/guest_runner.h: one pass of the guest interpreter, from
// instantiation to the classified ExecutionResult, on the calling thread.
//
// Two users:
//   - the cold path (RunStagedCode in execution.cc): one ExecutionContext
//     from start to end, a thread Watchdog for the timeout;
//   - the executor's zygote (src/executor): a start-up context with no user
//     code; at user_code_begin its BeginHandler forks one child per
//     execution, and each child continues the same guest under a context
//     built from its own request.
//
// Engine-internal (not a public header): the executor is part of the engine's
// execution path, callers use execution.h or the executor.
//
// Thread-safety: one RunGuest() per process at a time (the linear memory
// lives at a fixed address); the caller must hold a thread with a large
// stack (kGuestThreadStackBytes).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "engine/guest_hooks.h"
#include "engine/startup_snapshot.h"
#include "snakecage/execution.h"
#include "wasi/cancel_token.h"
#include "wasi/wasi_host.h"

namespace snakecage {

// Native stack the guest needs: generated code recurses as deeply as the
// interpreter does; the wasm shadow stack is separate (in linear memory).
inline constexpr size_t kGuestThreadStackBytes = 256u << 20;

// The wall-clock limit of one execution. Start() arms it; at the deadline it
// raises the guest's interrupt global (and may cancel the WASI host's
// token); Finish() disarms it and says whether the deadline came first.
class TimeoutGuard {
 public:
  virtual ~TimeoutGuard() = default;
  virtual void Start(std::chrono::steady_clock::time_point deadline, uint64_t* interrupt,
                     std::shared_ptr<wasi::CancelToken> cancel) = 0;
  virtual bool Finish() = 0;
};

// Everything one execution runs under: its policy (copied), the WASI host
// built from it, the timeout, and what the host refused.
class ExecutionContext {
 public:
  // Opens the policy's preopens (NotFound/Internal naming the directory).
  // `timeout` may be null when the policy has no timeout_seconds.
  static StatusOr<std::unique_ptr<ExecutionContext>> Create(
      const ExecutionPolicy& policy, std::unique_ptr<TimeoutGuard> timeout,
      std::chrono::steady_clock::time_point started);

  // The context of the next cell of a kept-state execution: `previous`'s
  // WASI host goes on (the guest's open files stay) under `policy`'s
  // per-execution limits (WasiHost::StartCell). `policy` must mount what
  // previous's policy mounted (InvalidArgument naming the field otherwise):
  // a live interpreter's files are those of its session.
  static StatusOr<std::unique_ptr<ExecutionContext>> NextCell(
      std::unique_ptr<ExecutionContext> previous, const ExecutionPolicy& policy,
      std::unique_ptr<TimeoutGuard> timeout, std::chrono::steady_clock::time_point started);

  const ExecutionPolicy& policy() const { return policy_; }
  wasi::WasiHost& host() { return *host_; }
  const std::shared_ptr<wasi::CancelToken>& cancel() const { return cancel_; }
  const std::optional<std::chrono::steady_clock::time_point>& deadline() const {
    return deadline_;
  }
  TimeoutGuard* timeout() { return timeout_.get(); }
  std::chrono::steady_clock::time_point started() const { return started_; }
  const std::vector<PathDenial>& denials() const { return *denials_; }
  // Kept-state cells only: what this cell does (guest_hooks.h), and what a
  // save cell handed over (its pickled globals), set when it ended.
  CellKind cell_kind() const { return cell_kind_; }
  void set_cell_kind(CellKind kind) { cell_kind_ = kind; }
  std::optional<std::string>& saved_state() { return saved_state_; }
  uint64_t denials_total() const { return *denials_total_; }

 private:
  ExecutionContext(const ExecutionPolicy& policy, std::unique_ptr<TimeoutGuard> timeout,
                   std::chrono::steady_clock::time_point started);
  static std::optional<std::chrono::steady_clock::time_point> DeadlineOf(
      const ExecutionPolicy& policy, std::chrono::steady_clock::time_point started);
  static std::function<void(std::string_view, std::string_view)> DenialRecorder(
      ExecutionContext& ctx);
  ExecutionPolicy policy_;
  std::shared_ptr<wasi::CancelToken> cancel_;
  std::optional<std::chrono::steady_clock::time_point> deadline_;
  std::unique_ptr<TimeoutGuard> timeout_;
  std::chrono::steady_clock::time_point started_;
  // Shared with the host's on_path_denied callback.
  std::shared_ptr<std::vector<PathDenial>> denials_;
  std::shared_ptr<uint64_t> denials_total_;
  std::unique_ptr<wasi::WasiHost> host_;
  CellKind cell_kind_ = CellKind::kScript;
  std::optional<std::string> saved_state_;
};

// Called on the guest thread when the guest reaches user_code_begin, before
// the fuel budget starts, with the guest's interrupt global. Returns the
// context the rest of the run honours: `current` to go on as started, or
// another one (a zygote's child builds its own from its request and keeps
// it alive until the process ends). A context swapped in here arms its own
// timeout (RunGuest does not start it). The zygote's own handler never
// returns.
using BeginHandler =
    std::function<ExecutionContext*(ExecutionContext& current, uint64_t* interrupt)>;

// Called on the guest thread when a cell of an execution that keeps its
// state (ExecutionPolicy::keep_state) ends without a trap: `cell` is its
// result, classified as RunGuest would have (exit status, output, fuel up to
// the end of the cell). Returns the context of the next cell, which then
// runs in the same interpreter (a zygote's child: in a process forked from
// the live interpreter, executor/live_interpreter.h); the handler never
// returns otherwise (it ends the process). As for BeginHandler, a context
// returned here arms its own timeout. Without a handler, a kept-state
// execution runs one cell and ends like any other.
using CellEndHandler =
    std::function<ExecutionContext*(ExecutionContext& current, ExecutionResult cell,
                                    uint64_t* interrupt)>;

// What RunGuest does with the instance when the guest has stopped.
enum class AfterRun {
  kFreeInstance,  // free it (and its linear memory): the process may run another
  kKeepInstance,  // leave it: the process exits next (a zygote's child), and
                  // unmapping ~10 MB it is about to drop would only delay the result
};

// Instantiates the guest under `initial` (its memory cap, its host), arms
// initial's timeout, runs _start, and classifies how it ended under the
// context in force at the end. An instantiation the memory cap refuses is a
// memory_limit trap; an address-space failure is Internal.
//
// With `resume`, the guest does not start: its memory and stack pointer
// come from the snapshot, and it goes on at user_code_begin (the
// BeginHandler is called as for a start-up). Internal when the snapshot
// cannot be read into memory.
//
// Either way the user's code starts at the same native stack depth (a fixed
// distance below the top of the guest thread's stack), so where a deep
// recursion exhausts the stack does not depend on how the guest started.
StatusOr<ExecutionResult> RunGuest(ExecutionContext& initial, const BeginHandler& at_begin,
                                   AfterRun after = AfterRun::kFreeInstance,
                                   const CellEndHandler& at_cell_end = nullptr,
                                   const StartupSnapshot* resume = nullptr);

// How many RunGuest calls of this process resumed from a start-up snapshot
// (for tests and benchmarks: nothing else tells a resumed run apart).
uint64_t RunsResumedFromSnapshots();

// Only from a BeginHandler: writes the guest as it stands at this
// user_code_begin to `path`, a start-up snapshot for `identity`
// (startup_snapshot.h).
Status SnapshotAtUserCodeBegin(const std::filesystem::path& path, std::string_view identity);

// The guest's current linear memory size in 64 KiB pages (0 before the
// first instantiation). For a zygote's child checking its memory cap.
uint32_t GuestMemoryPages();

// Runs `fn` on a new thread with kGuestThreadStackBytes of stack and waits.
Status RunOnGuestThread(const std::function<void()>& fn);

}  // namespace snakecage
