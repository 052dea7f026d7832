// executor/zygote_child.h: one execution's process, a zygote's child from
// its request to its result (the zygote's side is zygote_server.h).
//
// Begin() runs in the child right after the fork (or, in a spare, right
// after its request came): it builds the execution's context from the
// request's policy, refuses a memory cap below what start-up already uses,
// arms the wall-clock timeout (a timer signal: no threads after
// confinement), confines the process (ConfineChild: rlimits, no_new_privs,
// Landlock, seccomp) and returns the context the guest goes on under.
// Finish() writes the result to the request's pipe and exits without any
// interpreter finalisation; a child asked for a lesson then sends the pages
// it faulted in (page_warming.h).
//
// Failures before the guest runs (a missing workspace, confinement) go to
// the result pipe as {"error", "code"} and the process exits.
//
// A request whose policy keeps its state (ExecutionPolicy::keep_state)
// makes a live interpreter instead (wire.h, "Live socket"): the descriptor
// that came with it is the live socket, on which the first cell's request
// and its result pipe follow. At the end of each cell, EndCell() either
// ends the process (a failed cell: the state it changed is dropped with
// it; the process stays until the live interpreter has forked the next
// spare, so that its teardown comes after that fork) or commits: it tells
// the process it was forked from (the previous live interpreter), sends
// the result, forks the next spare and closes its pipe to that process,
// which then exits. Each next cell runs in a process forked from the live
// interpreter ahead of the request (a spare, which takes the request from
// the live socket itself, so that the fork is off the request's path). The
// live interpreter reports that process's start (with a pidfd the executor
// kills it through) and its end unless it commits, to the executor; it
// reads nothing from the socket while a cell runs.
//
// Residents. A spare's child whose execution does not keep its state may
// serve further requests: it is confined with SeccompProfile::kResident,
// and when its run ends without a trap it sends its result, tells the
// zygote it is idle ('I' on its socket), puts its guest back as it was at
// user_code_begin (GuestRewinder: every page of linear memory it wrote,
// copied from the zygote's pristine memory; the memory's size; the stack
// pointer), clears its stack below the frame that serves (DeadStack) and
// waits on the socket for the zygote's next request, which the zygote sends
// it only when the client's ConfinementKey for the request equals the one it
// was confined under (it checks, and fails the request otherwise). Each
// request gets a new ExecutionContext (its WASI host, its memory cap, its
// timer) as in a fresh child; fuel, output and every result are the same.
// What its host code allocated for a request was zeroed as it was freed
// (zeroing_free.cc), so an idle resident holds nothing of its last request
// (tests/executor/resident_test.cc scans its memory for one's code, output,
// files and state): the next request may be another client's. It exits
// instead of serving again after a trap, after 1 s of CPU time in all (so
// that RLIMIT_CPU, set for one request, stays a backstop for the next),
// when more than kMaxRewoundPages pages had to be put back, when its stack
// cannot be cleared, or when the zygote closes the socket.
//
// Thread-safety: one per process, used on the guest thread.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "base/unique_fd.h"
#include "engine/guest_runner.h"
#include "executor/confinement.h"
#include "executor/confinement_key.h"
#include "executor/dead_stack.h"
#include "executor/page_warming.h"

namespace snakecage::executor {

// How every child of one zygote is confined. (A test variant of the zygote
// built with SNAKECAGE_ZYGOTE_WITHOUT_LANDLOCK skips Landlock as if the
// kernel lacked it; one built with SNAKECAGE_ZYGOTE_TEST_HOOKS runs the
// test hooks. The zygote that is installed has neither.)
struct ChildSettings {
  const SeccompProgram* seccomp = nullptr;
  const SeccompProgram* live_seccomp = nullptr;      // for keep_state requests
  const SeccompProgram* resident_seccomp = nullptr;  // for residents
  // The guest as the zygote holds it; without it no child stays resident.
  const PristineGuest* pristine = nullptr;
};


class ExecutionChild {
 public:
  // `lesson_fd` (or none): where to send the faulted-in pages after the
  // result; recording them starts here (nothing is recorded if /proc cannot
  // be read), before the request and before confinement.
  ExecutionChild(const ChildSettings& settings, UniqueFd lesson_fd);
  ExecutionChild(const ExecutionChild&) = delete;
  ExecutionChild& operator=(const ExecutionChild&) = delete;

  // A spare's socket to the zygote, kept if this child may stay resident
  // (see the top of this file); call before Begin().
  void set_zygote_socket(UniqueFd socket) { zygote_socket_ = std::move(socket); }

  // See the top of this file: `result_fd` is the request's result pipe, a
  // policy that did not parse goes back on it. Returns the context to run
  // the user's code under; does not return on failure.
  ExecutionContext* Begin(UniqueFd result_fd, const StatusOr<ExecutionPolicy>& policy,
                          std::chrono::steady_clock::time_point started, uint64_t* interrupt);

  // Writes `result` (or why the run failed) to the result pipe, then the
  // lesson, and exits; a resident serves its next request instead (see the
  // top of this file).
  [[noreturn]] void Finish(StatusOr<ExecutionResult> result);

  // The CellEndHandler (engine/guest_runner.h) of a kept-state execution:
  // see the top of this file. Returns only in the process that runs the
  // next cell, with that cell's context.
  ExecutionContext* EndCell(ExecutionResult cell, uint64_t* interrupt);

 private:
  // Writes `result` (or why there is none) to the result pipe and closes it.
  void SendResult(StatusOr<ExecutionResult> result);
  // Finish() without staying resident.
  [[noreturn]] void End(StatusOr<ExecutionResult> result);
  // Whether a resident may serve again after `result`.
  bool MayServeAgain(const StatusOr<ExecutionResult>& result) const;
  // A resident's loop: result, idle, rewind, next request, run; ends the
  // process with End() after a result it may not serve again after.
  [[noreturn]] void ServeAsResident(StatusOr<ExecutionResult> result);
  // In a live interpreter: forks the next cell's process (a spare, which
  // takes the next request from the live socket itself), then tells
  // `previous_holder` (the live interpreter this one was forked from, if
  // any) that the state is here now; reports the cell's start (with its
  // pidfd) and its end to the executor, and exits when the cell commits.
  // Returns only in the cell's process, with the cell's context.
  ExecutionContext* ServeCells(uint64_t* interrupt, UniqueFd previous_holder);
  // In a spare: waits for the next "run" on the live socket, tells the
  // holder it took it, and returns the cell's context.
  ExecutionContext* SpareTakesCell(uint64_t* interrupt);
  // In a cell's new process: the context of the cell `request` asks for.
  ExecutionContext* BeginCell(const nlohmann::ordered_json& request,
                              std::chrono::steady_clock::time_point started,
                              uint64_t* interrupt);
  // The memory cap must leave room for what the interpreter holds already;
  // ends the process with a memory_limit result otherwise.
  void CheckMemoryCap(const ExecutionPolicy& policy);
  // Writes `status` to the result pipe and exits.
  [[noreturn]] void Fail(const Status& status);
  // In a cell forked from a live interpreter: tells it that this process
  // ends without committing, so that it forks the next cell's spare without
  // waiting for this process's exit. End() says so after the result: the
  // holder's wake-up and fork then do not compete with the executor reading
  // it on a machine of two CPUs.
  void TellHolderItEnds();
  // In such a cell, after its result: waits until the holder has forked
  // the next spare and closed its end of the pipe (or died).
  void AwaitRelease();
  void RunTestHook(const ExecutionPolicy& policy);
  void SendLesson();

  ChildSettings settings_;
  UniqueFd result_fd_;
  UniqueFd lesson_fd_;
  std::optional<FaultRecorder> fault_recorder_;
  std::unique_ptr<ExecutionContext> context_;
  std::string landlock_warning_;
  // Kept-state executions only: the live socket; and, in a cell's process
  // forked from a live interpreter (its holder), the pipe that tells the
  // holder which request a spare took ('T' and the id), then of a commit
  // ('C') or of an end without one ('F').
  UniqueFd live_socket_;
  UniqueFd holder_fd_;
  std::string hook_outcome_;  // what a test hook saw, appended to stderr
  // Residents only: the socket to the zygote, what puts the guest back,
  // and the ConfinementKey this process is confined under.
  UniqueFd zygote_socket_;
  std::optional<GuestRewinder> rewinder_;
  std::optional<DeadStack> dead_stack_;  // set with rewinder_
  std::string confinement_key_;
  bool confined_ = false;
};

}  // namespace snakecage::executor
