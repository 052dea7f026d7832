// The client's side of a zygote (zygote_client.h).
#include "executor/zygote_client.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "engine/trap_result.h"
#include "executor/wire.h"

namespace snakecage::executor {

// How long a zygote may take to start its interpreter.
constexpr int kStartupTimeoutMs = 60'000;

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
  if (!options.startup_snapshots) args.push_back("--no-startup-snapshot");
  if (!options.fork_ahead) args.push_back("--no-fork-ahead");
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
  z->startup_ = first->value("startup", "");
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
      if (msg->value("reused", false)) ++reused_runs_;
    } else if (op == "finished") {
      // A resident sent its result and stays: no exit status.
      it->second.done = true;
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

StatusOr<uint64_t> Zygote::Submit(const Json& policy, int result_fd,
                                  const std::string& confinement) {
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
    Json request = {{"op", "run"}, {"id", id}, {"policy", policy}};
    if (!confinement.empty()) request["confinement"] = confinement;
    s = SendMessage(control_, request, result_fd);
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

pid_t Zygote::WaitStarted(uint64_t id, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, timeout, [&] {
    auto it = pending_.find(id);
    return it == pending_.end() || it->second.pid > 0 || it->second.done;
  });
  auto it = pending_.find(id);
  return it == pending_.end() ? -1 : it->second.pid;
}

Zygote::Outcome Zygote::Wait(uint64_t id) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return pending_[id].done; });
  Outcome out = std::move(pending_[id].outcome);
  pending_.erase(id);
  return out;
}

std::string ReadResult(int fd, std::optional<std::chrono::steady_clock::time_point> kill_at,
                       uint64_t max_bytes, const std::function<void()>& kill, ReadEnd* end) {
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
      kill();
      *killed = true;
      continue;
    }
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return data;
    if (data.size() + static_cast<size_t>(n) > max_bytes) {
      kill();
      end->overflowed = true;
      return {};
    }
    data.append(buf, static_cast<size_t>(n));
  }
}

std::optional<std::chrono::steady_clock::time_point> KillAt(
    const ExecutionPolicy& policy, std::chrono::steady_clock::time_point started,
    std::chrono::milliseconds grace) {
  if (!policy.timeout_seconds()) return std::nullopt;
  return started +
         std::chrono::duration_cast<std::chrono::steady_clock::duration>(
             std::chrono::duration<double>(*policy.timeout_seconds())) +
         grace;
}

namespace {

// The result of an execution whose process died before it sent one.
ExecutionResult Died(const ExecutionPolicy& policy, TrapReason reason, std::string message,
                     std::optional<int> exit_code, double duration_ms) {
  ExecutionResult r = ResultUnder(policy);
  RecordTrap(r, reason, std::move(message), exit_code);
  r.duration_ms = duration_ms;
  return r;
}

}  // namespace

StatusOr<ExecutionResult> ResultWithoutReport(const ExecutionPolicy& policy,
                                              const ChildReport& report, const ReadEnd& end,
                                              std::optional<int> wait_status,
                                              const std::string& no_status_cause,
                                              std::chrono::milliseconds kill_grace,
                                              std::chrono::steady_clock::time_point started) {
  const double duration_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
          .count();
  if (end.overflowed) {
    return Internal("executor: the execution's process wrote more than " +
                    std::to_string(MaxChildReportBytes(policy)) +
                    " bytes on its result pipe and was killed");
  }
  if (report.error) return *report.error;
  if (end.killed_at_timeout) {
    return Died(policy, TrapReason::kTimeout,
                "killed by the executor " + std::to_string(kill_grace.count()) +
                    " ms after the wall-clock timeout of " +
                    std::to_string(*policy.timeout_seconds()) + " s; its output is lost",
                std::nullopt, duration_ms);
  }
  if (wait_status && WIFSIGNALED(*wait_status)) {
    const int sig = WTERMSIG(*wait_status);
    return Died(policy, TrapReason::kKilled,
                "the execution's process died from " + SignalDescription(sig), 128 + sig,
                duration_ms);
  }
  if (!wait_status && !no_status_cause.empty()) return Internal("executor: " + no_status_cause);
  return Internal("executor: the execution's process exited (status " +
                  std::to_string(wait_status.value_or(-1)) + ") without a result");
}

}  // namespace snakecage::executor
