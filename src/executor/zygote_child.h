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
// it) or commits: it tells the process it was forked from (the previous
// live interpreter), sends the result, forks the next spare and closes its
// pipe to that process, which then exits. Each next cell runs in a process
// forked from the live interpreter ahead of the request (a spare, which
// takes the request from the live socket itself, so that the fork is off
// the request's path). The live interpreter reports that process's start
// (with a pidfd the executor kills it through) and its end unless it
// commits, to the executor; it reads nothing from the socket while a cell
// runs.
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
#include "executor/page_warming.h"

namespace snakecage::executor {

// How every child of one zygote is confined. (A test variant of the zygote
// built with SNAKECAGE_ZYGOTE_WITHOUT_LANDLOCK skips Landlock as if the
// kernel lacked it; one built with SNAKECAGE_ZYGOTE_TEST_HOOKS runs the
// test hooks. The zygote that is installed has neither.)
struct ChildSettings {
  const SeccompProgram* seccomp = nullptr;
  const SeccompProgram* live_seccomp = nullptr;  // for keep_state requests
};

class ExecutionChild {
 public:
  // `lesson_fd` (or none): where to send the faulted-in pages after the
  // result; recording them starts here (nothing is recorded if /proc cannot
  // be read), before the request and before confinement.
  ExecutionChild(const ChildSettings& settings, UniqueFd lesson_fd);
  ExecutionChild(const ExecutionChild&) = delete;
  ExecutionChild& operator=(const ExecutionChild&) = delete;

  // See the top of this file: `result_fd` is the request's result pipe, a
  // policy that did not parse goes back on it. Returns the context to run
  // the user's code under; does not return on failure.
  ExecutionContext* Begin(UniqueFd result_fd, const StatusOr<ExecutionPolicy>& policy,
                          std::chrono::steady_clock::time_point started, uint64_t* interrupt);

  // Writes `result` (or why the run failed) to the result pipe, then the
  // lesson, and exits.
  [[noreturn]] void Finish(StatusOr<ExecutionResult> result);

  // The CellEndHandler (engine/guest_runner.h) of a kept-state execution:
  // see the top of this file. Returns only in the process that runs the
  // next cell, with that cell's context.
  ExecutionContext* EndCell(ExecutionResult cell, uint64_t* interrupt);

 private:
  // Writes `result` (or why there is none) to the result pipe and closes it.
  void SendResult(StatusOr<ExecutionResult> result);
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
  // ends without committing, before the result goes, so that it forks the
  // next cell's spare without waiting for this process's exit.
  void TellHolderItEnds();
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
};

}  // namespace snakecage::executor
