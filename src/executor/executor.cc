// Executor: the client side of the zygotes (zygote_client.h), and of the
// sessions' live interpreters (live_interpreters.h).
//
// Per Run(): a pipe whose write end travels to the child with the request
// (SCM_RIGHTS); the client reads the child's result from it while the
// child runs, so results can never be mixed up between concurrent
// executions.
#include "snakecage/executor.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <vector>

#include "engine/installation.h"
#include "executor/live_interpreters.h"
#include "engine/startup_key.h"
#include "executor/wire.h"
#include "executor/confinement_key.h"
#include "executor/zygote_client.h"

namespace snakecage {

using executor::Json;
using executor::Zygote;

Executor::Executor(ExecutorOptions options) : options_(std::move(options)) {
  if (options_.max_zygotes == 0) options_.max_zygotes = 1;
  if (options_.max_live_interpreters == 0) options_.max_live_interpreters = 1;
  live_ = std::make_unique<executor::LiveInterpreters>(
      options_.max_live_interpreters, options_.live_idle_timeout, options_.kill_grace,
      [this](const std::string& warning) { NoteLandlockWarning(warning); });
}

bool Executor::DropState(const std::filesystem::path& workspace) {
  return live_->Drop(workspace);
}

Status Executor::SaveState(const std::filesystem::path& workspace) {
  return live_->SaveAndDrop(workspace);
}

size_t Executor::live_interpreter_count() const { return live_->count(); }

std::vector<pid_t> Executor::LiveInterpreterPids() const { return live_->Pids(); }

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

uint64_t Executor::reused_process_runs() const {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t n = 0;
  for (const auto& [key, e] : zygotes_) n += e.zygote->reused_runs();
  return n;
}

std::vector<std::string> Executor::ZygoteStartups() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (const auto& [key, e] : zygotes_) {
    if (e.zygote->alive()) out.push_back(e.zygote->startup());
  }
  return out;
}

StatusOr<std::shared_ptr<Zygote>> Executor::ZygoteFor(const ExecutionPolicy& policy) {
  const StartupKey key = StartupKeyFor(policy);
  const std::string name = StartupKeyToJson(key).dump();
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
      if (z->first == name || z->second.zygote->in_flight() > 0 ||
          z->second.zygote->lives() > 0) {
        continue;  // stopping it would kill its children
      }
      if (lru == zygotes_.end() || z->second.last_use < lru->second.last_use) lru = z;
    }
    if (lru == zygotes_.end()) break;  // all busy: allow one more for now
    evicted.push_back(std::move(lru->second.zygote));
    zygotes_.erase(lru);
  }
  return it->second.zygote;
}

void Executor::NoteLandlockWarning(const std::string& warning) {
  if (warning.empty()) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (landlock_warning_logged_ || !options_.logger) return;
  landlock_warning_logged_ = true;
  options_.logger->Log(LogLevel::kWarning, "snakecage.executor",
                       TelemetryEvent::kExecutorLandlockUnavailable, {{"warning", warning}});
}

StatusOr<ExecutionResult> Executor::Run(const ExecutionPolicy& policy, RunOptions options) {
  if (policy.keep_state()) {
    return live_->Run(policy, [this, &policy] { return ZygoteFor(policy); });
  }
  const auto started = std::chrono::steady_clock::now();
  const Json policy_json = PolicyToJson(policy);
  // Lets a resident child of this confinement take the request, and its
  // child stay resident.
  const std::string confinement =
      options.reuse_process ? executor::ConfinementKey(executor::ConfinementSpecFor(policy))
                            : std::string();
  // A zygote that died since its last use is replaced once.
  for (int attempt = 0; attempt < 2; ++attempt) {
    StatusOr<std::shared_ptr<Zygote>> zygote = ZygoteFor(policy);
    if (!zygote.ok()) return zygote.status();
    int pipe_fds[2];
    if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
      return Internal(std::string("executor: pipe: ") + std::strerror(errno));
    }
    StatusOr<uint64_t> id = (*zygote)->Submit(policy_json, pipe_fds[1], confinement);
    close(pipe_fds[1]);
    if (!id.ok()) {
      close(pipe_fds[0]);
      if (attempt == 0) continue;
      return id.status();
    }
    executor::ReadEnd end;
    const std::string data = executor::ReadResult(
        pipe_fds[0], executor::KillAt(policy, started, options_.kill_grace),
        executor::MaxChildReportBytes(policy), [&] { (*zygote)->Kill(*id); }, &end);
    close(pipe_fds[0]);
    executor::ChildReport report = executor::DecodeChildReport(data);
    if (report.result) {
      // The whole result is here; the child's exit status adds nothing.
      (*zygote)->Release(*id);
      NoteLandlockWarning(report.landlock_warning);
      return std::move(*report.result);
    }
    const Zygote::Outcome outcome = (*zygote)->Wait(*id);
    if (!outcome.failure.empty()) return Internal("executor: " + outcome.failure);
    return executor::ResultWithoutReport(
        policy, report, end, outcome.wait_status,
        outcome.zygote_died ? "the zygote died during the execution" : "", options_.kill_grace,
        started);
  }
  return Internal("executor: unreachable");
}

}  // namespace snakecage
