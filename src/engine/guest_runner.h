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

#include "base/unique_fd.h"
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

// The guest as it stood at a user_code_begin, kept so that a process forked
// there can go back to it after running the user's code (GuestRewinder):
// its linear memory in a sealed memfd (no process can change it), its size,
// its stack pointer and the entry user_code_begin was given.
struct PristineGuest {
  UniqueFd memory;
  uint32_t pages = 0;
  uint32_t stack_pointer = 0;
  uint32_t entry = 0;
};

// Only from a BeginHandler: the guest as it stands (a ~10 MB copy). The
// process must not run the guest again afterwards (a zygote forks instead):
// the rewinding relies on its memory never changing.
StatusOr<PristineGuest> KeepPristineGuest();

// Puts the guest of a process forked at the user_code_begin where
// `pristine` was kept back to that point, once the user's code has run
// (RunGuest with AfterRun::kKeepInstance, or RunGuestAgain, returned), so
// that RunGuestAgain can run it as if the process were freshly forked.
//
// What is put back: every page of linear memory this process may have
// changed (those /proc/self/pagemap says it maps alone, because copy-on-write
// made them its own or they were new, and those swapped out), copied from the
// pristine memory; the memory's size (pages grown since are discarded and
// read as zero if grown again); the stack pointer; the fuel-exhausted and
// interrupt globals. Everything else the guest uses is in linear memory,
// except its function table, which the interpreter never changes. The host's
// side (the WASI host) is the next run's own ExecutionContext.
//
// REQUIRES: the process that kept `pristine` never runs the guest again and
// outlives the rewinds (otherwise more pages count as this process's own,
// which costs copying, not correctness).
class GuestRewinder {
 public:
  // Maps the pristine memory read-only and opens /proc/self/pagemap: call
  // before confinement (Landlock refuses /proc afterwards). Internal when the
  // guest is not instantiated in this process, or either fails.
  static StatusOr<GuestRewinder> Open(const PristineGuest& pristine);

  GuestRewinder(GuestRewinder&& other) noexcept;
  GuestRewinder& operator=(GuestRewinder&&) = delete;
  ~GuestRewinder();

  // Puts the guest back; returns how many system pages it copied. After an
  // error the guest must not run again in this process.
  StatusOr<size_t> Rewind();

  uint32_t entry() const { return entry_; }

 private:
  GuestRewinder() = default;
  uint8_t* pristine_ = nullptr;
  uint32_t pages_ = 0;
  uint32_t stack_pointer_ = 0;
  uint32_t entry_ = 0;
  size_t page_bytes_ = 0;
  UniqueFd pagemap_;
  std::vector<uint64_t> entries_;
};

// Runs the user's code again in this process's guest, rewound by `rewinder`
// since it last ran, under `ctx` (its memory cap, its host; its timeout is
// armed here): the same run, fuel and result as a process freshly forked at
// user_code_begin would give. Internal when the guest was not rewound.
StatusOr<ExecutionResult> RunGuestAgain(ExecutionContext& ctx, GuestRewinder& rewinder);

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
