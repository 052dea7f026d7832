// executor/live_interpreters.h: the executor's side of the sessions' live
// interpreters (ExecutionPolicy::keep_state; the child's side is
// zygote_child.h, the messages wire.h's "Live socket").
//
// One entry per session, keyed by its workspace (the policy's
// mount_host_dir). A session with state has a live socket: the executor's
// end of a SOCK_SEQPACKET pair whose other end every process of that
// session's live interpreter holds. An execution:
//   - with no state (or after it was lost): a request to the zygote with the
//     live socket's other end attached, then the cell's request on the live
//     socket; the child runs the cell and, if it succeeds, stays as the live
//     interpreter (state "fresh");
//   - with state: the cell's request on the live socket; the live
//     interpreter forks a process for it, which on success replaces it
//     ("committed") and on failure is discarded ("rolled_back").
// Closing the live socket drops the state: every process of that
// interpreter exits when it sees the socket close.
//
// Executions of one session are serialised (a lock per session, held for
// the whole execution); sessions run in parallel. A bounded number of live
// interpreters is kept (the least recently used idle one is dropped to make
// room) and one idle longer than the idle timeout is dropped by a
// background thread, as are all of them when this object goes.
//
// A live interpreter dropped so (evicted, not reset, not dead) first runs a
// save cell (wire.h "kind": "save"): the globals it can keep, pickled, are
// written beside the workspace (SavedStatePath), out of the guest's reach.
// The session's next execution restores them into a new interpreter (a
// restore cell: the file is put in the workspace as .snakecage-saved-state
// and the guest reads and deletes it before the script runs); its result
// says "restored" and lists the names that could not be kept. A reset
// (Drop) deletes the saved globals too.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "executor/zygote_client.h"
#include "snakecage/execution.h"
#include "snakecage/policy.h"
#include "snakecage/status.h"

namespace snakecage::executor {

class LiveInterpreters {
 public:
  // Gives the zygote for a policy (started on first use).
  using ZygoteSource = std::function<StatusOr<std::shared_ptr<Zygote>>()>;

  // `on_landlock_warning` gets every child's Landlock warning (may be
  // empty strings; the callee ignores those).
  LiveInterpreters(size_t max_live, std::chrono::milliseconds idle_timeout,
                   std::chrono::milliseconds kill_grace,
                   std::function<void(const std::string&)> on_landlock_warning);
  // Drops every live interpreter.
  ~LiveInterpreters();
  LiveInterpreters(const LiveInterpreters&) = delete;
  LiveInterpreters& operator=(const LiveInterpreters&) = delete;

  // Runs the code staged in policy.mount_host_dir() as the session's next
  // cell. REQUIRES: policy.keep_state().
  StatusOr<ExecutionResult> Run(const ExecutionPolicy& policy, const ZygoteSource& zygote_for);

  // See Executor::DropState. Also deletes the session's saved globals.
  bool Drop(const std::filesystem::path& workspace);
  // See Executor::SaveState.
  Status SaveAndDrop(const std::filesystem::path& workspace);

  // Where the globals of the session whose workspace is `workspace` are
  // saved: beside it, <parent>/<name>.snakecage-state.
  static std::filesystem::path SavedStatePath(const std::filesystem::path& workspace);
  // Exists while the session has a live interpreter that was not dropped
  // knowingly: <parent>/<name>.snakecage-live. Found by a later process, it
  // says the state was lost (a crash) rather than never made.
  static std::filesystem::path LiveMarkerPath(const std::filesystem::path& workspace);

  size_t count() const;
  std::vector<pid_t> Pids() const;

 private:
  struct Session;

  // The cell in the session's live interpreter / in a new one.
  StatusOr<ExecutionResult> RunInLive(Session& s, const ExecutionPolicy& policy,
                                      const std::string& confinement,
                                      const ZygoteSource& zygote_for);
  // `restore`: the saved globals to put back first (their file's contents).
  struct SavedState;
  StatusOr<ExecutionResult> RunFresh(Session& s, const ExecutionPolicy& policy,
                                     const std::string& confinement,
                                     const ZygoteSource& zygote_for, const std::string& why,
                                     const SavedState* restore = nullptr);
  // Closes the session's live socket (its interpreter exits); `lost`, when
  // not empty, is what its next execution is told. Removes the live marker
  // unless `keep_marker` (the state went unsaved: a later process must
  // call it lost). REQUIRES: mu_ held.
  void Evict(Session& s, std::string lost, bool keep_marker = false);
  // A session whose live interpreter is to be dropped with its globals
  // saved, and the hold on it (its run lock; it is busy meanwhile).
  struct Victim {
    std::shared_ptr<Session> session;
    std::unique_lock<std::mutex> run;
  };
  // The least recently used idle live interpreter, when more than
  // max_live_ would be live beside `keep`. REQUIRES: mu_ held.
  std::optional<Victim> PickRoom(const Session& keep);
  // Runs the victim's save cell, then drops it with `why`; says whether the
  // save worked. REQUIRES: mu_ not held.
  Status SaveAndEvict(Victim victim, const std::string& why);
  // The save cell: the globals written to SavedStatePath. REQUIRES: the
  // session is the caller's (busy, its run lock held).
  Status Save(Session& s);
  // A cell's process, as its "started" message names it (the .cc file).
  struct CellProcess;
  // SIGKILLs the process of cell `id` through its pidfd; when no process
  // took the request, drops the live interpreter instead (Evict).
  void KillCell(Session& s, uint64_t id, CellProcess& cell);
  void DropIdle();

  const size_t max_live_;
  const std::chrono::milliseconds idle_timeout_;
  const std::chrono::milliseconds kill_grace_;
  const std::function<void(const std::string&)> on_landlock_warning_;

  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::map<std::string, std::shared_ptr<Session>> sessions_;  // by workspace
  std::thread reaper_;  // drops idle interpreters
};

}  // namespace snakecage::executor
