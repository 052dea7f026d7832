#include "executor/zygote_server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "executor/wire.h"

namespace snakecage::executor {
namespace {

using Json = nlohmann::ordered_json;

// Spares kept ready. Forking one (copying the page tables) and its
// touching the warm pages take about a millisecond together; with a
// second one ready, a request that follows the last one's result closely
// still finds a spare done with both.
constexpr size_t kSpares = 2;

// Residents kept at most, and how long one may wait idle. Each holds the
// pages it wrote (~1-2 MB) and one workspace's confinement.
constexpr size_t kMaxResidents = 8;
constexpr std::chrono::seconds kResidentIdle{60};

// What a child writes on its socket to the zygote (zygote_child.cc).
constexpr char kTaken = 1;
constexpr char kIdle = 'I';

}  // namespace

ZygoteServer::ZygoteServer(UniqueFd control, ChildSettings settings)
    : control_(std::move(control)), settings_(settings), spares_wanted_(kSpares) {}

Status ZygoteServer::Init() {
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  pthread_sigmask(SIG_BLOCK, &chld, &original_mask_);
  sigchld_.Reset(signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!sigchld_.valid()) return Internal(std::string("signalfd: ") + std::strerror(errno));
  // A live interpreter that commits a cell exits, leaving the cell's process
  // (now the live one) an orphan: it comes to the zygote, which reaps it
  // when it ends, instead of to whatever init the host has.
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
    return Internal(std::string("prctl(PR_SET_CHILD_SUBREAPER): ") + std::strerror(errno));
  }
  return Status::Ok();
}

// A failed send means the client has gone; the next poll() sees the
// closed socket and shuts the zygote down.
void ZygoteServer::Send(const Json& message) { (void)SendMessage(control_.get(), message); }

void ZygoteServer::SendStartupFailure(const std::string& message) {
  Send({{"op", "startup_failed"}, {"message", message}});
}

void ZygoteServer::SetProbe(ExecutionPolicy policy, std::filesystem::path probe_dir) {
  probe_policy_ = std::move(policy);
  probe_dir_ = std::move(probe_dir);
}

void ZygoteServer::LetGo() {
  probe_results_.clear();
  probes_.clear();
  handoffs_.clear();
  residents_.clear();
  spares_.clear();
  learners_.clear();
  children_.clear();
  control_.Reset();
  sigchld_.Reset();
  sigprocmask(SIG_SETMASK, &original_mask_, nullptr);
}

ExecutionContext* ZygoteServer::ReplenishSpares(uint64_t* interrupt) {
  while (spares_.size() < spares_wanted_) {
    const size_t before = spares_.size();
    if (ExecutionContext* child = ForkSpare(interrupt)) return child;
    if (spares_.size() == before) break;  // fork failed: requests fork their own child
  }
  return nullptr;
}

ExecutionContext* ZygoteServer::StartProbes(uint64_t* interrupt) {
  if (!probe_policy_) return nullptr;
  for (int i = 0; i < kLessons; ++i) {
    int lesson[2];
    if (pipe2(lesson, O_CLOEXEC) != 0) break;
    UniqueFd lesson_read(lesson[0]);
    UniqueFd lesson_write(lesson[1]);
    int result[2];
    if (pipe2(result, O_CLOEXEC) != 0) break;
    UniqueFd result_read(result[0]);
    UniqueFd result_write(result[1]);
    const auto started = std::chrono::steady_clock::now();
    const pid_t pid = fork();
    if (pid == 0) {
      lesson_read.Reset();
      result_read.Reset();
      LetGo();
      child_ = std::make_unique<ExecutionChild>(settings_, std::move(lesson_write));
      return child_->Begin(std::move(result_write), *probe_policy_, started, interrupt);
    }
    if (pid < 0) break;
    fcntl(lesson_read.get(), F_SETFL, O_NONBLOCK);
    learners_.push_back({std::move(lesson_read), {}});
    // Kept open (never read: a probe's result fits in the pipe) until the
    // probe is reaped, so that it never writes into a closed pipe.
    probe_results_.push_back(std::move(result_read));
    probes_.push_back(pid);
  }
  FinishProbes();  // when no probe could be forked
  return nullptr;
}

void ZygoteServer::FinishProbes() {
  if (!probes_.empty() || probe_dir_.empty()) return;
  probe_results_.clear();
  std::error_code ec;
  std::filesystem::remove_all(probe_dir_, ec);
  probe_dir_.clear();
}

ExecutionContext* ZygoteServer::ForkSpare(uint64_t* interrupt) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return nullptr;
  UniqueFd ours(sv[0]);
  UniqueFd theirs(sv[1]);
  const pid_t pid = fork();
  if (pid == 0) {
    ours.Reset();
    LetGo();
    return SpareWaits(std::move(theirs), interrupt);
  }
  if (pid < 0) return nullptr;
  spares_.push_back({pid, std::move(ours)});
  return nullptr;
}

// The spare touches the warm pages, waits for its one request (the zygote's
// "run" message with the result pipe attached), acknowledges it, then
// becomes its child.
ExecutionContext* ZygoteServer::SpareWaits(UniqueFd socket, uint64_t* interrupt) {
  if (warm_pages_) TouchPages(*warm_pages_);
  child_ = std::make_unique<ExecutionChild>(settings_, UniqueFd());
  int received = -1;
  StatusOr<Json> msg = ReceiveMessage(socket.get(), &received);
  if (!msg.ok() || received < 0) _exit(0);  // the zygote went away, or never used us
  const auto started = std::chrono::steady_clock::now();
  UniqueFd result_fd(received);
  // The request is ours now: the zygote lets go of its copy of the pipe.
  (void)!write(socket.get(), &kTaken, 1);
  // Kept if the request lets the child stay resident (it decides in
  // Begin() whether it can).
  if (msg->contains("confinement")) child_->set_zygote_socket(std::move(socket));
  socket.Reset();
  return child_->Begin(std::move(result_fd), PolicyFromJson(msg->at("policy")), started,
                       interrupt);
}

ExecutionContext* ZygoteServer::ForkFor(const Json& request, UniqueFd& result_fd, uint64_t id,
                                        uint64_t* interrupt) {
  const auto started = std::chrono::steady_clock::now();
  StatusOr<ExecutionPolicy> policy = PolicyFromJson(request.at("policy"));
  if (!policy.ok()) {
    Send({{"op", "failed"}, {"id", id}, {"message", policy.status().message()}});
    return nullptr;
  }
  const pid_t pid = fork();
  if (pid == 0) {
    LetGo();
    child_ = std::make_unique<ExecutionChild>(settings_, UniqueFd());
    return child_->Begin(std::move(result_fd), *policy, started, interrupt);
  }
  if (pid < 0) {
    Send({{"op", "failed"},
          {"id", id},
          {"message", std::string("fork failed: ") + std::strerror(errno)}});
    return nullptr;
  }
  Started(pid, id);
  return nullptr;
}

void ZygoteServer::Started(pid_t pid, uint64_t id, bool reused) {
  children_[pid] = id;
  Send({{"op", "started"}, {"id", id}, {"pid", pid}, {"reused", reused}});
}

bool ZygoteServer::HandToResident(Json& request, UniqueFd& result_fd, uint64_t id) {
  const std::string confinement = request.value("confinement", "");
  if (confinement.empty()) return false;
  for (size_t i = 0; i < residents_.size(); ++i) {
    Resident& r = residents_[i];
    if (r.busy || r.confinement != confinement) continue;
    UniqueFd keep(fcntl(result_fd.get(), F_DUPFD_CLOEXEC, 0));
    if (!keep.valid() || !SendMessage(r.socket.get(), request, result_fd.get()).ok()) {
      return false;
    }
    Handoff h{r.pid, std::move(r.socket), id, std::move(request), std::move(keep), confinement};
    residents_.erase(residents_.begin() + static_cast<long>(i));
    Started(h.pid, id, /*reused=*/true);
    handoffs_.push_back(std::move(h));
    return true;
  }
  return false;
}

void ZygoteServer::KeepResident(Handoff& h) {
  if (h.confinement.empty()) return;  // its socket closes: the child ends after its result
  if (residents_.size() >= kMaxResidents) {
    auto lru = residents_.end();
    for (auto r = residents_.begin(); r != residents_.end(); ++r) {
      if (!r->busy && (lru == residents_.end() || r->idle_since < lru->idle_since)) lru = r;
    }
    if (lru == residents_.end()) return;  // all busy: this child ends after its result
    residents_.erase(lru);                // its socket closes: it exits
  }
  residents_.push_back({h.pid, std::move(h.socket), std::move(h.confinement), true, {}});
}

void ZygoteServer::CheckResidents(const std::vector<pollfd>& fds, size_t first) {
  for (size_t i = residents_.size(); i-- > 0;) {
    if (!(fds[first + i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    Resident& r = residents_[i];
    char said = 0;
    if (r.busy && read(r.socket.get(), &said, 1) == 1 && said == kIdle) {
      r.busy = false;
      r.idle_since = std::chrono::steady_clock::now();
      auto it = children_.find(r.pid);
      if (it != children_.end()) {
        Send({{"op", "finished"}, {"id", it->second}});
        children_.erase(it);
      }
      continue;
    }
    // It went (or broke the protocol): it is reaped as a child, and a
    // request it was running is reported "exited" then.
    residents_.erase(residents_.begin() + static_cast<long>(i));
  }
}

int ZygoteServer::ExpireResidents() {
  const auto now = std::chrono::steady_clock::now();
  std::erase_if(residents_, [now](const Resident& r) {
    return !r.busy && now - r.idle_since >= kResidentIdle;
  });
  int timeout = -1;
  for (const Resident& r : residents_) {
    if (r.busy) continue;
    const auto due = std::chrono::duration_cast<std::chrono::milliseconds>(
                         r.idle_since + kResidentIdle - now)
                         .count() +
                     1;
    if (timeout < 0 || due < timeout) timeout = static_cast<int>(due);
  }
  return timeout;
}

bool ZygoteServer::ReadLesson(Learner& l) {
  char buf[16384];
  for (;;) {
    const ssize_t n = read(l.fd.get(), buf, sizeof buf);
    if (n > 0) {
      l.bytes.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return true;
    break;  // EOF (or an error: the lesson is lost either way)
  }
  StatusOr<PageSet> pages = DecodePages(l.bytes);
  if (pages.ok() && pages->size() > 0) lessons_.push_back(std::move(*pages));
  if (lessons_.size() == static_cast<size_t>(kLessons)) {
    PageSet warm = lessons_[0];
    for (size_t i = 1; i < lessons_.size(); ++i) warm = Intersect(warm, lessons_[i]);
    Send({{"op", "warmed"}, {"pages", warm.size()}});
    warm_pages_ = std::move(warm);
    lessons_.clear();
  }
  return false;
}

ExecutionContext* ZygoteServer::CheckHandoffs(const std::vector<pollfd>& fds,
                                              uint64_t* interrupt) {
  for (size_t i = handoffs_.size(); i-- > 0;) {
    if (!(fds[2 + i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    Handoff h = std::move(handoffs_[i]);
    handoffs_.erase(handoffs_.begin() + static_cast<long>(i));
    char ack = 0;
    if (read(h.socket.get(), &ack, 1) == 1) {  // taken
      KeepResident(h);
      continue;
    }
    h.socket.Reset();
    children_.erase(h.pid);
    if (ExecutionContext* child = ForkFor(h.request, h.result_fd, h.id, interrupt)) {
      return child;
    }
  }
  return nullptr;
}

void ZygoteServer::ReapChildren() {
  signalfd_siginfo info;
  while (read(sigchld_.get(), &info, sizeof info) == sizeof info) {
  }
  int status = 0;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    if (auto probe = std::find(probes_.begin(), probes_.end(), pid); probe != probes_.end()) {
      probes_.erase(probe);
      FinishProbes();
      continue;
    }
    auto dead = std::find_if(spares_.begin(), spares_.end(),
                             [pid](const Spare& s) { return s.pid == pid; });
    if (dead != spares_.end()) {  // a spare died before its request
      spares_.erase(dead);
      continue;
    }
    auto it = children_.find(pid);
    if (it == children_.end()) continue;
    Send({{"op", "exited"}, {"id", it->second}, {"status", status}});
    children_.erase(it);
  }
}

ExecutionContext* ZygoteServer::OnRequest(uint64_t* interrupt) {
  int received = -1;
  StatusOr<Json> msg = ReceiveMessage(control_.get(), &received);
  if (!msg.ok()) ShutDown();  // the client closed the socket (or broke it)
  UniqueFd result_fd(received);
  const std::string op = msg->value("op", "");
  const uint64_t id = msg->value("id", uint64_t{0});
  if (op == "kill") {
    for (const auto& [pid, child_id] : children_) {
      if (child_id == id) kill(pid, SIGKILL);
    }
    // A killed request is never re-run by a handoff's fallback.
    std::erase_if(handoffs_, [id](const Handoff& h) { return h.id == id; });
    return nullptr;
  }
  if (op != "run" || !result_fd.valid()) {
    Send({{"op", "failed"}, {"id", id}, {"message", "unknown request " + msg->dump()}});
    return nullptr;
  }
  // The spare takes the request as it came (it reads the policy itself;
  // the client sends only built, valid policies) and acknowledges it.
  // Without a spare (it died, or fork failed last time) fork now.
  // A resident of the request's confinement takes it without a fork.
  if (HandToResident(*msg, result_fd, id)) return nullptr;
  bool handed_off = false;
  if (!spares_.empty()) {
    UniqueFd keep(fcntl(result_fd.get(), F_DUPFD_CLOEXEC, 0));
    if (keep.valid() && SendMessage(spares_.front().socket.get(), *msg, result_fd.get()).ok()) {
      Spare spare = std::move(spares_.front());
      spares_.erase(spares_.begin());
      Started(spare.pid, id);
      std::string confinement = msg->value("confinement", "");
      handoffs_.push_back({spare.pid, std::move(spare.socket), id, std::move(*msg),
                           std::move(keep), std::move(confinement)});
      handed_off = true;
    }
  }
  if (!handed_off) {
    if (ExecutionContext* child = ForkFor(*msg, result_fd, id, interrupt)) return child;
  }
  result_fd.Reset();
  return ReplenishSpares(interrupt);
}

void ZygoteServer::ShutDown() {
  for (pid_t probe : probes_) kill(probe, SIGKILL);
  for (pid_t probe : probes_) waitpid(probe, nullptr, 0);
  probes_.clear();
  FinishProbes();
  for (const Spare& spare : spares_) kill(spare.pid, SIGKILL);
  for (const Resident& r : residents_) kill(r.pid, SIGKILL);
  for (const Resident& r : residents_) waitpid(r.pid, nullptr, 0);
  for (const auto& [pid, id] : children_) kill(pid, SIGKILL);
  for (const auto& [pid, id] : children_) waitpid(pid, nullptr, 0);
  for (const Spare& spare : spares_) waitpid(spare.pid, nullptr, 0);
  _exit(0);
}

ExecutionContext* ZygoteServer::Serve(uint64_t* interrupt) {
  if (ExecutionContext* child = StartProbes(interrupt)) return child;
  if (ExecutionContext* child = ReplenishSpares(interrupt)) return child;
  Send({{"op", "ready"}, {"memory_pages", GuestMemoryPages()}, {"startup", startup_}});
  for (;;) {
    const int timeout = ExpireResidents();
    // Control, SIGCHLD, then one per handoff, per learner, per resident.
    std::vector<pollfd> fds = {{control_.get(), POLLIN, 0}, {sigchld_.get(), POLLIN, 0}};
    for (const Handoff& h : handoffs_) fds.push_back({h.socket.get(), POLLIN, 0});
    for (const Learner& l : learners_) fds.push_back({l.fd.get(), POLLIN, 0});
    const size_t first_resident = fds.size();
    for (const Resident& r : residents_) fds.push_back({r.socket.get(), POLLIN, 0});
    if (poll(fds.data(), fds.size(), timeout) < 0) {
      if (errno == EINTR) continue;
      ShutDown();
    }
    // Before the handoffs: an acknowledged one may add a resident.
    CheckResidents(fds, first_resident);
    for (size_t i = learners_.size(); i-- > 0;) {
      if (!(fds[2 + handoffs_.size() + i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      if (!ReadLesson(learners_[i])) learners_.erase(learners_.begin() + static_cast<long>(i));
    }
    if (ExecutionContext* child = CheckHandoffs(fds, interrupt)) return child;
    if (fds[1].revents & POLLIN) ReapChildren();
    if (!(fds[0].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    if (ExecutionContext* child = OnRequest(interrupt)) return child;
  }
}

}  // namespace snakecage::executor
