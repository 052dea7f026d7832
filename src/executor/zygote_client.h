// executor/zygote_client.h: the client's side of one zygote process
// (wire.h): starting it, submitting requests, killing and waiting for their
// children, and reading a child's result pipe. Used by the Executor
// (executor.cc) and its live interpreters (live_interpreters.h).
//
// Per zygote: a SOCK_SEQPACKET control socket, the zygote process (spawned
// with posix_spawn, safe from a threaded caller) and a reader thread that
// collects "started"/"exited"/"failed" messages by request id.
//
// Thread-safety: every Zygote method may be called from any thread.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/installation.h"
#include "engine/startup_key.h"
#include "executor/wire.h"
#include "snakecage/executor.h"

namespace snakecage::executor {

using Json = nlohmann::ordered_json;

// One zygote process, seen from the client.
class Zygote {
 public:
  struct Outcome {
    std::optional<int> wait_status;  // the child's, when the zygote reaped it
    std::string failure;             // the zygote could not start the child
    bool zygote_died = false;
  };

  static StatusOr<std::shared_ptr<Zygote>> Start(const Installation& installation,
                                                 const StartupKey& key,
                                                 const ExecutorOptions& options);
  ~Zygote();

  // Sends a request; the child will write its result to `result_fd`.
  // `confinement` (ConfinementKey of the policy's ConfinementSpecFor, or
  // empty) lets a resident child of that confinement take it
  // (zygote_server.h).
  StatusOr<uint64_t> Submit(const Json& policy, int result_fd, const std::string& confinement);
  void Kill(uint64_t id);
  // Blocks until the zygote reports the child's end (or dies).
  Outcome Wait(uint64_t id);
  // The client has the child's whole result and will not Wait(): the entry
  // goes when the zygote reports the child's end.
  void Release(uint64_t id);
  bool alive() const {
    std::lock_guard<std::mutex> lock(mu_);
    return !dead_;
  }
  size_t in_flight() const {
    std::lock_guard<std::mutex> lock(mu_);
    return pending_.size();
  }
  void AppendRunningChildren(std::vector<pid_t>& out) const {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, p] : pending_) {
      if (!p.done && !p.released && p.pid > 0) out.push_back(p.pid);
    }
  }
  pid_t pid() const { return pid_; }
  // The child's pid once the zygote has said "started" (waits up to
  // `timeout`); -1 if it has not by then.
  pid_t WaitStarted(uint64_t id, std::chrono::milliseconds timeout);
  // Live interpreters forked from this zygote that are still in use: a
  // zygote with some is never stopped to make room (it would kill them).
  void AddLive(int delta) { lives_ += delta; }
  int lives() const { return lives_; }
  // How many pages its spares touch before their requests (0 until it has
  // learned them from its first children; see page_warming.h).
  size_t warm_pages() const {
    std::lock_guard<std::mutex> lock(mu_);
    return warm_pages_;
  }
  // Requests a resident child took, one that had served a request before.
  uint64_t reused_runs() const {
    std::lock_guard<std::mutex> lock(mu_);
    return reused_runs_;
  }
  // How its interpreter got to user_code_begin: "snapshot", or "started: "
  // and why no snapshot was used. Set before Start() returns.
  const std::string& startup() const { return startup_; }

 private:
  Zygote() = default;
  void ReadLoop();

  pid_t pid_ = -1;
  int control_ = -1;
  std::thread reader_;
  std::mutex send_mu_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  struct Pending {
    bool done = false;
    bool released = false;  // the client has its result; drop on "exited"/"finished"
    pid_t pid = -1;         // once the zygote said "started"
    Outcome outcome;
  };
  std::map<uint64_t, Pending> pending_;
  uint64_t next_id_ = 1;
  bool dead_ = false;
  size_t warm_pages_ = 0;
  uint64_t reused_runs_ = 0;
  std::string startup_;
  std::atomic<int> lives_{0};
};

// How reading a child's result pipe ended, besides the bytes.
struct ReadEnd {
  bool killed_at_timeout = false;  // called `kill` at `kill_at`
  bool overflowed = false;         // it wrote more than it may; killed, bytes dropped
};

// Reads `fd` to EOF. At `kill_at` (if any) calls `kill` once and keeps
// reading. A child that writes more than `max_bytes` is killed and its
// bytes dropped.
std::string ReadResult(int fd, std::optional<std::chrono::steady_clock::time_point> kill_at,
                       uint64_t max_bytes, const std::function<void()>& kill, ReadEnd* end);

// When the executor kills a child that has not stopped itself after the
// policy's timeout: `started` + timeout_seconds + `grace`; none without a
// timeout.
std::optional<std::chrono::steady_clock::time_point> KillAt(
    const ExecutionPolicy& policy, std::chrono::steady_clock::time_point started,
    std::chrono::milliseconds grace);

// The outcome of a request whose child sent no whole result: what the
// result pipe held (`report`), how reading it ended (`end`), and how the
// child ended (`wait_status`, when known; else `no_status_cause`, if not
// empty, says why). A result (timeout, killed) or the Status that says why
// there is none.
StatusOr<ExecutionResult> ResultWithoutReport(const ExecutionPolicy& policy,
                                              const ChildReport& report, const ReadEnd& end,
                                              std::optional<int> wait_status,
                                              const std::string& no_status_cause,
                                              std::chrono::milliseconds kill_grace,
                                              std::chrono::steady_clock::time_point started);

}  // namespace snakecage::executor
