#include "executor/live_interpreters.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include "base/unique_fd.h"
#include "base/write_all.h"
#include "engine/startup_key.h"
#include "executor/wire.h"

namespace snakecage::executor {
namespace {

using Clock = std::chrono::steady_clock;

// How long the executor waits for the "started" message of a cell whose
// result is already here (it was sent before the cell ran).
constexpr std::chrono::milliseconds kStartedWait{5000};

// What a live interpreter was made under and every later cell must match:
// its start-up and every mount. A cell with other mounts cannot run in it.
std::string ConfinementOf(const ExecutionPolicy& p) {
  Json mounts = Json::array();
  for (const ReadOnlyMount& m : p.additional_readonly_mounts()) {
    mounts.push_back({m.host.string(), m.guest});
  }
  return Json{{"startup", StartupKeyToJson(StartupKeyFor(p))},
              {"mount_host_dir", p.mount_host_dir().string()},
              {"guest_mount_path", p.guest_mount_path()},
              {"mount_data_dir", p.mount_data_dir() ? Json(p.mount_data_dir()->string()) : Json()},
              {"guest_data_path", p.guest_data_path() ? Json(*p.guest_data_path()) : Json()},
              {"additional_readonly_mounts", mounts}}
      .dump();
}

// Waits up to `timeout` (forever when negative) for the message {"op": op,
// "id": id} on the live socket, dropping others (an earlier cell's late
// "exited"). The descriptor that came with it goes to *fd (when given).
// NotFound when the socket closed (every process of the interpreter is
// gone); Internal on a timeout.
StatusOr<Json> AwaitMessage(int socket, const std::string& op, uint64_t id,
                            std::chrono::milliseconds timeout, UniqueFd* fd = nullptr) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    int wait_ms = -1;
    if (timeout.count() >= 0) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return Internal("no \"" + op + "\" from the live interpreter in time");
      wait_ms = static_cast<int>(left);
    }
    pollfd p{socket, POLLIN, 0};
    const int rc = poll(&p, 1, wait_ms);
    if (rc < 0 && errno == EINTR) continue;
    if (rc == 0) continue;
    int received = -1;
    StatusOr<Json> message = ReceiveMessage(socket, &received);
    UniqueFd attached(received);
    if (!message.ok()) return message.status();
    if (message->value("op", "") == op && message->value("id", uint64_t{0}) == id) {
      if (fd != nullptr) *fd = std::move(attached);
      return message;
    }
  }
}


// Reads what is waiting on the live socket (messages about earlier cells)
// without blocking. False when the socket has closed: the interpreter died.
bool DrainAlive(int socket) {
  for (;;) {
    pollfd p{socket, POLLIN, 0};
    const int rc = poll(&p, 1, 0);
    if (rc < 0 && errno == EINTR) continue;
    if (rc == 0) return true;
    if (p.revents & (POLLHUP | POLLERR)) return false;
    int stray = -1;
    StatusOr<Json> message = ReceiveMessage(socket, &stray);
    if (stray >= 0) close(stray);
    if (!message.ok()) return false;
  }
}

// How long a save cell may take (its fuel is the session's budget).
constexpr double kSaveTimeoutSeconds = 30;
// The file a restore cell reads, in the workspace (guest/snakecage_main.c,
// kSavedStateFile).
constexpr char kRestoreFileName[] = ".snakecage-saved-state";

// Writes `bytes` to `path` whole or not at all (a temporary file beside it,
// then rename).
Status WriteWhole(const std::filesystem::path& path, std::string_view bytes) {
  const std::filesystem::path tmp = path.string() + ".tmp";
  UniqueFd fd(open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid() || !WriteAll(fd.get(), bytes) || fsync(fd.get()) != 0) {
    const int err = errno;
    unlink(tmp.c_str());
    return Internal("cannot write " + tmp.string() + ": " + std::strerror(err));
  }
  fd.Reset();
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    unlink(tmp.c_str());
    return Internal("cannot rename " + tmp.string() + ": " + std::strerror(err));
  }
  return Status::Ok();
}

// Puts the restore file into the workspace, replacing whatever file has
// its name; never through a symlink.
Status PlaceRestoreFile(const std::filesystem::path& workspace, std::string_view bytes) {
  UniqueFd dir(open(workspace.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
  if (!dir.valid()) {
    return Internal("cannot open the workspace " + workspace.string() + ": " +
                    std::strerror(errno));
  }
  if (unlinkat(dir.get(), kRestoreFileName, 0) != 0 && errno != ENOENT) {
    return Internal(std::string("cannot replace ") + kRestoreFileName + " in the workspace: " +
                    std::strerror(errno));
  }
  UniqueFd fd(openat(dir.get(), kRestoreFileName,
                     O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid() || !WriteAll(fd.get(), bytes)) {
    const int err = errno;
    unlinkat(dir.get(), kRestoreFileName, 0);
    return Internal(std::string("cannot write ") + kRestoreFileName + " in the workspace: " +
                    std::strerror(err));
  }
  return Status::Ok();
}

void RemoveRestoreFile(const std::filesystem::path& workspace) {
  UniqueFd dir(open(workspace.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
  if (dir.valid()) unlinkat(dir.get(), kRestoreFileName, 0);
}

// What a failed cell's result says went wrong, in a few words.
std::string FailureOf(const ExecutionResult& r) {
  if (r.trapped && r.trap_reason) {
    return "it trapped (" + std::string(TrapReasonWireName(*r.trap_reason)) + ")";
  }
  return "it exited with status " + std::to_string(r.exit_code);
}

}  // namespace

struct LiveInterpreters::Session {
  std::mutex run_mu;  // held for a whole execution of this session
  // The rest is guarded by LiveInterpreters::mu_; the socket is also used,
  // without mu_, by the thread that set `busy`.
  UniqueFd socket;          // the executor's end; invalid: no state
  std::string confinement;  // ConfinementOf() the live interpreter's first cell
  pid_t pid = -1;           // the process holding the state
  std::shared_ptr<Zygote> zygote;
  Clock::time_point last_used = Clock::now();
  bool busy = false;
  std::string lost;  // why the state went, for the next execution
  uint64_t next_id = 0;
  std::optional<ExecutionPolicy> policy;  // the last cell's, for a save cell
  std::filesystem::path workspace;        // the key, as a path
};

// A session's saved globals: the names its save could not keep, and the
// pickled rest (SavedStatePath: a JSON line {"dropped": [...]}, then the
// bytes).
struct LiveInterpreters::SavedState {
  std::vector<std::string> dropped;
  std::string bytes;
};

namespace {

std::optional<std::string> ReadWholeFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace

namespace {

// <parent>/<name><suffix> for the workspace <parent>/<name>.
std::filesystem::path BesideWorkspace(const std::filesystem::path& workspace,
                                      std::string_view suffix) {
  std::filesystem::path w = workspace.lexically_normal();
  if (w.filename().empty()) w = w.parent_path();
  return w.parent_path() / (w.filename().string() + std::string(suffix));
}

}  // namespace

std::filesystem::path LiveInterpreters::SavedStatePath(const std::filesystem::path& workspace) {
  return BesideWorkspace(workspace, ".snakecage-state");
}

std::filesystem::path LiveInterpreters::LiveMarkerPath(const std::filesystem::path& workspace) {
  return BesideWorkspace(workspace, ".snakecage-live");
}

LiveInterpreters::LiveInterpreters(size_t max_live, std::chrono::milliseconds idle_timeout,
                                   std::chrono::milliseconds kill_grace,
                                   std::function<void(const std::string&)> on_landlock_warning)
    : max_live_(std::max<size_t>(max_live, 1)),
      idle_timeout_(idle_timeout),
      kill_grace_(kill_grace),
      on_landlock_warning_(std::move(on_landlock_warning)) {
  reaper_ = std::thread([this] { DropIdle(); });
}

LiveInterpreters::~LiveInterpreters() {
  std::vector<Victim> victims;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    for (auto& [key, s] : sessions_) {
      std::unique_lock<std::mutex> run(s->run_mu, std::try_to_lock);
      if (!run.owns_lock() || !s->socket.valid()) continue;
      s->busy = true;
      victims.push_back({s, std::move(run)});
    }
  }
  wake_.notify_all();
  reaper_.join();
  // Their globals outlive this process too.
  // A save that fails loses that state; its next execution starts fresh.
  for (Victim& v : victims) (void)SaveAndEvict(std::move(v), "");
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [key, s] : sessions_) Evict(*s, "");
}

void LiveInterpreters::Evict(Session& s, std::string lost, bool keep_marker) {
  if (!s.socket.valid()) return;
  // Dropped knowingly (its globals saved, or reset): no longer a state that
  // a later process should call lost.
  std::error_code ec;
  if (!keep_marker) std::filesystem::remove(LiveMarkerPath(s.workspace), ec);
  s.socket.Reset();
  s.pid = -1;
  s.lost = std::move(lost);
  if (s.zygote) s.zygote->AddLive(-1);
  s.zygote.reset();
}

std::optional<LiveInterpreters::Victim> LiveInterpreters::PickRoom(const Session& keep) {
  size_t live = 0;
  std::shared_ptr<Session> lru;
  for (auto& [key, s] : sessions_) {
    if (!s->socket.valid()) continue;
    ++live;
    if (s.get() == &keep || s->busy) continue;
    if (!lru || s->last_used < lru->last_used) lru = s;
  }
  if (live < max_live_ || !lru) return std::nullopt;  // all busy: one more for now
  std::unique_lock<std::mutex> run(lru->run_mu, std::try_to_lock);
  if (!run.owns_lock()) return std::nullopt;
  lru->busy = true;
  return Victim{lru, std::move(run)};
}

// A kept-state cell's process as the executor knows it: its "started"
// message, with the pidfd to kill it through (a pidfd names that one
// process, never one that reused its pid).
struct LiveInterpreters::CellProcess {
  std::optional<StatusOr<Json>> started;
  UniqueFd pidfd;

  // Waits for "started" (once); false when it did not come.
  bool Await(int socket, uint64_t id) {
    if (!started) started = AwaitMessage(socket, "started", id, kStartedWait, &pidfd);
    return started->ok();
  }
};

void LiveInterpreters::KillCell(Session& s, uint64_t id, CellProcess& cell) {
  if (s.socket.valid() && cell.Await(s.socket.get(), id) && cell.pidfd.valid()) {
    (void)syscall(SYS_pidfd_send_signal, cell.pidfd.get(), SIGKILL, nullptr, 0);
    return;
  }
  // No process took the request (or none can be named): nothing but the
  // request itself, queued on the socket, holds its result pipe. Dropping
  // the socket ends the live interpreter, and with it the wait.
  std::lock_guard<std::mutex> lock(mu_);
  Evict(s, "its live interpreter did not start the execution's process");
}

Status LiveInterpreters::Save(Session& s) {
  if (!s.policy) return Internal("no execution's policy to save under");
  StatusOr<ExecutionPolicy> policy =
      ExecutionPolicyBuilder(*s.policy)
          .timeout_seconds(std::min(s.policy->timeout_seconds().value_or(kSaveTimeoutSeconds),
                                    kSaveTimeoutSeconds))
          .Build();
  if (!policy.ok()) return policy.status();
  const auto started = Clock::now();
  const uint64_t id = ++s.next_id;
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return Internal(std::string("pipe: ") + std::strerror(errno));
  UniqueFd result_read(pipe_fds[0]);
  Status sent = SendMessage(
      s.socket.get(),
      {{"op", "run"}, {"id", id}, {"policy", PolicyToJson(*policy)}, {"kind", "save"}},
      pipe_fds[1]);
  close(pipe_fds[1]);
  if (!sent.ok()) return sent;
  ReadEnd end;
  // The pickled globals come base64-encoded: at most about 4/3 of memory.
  const uint64_t max_bytes = MaxChildReportBytes(*policy) + 2 * policy->memory_bytes();
  CellProcess cell;
  const std::string data =
      ReadResult(result_read.get(), KillAt(*policy, started, kill_grace_), max_bytes,
                 [&] { KillCell(s, id, cell); }, &end);
  ChildReport report = DecodeChildReport(data);
  if (!report.result || !report.saved_state) {
    return Internal(report.error ? report.error->message() : "the save cell sent no state");
  }
  if (!report.result->success()) {
    return Internal("the save cell failed (" + FailureOf(*report.result) + "): " +
                    report.result->stderr_text.substr(0, 500));
  }
  const std::string header = Json{{"dropped", report.result->state_dropped}}.dump() + "\n";
  return WriteWhole(SavedStatePath(s.policy->mount_host_dir()), header + *report.saved_state);
}

Status LiveInterpreters::SaveAndEvict(Victim victim, const std::string& why) {
  Session& s = *victim.session;
  const Status saved = Save(s);
  std::lock_guard<std::mutex> lock(mu_);
  // Unsaved, the state is lost: a later process must say so too.
  Evict(s,
        why.empty() ? "" : why + (saved.ok() ? "; its globals were saved"
                                             : "; its globals could not be saved (" +
                                                   saved.message() + ")"),
        /*keep_marker=*/!saved.ok());
  s.busy = false;
  wake_.notify_all();
  return saved;
}

Status LiveInterpreters::SaveAndDrop(const std::filesystem::path& workspace) {
  const std::string key = workspace.lexically_normal().string();
  std::shared_ptr<Session> s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = sessions_.find(key);
    if (it == sessions_.end() || !it->second->socket.valid()) {
      return NotFound("no live interpreter for the workspace " + workspace.string());
    }
    s = it->second;
  }
  std::unique_lock<std::mutex> run(s->run_mu);  // after a running execution
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!s->socket.valid()) {
      return NotFound("no live interpreter for the workspace " + workspace.string());
    }
    s->busy = true;
  }
  return SaveAndEvict({s, std::move(run)}, "its live interpreter was saved and dropped "
                                           "(Executor::SaveState)");
}

void LiveInterpreters::DropIdle() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    const auto now = Clock::now();
    auto next = now + idle_timeout_;
    std::vector<Victim> idle;
    for (auto& [key, s] : sessions_) {
      if (!s->socket.valid() || s->busy) continue;
      const auto idle_until = s->last_used + idle_timeout_;
      if (idle_until > now) {
        next = std::min(next, idle_until);
        continue;
      }
      std::unique_lock<std::mutex> run(s->run_mu, std::try_to_lock);
      if (!run.owns_lock()) continue;
      s->busy = true;
      idle.push_back({s, std::move(run)});
    }
    if (!idle.empty()) {
      lock.unlock();
      for (Victim& v : idle) {
        (void)SaveAndEvict(std::move(v), "its live interpreter was idle for more than "
                                   "live_idle_timeout (" +
                                       std::to_string(idle_timeout_.count()) +
                                       " ms) and was dropped");
      }
      lock.lock();
      continue;
    }
    // Sessions with no state and nothing to tell are forgotten.
    std::erase_if(sessions_, [](const auto& entry) {
      const Session& s = *entry.second;
      return !s.socket.valid() && !s.busy && s.lost.empty() && entry.second.use_count() == 1;
    });
    wake_.wait_until(lock, next, [this] { return stopping_; });
  }
}

size_t LiveInterpreters::count() const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  for (const auto& [key, s] : sessions_) n += s->socket.valid() ? 1 : 0;
  return n;
}

std::vector<pid_t> LiveInterpreters::Pids() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<pid_t> out;
  for (const auto& [key, s] : sessions_) {
    if (s->socket.valid() && s->pid > 0) out.push_back(s->pid);
  }
  return out;
}

bool LiveInterpreters::Drop(const std::filesystem::path& workspace) {
  const std::string key = workspace.lexically_normal().string();
  std::shared_ptr<Session> s;
  std::error_code ec;
  const bool had_saved = std::filesystem::remove(SavedStatePath(workspace), ec);
  std::filesystem::remove(LiveMarkerPath(workspace), ec);
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = sessions_.find(key);
    if (it == sessions_.end()) return had_saved;
    s = it->second;
  }
  std::lock_guard<std::mutex> run(s->run_mu);  // after a running execution
  std::lock_guard<std::mutex> lock(mu_);
  const bool had_state = s->socket.valid() || had_saved;
  Evict(*s, "");
  // A save that ran while this waited.
  std::filesystem::remove(SavedStatePath(workspace), ec);
  auto it = sessions_.find(key);
  if (it != sessions_.end() && it->second == s) sessions_.erase(it);
  return had_state;
}

StatusOr<ExecutionResult> LiveInterpreters::Run(const ExecutionPolicy& policy,
                                                const ZygoteSource& zygote_for) {
  const std::string key = policy.mount_host_dir().lexically_normal().string();
  const std::string confinement = ConfinementOf(policy);
  std::shared_ptr<Session> s;
  std::unique_lock<std::mutex> run;
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      std::shared_ptr<Session>& slot = sessions_[key];
      if (!slot) {
        slot = std::make_shared<Session>();
        slot->workspace = key;
      }
      s = slot;
    }
    run = std::unique_lock<std::mutex>(s->run_mu);
    std::lock_guard<std::mutex> lock(mu_);
    auto it = sessions_.find(key);
    if (it != sessions_.end() && it->second == s) {
      s->busy = true;
      break;
    }
    run.unlock();  // dropped while this waited: its successor entry is the session
  }
  std::string why_fresh;
  std::string lost;
  bool live = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::error_code ec;
    if (!s->socket.valid() && s->lost.empty() &&
        std::filesystem::remove(LiveMarkerPath(s->workspace), ec)) {
      // A live interpreter was made and never knowingly dropped: the
      // process that held it ended without saving it.
      why_fresh = "the session's state was lost: the process that held its live interpreter "
                  "ended without saving it (a crash or a kill)";
    } else if (!s->socket.valid()) {
      why_fresh = s->lost.empty() ? "the session had no kept state" : "the session's state was "
                                                                      "lost: " + s->lost;
    } else if (s->confinement != confinement) {
      Evict(*s, "");
      why_fresh = "this execution's mounts or start-up differ from those of the session's live "
                  "interpreter, whose state was dropped";
    } else {
      live = true;
    }
    lost = std::move(s->lost);
    s->lost.clear();
  }
  if (live && !DrainAlive(s->socket.get())) {
    std::lock_guard<std::mutex> lock(mu_);
    why_fresh = "the session's state was lost: its live interpreter (pid " +
                std::to_string(s->pid) + ") had died";
    Evict(*s, "");
    live = false;
  }
  std::optional<SavedState> saved;
  if (!live) {
    if (std::optional<std::string> file = ReadWholeFile(SavedStatePath(key))) {
      const size_t newline = file->find('\n');
      const Json header = newline == std::string::npos
                              ? Json()
                              : Json::parse(file->substr(0, newline), nullptr, false);
      if (header.is_object() && header.contains("dropped") && header["dropped"].is_array()) {
        saved.emplace();
        for (const Json& n : header["dropped"]) {
          if (n.is_string()) saved->dropped.push_back(n.get<std::string>());
        }
        saved->bytes = file->substr(newline + 1);
        why_fresh = "the session's live interpreter was gone (" +
                    (lost.empty() ? std::string("dropped with its globals saved") : lost) + ")";
      }
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    s->policy = policy;
  }
  StatusOr<ExecutionResult> result =
      live ? RunInLive(*s, policy, confinement, zygote_for)
           : RunFresh(*s, policy, confinement, zygote_for, why_fresh,
                      saved ? &*saved : nullptr);
  std::lock_guard<std::mutex> lock(mu_);
  s->busy = false;
  s->last_used = Clock::now();
  wake_.notify_all();
  return result;
}

StatusOr<ExecutionResult> LiveInterpreters::RunInLive(Session& s, const ExecutionPolicy& policy,
                                                      const std::string& confinement,
                                                      const ZygoteSource& zygote_for) {
  const auto started = Clock::now();
  const uint64_t id = ++s.next_id;
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return Internal(std::string("executor: pipe: ") + std::strerror(errno));
  }
  UniqueFd result_read(pipe_fds[0]);
  Status sent = SendMessage(s.socket.get(),
                            {{"op", "run"}, {"id", id}, {"policy", PolicyToJson(policy)}},
                            pipe_fds[1]);
  close(pipe_fds[1]);
  if (!sent.ok()) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      Evict(s, "");
    }
    return RunFresh(s, policy, confinement, zygote_for,
                    "the session's state was lost: its live interpreter could not be reached (" +
                        sent.message() + ")");
  }
  ReadEnd end;
  CellProcess cell;
  const std::string data =
      ReadResult(result_read.get(), KillAt(policy, started, kill_grace_),
                 MaxChildReportBytes(policy), [&] { KillCell(s, id, cell); }, &end);
  result_read.Reset();
  ChildReport report = DecodeChildReport(data);
  if (report.result) {
    on_landlock_warning_(report.landlock_warning);
    ExecutionResult r = std::move(*report.result);
    if (r.success()) {
      // The cell's process holds the state now.
      r.state = StateOutcome::kCommitted;
      r.state_reason = "it succeeded in the session's state, which now holds what it did";
      const bool forked = s.socket.valid() && cell.Await(s.socket.get(), id);
      std::lock_guard<std::mutex> lock(mu_);
      s.pid = forked ? (*cell.started)->value("pid", -1) : -1;
    } else {
      r.state = StateOutcome::kRolledBack;
      r.state_reason = FailureOf(r) + "; the session's state is as it was before this execution";
    }
    return r;
  }
  // No whole result: the cell's process died or was killed; its live
  // interpreter says how, unless it died too.
  StatusOr<Json> exited =
      s.socket.valid()
          ? AwaitMessage(s.socket.get(), "exited", id, std::chrono::milliseconds(-1))
          : StatusOr<Json>(NotFound("the live interpreter was dropped"));
  std::optional<int> wait_status;
  if (exited.ok()) wait_status = exited->value("status", 0);
  StatusOr<ExecutionResult> r =
      ResultWithoutReport(policy, report, end, wait_status,
                          exited.ok() ? "" : "the session's live interpreter died during the "
                                             "execution",
                          kill_grace_, started);
  if (!exited.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    Evict(s, "its live interpreter died during an execution");
  }
  if (r.ok()) {
    r->state = StateOutcome::kRolledBack;
    r->state_reason = exited.ok() ? FailureOf(*r) +
                                        "; the session's state is as it was before this execution"
                                  : FailureOf(*r) +
                                        "; the session's live interpreter died as well, so the "
                                        "next execution starts fresh";
  }
  return r;
}

StatusOr<ExecutionResult> LiveInterpreters::RunFresh(Session& s, const ExecutionPolicy& policy,
                                                     const std::string& confinement,
                                                     const ZygoteSource& zygote_for,
                                                     const std::string& why,
                                                     const SavedState* restore) {
  const auto started = Clock::now();
  const Json policy_json = PolicyToJson(policy);
  if (restore != nullptr) {
    if (Status s = PlaceRestoreFile(policy.mount_host_dir(), restore->bytes); !s.ok()) return s;
  }
  struct RemoveAfter {
    const std::filesystem::path* workspace;
    ~RemoveAfter() {
      if (workspace != nullptr) RemoveRestoreFile(*workspace);
    }
  } remove_after{restore != nullptr ? &policy.mount_host_dir() : nullptr};
  // A zygote that died since its last use is replaced once.
  for (int attempt = 0; attempt < 2; ++attempt) {
    StatusOr<std::shared_ptr<Zygote>> zygote = zygote_for();
    if (!zygote.ok()) return zygote.status();
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
      return Internal(std::string("executor: socketpair: ") + std::strerror(errno));
    }
    UniqueFd ours(sv[0]);
    UniqueFd theirs(sv[1]);
    StatusOr<uint64_t> zid = (*zygote)->Submit(policy_json, theirs.get(), "");
    theirs.Reset();
    if (!zid.ok()) {
      if (attempt == 0) continue;
      return zid.status();
    }
    int pipe_fds[2];
    if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
      (*zygote)->Kill(*zid);
      (void)(*zygote)->Wait(*zid);
      return Internal(std::string("executor: pipe: ") + std::strerror(errno));
    }
    UniqueFd result_read(pipe_fds[0]);
    const uint64_t id = ++s.next_id;
    // The child reads this once it is forked; until then it waits in the
    // socket.
    Status sent = SendMessage(ours.get(),
                              {{"op", "run"},
                               {"id", id},
                               {"policy", policy_json},
                               {"kind", restore != nullptr ? "restore" : "script"}},
                              pipe_fds[1]);
    close(pipe_fds[1]);
    if (!sent.ok()) {
      (*zygote)->Kill(*zid);
      (void)(*zygote)->Wait(*zid);
      return Internal("executor: cannot send the first cell to the live interpreter: " +
                      sent.message());
    }
    ReadEnd end;
    const std::string data =
        ReadResult(result_read.get(), KillAt(policy, started, kill_grace_),
                   MaxChildReportBytes(policy), [&] { (*zygote)->Kill(*zid); }, &end);
    result_read.Reset();
    ChildReport report = DecodeChildReport(data);
    if (report.result) {
      on_landlock_warning_(report.landlock_warning);
      ExecutionResult r = std::move(*report.result);
      if (restore != nullptr) {
        r.state = StateOutcome::kRestored;
        std::set<std::string> dropped(restore->dropped.begin(), restore->dropped.end());
        dropped.insert(r.state_dropped.begin(), r.state_dropped.end());
        r.state_dropped.assign(dropped.begin(), dropped.end());
        r.state_reason =
            why + (r.success() ? "; its globals were restored into a new interpreter" +
                               std::string(dropped.empty() ? "" : " (state_dropped: not kept)")
                         : "; its globals were restored into a new interpreter, but this execution " +
                               FailureOf(r) + ", so nothing is kept; the saved globals stay for "
                                              "the next execution");
      } else {
        r.state = StateOutcome::kFresh;
        r.state_reason = why + (r.success() ? "; this execution ran in a new interpreter, whose "
                                              "state is kept"
                                            : "; this execution ran in a new interpreter and " +
                                                  FailureOf(r) + ", so no state is kept");
      }
      const pid_t pid = r.success() ? (*zygote)->WaitStarted(*zid, kStartedWait) : -1;
      (*zygote)->Release(*zid);
      if (r.success()) {
        std::optional<Victim> victim;
        {
          std::lock_guard<std::mutex> lock(mu_);
          victim = PickRoom(s);
          s.socket = std::move(ours);
          s.confinement = confinement;
          s.pid = pid;
          s.zygote = *zygote;
          s.zygote->AddLive(1);
        }
        // Marks that this session has a live interpreter, until it is
        // dropped knowingly (Evict): found after a crash, it says the state
        // was lost instead of nothing.
        UniqueFd marker(open(LiveMarkerPath(s.workspace).c_str(),
                             O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
        if (restore != nullptr) {
          std::error_code ec;
          std::filesystem::remove(SavedStatePath(policy.mount_host_dir()), ec);
        }
        if (victim) {
          (void)SaveAndEvict(std::move(*victim),
                       "its live interpreter was dropped to make room for another session's "
                       "(more than max_live_interpreters = " +
                           std::to_string(max_live_) + ")");
        }
      }
      return r;
    }
    ours.Reset();  // the child is gone or going; nothing keeps its state
    const Zygote::Outcome outcome = (*zygote)->Wait(*zid);
    if (!outcome.failure.empty()) return Internal("executor: " + outcome.failure);
    StatusOr<ExecutionResult> r = ResultWithoutReport(
        policy, report, end, outcome.wait_status,
        outcome.zygote_died ? "the zygote died during the execution" : "", kill_grace_, started);
    if (r.ok()) {
      r->state = restore != nullptr ? StateOutcome::kRestored : StateOutcome::kFresh;
      r->state_reason = why + "; this execution ran in a new interpreter and " + FailureOf(*r) +
                        ", so no state is kept" +
                        (restore != nullptr ? "; the saved globals stay for the next execution"
                                            : "");
    }
    return r;
  }
  return Internal("executor: unreachable");
}

}  // namespace snakecage::executor
