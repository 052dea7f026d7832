// Executor: the client side of the zygotes (zygote_main.cc).
//
// Per zygote: a SOCK_SEQPACKET control socket, the zygote process (spawned
// with posix_spawn, safe from a threaded caller) and a reader thread that
// collects "exited"/"failed" messages by request id. Per Run(): a pipe whose
// write end travels to the child with the request (SCM_RIGHTS); the client
// reads the child's result from it while the child runs, so results can
// never be mixed up between concurrent executions.
#include "snakecage/executor.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <optional>
#include <thread>
#include <vector>

#include "engine/installation.h"
#include "engine/trap_result.h"
#include "executor/startup_key.h"
#include "executor/wire.h"


namespace snakecage {
namespace executor {

using Json = nlohmann::ordered_json;

// How long a zygote may take to start its interpreter.
constexpr int kStartupTimeoutMs = 60'000;

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
  StatusOr<uint64_t> Submit(const Json& policy, int result_fd);
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
  // How many pages its spares touch before their requests (0 until it has
  // learned them from its first children; see page_warming.h).
  size_t warm_pages() const {
    std::lock_guard<std::mutex> lock(mu_);
    return warm_pages_;
  }

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
    bool released = false;  // the client has its result; drop on "exited"
    pid_t pid = -1;         // once the zygote said "started"
    Outcome outcome;
  };
  std::map<uint64_t, Pending> pending_;
  uint64_t next_id_ = 1;
  bool dead_ = false;
  size_t warm_pages_ = 0;
};

StatusOr<std::shared_ptr<Zygote>> Zygote::Start(const Installation& installation,
                                                const StartupKey& key,
                                                const ExecutorOptions& options) {
  const std::filesystem::path program = options.zygote_program.empty()
                                            ? installation.zygote_program()
                                            : options.zygote_program;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    return Internal(std::string("executor: socketpair: ") + std::strerror(errno));
  }
  // The zygote's end becomes its fd 3 (dup2 clears close-on-exec; a
  // descriptor that already is 3 is moved first so that it does).
  int theirs = sv[1];
  if (theirs == 3) {
    theirs = fcntl(sv[1], F_DUPFD_CLOEXEC, 4);
    close(sv[1]);
  }
  const std::string startup = StartupKeyToJson(key).dump();
  std::vector<std::string> args = {program.string(), "--control-fd", "3", "--startup", startup,
                                   "--installation", installation.prefix().string()};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  char* envp[] = {nullptr};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, theirs, 3);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, program.c_str(), &actions, nullptr, argv.data(), envp);
  posix_spawn_file_actions_destroy(&actions);
  close(theirs);
  if (rc != 0) {
    close(sv[0]);
    return Internal("executor: cannot start " + program.string() + ": " + std::strerror(rc));
  }
  std::shared_ptr<Zygote> z(new Zygote());
  z->pid_ = pid;
  z->control_ = sv[0];

  pollfd p{z->control_, POLLIN, 0};
  int ready = poll(&p, 1, kStartupTimeoutMs);
  StatusOr<Json> first = ready > 0 ? ReceiveMessage(z->control_)
                                   : StatusOr<Json>(Internal("executor: the zygote did not start "
                                                             "within 60 s"));
  if (!first.ok() || first->value("op", "") != "ready") {
    std::string why = !first.ok() ? first.status().message()
                                  : first->value("message", first->dump());
    kill(pid, SIGKILL);
    // ~Zygote reaps it.
    z->dead_ = true;
    return Internal("executor: the zygote failed to start its interpreter: " + why);
  }
  z->reader_ = std::thread([raw = z.get()] { raw->ReadLoop(); });
  return z;
}

Zygote::~Zygote() {
  // The zygote exits (killing its children) when its control socket closes.
  shutdown(control_, SHUT_RDWR);
  if (reader_.joinable()) reader_.join();
  close(control_);
  if (pid_ > 0) waitpid(pid_, nullptr, 0);
}

void Zygote::ReadLoop() {
  for (;;) {
    StatusOr<Json> msg = ReceiveMessage(control_);
    std::lock_guard<std::mutex> lock(mu_);
    if (!msg.ok()) {
      dead_ = true;
      for (auto& [id, p] : pending_) {
        if (!p.done) {
          p.done = true;
          p.outcome.zygote_died = true;
        }
      }
      cv_.notify_all();
      return;
    }
    const std::string op = msg->value("op", "");
    if (op == "warmed") {
      warm_pages_ = msg->value("pages", size_t{0});
      continue;
    }
    auto it = pending_.find(msg->value("id", uint64_t{0}));
    if (it == pending_.end()) continue;
    if (op == "started") {
      it->second.pid = msg->value("pid", -1);
    } else if (op == "exited") {
      it->second.outcome.wait_status = msg->value("status", 0);
      it->second.done = true;
    } else if (op == "failed") {
      it->second.outcome.failure = msg->value("message", "unknown failure");
      it->second.done = true;
    }
    if (it->second.done && it->second.released) pending_.erase(it);
    cv_.notify_all();
  }
}

StatusOr<uint64_t> Zygote::Submit(const Json& policy, int result_fd) {
  uint64_t id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (dead_) return Internal("executor: the zygote is gone");
    id = next_id_++;
    pending_[id];
  }
  Status s;
  {
    std::lock_guard<std::mutex> lock(send_mu_);
    s = SendMessage(control_, {{"op", "run"}, {"id", id}, {"policy", policy}}, result_fd);
  }
  if (!s.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    pending_.erase(id);
    return s;
  }
  return id;
}

void Zygote::Kill(uint64_t id) {
  std::lock_guard<std::mutex> lock(send_mu_);
  (void)SendMessage(control_, {{"op", "kill"}, {"id", id}});
}

void Zygote::Release(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  if (it->second.done) {
    pending_.erase(it);
  } else {
    it->second.released = true;
  }
}

Zygote::Outcome Zygote::Wait(uint64_t id) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return pending_[id].done; });
  Outcome out = std::move(pending_[id].outcome);
  pending_.erase(id);
  return out;
}

namespace {

// How reading a child's result pipe ended, besides the bytes.
struct ReadEnd {
  bool killed_at_timeout = false;  // asked the zygote to kill it at `kill_at`
  bool overflowed = false;         // it wrote more than it may; killed, bytes dropped
};

// Reads `fd` to EOF. At `kill_at` (if any) asks the zygote to kill the
// child once and keeps reading. A child that writes more than `max_bytes`
// is killed and its bytes dropped.
std::string ReadResult(int fd, std::optional<std::chrono::steady_clock::time_point> kill_at,
                       uint64_t max_bytes, Zygote& zygote, uint64_t id, ReadEnd* end) {
  std::string data;
  char buf[65536];
  bool* killed = &end->killed_at_timeout;
  for (;;) {
    int wait_ms = -1;
    if (kill_at && !*killed) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                      *kill_at - std::chrono::steady_clock::now())
                      .count();
      wait_ms = left < 0 ? 0 : static_cast<int>(std::min<long long>(left + 1, 1 << 30));
    }
    pollfd p{fd, POLLIN, 0};
    int rc = poll(&p, 1, wait_ms);
    if (rc < 0 && errno == EINTR) continue;
    if (rc == 0) {
      zygote.Kill(id);
      *killed = true;
      continue;
    }
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return data;
    if (data.size() + static_cast<size_t>(n) > max_bytes) {
      zygote.Kill(id);
      end->overflowed = true;
      return {};
    }
    data.append(buf, static_cast<size_t>(n));
  }
}

// The result of an execution whose process died before it sent one.
ExecutionResult Died(const ExecutionPolicy& policy, TrapReason reason, std::string message,
                     std::optional<int> exit_code, double duration_ms) {
  ExecutionResult r = ResultUnder(policy);
  RecordTrap(r, reason, std::move(message), exit_code);
  r.duration_ms = duration_ms;
  return r;
}

}  // namespace
}  // namespace executor

using executor::Json;
using executor::Zygote;

Executor::Executor(ExecutorOptions options) : options_(std::move(options)) {
  if (options_.max_zygotes == 0) options_.max_zygotes = 1;
}

Executor::~Executor() = default;

std::shared_ptr<Executor> Executor::Default() {
  static std::shared_ptr<Executor> executor = std::make_shared<Executor>();
  return executor;
}

size_t Executor::zygote_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  for (const auto& [key, e] : zygotes_) n += e.zygote->alive() ? 1 : 0;
  return n;
}

size_t Executor::warm_pages() const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  for (const auto& [key, e] : zygotes_) n += e.zygote->warm_pages();
  return n;
}

std::vector<pid_t> Executor::RunningChildren() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<pid_t> out;
  for (const auto& [key, e] : zygotes_) e.zygote->AppendRunningChildren(out);
  return out;
}

std::vector<pid_t> Executor::ZygotePids() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<pid_t> out;
  for (const auto& [key, e] : zygotes_) {
    if (e.zygote->alive()) out.push_back(e.zygote->pid());
  }
  return out;
}

StatusOr<std::shared_ptr<Zygote>> Executor::ZygoteFor(const ExecutionPolicy& policy) {
  const executor::StartupKey key = executor::StartupKeyFor(policy);
  const std::string name = executor::StartupKeyToJson(key).dump();
  std::shared_ptr<Zygote> stale;  // destroyed outside the lock
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = zygotes_.find(name);
    if (it != zygotes_.end()) {
      if (it->second.zygote->alive()) {
        it->second.last_use = ++next_use_;
        return it->second.zygote;
      }
      stale = std::move(it->second.zygote);
      zygotes_.erase(it);
    }
  }
  // Started outside the lock: other start-up configurations keep serving.
  const StatusOr<Installation>& installation = ThisInstallation();
  if (!installation.ok()) return installation.status();
  StatusOr<std::shared_ptr<Zygote>> started = Zygote::Start(*installation, key, options_);
  if (!started.ok()) return started.status();
  std::vector<std::shared_ptr<Zygote>> evicted;
  std::lock_guard<std::mutex> lock(mu_);
  auto [it, inserted] = zygotes_.try_emplace(name);
  if (!inserted && it->second.zygote->alive()) {
    evicted.push_back(std::move(*started));  // another thread won the race
  } else {
    it->second.zygote = std::move(*started);
  }
  it->second.last_use = ++next_use_;
  while (zygotes_.size() > options_.max_zygotes) {
    auto lru = zygotes_.end();
    for (auto z = zygotes_.begin(); z != zygotes_.end(); ++z) {
      if (z->first == name || z->second.zygote->in_flight() > 0) continue;
      if (lru == zygotes_.end() || z->second.last_use < lru->second.last_use) lru = z;
    }
    if (lru == zygotes_.end()) break;  // all busy: allow one more for now
    evicted.push_back(std::move(lru->second.zygote));
    zygotes_.erase(lru);
  }
  return it->second.zygote;
}

StatusOr<ExecutionResult> Executor::Run(const ExecutionPolicy& policy) {
  const auto started = std::chrono::steady_clock::now();
  const Json policy_json = PolicyToJson(policy);
  // A zygote that died since its last use is replaced once.
  for (int attempt = 0; attempt < 2; ++attempt) {
    StatusOr<std::shared_ptr<Zygote>> zygote = ZygoteFor(policy);
    if (!zygote.ok()) return zygote.status();
    int pipe_fds[2];
    if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
      return Internal(std::string("executor: pipe: ") + std::strerror(errno));
    }
    StatusOr<uint64_t> id = (*zygote)->Submit(policy_json, pipe_fds[1]);
    close(pipe_fds[1]);
    if (!id.ok()) {
      close(pipe_fds[0]);
      if (attempt == 0) continue;
      return id.status();
    }
    std::optional<std::chrono::steady_clock::time_point> kill_at;
    if (policy.timeout_seconds()) {
      kill_at = started +
                std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                    std::chrono::duration<double>(*policy.timeout_seconds())) +
                options_.kill_grace;
    }
    executor::ReadEnd end;
    const std::string data = executor::ReadResult(
        pipe_fds[0], kill_at, executor::MaxChildReportBytes(policy), **zygote, *id, &end);
    close(pipe_fds[0]);
    executor::ChildReport report = executor::DecodeChildReport(data);
    if (report.result) {
      // The whole result is here; the child's exit status adds nothing.
      (*zygote)->Release(*id);
      if (!report.landlock_warning.empty()) {
        std::lock_guard<std::mutex> lock(mu_);
        if (!landlock_warning_logged_ && options_.logger) {
          landlock_warning_logged_ = true;
          options_.logger->Log(LogLevel::kWarning, "snakecage.executor",
                               TelemetryEvent::kExecutorLandlockUnavailable,
                               {{"warning", report.landlock_warning}});
        }
      }
      return std::move(*report.result);
    }
    const Zygote::Outcome outcome = (*zygote)->Wait(*id);
    const double duration_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
    if (!outcome.failure.empty()) return Internal("executor: " + outcome.failure);
    if (end.overflowed) {
      return Internal("executor: the execution's process wrote more than " +
                      std::to_string(executor::MaxChildReportBytes(policy)) +
                      " bytes on its result pipe and was killed");
    }
    if (report.error) return *report.error;
    if (end.killed_at_timeout) {
      return executor::Died(policy, TrapReason::kTimeout,
                            "killed by the executor " +
                                std::to_string(options_.kill_grace.count()) +
                                " ms after the wall-clock timeout of " +
                                std::to_string(*policy.timeout_seconds()) +
                                " s; its output is lost",
                            std::nullopt, duration_ms);
    }
    if (outcome.wait_status && WIFSIGNALED(*outcome.wait_status)) {
      const int sig = WTERMSIG(*outcome.wait_status);
      return executor::Died(policy, TrapReason::kKilled,
                            "the execution's process died from " +
                                executor::SignalDescription(sig),
                            128 + sig, duration_ms);
    }
    if (outcome.zygote_died) return Internal("executor: the zygote died during the execution");
    return Internal("executor: the execution's process exited (status " +
                    std::to_string(outcome.wait_status.value_or(-1)) + ") without a result");
  }
  return Internal("executor: unreachable");
}

}  // namespace snakecage
