// RunPython(): one execution of the guest interpreter, start to finish.
//
// Order of events:
//   1. check the workspace exists (the policy was validated when built);
//   2. write the code to <workspace>/user_code.py (never through a symlink);
//   3. build the WASI host from the policy: argv, env, preopens, output caps,
//      deadline and cancel token;
//   4. on the guest thread (large native stack): set the memory cap,
//      instantiate a fresh guest, run _start; the guest calls
//      snakecage.user_code_begin() when the user's code starts, which sets
//      the fuel budget;
//   5. classify how it ended (first cause wins: what the WASI host recorded,
//      then the watchdog's timeout, then fuel exhaustion, then the wasm trap);
//   6. free the instance and build the ExecutionResult.
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <limits>
#include <mutex>
#include <string>

#include "engine/guest_hooks.h"
#include "engine/mounts.h"
#include "engine/runtime/linear_memory.h"
#include "engine/runtime/wasm_rt_impl.h"
#include "engine/utf8.h"
#include "engine/watchdog.h"
#include "fuel/fuel_instrumenter.h"
#include "snakecage/execution.h"
#include "snakecage_guest.h"
#include "wasi/wasi_host.h"
#include "wasi/wasi_imports.h"

namespace snakecage {
namespace {

constexpr uint64_t kPageBytes = 65536;
// Exit status reported for a trap (as Wasmtime's CLI: 128 + SIGABRT) and for
// a timeout (as coreutils' timeout).
constexpr int kTrapExitCode = 134;
constexpr int kTimeoutExitCode = 124;
// Native stack of the guest thread: generated code recurses as deeply as the
// interpreter does; the wasm shadow stack is separate (in linear memory).
constexpr size_t kGuestThreadStackBytes = 256u << 20;

std::mutex& EngineMutex() {
  static std::mutex mu;
  return mu;
}

void InitRuntimeOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    wasm_rt_init();
    Z_snakecage_guest_init_module();
  });
}

Status WriteUserCode(const std::filesystem::path& workspace, std::string_view code) {
  int dir = open(workspace.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (dir < 0) {
    return Internal("mount_host_dir: cannot open " + workspace.string() + ": " +
                    std::strerror(errno));
  }
  int fd = openat(dir, "user_code.py", O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                  0644);
  int saved = errno;
  close(dir);
  if (fd < 0) {
    return Internal("cannot write " + (workspace / "user_code.py").string() + ": " +
                    std::strerror(saved));
  }
  size_t off = 0;
  while (off < code.size()) {
    ssize_t n = write(fd, code.data() + off, code.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      saved = errno;
      close(fd);
      return Internal("cannot write user_code.py: " + std::string(std::strerror(saved)));
    }
    off += static_cast<size_t>(n);
  }
  close(fd);
  return Status::Ok();
}

// The workspace must exist when the guest runs; the policy was validated
// when it was built, but the directory may have gone since.
Status CheckWorkspace(const ExecutionPolicy& policy) {
  std::error_code ec;
  if (!std::filesystem::is_directory(policy.mount_host_dir(), ec)) {
    return NotFound("mount_host_dir: not an existing directory: " +
                    policy.mount_host_dir().string());
  }
  return Status::Ok();
}

// Runs `fn` on a new thread with a large stack and waits for it.
Status RunOnGuestThread(const std::function<void()>& fn) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, kGuestThreadStackBytes);
  pthread_attr_setguardsize(&attr, 1u << 20);
  pthread_t thread;
  auto trampoline = [](void* arg) -> void* {
    (*static_cast<const std::function<void()>*>(arg))();
    return nullptr;
  };
  int rc = pthread_create(&thread, &attr, trampoline, const_cast<std::function<void()>*>(&fn));
  pthread_attr_destroy(&attr);
  if (rc != 0) return Internal(std::string("cannot start the guest thread: ") + std::strerror(rc));
  pthread_join(thread, nullptr);
  return Status::Ok();
}

TrapReason FromWasmTrap(wasm_rt_trap_t trap) {
  switch (trap) {
    case WASM_RT_TRAP_NONE:
      return TrapReason::kHostError;
    case WASM_RT_TRAP_OOB:
      return TrapReason::kMemoryOutOfBounds;
    case WASM_RT_TRAP_INT_OVERFLOW:
      return TrapReason::kIntegerOverflow;
    case WASM_RT_TRAP_DIV_BY_ZERO:
      return TrapReason::kIntegerDivideByZero;
    case WASM_RT_TRAP_INVALID_CONVERSION:
      return TrapReason::kInvalidConversion;
    case WASM_RT_TRAP_UNREACHABLE:
      return TrapReason::kUnreachable;
    case WASM_RT_TRAP_CALL_INDIRECT:
      return TrapReason::kIndirectCall;
    case WASM_RT_TRAP_UNCAUGHT_EXCEPTION:
      return TrapReason::kHostError;
    case WASM_RT_TRAP_EXHAUSTION:
      return TrapReason::kStackOverflow;
  }
  return TrapReason::kHostError;
}

// What the guest thread saw; written there, read after it joined.
struct GuestRun {
  wasm_rt_trap_t trap = WASM_RT_TRAP_NONE;
  bool instantiated = false;
  uint32_t exhausted = 0;  // snakecage_fuel_exhausted: 1 fuel, 2 interrupt
  snakecage_linear_memory_error_t memory_error = SNAKECAGE_LINEAR_MEMORY_OK;
  uint64_t refused_grows = 0;
  uint32_t peak_pages = 0;
  int64_t fuel_remaining = 0;  // the fuel global when the guest stopped
};

// Operators charged to the user's code, given what was left of the budget.
uint64_t ConsumedFrom(uint64_t budget, int64_t remaining) {
  if (remaining <= 0) return budget;
  uint64_t left = static_cast<uint64_t>(remaining);
  return left >= budget ? 0 : budget - left;
}

}  // namespace

Status StageUserCode(std::string_view code, const ExecutionPolicy& policy) {
  if (Status s = CheckWorkspace(policy); !s.ok()) return s;
  return WriteUserCode(policy.mount_host_dir(), code);
}

StatusOr<ExecutionResult> RunPython(std::string_view code, const ExecutionPolicy& policy) {
  if (Status s = StageUserCode(code, policy); !s.ok()) return s;
  return RunStagedCode(policy);
}

StatusOr<ExecutionResult> RunStagedCode(const ExecutionPolicy& policy) {
  if (Status s = CheckWorkspace(policy); !s.ok()) return s;

  std::lock_guard<std::mutex> engine_lock(EngineMutex());
  const auto started = std::chrono::steady_clock::now();

  wasi::WasiConfig config;
  config.argv = policy.argv();
  config.env = policy.env();
  for (const GuestMount& m : MountsFor(policy)) {
    config.preopens.push_back({m.host, m.guest, m.read_only});
  }
  config.stdout_max_bytes = policy.stdout_max_bytes();
  config.stderr_max_bytes = policy.stderr_max_bytes();
  auto cancel = std::make_shared<wasi::CancelToken>();
  config.cancel = cancel;
  std::optional<std::chrono::steady_clock::time_point> deadline;
  if (policy.timeout_seconds()) {
    deadline = started + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                             std::chrono::duration<double>(*policy.timeout_seconds()));
    config.deadline = deadline;
  }
  // Refusals are recorded on the guest thread and read after it joined.
  std::vector<PathDenial> denials;
  uint64_t denials_total = 0;
  config.on_path_denied = [&denials, &denials_total](std::string_view call,
                                                     std::string_view guest_path) {
    ++denials_total;
    if (denials.size() < ExecutionResult::kMaxRecordedPathDenials) {
      denials.push_back({std::string(call), DecodeUtf8Lossy(guest_path)});
    }
  };
  StatusOr<std::unique_ptr<wasi::WasiHost>> host_or = wasi::WasiHost::Create(std::move(config));
  if (!host_or.ok()) return host_or.status();
  wasi::WasiHost& host = **host_or;

  InitRuntimeOnce();
  const uint64_t cap_pages64 = policy.memory_bytes() / kPageBytes;
  snakecage_linear_memory_set_cap_pages(static_cast<uint32_t>(
      std::min<uint64_t>(cap_pages64, std::numeric_limits<uint32_t>::max())));

  // Instance state lives here, not on the guest thread's stack, so that a
  // trap's longjmp leaves nothing of ours half-destroyed.
  static Z_snakecage_guest_instance_t instance;
  FuelAccount fuel;
  fuel.budget = policy.fuel_budget();
  Z_snakecage_instance_t hooks{&fuel};
  Z_wasi_snapshot_preview1_instance_t wasi_imports{};
  Watchdog watchdog;
  GuestRun run;

  Status thread_status = RunOnGuestThread([&] {
    volatile bool instantiated = false;
    wasm_rt_trap_t trap = wasm_rt_impl_try();
    if (trap == WASM_RT_TRAP_NONE) {
      Z_snakecage_guest_instantiate(&instance, &hooks, &wasi_imports);
      instantiated = true;
      wasi_imports.host = &host;
      wasi_imports.memory = Z_snakecage_guestZ_memory(&instance);
      fuel.fuel = Z_snakecage_guestZ_snakecage_fuel(&instance);
      if (deadline) {
        watchdog.Start(*deadline, Z_snakecage_guestZ_snakecage_interrupt(&instance), cancel);
      }
      Z_snakecage_guestZ__start(&instance);
    }
    run.trap = trap;
    run.instantiated = instantiated;
    if (instantiated) {
      run.exhausted = *Z_snakecage_guestZ_snakecage_fuel_exhausted(&instance);
      run.fuel_remaining = static_cast<int64_t>(*fuel.fuel);
    }
    run.memory_error = snakecage_linear_memory_last_error();
    run.refused_grows = snakecage_linear_memory_refused_grows();
    run.peak_pages = snakecage_linear_memory_peak_pages();
    // The deadline counts only if it came before the guest stopped for
    // another reason (a fuel trap that happened first keeps its label).
    if (watchdog.Finish() && run.exhausted != fuel::kExhaustedByFuel) {
      host.RecordTrap(TrapReason::kTimeout,
                      "wall-clock timeout of " + std::to_string(*policy.timeout_seconds()) + " s");
    }
    if (instantiated) Z_snakecage_guest_free(&instance);
  });
  if (!thread_status.ok()) return thread_status;

  ExecutionResult r;
  r.fuel_budget = policy.fuel_budget();
  r.memory_limit_bytes = policy.memory_bytes();
  r.timeout_seconds = policy.timeout_seconds();
  r.memory_peak_pages = run.peak_pages;
  r.memory_grows_refused = run.refused_grows;
  r.memory_peak_bytes = uint64_t{run.peak_pages} * kPageBytes;

  // Classify the end. First cause wins: the WASI host's record (proc_exit,
  // a bad pointer, the deadline in a host call, or the watchdog, recorded
  // above), then fuel, then the wasm trap itself.
  if (!run.instantiated) {
    r.trapped = true;
    r.trap_reason = TrapReason::kMemoryLimit;
    r.trap_message = std::string("cannot instantiate the interpreter: ") +
                     snakecage_linear_memory_strerror(run.memory_error);
    if (run.memory_error == SNAKECAGE_LINEAR_MEMORY_RESERVE_FAILED ||
        run.memory_error == SNAKECAGE_LINEAR_MEMORY_ALREADY_LIVE) {
      return Internal(r.trap_message);
    }
  } else if (const auto& u = host.unwind(); u.has_value()) {
    if (u->kind == wasi::Unwind::Kind::kExit) {
      r.exit_code = static_cast<int>(u->exit_code);
    } else {
      r.trapped = true;
      r.trap_reason = u->trap_reason;
      r.trap_message = u->message;
    }
  } else if (run.trap == WASM_RT_TRAP_NONE) {
    r.exit_code = 0;  // _start returned without proc_exit
  } else {
    r.trapped = true;
    if (run.exhausted == fuel::kExhaustedByFuel) {
      r.trap_reason = TrapReason::kOutOfFuel;
      r.trap_message = "fuel budget of " + std::to_string(policy.fuel_budget()) +
                       " operators exhausted";
    } else if (run.trap == WASM_RT_TRAP_UNREACHABLE && run.refused_grows > 0) {
      // The interpreter aborted after memory.grow was refused.
      r.trap_reason = TrapReason::kMemoryLimit;
      r.trap_message = "memory limit of " + std::to_string(policy.memory_bytes()) +
                       " bytes reached and the interpreter aborted";
    } else {
      r.trap_reason = FromWasmTrap(run.trap);
      r.trap_message = wasm_rt_strerror(run.trap);
    }
  }

  if (r.trapped) {
    r.exit_code = (r.trap_reason == TrapReason::kTimeout) ? kTimeoutExitCode : kTrapExitCode;
  }
  if (!fuel.begun) {
    r.fuel_consumed = 0;  // the user's code never started
  } else if (r.trapped && r.trap_reason == TrapReason::kOutOfFuel) {
    r.fuel_consumed = policy.fuel_budget();
  } else if (fuel.ended) {
    r.fuel_consumed = ConsumedFrom(policy.fuel_budget(), fuel.remaining_at_end);
  } else {
    r.fuel_consumed = ConsumedFrom(policy.fuel_budget(), run.fuel_remaining);
  }

  const wasi::OutputSink& out = host.stdout_sink();
  const wasi::OutputSink& err = host.stderr_sink();
  r.stdout_text = DecodeUtf8Lossy(out.data());
  r.stderr_text = DecodeUtf8Lossy(err.data());
  r.stdout_bytes = out.total_bytes();
  r.stderr_bytes = err.total_bytes();
  r.stdout_truncated = out.truncated();
  r.stderr_truncated = err.truncated();
  if (r.trapped) {
    if (!r.stderr_text.empty() && r.stderr_text.back() != '\n') r.stderr_text += '\n';
    r.stderr_text += "Execution trapped: ";
    r.stderr_text += TrapReasonDisplayName(*r.trap_reason);
    r.stderr_text += '\n';
  }
  r.path_denials = std::move(denials);
  r.path_denials_total = denials_total;
  r.duration_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() -
                                                            started)
                      .count();
  return r;
}

}  // namespace snakecage
