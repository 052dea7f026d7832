// snakecage-zygote: one pre-initialised interpreter that forks a child per
// execution. Started by the Executor (executor.cc), never by hand:
//
//   snakecage-zygote --control-fd N --startup STARTUP_KEY_JSON --installation PREFIX
//                    [--enable-test-hooks] [--test-without-landlock]   (tests only)
//
// 1. Start the guest interpreter under StartupPolicy(key) (every host
//    directory is the standard library's, nothing of any execution is in
//    this process), compile the seccomp program, block SIGCHLD.
// 2. At user_code_begin, serve (wire.h): each "run" request goes to the
//    oldest of kSpares children forked ahead of time (a fresh one is forked
//    right after), or to one forked then. Spares touch the zygote's warm
//    pages while they wait; the first children teach which pages those are
//    (page_warming.h). The zygote tells the client the child's pid and,
//    when it has reaped it, its wait status; "kill" sends SIGKILL; "warmed"
//    tells the client how many pages spares touch. When the client closes
//    the control socket the zygote kills its children and exits.
// 3. The child (forked on the guest thread, so the guest's stack is its
//    own) builds its context from the request's policy, arms its timeout (a
//    timer signal: no threads after confinement), confines itself
//    (ConfineChild: rlimits, no_new_privs, Landlock, seccomp) and returns
//    into the guest, which re-reads argv and the environment and runs the
//    user's code. When the guest ends it writes its result to the request's
//    pipe and exits without any interpreter finalisation.
#include <poll.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/guest_runner.h"
#include "engine/installation.h"
#include "fuel/fuel_instrumenter.h"
#include "executor/confinement.h"
#include "executor/page_warming.h"
#include "executor/startup_key.h"
#include "executor/wire.h"

namespace snakecage::executor {
namespace {

using Json = nlohmann::ordered_json;

// Backstops that the policy has no field for.
constexpr uint64_t kCpuSecondsWithoutTimeout = 600;
constexpr uint64_t kMaxFileBytes = 1ull << 30;
constexpr uint64_t kMaxOpenFiles = 2048;

// The wall-clock timeout inside a child: ITIMER_REAL and a SIGALRM handler
// that raises the guest's interrupt global (an atomic store, so
// async-signal-safe). Armed before confinement (setitimer is not on the
// seccomp allow-list); Finish() only blocks the signal.
class SignalTimeout final : public TimeoutGuard {
 public:
  void Start(std::chrono::steady_clock::time_point deadline, uint64_t* interrupt,
             std::shared_ptr<wasi::CancelToken>) override {
    interrupt_ = interrupt;
    struct sigaction sa {};
    sa.sa_handler = &SignalTimeout::OnAlarm;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, nullptr);
    auto left = std::chrono::duration_cast<std::chrono::microseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() < 1) left = std::chrono::microseconds(1);
    itimerval t{};
    t.it_value.tv_sec = static_cast<time_t>(left.count() / 1'000'000);
    t.it_value.tv_usec = static_cast<suseconds_t>(left.count() % 1'000'000);
    setitimer(ITIMER_REAL, &t, nullptr);
  }
  bool Finish() override {
    sigset_t alarm;
    sigemptyset(&alarm);
    sigaddset(&alarm, SIGALRM);
    sigprocmask(SIG_BLOCK, &alarm, nullptr);
    return fired_ != 0;
  }

 private:
  static void OnAlarm(int) {
    fired_ = 1;
    if (interrupt_ != nullptr) __atomic_store_n(interrupt_, fuel::kInterruptRaised, __ATOMIC_RELAXED);
  }
  static inline volatile sig_atomic_t fired_ = 0;
  static inline uint64_t* interrupt_ = nullptr;
};

// What this process is: the zygote until a fork makes it a child.
struct ProcessState {
  int control = -1;
  int sigchld = -1;
  sigset_t original_mask;
  std::unique_ptr<SeccompProgram> seccomp;
  // In a child:
  bool test_hooks = false;        // --enable-test-hooks
  bool test_no_landlock = false;  // --test-without-landlock
  std::string hook_outcome;
  bool is_child = false;
  int result_fd = -1;
  std::string landlock_warning;
  std::unique_ptr<ExecutionContext> child_context;
  // The pages spares touch before their requests (see page_warming.h):
  // learned in the zygote, inherited by every spare forked after.
  std::optional<PageSet> warm_pages;
  // In a child asked for a lesson: where to send the pages it faulted in.
  int lesson_fd = -1;
  std::optional<FaultRecorder> fault_recorder;
};
ProcessState g;

void WriteAll(int fd, const std::string& text) {
  size_t off = 0;
  while (off < text.size()) {
    ssize_t n = write(fd, text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the client went away; nothing to tell
    off += static_cast<size_t>(n);
  }
}

[[noreturn]] void ChildFails(const std::string& code, const std::string& message) {
  WriteAll(g.result_fd, Json{{"error", message}, {"code", code}}.dump());
  _exit(1);
}

// Tests only (--enable-test-hooks): host code in a confined child doing what
// WASI never would, to prove the kernel's layers stop it. The policy's
// SNAKECAGE_TEST_HOOK says what: "socket" (seccomp must kill the child),
// "open:PATH" (Landlock must refuse it; the outcome is appended to stderr),
// "block" (the child hangs in host code; the executor must kill it).
void RunTestHook(const ExecutionPolicy& policy) {
  std::string hook;
  for (const auto& [k, v] : policy.env()) {
    if (k == "SNAKECAGE_TEST_HOOK") hook = v;
  }
  if (hook == "socket") {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    g.hook_outcome = "socket: " + std::string(fd >= 0 ? "created" : std::strerror(errno));
  } else if (hook.rfind("open:", 0) == 0) {
    const std::string path = hook.substr(5);
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    g.hook_outcome = "open " + path + ": " + (fd >= 0 ? "opened" : std::strerror(errno));
    if (fd >= 0) close(fd);
  } else if (hook == "block") {
    for (;;) {
      timespec t{3600, 0};
      nanosleep(&t, nullptr);
    }
  }
}

// In the child, right after fork: everything the request's policy says,
// then the kernel's confinement, then back into the guest.
// In a new child: lets go of the zygote's descriptors. Idempotent.
void DetachFromZygote() {
  if (g.control >= 0) close(g.control);
  if (g.sigchld >= 0) close(g.sigchld);
  g.control = g.sigchld = -1;
  sigprocmask(SIG_SETMASK, &g.original_mask, nullptr);
}

ExecutionContext* BecomeChild(const ExecutionPolicy& policy, int result_fd,
                              std::chrono::steady_clock::time_point started, uint64_t* interrupt) {
  g.is_child = true;
  g.result_fd = result_fd;
  DetachFromZygote();

  std::unique_ptr<SignalTimeout> timeout;
  if (policy.timeout_seconds()) timeout = std::make_unique<SignalTimeout>();
  SignalTimeout* armed = timeout.get();
  StatusOr<std::unique_ptr<ExecutionContext>> ctx =
      ExecutionContext::Create(policy, std::move(timeout), started);
  if (!ctx.ok()) {
    ChildFails(ctx.status().code() == StatusCode::kNotFound ? "not_found" : "internal",
               ctx.status().message());
  }
  g.child_context = std::move(*ctx);

  // Start-up already used this much memory; a smaller cap cannot be met.
  const uint64_t pages = GuestMemoryPages();
  if (pages * 65536 > policy.memory_bytes()) {
    ExecutionResult r;
    r.trapped = true;
    r.trap_reason = TrapReason::kMemoryLimit;
    r.trap_message = "the interpreter needs " + std::to_string(pages * 65536) +
                     " bytes after start-up; memory_bytes is " +
                     std::to_string(policy.memory_bytes());
    r.exit_code = 134;
    r.stderr_text = "Execution trapped: MemoryLimit\n";
    r.fuel_budget = policy.fuel_budget();
    r.memory_limit_bytes = policy.memory_bytes();
    r.memory_peak_pages = static_cast<uint32_t>(pages);
    r.memory_peak_bytes = pages * 65536;
    r.timeout_seconds = policy.timeout_seconds();
    WriteAll(g.result_fd, Json{{"result", ExecutionResultToJson(r)}}.dump());
    _exit(0);
  }

  if (armed != nullptr && g.child_context->deadline()) {
    armed->Start(*g.child_context->deadline(), interrupt, nullptr);
  }

  ConfinementSpec spec;
  spec.read_write_dirs = {policy.mount_host_dir()};
  for (const SystemMount& m : ThisInstallation()->system_mounts()) {
    spec.read_only_dirs.push_back(m.host);
  }
  if (policy.mount_data_dir()) spec.read_only_dirs.push_back(*policy.mount_data_dir());
  for (const auto& m : policy.additional_readonly_mounts()) spec.read_only_dirs.push_back(m.host);
  spec.cpu_seconds = policy.timeout_seconds()
                         ? static_cast<uint64_t>(std::ceil(*policy.timeout_seconds())) + 2
                         : kCpuSecondsWithoutTimeout;
  spec.file_size_bytes = kMaxFileBytes;
  spec.open_files = kMaxOpenFiles;
  StatusOr<ConfinementReport> report =
      g.test_no_landlock
          ? ConfineChildWithLandlockProbe(spec, *g.seccomp, [] { return -ENOSYS; })
          : ConfineChild(spec, *g.seccomp);
  if (!report.ok()) ChildFails("internal", "confinement failed: " + report.status().message());
  g.landlock_warning = std::move(report->landlock_warning);
  if (g.test_hooks) RunTestHook(policy);
  return g.child_context.get();
}

// A failed send means the client has gone; the next poll() sees the
// closed socket and shuts the zygote down.
void Send(const Json& message) { (void)SendMessage(g.control, message); }

// A child forked ahead of its request, waiting on its own socket: forking
// (copying the page tables, write-protecting the zygote's pages) happens
// between requests instead of on an execution's critical path.
struct Spare {
  pid_t pid = -1;
  int socket = -1;  // the zygote's end
};

// A request handed to a spare that has not acknowledged it yet. If the spare
// dies first (killed while idle: the OOM killer, an operator), the zygote
// still holds the request and a copy of its result pipe and forks a child
// for it, so no request is lost.
struct Handoff {
  pid_t pid = -1;
  int socket = -1;
  uint64_t id = 0;
  Json request;
  int result_fd = -1;  // the zygote's copy
};

// In a child that was asked for a lesson, after its result is sent: the
// pages it faulted in, to the zygote (nothing if there are too many, or if
// they cannot be read: the zygote then learns from another child).
void SendLesson() {
  if (g.lesson_fd < 0) return;
  if (g.fault_recorder) {
    StatusOr<PageSet> pages = g.fault_recorder->Read();
    if (pages.ok() && pages->writable.size() <= kMaxLessonWritablePages &&
        pages->readable.size() <= kMaxLessonReadablePages) {
      WriteAll(g.lesson_fd, EncodePages(*pages));
    }
  }
  close(g.lesson_fd);
  g.lesson_fd = -1;
}

// In the spare: touches the warm pages (or, asked for a lesson, gets ready
// to record its faults), waits for the one request (the zygote's "run"
// message with the result pipe attached), then becomes that execution's
// child.
ExecutionContext* SpareWaits(int socket, uint64_t* interrupt) {
  DetachFromZygote();
  if (g.warm_pages) TouchPages(*g.warm_pages);
  if (g.lesson_fd >= 0) {
    StatusOr<FaultRecorder> recorder = FaultRecorder::Open();
    if (recorder.ok()) g.fault_recorder.emplace(std::move(*recorder));
  }
  int result_fd = -1;
  StatusOr<Json> msg = ReceiveMessage(socket, &result_fd);
  if (!msg.ok() || result_fd < 0) _exit(0);  // the zygote went away, or never used us
  const auto started = std::chrono::steady_clock::now();
  // The request is ours now: the zygote lets go of its copy of the pipe.
  const char ack = 1;
  (void)!write(socket, &ack, 1);
  close(socket);
  g.result_fd = result_fd;
  StatusOr<ExecutionPolicy> policy = PolicyFromJson(msg->at("policy"));
  if (!policy.ok()) ChildFails("internal", policy.status().message());
  return BecomeChild(*policy, result_fd, started, interrupt);
}

[[noreturn]] void ShutDown(std::map<pid_t, uint64_t>& children, const std::vector<Spare>& spares) {
  for (const Spare& spare : spares) kill(spare.pid, SIGKILL);
  for (const auto& [pid, id] : children) kill(pid, SIGKILL);
  for (const auto& [pid, id] : children) waitpid(pid, nullptr, 0);
  for (const Spare& spare : spares) waitpid(spare.pid, nullptr, 0);
  _exit(0);
}

// Spares kept ready. Forking one (copying the page tables) and its
// touching the warm pages take about a millisecond together; with a
// second one ready, a request that follows the last one's result closely
// still finds a spare done with both.
constexpr size_t kSpares = 2;

// The zygote's BeginHandler: serves requests until the client goes; returns
// only in a child.
ExecutionContext* Serve(ExecutionContext&, uint64_t* interrupt) {
  std::map<pid_t, uint64_t> children;
  std::vector<Handoff> handoffs;
  std::vector<Spare> spares;  // oldest first
  // Lessons for the warm pages: read ends of the pipes of children asked
  // for one, with what has arrived so far, and the lessons complete.
  struct Learner {
    int fd = -1;
    std::string bytes;
  };
  std::vector<Learner> learners;
  std::vector<PageSet> lessons;
  // Returns only in the new spare (then it is an execution's child).
  auto fork_spare = [&]() -> ExecutionContext* {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return nullptr;
    // Until the zygote has its warm set, spares are asked for lessons
    // (kLessons at a time: one that comes back empty frees its place).
    int lesson[2] = {-1, -1};
    const bool ask = !g.warm_pages && lessons.size() + learners.size() < size_t{kLessons};
    if (ask && pipe2(lesson, O_CLOEXEC) != 0) lesson[0] = lesson[1] = -1;
    pid_t pid = fork();
    if (pid == 0) {
      close(sv[0]);
      for (const Handoff& h : handoffs) {
        close(h.socket);
        close(h.result_fd);
      }
      for (const Spare& other : spares) close(other.socket);
      for (const Learner& l : learners) close(l.fd);
      if (lesson[0] >= 0) close(lesson[0]);
      g.lesson_fd = lesson[1];
      return SpareWaits(sv[1], interrupt);
    }
    close(sv[1]);
    if (lesson[1] >= 0) close(lesson[1]);
    if (pid < 0) {
      close(sv[0]);
      if (lesson[0] >= 0) close(lesson[0]);
      return nullptr;
    }
    if (lesson[0] >= 0) {
      fcntl(lesson[0], F_SETFL, O_NONBLOCK);
      learners.push_back({lesson[0], {}});
    }
    spares.push_back({pid, sv[0]});
    return nullptr;
  };
  // Reads what learner `i` sent; at its end, keeps the lesson, and with
  // kLessons of them makes the warm set. Returns false once it is done.
  auto read_lesson = [&](Learner& l) -> bool {
    char buf[16384];
    for (;;) {
      const ssize_t n = read(l.fd, buf, sizeof buf);
      if (n > 0) {
        l.bytes.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return true;
      break;  // EOF (or an error: the lesson is lost either way)
    }
    close(l.fd);
    StatusOr<PageSet> pages = DecodePages(l.bytes);
    if (pages.ok() && pages->size() > 0) lessons.push_back(std::move(*pages));
    if (lessons.size() == static_cast<size_t>(kLessons)) {
      PageSet warm = lessons[0];
      for (size_t i = 1; i < lessons.size(); ++i) warm = Intersect(warm, lessons[i]);
      Send({{"op", "warmed"}, {"pages", warm.size()}});
      g.warm_pages = std::move(warm);
      lessons.clear();
    }
    return false;
  };
  // Forks a child for `request` now. Returns only in that child.
  auto fork_for = [&](const Json& request, int result_fd, uint64_t id,
                      pid_t* pid_out) -> ExecutionContext* {
    const auto started = std::chrono::steady_clock::now();
    StatusOr<ExecutionPolicy> policy = PolicyFromJson(request.at("policy"));
    if (!policy.ok()) {
      Send({{"op", "failed"}, {"id", id}, {"message", policy.status().message()}});
      return nullptr;
    }
    pid_t pid = fork();
    if (pid == 0) {
      for (const Handoff& h : handoffs) {
        close(h.socket);
        if (h.result_fd != result_fd) close(h.result_fd);
      }
      for (const Spare& other : spares) close(other.socket);
      for (const Learner& l : learners) close(l.fd);
      return BecomeChild(*policy, result_fd, started, interrupt);
    }
    if (pid < 0) {
      Send({{"op", "failed"},
            {"id", id},
            {"message", std::string("fork failed: ") + std::strerror(errno)}});
      return nullptr;
    }
    *pid_out = pid;
    return nullptr;
  };
  auto start = [&](pid_t pid, uint64_t id) {
    children[pid] = id;
    Send({{"op", "started"}, {"id", id}, {"pid", pid}});
  };

  while (spares.size() < kSpares) {
    const size_t before = spares.size();
    if (ExecutionContext* child = fork_spare()) return child;
    if (spares.size() == before) break;  // fork failed: requests fork their own child
  }
  Send({{"op", "ready"}, {"memory_pages", GuestMemoryPages()}});
  for (;;) {
    std::vector<pollfd> fds = {{g.control, POLLIN, 0}, {g.sigchld, POLLIN, 0}};
    for (const Handoff& h : handoffs) fds.push_back({h.socket, POLLIN, 0});
    for (const Learner& l : learners) fds.push_back({l.fd, POLLIN, 0});
    if (poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      ShutDown(children, spares);
    }
    for (size_t i = learners.size(); i-- > 0;) {
      if (!(fds[2 + handoffs.size() + i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      if (!read_lesson(learners[i])) learners.erase(learners.begin() + static_cast<long>(i));
    }
    // Acknowledged handoffs are done; a spare that died first gets its
    // request re-run in a child forked now.
    for (size_t i = handoffs.size(); i-- > 0;) {
      if (!(fds[2 + i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      Handoff h = std::move(handoffs[i]);
      handoffs.erase(handoffs.begin() + static_cast<long>(i));
      char ack = 0;
      const bool taken = read(h.socket, &ack, 1) == 1;
      close(h.socket);
      if (taken) {
        close(h.result_fd);
        continue;
      }
      children.erase(h.pid);
      pid_t pid = -1;
      if (ExecutionContext* child = fork_for(h.request, h.result_fd, h.id, &pid)) return child;
      close(h.result_fd);
      if (pid > 0) start(pid, h.id);
    }
    if (fds[1].revents & POLLIN) {
      signalfd_siginfo info;
      while (read(g.sigchld, &info, sizeof info) == sizeof info) {
      }
      int status = 0;
      pid_t pid;
      while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        auto dead = std::find_if(spares.begin(), spares.end(),
                                 [pid](const Spare& s) { return s.pid == pid; });
        if (dead != spares.end()) {  // a spare died before its request
          close(dead->socket);
          spares.erase(dead);
          continue;
        }
        auto it = children.find(pid);
        if (it == children.end()) continue;
        Send({{"op", "exited"}, {"id", it->second}, {"status", status}});
        children.erase(it);
      }
    }
    if (!(fds[0].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    int result_fd = -1;
    StatusOr<Json> msg = ReceiveMessage(g.control, &result_fd);
    if (!msg.ok()) ShutDown(children, spares);  // the client closed the socket (or broke it)
    const std::string op = msg->value("op", "");
    const uint64_t id = msg->value("id", uint64_t{0});
    if (op == "kill") {
      for (const auto& [pid, child_id] : children) {
        if (child_id == id) kill(pid, SIGKILL);
      }
      // A killed request is never re-run by a handoff's fallback.
      for (size_t i = handoffs.size(); i-- > 0;) {
        if (handoffs[i].id != id) continue;
        close(handoffs[i].socket);
        close(handoffs[i].result_fd);
        handoffs.erase(handoffs.begin() + static_cast<long>(i));
      }
      continue;
    }
    if (op != "run" || result_fd < 0) {
      if (result_fd >= 0) close(result_fd);
      Send({{"op", "failed"}, {"id", id}, {"message", "unknown request " + msg->dump()}});
      continue;
    }
    // The spare takes the request as it came (it reads the policy itself;
    // the client sends only built, valid policies) and acknowledges it.
    // Without a spare (it died, or fork failed last time) fork now.
    const int keep = !spares.empty() ? fcntl(result_fd, F_DUPFD_CLOEXEC, 0) : -1;
    if (keep >= 0 && SendMessage(spares.front().socket, *msg, result_fd).ok()) {
      const Spare spare = spares.front();
      spares.erase(spares.begin());
      handoffs.push_back({spare.pid, spare.socket, id, std::move(*msg), keep});
      start(spare.pid, id);
    } else {
      if (keep >= 0) close(keep);
      pid_t pid = -1;
      if (ExecutionContext* child = fork_for(*msg, result_fd, id, &pid)) return child;
      if (pid > 0) start(pid, id);
    }
    close(result_fd);
    while (spares.size() < kSpares) {
      const size_t before = spares.size();
      if (ExecutionContext* child = fork_spare()) return child;
      if (spares.size() == before) break;
    }
  }
}

int Main(int argc, char** argv) {
  std::string startup_json;
  std::string installation_prefix;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--enable-test-hooks") {
      g.test_hooks = true;
    } else if (flag == "--test-without-landlock") {
      g.test_no_landlock = true;
    } else if (flag == "--control-fd" && i + 1 < argc) {
      g.control = std::atoi(argv[++i]);
    } else if (flag == "--startup" && i + 1 < argc) {
      startup_json = argv[++i];
    } else if (flag == "--installation" && i + 1 < argc) {
      installation_prefix = argv[++i];
    } else {
      g.control = -1;
      break;
    }
  }
  if (g.control < 0 || startup_json.empty() || installation_prefix.empty()) {
    std::cerr << "usage: snakecage-zygote --control-fd N --startup JSON --installation PREFIX "
                 "(started by the executor)\n";
    return 2;
  }
  // Nothing the spawning process left open without close-on-exec (a
  // caller's sockets, files, locks) lives on in the zygote or its children.
  if (g.control == 3) close_range(4, ~0u, 0);
  auto fail_start = [](const std::string& message) {
    Send({{"op", "startup_failed"}, {"message", message}});
    return 1;
  };
  StatusOr<StartupKey> key = StartupKeyFromJson(Json::parse(startup_json, nullptr, false));
  if (!key.ok()) return fail_start(key.status().message());
  // The executor's installation, whatever this program's location says.
  Status installation = UseInstallationPrefix(installation_prefix);
  if (!installation.ok()) return fail_start(installation.message());
  StatusOr<ExecutionPolicy> policy = StartupPolicy(*key, ThisInstallation()->stdlib_dir());
  if (!policy.ok()) return fail_start(policy.status().message());
  StatusOr<SeccompProgram> seccomp = SeccompProgram::Compile();
  if (!seccomp.ok()) return fail_start(seccomp.status().message());
  g.seccomp = std::make_unique<SeccompProgram>(std::move(*seccomp));

  // SIGCHLD arrives through a signalfd; blocked before any thread exists so
  // every thread inherits the mask.
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  pthread_sigmask(SIG_BLOCK, &chld, &g.original_mask);
  g.sigchld = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  if (g.sigchld < 0) return fail_start(std::string("signalfd: ") + std::strerror(errno));

  StatusOr<std::unique_ptr<ExecutionContext>> ctx =
      ExecutionContext::Create(*policy, nullptr, std::chrono::steady_clock::now());
  if (!ctx.ok()) return fail_start(ctx.status().message());

  int exit_status = 0;
  Status thread = RunOnGuestThread([&] {
    // The zygote and its children exit right after the guest stops.
    StatusOr<ExecutionResult> result = RunGuest(**ctx, &Serve, AfterRun::kKeepInstance);
    if (g.is_child) {
      if (result.ok() && !g.hook_outcome.empty()) {
        result->stderr_text += "snakecage test hook: " + g.hook_outcome + "\n";
      }
      Json out = result.ok() ? Json{{"result", ExecutionResultToJson(*result)},
                                    {"landlock_warning", g.landlock_warning}}
                             : Json{{"error", result.status().message()}, {"code", "internal"}};
      WriteAll(g.result_fd, out.dump());
      // EOF now: the client need not wait for this address space to be torn
      // down (exit_group unmaps before it closes descriptors).
      close(g.result_fd);
      SendLesson();
      _exit(0);
    }
    // Start-up ended without reaching user_code_begin.
    exit_status = fail_start(result.ok() ? "the interpreter stopped during start-up: " +
                                               result->stderr_text
                                         : result.status().message());
  });
  if (!thread.ok()) return fail_start(thread.message());
  return exit_status;
}

}  // namespace
}  // namespace snakecage::executor

int main(int argc, char** argv) { return snakecage::executor::Main(argc, argv); }
