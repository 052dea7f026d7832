#include "executor/zygote_child.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>

#include "base/write_all.h"
#include "engine/installation.h"
#include "engine/trap_result.h"
#include "executor/wire.h"
#include "fuel/fuel_instrumenter.h"

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
// seccomp allow-list); Finish() only blocks the signal. The handler's state
// is static: a signal handler has no other way to it, and a child process
// has one timeout.
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
    if (interrupt_ != nullptr) {
      __atomic_store_n(interrupt_, fuel::kInterruptRaised, __ATOMIC_RELAXED);
    }
  }
  static inline volatile sig_atomic_t fired_ = 0;
  static inline uint64_t* interrupt_ = nullptr;
};

}  // namespace

ExecutionChild::ExecutionChild(const ChildSettings& settings, UniqueFd lesson_fd)
    : settings_(settings), lesson_fd_(std::move(lesson_fd)) {
  if (!lesson_fd_.valid()) return;
  StatusOr<FaultRecorder> recorder = FaultRecorder::Open();
  if (recorder.ok()) fault_recorder_.emplace(std::move(*recorder));
}

void ExecutionChild::Fail(const Status& status) {
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
  const ExecutionPolicy& policy = *request_policy;
  std::unique_ptr<SignalTimeout> timeout;
  if (policy.timeout_seconds()) timeout = std::make_unique<SignalTimeout>();
  SignalTimeout* armed = timeout.get();
  StatusOr<std::unique_ptr<ExecutionContext>> ctx =
      ExecutionContext::Create(policy, std::move(timeout), started);
  if (!ctx.ok()) Fail(ctx.status());
  context_ = std::move(*ctx);

  // Start-up already used this much memory; a smaller cap cannot be met.
  const uint64_t pages = GuestMemoryPages();
  if (pages * kWasmPageBytes > policy.memory_bytes()) {
    ExecutionResult r = ResultUnder(policy);
    RecordTrap(r, TrapReason::kMemoryLimit,
               "the interpreter needs " + std::to_string(pages * kWasmPageBytes) +
                   " bytes after start-up; memory_bytes is " +
                   std::to_string(policy.memory_bytes()));
    r.memory_peak_pages = static_cast<uint32_t>(pages);
    r.memory_peak_bytes = pages * kWasmPageBytes;
    lesson_fd_.Reset();  // it ran nothing: no lesson to learn from it
    Finish(std::move(r));
  }

  if (armed != nullptr && context_->deadline()) {
    armed->Start(*context_->deadline(), interrupt, nullptr);
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
#if defined(SNAKECAGE_ZYGOTE_WITHOUT_LANDLOCK)
  // The test variant: Landlock skipped as if the kernel lacked it.
  StatusOr<ConfinementReport> report =
      ConfineChildWithLandlockProbe(spec, *settings_.seccomp, [] { return -ENOSYS; });
#else
  StatusOr<ConfinementReport> report = ConfineChild(spec, *settings_.seccomp);
#endif
  if (!report.ok()) Fail(Internal("confinement failed: " + report.status().message()));
  landlock_warning_ = std::move(report->landlock_warning);
  RunTestHook(policy);
  return context_.get();
}

void ExecutionChild::Finish(StatusOr<ExecutionResult> result) {
  if (result.ok() && !hook_outcome_.empty()) {
    result->stderr_text += "snakecage test hook: " + hook_outcome_ + "\n";
  }
  const Json out = result.ok() ? Json{{"result", ExecutionResultToJson(*result)},
                                      {"landlock_warning", landlock_warning_}}
                               : Json{{"error", result.status().message()},
                                      {"code", std::string(StatusCodeName(StatusCode::kInternal))}};
  WriteAll(result_fd_.get(), out.dump());
  // EOF now: the client need not wait for this address space to be torn
  // down (exit_group unmaps before it closes descriptors).
  result_fd_.Reset();
  SendLesson();
  _exit(0);
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
