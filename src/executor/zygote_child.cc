#include "executor/zygote_child.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <optional>

#include "base/base64.h"
#include "base/write_all.h"
#include "engine/installation.h"
#include "engine/trap_result.h"
#include "executor/confinement_key.h"
#include "executor/wire.h"
#include "fuel/fuel_instrumenter.h"

namespace snakecage::executor {
namespace {

using Json = nlohmann::ordered_json;

// The wall-clock timeout inside a child: ITIMER_REAL and a SIGALRM handler
// that raises the guest's interrupt global (an atomic store, so
// async-signal-safe). Armed before confinement (setitimer is not on the
// seccomp allow-list); Finish() only blocks the signal. The handler's state
// is static: a signal handler has no other way to it, and a child process
// has one timeout.
class SignalTimeout final : public TimeoutGuard {
 public:
  void Start(std::chrono::steady_clock::time_point deadline, uint64_t* interrupt,
             std::shared_ptr<wasi::CancelToken>) override {
    interrupt_ = interrupt;
    fired_ = 0;
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
    // A cell forked from a live interpreter inherits the mask Finish() set.
    sigset_t alarm;
    sigemptyset(&alarm);
    sigaddset(&alarm, SIGALRM);
    sigprocmask(SIG_UNBLOCK, &alarm, nullptr);
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
    if (interrupt_ != nullptr) {
      __atomic_store_n(interrupt_, fuel::kInterruptRaised, __ATOMIC_RELAXED);
    }
  }
  static inline volatile sig_atomic_t fired_ = 0;
  static inline uint64_t* interrupt_ = nullptr;
};

// A resident exits instead of serving again once it has used this much CPU
// time: RLIMIT_CPU is set for one request (its timeout and 2 s), so every
// request it serves keeps at least the timeout and 1 s of backstop.
constexpr double kResidentCpuSeconds = 1.0;
// ... or once it had to put back more pages than this (4 MiB of copying
// per request: a fresh child is cheaper).
constexpr size_t kMaxRewoundPages = 1024;

// What a resident writes on its socket to the zygote (zygote_server.h).
constexpr char kTaken = 1;  // the request came (also a spare's)
constexpr char kIdle = 'I';  // the result is out; the next request may come

double CpuSecondsOfThisProcess() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

// What a cell's process writes on its holder pipe (zygote_child.h).
constexpr char kTook = 'T';       // + the request's id: a spare took it
constexpr char kCommitted = 'C';  // the cell succeeded; its process holds the state now
constexpr char kEnding = 'F';     // the cell failed (or was a save): its process is ending

// What a kept-state cell's request asks it to do (wire.h, "kind").
CellKind KindOf(const Json& request) {
  const std::string kind = request.value("kind", "script");
  if (kind == "save") return CellKind::kSave;
  if (kind == "restore") return CellKind::kRestore;
  return CellKind::kScript;
}

}  // namespace

ExecutionChild::ExecutionChild(const ChildSettings& settings, UniqueFd lesson_fd)
    : settings_(settings), lesson_fd_(std::move(lesson_fd)) {
  if (!lesson_fd_.valid()) return;
  StatusOr<FaultRecorder> recorder = FaultRecorder::Open();
  if (recorder.ok()) fault_recorder_.emplace(std::move(*recorder));
}

void ExecutionChild::Fail(const Status& status) {
  TellHolderItEnds();
  WriteAll(result_fd_.get(),
           Json{{"error", status.message()}, {"code", std::string(StatusCodeName(status.code()))}}
               .dump());
  _exit(1);
}

ExecutionContext* ExecutionChild::Begin(UniqueFd result_fd,
                                        const StatusOr<ExecutionPolicy>& request_policy,
                                        std::chrono::steady_clock::time_point started,
                                        uint64_t* interrupt) {
  result_fd_ = std::move(result_fd);
  if (!request_policy.ok()) Fail(request_policy.status());
  ExecutionPolicy policy = *request_policy;
  CellKind kind = CellKind::kScript;
  if (policy.keep_state()) {
    // A live interpreter: the descriptor is its live socket, and the first
    // cell's request (with its result pipe) follows on it.
    live_socket_ = std::move(result_fd_);
    int received = -1;
    StatusOr<Json> request = ReceiveMessage(live_socket_.get(), &received);
    if (!request.ok() || received < 0) _exit(1);  // the executor went away
    result_fd_.Reset(received);
    StatusOr<ExecutionPolicy> cell = PolicyFromJson(request->value("policy", Json()));
    if (!cell.ok()) Fail(cell.status());
    if (!cell->keep_state()) Fail(Internal("a live interpreter's first cell must keep its state"));
    policy = std::move(*cell);
    kind = KindOf(*request);
    // A commit or a result written after the executor went must not kill
    // the writer with SIGPIPE.
    signal(SIGPIPE, SIG_IGN);
  }
  std::unique_ptr<SignalTimeout> timeout;
  if (policy.timeout_seconds()) timeout = std::make_unique<SignalTimeout>();
  SignalTimeout* armed = timeout.get();
  StatusOr<std::unique_ptr<ExecutionContext>> ctx =
      ExecutionContext::Create(policy, std::move(timeout), started);
  if (!ctx.ok()) Fail(ctx.status());
  context_ = std::move(*ctx);
  context_->set_cell_kind(kind);
  CheckMemoryCap(policy);

  if (armed != nullptr && context_->deadline()) {
    armed->Start(*context_->deadline(), interrupt, nullptr);
  }

  const ConfinementSpec spec = ConfinementSpecFor(policy);
  const SeccompProgram* seccomp = policy.keep_state() ? settings_.live_seccomp : settings_.seccomp;
  // A spare's child may stay resident if its guest can be put back.
  if (zygote_socket_.valid() && !policy.keep_state() && settings_.pristine != nullptr &&
      settings_.resident_seccomp != nullptr) {
    std::string key = ConfinementKey(spec);
    StatusOr<GuestRewinder> rewinder =
        key.empty() ? StatusOr<GuestRewinder>(Internal("no key"))
                    : GuestRewinder::Open(*settings_.pristine);
    StatusOr<DeadStack> stack = DeadStack::OfThisThread();
    if (rewinder.ok() && stack.ok()) {
      rewinder_.emplace(std::move(*rewinder));
      dead_stack_.emplace(std::move(*stack));
      confinement_key_ = std::move(key);
      seccomp = settings_.resident_seccomp;
      // "idle" written after the zygote went must not kill it by SIGPIPE.
      signal(SIGPIPE, SIG_IGN);
    }
  }
  if (!rewinder_) zygote_socket_.Reset();
#if defined(SNAKECAGE_ZYGOTE_WITHOUT_LANDLOCK)
  // The test variant: Landlock skipped as if the kernel lacked it.
  StatusOr<ConfinementReport> report =
      ConfineChildWithLandlockProbe(spec, *seccomp, [] { return -ENOSYS; });
#else
  StatusOr<ConfinementReport> report = ConfineChild(spec, *seccomp);
#endif
  if (!report.ok()) Fail(Internal("confinement failed: " + report.status().message()));
  confined_ = true;
  landlock_warning_ = std::move(report->landlock_warning);
  RunTestHook(policy);
  return context_.get();
}

void ExecutionChild::CheckMemoryCap(const ExecutionPolicy& policy) {
  // Start-up (or the state kept so far) already uses this much memory; a
  // smaller cap cannot be met.
  const uint64_t pages = GuestMemoryPages();
  if (pages * kWasmPageBytes <= policy.memory_bytes()) return;
  ExecutionResult r = ResultUnder(policy);
  RecordTrap(r, TrapReason::kMemoryLimit,
             "the interpreter needs " + std::to_string(pages * kWasmPageBytes) +
                 (holder_fd_.valid() ? " bytes for the session's kept state; memory_bytes is "
                                     : " bytes after start-up; memory_bytes is ") +
                 std::to_string(policy.memory_bytes()));
  r.memory_peak_pages = static_cast<uint32_t>(pages);
  r.memory_peak_bytes = pages * kWasmPageBytes;
  lesson_fd_.Reset();  // it ran nothing: no lesson to learn from it
  Finish(std::move(r));
}

ExecutionContext* ExecutionChild::EndCell(ExecutionResult cell, uint64_t* interrupt) {
  if (!cell.success()) Finish(std::move(cell));  // the state it changed goes with it
  // A save only reads the state (though pickling may run the state's own
  // code): never kept.
  if (context_->cell_kind() == CellKind::kSave) Finish(std::move(cell));
  // Commit. This cell's timer must not fire in the live interpreter.
  const itimerval off{};
  setitimer(ITIMER_REAL, &off, nullptr);
  // The live interpreter this process was forked from learns of the
  // commit before the result goes (so before the executor's next request):
  // from here on its state is stale. It exits once this process closes the
  // pipe, after the result and after forking the next spare, so that its
  // exit is not in their way.
  const char committed = kCommitted;
  UniqueFd holder = std::move(holder_fd_);
  if (holder.valid()) (void)!write(holder.get(), &committed, 1);
  SendResult(std::move(cell));
  return ServeCells(interrupt, std::move(holder));
}

namespace {

// Reads exactly `size` bytes (fewer only at EOF or on an error).
size_t ReadFully(int fd, void* data, size_t size) {
  size_t got = 0;
  while (got < size) {
    const ssize_t n = read(fd, static_cast<char*>(data) + got, size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  return got;
}

// True when the executor has closed its end of the live socket.
bool ExecutorGone(int live_socket) {
  pollfd p{live_socket, POLLIN, 0};
  while (poll(&p, 1, 0) < 0 && errno == EINTR) {
  }
  return (p.revents & (POLLHUP | POLLERR)) != 0;
}

void WaitFor(pid_t pid, int* status) {
  while (waitpid(pid, status, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace

ExecutionContext* ExecutionChild::ServeCells(uint64_t* interrupt, UniqueFd previous_holder) {
  // A spare cell, forked before the request, takes it from the socket
  // itself: the fork is off the request's path. Only after a spare ended
  // without taking one does this process read the request and fork for it.
  // While a cell runs this process does not read the socket: the executor
  // kills the cell through the pidfd sent with "started", and the next
  // request waits there for the next cell's process.
  bool spares_fail = false;
  // A failed cell's process that said it is ending: reaped, and reported,
  // once the next spare is forked (so the next request need not wait for
  // that process's exit).
  struct Ending {
    pid_t pid;
    uint64_t id;
    UniqueFd holder_read;
  };
  std::optional<Ending> ending;
  const auto reap_and_report = [&](pid_t pid, uint64_t id) {
    int status = 0;
    WaitFor(pid, &status);
    (void)SendMessage(live_socket_.get(), {{"op", "exited"}, {"id", id}, {"status", status}});
  };
  // A cell's process that died: its pipe closes as it goes.
  const auto report_end = [&](pid_t pid, uint64_t id, int holder_read) {
    char rest;
    while (ReadFully(holder_read, &rest, 1) == 1) {
    }
    reap_and_report(pid, id);
  };
  // The ending cell's process waits for its pipe's reader to go before it
  // exits (AwaitRelease): closed here, once the next spare is forked.
  const auto release_ending = [&] {
    ending->holder_read.Reset();
    reap_and_report(ending->pid, ending->id);
    ending.reset();
  };
  for (;;) {
    std::optional<Json> request;
    UniqueFd result;
    if (ending && spares_fail) release_ending();
    if (spares_fail) {
      int received = -1;
      StatusOr<Json> message = ReceiveMessage(live_socket_.get(), &received);
      if (!message.ok()) _exit(0);  // the executor dropped the state
      result.Reset(received);
      if (message->value("op", "") != "run" || !result.valid()) continue;
      request = std::move(*message);
    }
    const auto started = std::chrono::steady_clock::now();
    int holder[2] = {-1, -1};
    const bool piped = pipe2(holder, O_CLOEXEC) == 0;
    const int pipe_errno = errno;
    UniqueFd holder_read(holder[0]);
    UniqueFd holder_write(holder[1]);
    const pid_t pid = piped ? fork() : -1;
    const int fork_errno = errno;
    if (pid == 0) {
      holder_read.Reset();
      previous_holder.Reset();
      if (ending) ending->holder_read.Reset();
      holder_fd_ = std::move(holder_write);
      if (!request) return SpareTakesCell(interrupt);
      result_fd_ = std::move(result);
      return BeginCell(*request, started, interrupt);
    }
    // The previous live interpreter exits on this (EOF on its pipe).
    previous_holder.Reset();
    holder_write.Reset();
    if (ending) release_ending();
    if (pid < 0) {
      const std::string why = piped ? std::string("fork: ") + std::strerror(fork_errno)
                                    : std::string("pipe2: ") + std::strerror(pipe_errno);
      if (request) {
        WriteAll(result.get(), Json{{"error", why}, {"code", "internal"}}.dump());
      } else {
        spares_fail = true;
      }
      continue;
    }
    result.Reset();
    uint64_t id = 0;
    if (request) {
      id = request->value("id", uint64_t{0});
    } else {
      // The spare owns the socket until it says which request it took.
      char took[1 + sizeof id];
      if (ReadFully(holder_read.get(), took, sizeof took) != sizeof took || took[0] != kTook) {
        int status = 0;
        WaitFor(pid, &status);
        if (ExecutorGone(live_socket_.get())) _exit(0);
        spares_fail = true;
        continue;
      }
      std::memcpy(&id, took + 1, sizeof id);
      spares_fail = false;
    }
    // The cell's pidfd goes with "started": it is the executor's way to
    // kill this cell, and only this cell (a pid could be reused).
    UniqueFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
    (void)SendMessage(live_socket_.get(), {{"op", "started"}, {"id", id}, {"pid", pid}},
                      pidfd.get());
    pidfd.Reset();
    char said = 0;
    const bool heard = ReadFully(holder_read.get(), &said, 1) == 1;
    if (heard && said == kCommitted) {
      // The cell's process holds the state now. Its pipe closes once it
      // has sent its result and forked its spare, or when it dies: either
      // way this state is stale, and this process goes.
      while (ReadFully(holder_read.get(), &said, 1) == 1) {
      }
      _exit(0);
    }
    if (heard && said == kEnding) {
      ending = Ending{pid, id, std::move(holder_read)};
      continue;
    }
    report_end(pid, id, holder_read.get());  // it died
  }
}

ExecutionContext* ExecutionChild::SpareTakesCell(uint64_t* interrupt) {
  for (;;) {
    // A spare whose live interpreter died goes too, so that the live
    // socket closes and the executor learns the state is lost (a pipe's
    // write end polls POLLERR once its reader is gone).
    pollfd fds[2] = {{live_socket_.get(), POLLIN, 0}, {holder_fd_.get(), 0, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      _exit(1);
    }
    if (fds[1].revents != 0) _exit(0);
    if (fds[0].revents == 0) continue;
    int received = -1;
    StatusOr<Json> message = ReceiveMessage(live_socket_.get(), &received);
    if (!message.ok()) _exit(0);  // the executor dropped the state
    UniqueFd result(received);
    // The executor sends only "run" here; anything else is ignored.
    if (message->value("op", "") != "run" || !result.valid()) continue;
    const auto started = std::chrono::steady_clock::now();
    // The live interpreter tells the executor this process's pid (and
    // pidfd) from here on.
    const uint64_t id = message->value("id", uint64_t{0});
    char took[1 + sizeof id];
    took[0] = kTook;
    std::memcpy(took + 1, &id, sizeof id);
    if (!WriteAll(holder_fd_.get(), std::string_view(took, sizeof took))) _exit(1);
    result_fd_ = std::move(result);
    return BeginCell(*message, started, interrupt);
  }
}

ExecutionContext* ExecutionChild::BeginCell(const Json& request,
                                            std::chrono::steady_clock::time_point started,
                                            uint64_t* interrupt) {
  StatusOr<ExecutionPolicy> policy = PolicyFromJson(request.value("policy", Json()));
  if (!policy.ok()) Fail(policy.status());
  if (!policy->keep_state()) Fail(Internal("a live interpreter's cell must keep its state"));
  std::unique_ptr<SignalTimeout> timeout;
  if (policy->timeout_seconds()) timeout = std::make_unique<SignalTimeout>();
  SignalTimeout* armed = timeout.get();
  StatusOr<std::unique_ptr<ExecutionContext>> ctx =
      ExecutionContext::NextCell(std::move(context_), *policy, std::move(timeout), started);
  if (!ctx.ok()) Fail(ctx.status());
  context_ = std::move(*ctx);
  context_->set_cell_kind(KindOf(request));
  CheckMemoryCap(*policy);
  RunTestHook(*policy);
  if (armed != nullptr && context_->deadline()) {
    armed->Start(*context_->deadline(), interrupt, nullptr);
  }
  return context_.get();
}

void ExecutionChild::SendResult(StatusOr<ExecutionResult> result) {
  if (result.ok() && !hook_outcome_.empty()) {
    result->stderr_text += "snakecage test hook: " + hook_outcome_ + "\n";
  }
  Json out = result.ok() ? Json{{"result", ExecutionResultToJson(*result)},
                                {"landlock_warning", landlock_warning_}}
                         : Json{{"error", result.status().message()},
                                {"code", std::string(StatusCodeName(StatusCode::kInternal))}};
  if (result.ok() && context_ && context_->saved_state()) {
    out["saved_state"] = Base64Encode(*context_->saved_state());
  }
  WriteAll(result_fd_.get(), out.dump());
  // EOF now: the client need not wait for this address space to be torn
  // down (exit_group unmaps before it closes descriptors).
  result_fd_.Reset();
}

void ExecutionChild::TellHolderItEnds() {
  if (!holder_fd_.valid()) return;
  const char ending = kEnding;
  (void)!write(holder_fd_.get(), &ending, 1);
}

void ExecutionChild::Finish(StatusOr<ExecutionResult> result) {
  if (rewinder_ && confined_ && MayServeAgain(result)) ServeAsResident(std::move(result));
  End(std::move(result));
}

void ExecutionChild::End(StatusOr<ExecutionResult> result) {
  SendResult(std::move(result));
  TellHolderItEnds();
  SendLesson();
  AwaitRelease();
  _exit(0);
}

void ExecutionChild::AwaitRelease() {
  if (!holder_fd_.valid()) return;
  // The holder closes its end once it has forked the next spare (or when
  // it dies): POLLERR on this write end. Until then this address space
  // stays, so that its teardown does not take a CPU from that fork or from
  // the executor reading the result.
  pollfd p{holder_fd_.get(), 0, 0};
  while (poll(&p, 1, -1) < 0 && errno == EINTR) {
  }
}

bool ExecutionChild::MayServeAgain(const StatusOr<ExecutionResult>& result) const {
  return result.ok() && !result->trapped && hook_outcome_.empty() &&
         CpuSecondsOfThisProcess() < kResidentCpuSeconds;
}

void ExecutionChild::ServeAsResident(StatusOr<ExecutionResult> result) {
  while (MayServeAgain(result)) {
    SendResult(std::move(result));
    context_.reset();  // its WASI host, and the files that holds
    // The request's timer must not reach the next one: disarmed, and a
    // SIGALRM already pending (it fired after the run, while blocked) is
    // discarded by ignoring it. The next timer's Start() sets the handler.
    const itimerval off{};
    setitimer(ITIMER_REAL, &off, nullptr);
    signal(SIGALRM, SIG_IGN);
    // The zygote may send the next request now: it waits in the socket
    // until the guest is back as it was.
    if (write(zygote_socket_.get(), &kIdle, 1) != 1) _exit(0);
    StatusOr<size_t> copied = rewinder_->Rewind();
    // A request already sent is not acknowledged: the zygote forks for it.
    if (!copied.ok() || *copied > kMaxRewoundPages) _exit(0);
    // The next request may be another client's: nothing of this one's stays
    // in the frames that ran it (the heap's freed blocks are cleared as they
    // are freed: zeroing_free.cc).
    if (!dead_stack_->Clear()) _exit(0);
    int received = -1;
    StatusOr<Json> request = ReceiveMessage(zygote_socket_.get(), &received);
    if (!request.ok() || received < 0) _exit(0);  // the zygote let this process go
    const auto started = std::chrono::steady_clock::now();
    result_fd_.Reset(received);
    if (write(zygote_socket_.get(), &kTaken, 1) != 1) _exit(0);
    StatusOr<ExecutionPolicy> policy = PolicyFromJson(request->value("policy", Json()));
    if (!policy.ok()) Fail(policy.status());
    if (policy->keep_state() || ConfinementKey(ConfinementSpecFor(*policy)) != confinement_key_) {
      Fail(Internal("a request for another confinement came to a resident child"));
    }
    std::unique_ptr<SignalTimeout> timeout;
    if (policy->timeout_seconds()) timeout = std::make_unique<SignalTimeout>();
    StatusOr<std::unique_ptr<ExecutionContext>> ctx =
        ExecutionContext::Create(*policy, std::move(timeout), started);
    if (!ctx.ok()) Fail(ctx.status());
    context_ = std::move(*ctx);
    CheckMemoryCap(*policy);
    RunTestHook(*policy);
    result = RunGuestAgain(*context_, *rewinder_);
  }
  End(std::move(result));
}

// Nothing is sent if there are too many pages, or they cannot be read: the
// zygote then learns from another child.
void ExecutionChild::SendLesson() {
  if (!lesson_fd_.valid()) return;
  if (fault_recorder_) {
    StatusOr<PageSet> pages = fault_recorder_->Read();
    if (pages.ok() && pages->writable.size() <= kMaxLessonWritablePages &&
        pages->readable.size() <= kMaxLessonReadablePages) {
      WriteAll(lesson_fd_.get(), EncodePages(*pages));
    }
  }
  lesson_fd_.Reset();
}

// Only in the test variant built with SNAKECAGE_ZYGOTE_TEST_HOOKS (a no-op,
// without the code, in the zygote that is installed): host code in a
// confined child doing what WASI never would, to prove the kernel's layers
// stop it. The policy's
// SNAKECAGE_TEST_HOOK says what: "socket" (seccomp must kill the child),
// "open:PATH" (Landlock must refuse it; the outcome is appended to stderr),
// "block" (the child hangs in host code; the executor must kill it),
// "flood_result" (the child writes without end on its result pipe; the
// executor must stop reading and kill it).
void ExecutionChild::RunTestHook(const ExecutionPolicy& policy) {
#if defined(SNAKECAGE_ZYGOTE_TEST_HOOKS)
  std::string hook;
  for (const auto& [k, v] : policy.env()) {
    if (k == "SNAKECAGE_TEST_HOOK") hook = v;
  }
  if (hook == "socket") {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    hook_outcome_ = "socket: " + std::string(fd >= 0 ? "created" : std::strerror(errno));
  } else if (hook.rfind("open:", 0) == 0) {
    const std::string path = hook.substr(5);
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    hook_outcome_ = "open " + path + ": " + (fd >= 0 ? "opened" : std::strerror(errno));
    if (fd >= 0) close(fd);
  } else if (hook == "flood_result") {
    const std::string junk(65536, 'x');
    while (WriteAll(result_fd_.get(), junk)) {
    }
    _exit(0);
  } else if (hook == "block") {
    for (;;) {
      timespec t{3600, 0};
      nanosleep(&t, nullptr);
    }
  }
#else
  (void)policy;
#endif
}

}  // namespace snakecage::executor
