// RunGuest(): instantiate, run _start, classify. Order of events:
//   1. set the memory cap from the context's policy, instantiate a fresh
//      guest (resuming from a start-up snapshot: put its memory and stack
//      pointer in place), connect its WASI imports to the context's host,
//      arm the context's timeout;
//   2. run _start (or, resuming, go straight to user_code_begin); at
//      snakecage.user_code_begin the BeginHandler may swap the context (a
//      zygote's child), then the fuel budget starts and the host calls the
//      guest's entry, which runs the user's code;
//   3. classify how it ended under the context in force (first cause wins:
//      what the WASI host recorded, then the timeout, then fuel exhaustion,
//      then the wasm trap itself);
//   4. free the instance and build the ExecutionResult.
// An execution that keeps its state ends each cell at snakecage.cell_end
// instead: the cell is classified there (step 3 without a trap), and the
// CellEndHandler gives the next cell's context, under which step 2 goes on.
#include "engine/guest_runner.h"

#include <alloca.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <limits>
#include <utility>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/asan_interface.h>
#endif
#endif

#include "base/read_all_at.h"
#include "base/utf8.h"
#include "base/write_all.h"
#include "engine/guest_hooks.h"
#include "engine/mounts.h"
#include "engine/runtime/linear_memory.h"
#include "engine/runtime/wasm_rt_impl.h"
#include "engine/trap_result.h"
#include "fuel/fuel_instrumenter.h"
#include "snakecage_guest.h"
#include "wasi/wasi_imports.h"

namespace snakecage {
namespace {

void InitRuntimeOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    wasm_rt_init();
    Z_snakecage_guest_init_module();
  });
}

void SetMemoryCap(const ExecutionPolicy& policy) {
  const uint64_t cap_pages64 = policy.memory_bytes() / kWasmPageBytes;
  snakecage_linear_memory_set_cap_pages(static_cast<uint32_t>(
      std::min<uint64_t>(cap_pages64, std::numeric_limits<uint32_t>::max())));
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

// What the guest did, as raw facts; read after _start returned or trapped.
struct GuestRun {
  wasm_rt_trap_t trap = WASM_RT_TRAP_NONE;
  bool instantiated = false;
  uint32_t exhausted = 0;  // snakecage_fuel_exhausted: 1 fuel, 2 interrupt
  snakecage_linear_memory_error_t memory_error = SNAKECAGE_LINEAR_MEMORY_OK;
  uint64_t refused_grows = 0;
  uint32_t peak_pages = 0;
  int64_t fuel_remaining = 0;  // the fuel global when the guest stopped
  bool timed_out = false;      // the context's timeout came first
  int exit_code = 0;           // without proc_exit: 0, or the cell's status
};

// Operators charged to the user's code, given what was left of the budget.
uint64_t ConsumedFrom(uint64_t budget, int64_t remaining) {
  if (remaining <= 0) return budget;
  uint64_t left = static_cast<uint64_t>(remaining);
  return left >= budget ? 0 : budget - left;
}

// How the run ended, if it trapped: the first cause wins (an instantiation
// the cap refused, what the WASI host recorded, fuel, an abort after a
// refused memory.grow, the wasm trap itself).
struct Trap {
  TrapReason reason;
  std::string message;
};
std::optional<Trap> TrapOf(wasi::WasiHost& host, const ExecutionPolicy& policy,
                           const GuestRun& run) {
  if (!run.instantiated) {
    return Trap{TrapReason::kMemoryLimit, std::string("cannot instantiate the interpreter: ") +
                                              snakecage_linear_memory_strerror(run.memory_error)};
  }
  if (const auto& u = host.unwind(); u.has_value()) {
    if (u->kind == wasi::Unwind::Kind::kExit) return std::nullopt;
    return Trap{u->trap_reason, u->message};
  }
  if (run.trap == WASM_RT_TRAP_NONE) return std::nullopt;
  if (run.exhausted == fuel::kExhaustedByFuel) {
    return Trap{TrapReason::kOutOfFuel,
                "fuel budget of " + std::to_string(policy.fuel_budget()) + " operators exhausted"};
  }
  if (run.trap == WASM_RT_TRAP_UNREACHABLE && run.refused_grows > 0) {
    // The interpreter aborted after memory.grow was refused.
    return Trap{TrapReason::kMemoryLimit, "memory limit of " +
                                              std::to_string(policy.memory_bytes()) +
                                              " bytes reached and the interpreter aborted"};
  }
  return Trap{FromWasmTrap(run.trap), wasm_rt_strerror(run.trap)};
}

ExecutionResult Classify(ExecutionContext& ctx, const GuestRun& run, const FuelAccount& fuel,
                         const GuestReports& reports) {
  const ExecutionPolicy& policy = ctx.policy();
  wasi::WasiHost& host = ctx.host();
  ExecutionResult r = ResultUnder(policy);
  r.memory_peak_pages = run.peak_pages;
  r.memory_grows_refused = run.refused_grows;
  r.workspace_writes_refused = host.quota_refusals();
  r.memory_peak_bytes = uint64_t{run.peak_pages} * kWasmPageBytes;

  const wasi::OutputSink& out = host.stdout_sink();
  const wasi::OutputSink& err = host.stderr_sink();
  r.stdout_text = DecodeUtf8Lossy(out.data());
  r.stderr_text = DecodeUtf8Lossy(err.data());
  r.stdout_bytes = out.total_bytes();
  r.stderr_bytes = err.total_bytes();
  r.stdout_truncated = out.truncated();
  r.stderr_truncated = err.truncated();

  if (std::optional<Trap> trap = TrapOf(host, policy, run)) {
    RecordTrap(r, trap->reason, std::move(trap->message));
  } else if (const auto& u = host.unwind(); u.has_value()) {
    r.exit_code = static_cast<int>(u->exit_code);  // proc_exit
  } else {
    r.exit_code = run.exit_code;  // _start returned, or a cell ended
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

  if (reports.missing_module) r.missing_module = DecodeUtf8Lossy(*reports.missing_module);
  if (reports.state_dropped_json) {
    const nlohmann::json names =
        nlohmann::json::parse(*reports.state_dropped_json, nullptr, /*allow_exceptions=*/false);
    if (names.is_array()) {
      for (const auto& n : names) {
        if (n.is_string()) r.state_dropped.push_back(n.get<std::string>());
      }
      std::sort(r.state_dropped.begin(), r.state_dropped.end());
    }
  }
  r.path_denials = ctx.denials();
  r.path_denials_total = ctx.denials_total();
  r.duration_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() -
                                                            ctx.started())
                      .count();
  return r;
}

// Where RunGuest keeps what the begin hook needs; the hook has only the
// import-instance struct to go by.
struct BeginState {
  const BeginHandler* handler = nullptr;
  ExecutionContext* current = nullptr;
  Z_wasi_snapshot_preview1_instance_t* wasi_imports = nullptr;
  FuelAccount* fuel = nullptr;
  uint64_t* interrupt = nullptr;
  const CellEndHandler* cell_handler = nullptr;
  CellHooks* cells = nullptr;
  GuestReports* reports = nullptr;
  Z_snakecage_guest_instance_t* instance = nullptr;
  // memory.grow refusals before the current cell (the counter is the
  // process's; a cell reports its own).
  uint64_t refused_grows_before = 0;
  // What the guest handed to user_code_begin, and whether the BeginHandler
  // is running (when a snapshot may be taken).
  uint32_t entry = 0;
  bool in_begin_handler = false;
  // The top of the guest thread's stack: the user's code starts
  // kUserCodeStackOffset below it.
  uintptr_t stack_top = 0;
};

// The BeginState of the RunGuest in progress (one per process).
BeginState* g_begin = nullptr;

std::atomic<uint64_t> g_resumed_runs{0};

// How far below the top of the guest thread's stack the user's code starts,
// whatever is above it (start-up's frames, or a snapshot's resumption): far
// more than those frames take, so the user's code has the same stack, to
// the byte, however the guest started.
constexpr uintptr_t kUserCodeStackOffset = 256 * 1024;

// A trap leaves the guest by longjmp. AddressSanitizer would unpoison the
// frames it skipped (__asan_handle_no_return), but declines on a stack as
// large as the guest thread's, so the redzones of RunUserCode's alloca
// stayed poisoned where the host's next frames go: a false report of a
// dynamic-stack-buffer-overflow in Classify. This unpoisons the dead part
// of the stack below the caller, down to kUserCodeStackOffset (and a
// margin) below the top. Nothing without ASan.
[[gnu::noinline]] void ForgetSkippedFrames(uintptr_t stack_top) {
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
  if (stack_top == 0) return;
  const auto here = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  const uintptr_t low = stack_top - kUserCodeStackOffset - 65536;
  if (here > low) __asan_unpoison_memory_region(reinterpret_cast<void*>(low), here - low);
  return;
#endif
#endif
  (void)stack_top;
}

uintptr_t StackTopOfThisThread() {
  pthread_attr_t attr;
  void* addr = nullptr;
  size_t size = 0;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) return 0;
  const bool ok = pthread_attr_getstack(&attr, &addr, &size) == 0;
  pthread_attr_destroy(&attr);
  return ok ? reinterpret_cast<uintptr_t>(addr) + size : 0;
}

void SwapContext(BeginState& s, ExecutionContext* next) {
  if (next == s.current) return;
  s.current = next;
  s.wasi_imports->host = &next->host();
  SetMemoryCap(next->policy());
}

void OnUserCodeBegin(void* arg, uint32_t entry) {
  BeginState& s = *static_cast<BeginState*>(arg);
  s.entry = entry;
  if (*s.handler) {
    s.in_begin_handler = true;
    ExecutionContext* next = (*s.handler)(*s.current, s.interrupt);
    s.in_begin_handler = false;
    SwapContext(s, next);
  }
  s.fuel->budget = s.current->policy().fuel_budget();
  s.cells->keeps_state = s.current->policy().keep_state() && *s.cell_handler;
  s.cells->kind = s.current->cell_kind();
}

// Calls the guest's entry, a function of type () -> () before metering:
// (i64 fuel) -> (i64 fuel) after it, and the fuel global is where the
// budget is when the call begins and where the rest goes when it returns.
[[gnu::noinline]] void CallEntry(Z_snakecage_guest_instance_t* instance, uint32_t entry,
                                 uint64_t* fuel) {
  static const uint32_t kMetered = wasm_rt_register_func_type(1, 1, WASM_RT_I64, WASM_RT_I64);
  static const uint32_t kUnmetered = wasm_rt_register_func_type(0, 0);
  const wasm_rt_funcref_table_t& table = instance->w2c_T0;
  if (entry >= table.size || table.data[entry].func == nullptr) {
    wasm_rt_trap(WASM_RT_TRAP_CALL_INDIRECT);
  }
  const wasm_rt_funcref_t& f = table.data[entry];
  if (f.func_type == kMetered) {
    const uint64_t left = reinterpret_cast<uint64_t (*)(void*, uint64_t)>(f.func)(
        f.module_instance, __atomic_load_n(fuel, __ATOMIC_RELAXED));
    __atomic_store_n(fuel, left, __ATOMIC_RELAXED);
  } else if (f.func_type == kUnmetered) {
    reinterpret_cast<void (*)(void*)>(f.func)(f.module_instance);
  } else {
    wasm_rt_trap(WASM_RT_TRAP_CALL_INDIRECT);
  }
}

// user_code_begin, once the budget has started: the entry runs
// kUserCodeStackOffset below the top of the stack.
void RunUserCode(void* arg, uint32_t entry) {
  BeginState& s = *static_cast<BeginState*>(arg);
  const auto here = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  const uintptr_t start = s.stack_top - kUserCodeStackOffset;
  if (s.stack_top != 0 && here > start) {
    // Frame addresses are 16-byte aligned, so this lands exactly.
    auto* pad = static_cast<volatile char*>(alloca(here - start));
    pad[0] = 0;
  }
  CallEntry(s.instance, entry, s.fuel->fuel);
}

// snakecage.cell_end: classifies the cell that ended, hands it to the
// CellEndHandler and starts the next cell's budget under the context it
// returns (the handler does not return otherwise).
void OnCellEnd(void* arg, int32_t exit_code) {
  BeginState& s = *static_cast<BeginState*>(arg);
  FuelAccount& fuel = *s.fuel;
  fuel.ended = true;
  fuel.remaining_at_end = static_cast<int64_t>(__atomic_load_n(fuel.fuel, __ATOMIC_RELAXED));
  ExecutionContext& ctx = *s.current;
  GuestRun run;
  run.instantiated = true;
  run.exhausted = *Z_snakecage_guestZ_snakecage_fuel_exhausted(s.instance);
  run.memory_error = snakecage_linear_memory_last_error();
  run.refused_grows = snakecage_linear_memory_refused_grows() - s.refused_grows_before;
  run.peak_pages = snakecage_linear_memory_peak_pages();
  run.fuel_remaining = fuel.remaining_at_end;
  run.exit_code = exit_code;
  // A deadline that passed while the cell finished still fails it: what it
  // did after the deadline must not be kept.
  if (ctx.timeout() != nullptr && ctx.timeout()->Finish()) {
    ctx.host().RecordTrap(TrapReason::kTimeout, "wall-clock timeout of " +
                                                    std::to_string(*ctx.policy().timeout_seconds()) +
                                                    " s");
  }
  ExecutionResult cell = Classify(ctx, run, fuel, *s.reports);
  ctx.saved_state() = std::move(s.reports->saved_state);
  SwapContext(s, (*s.cell_handler)(ctx, std::move(cell), s.interrupt));
  s.cells->kind = s.current->cell_kind();
  *s.reports = GuestReports{};
  s.refused_grows_before = snakecage_linear_memory_refused_grows();
  fuel.budget = s.current->policy().fuel_budget();
  fuel.ended = false;
  fuel.remaining_at_end = 0;
  __atomic_store_n(fuel.fuel, fuel.budget, __ATOMIC_RELAXED);
}

}  // namespace

ExecutionContext::ExecutionContext(const ExecutionPolicy& policy,
                                   std::unique_ptr<TimeoutGuard> timeout,
                                   std::chrono::steady_clock::time_point started)
    : policy_(policy),
      cancel_(std::make_shared<wasi::CancelToken>()),
      deadline_(DeadlineOf(policy, started)),
      timeout_(std::move(timeout)),
      started_(started),
      denials_(std::make_shared<std::vector<PathDenial>>()),
      denials_total_(std::make_shared<uint64_t>(0)) {}

std::optional<std::chrono::steady_clock::time_point> ExecutionContext::DeadlineOf(
    const ExecutionPolicy& policy, std::chrono::steady_clock::time_point started) {
  if (!policy.timeout_seconds()) return std::nullopt;
  return started + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                       std::chrono::duration<double>(*policy.timeout_seconds()));
}

// Refusals are recorded on the guest thread and read after the run.
std::function<void(std::string_view, std::string_view)> ExecutionContext::DenialRecorder(
    ExecutionContext& ctx) {
  return [denials = ctx.denials_, total = ctx.denials_total_](std::string_view call,
                                                              std::string_view guest_path) {
    ++*total;
    if (denials->size() < ExecutionResult::kMaxRecordedPathDenials) {
      denials->push_back({std::string(call), DecodeUtf8Lossy(guest_path)});
    }
  };
}

StatusOr<std::unique_ptr<ExecutionContext>> ExecutionContext::Create(
    const ExecutionPolicy& policy, std::unique_ptr<TimeoutGuard> timeout,
    std::chrono::steady_clock::time_point started) {
  std::unique_ptr<ExecutionContext> ctx(
      new ExecutionContext(policy, std::move(timeout), started));

  wasi::WasiConfig config;
  config.argv = policy.argv();
  config.env = policy.env();
  StatusOr<std::vector<GuestMount>> mounts = MountsFor(policy);
  if (!mounts.ok()) return mounts.status();
  for (const GuestMount& m : *mounts) {
    config.preopens.push_back({m.host, m.guest, m.read_only});
  }
  // "/" lists the mounts; paths outside them are absent, not refused.
  config.virtual_root = true;
  config.stdout_max_bytes = policy.stdout_max_bytes();
  config.stderr_max_bytes = policy.stderr_max_bytes();
  config.writable_max_bytes = policy.workspace_max_bytes();
  config.cancel = ctx->cancel_;
  config.deadline = ctx->deadline_;
  config.on_path_denied = DenialRecorder(*ctx);
  StatusOr<std::unique_ptr<wasi::WasiHost>> host = wasi::WasiHost::Create(std::move(config));
  if (!host.ok()) return host.status();
  ctx->host_ = std::move(*host);
  return ctx;
}

StatusOr<std::unique_ptr<ExecutionContext>> ExecutionContext::NextCell(
    std::unique_ptr<ExecutionContext> previous, const ExecutionPolicy& policy,
    std::unique_ptr<TimeoutGuard> timeout, std::chrono::steady_clock::time_point started) {
  StatusOr<std::vector<GuestMount>> before = MountsFor(previous->policy());
  StatusOr<std::vector<GuestMount>> now = MountsFor(policy);
  if (!before.ok()) return before.status();
  if (!now.ok()) return now.status();
  auto same = [](const GuestMount& a, const GuestMount& b) {
    return a.host == b.host && a.guest == b.guest && a.read_only == b.read_only;
  };
  if (!std::equal(before->begin(), before->end(), now->begin(), now->end(), same)) {
    return InvalidArgument(
        "mounts: a kept-state cell must mount what its session's interpreter mounts "
        "(mount_host_dir, mount_data_dir, additional_readonly_mounts and their guest paths)");
  }
  std::unique_ptr<ExecutionContext> ctx(
      new ExecutionContext(policy, std::move(timeout), started));
  wasi::CellConfig cell;
  cell.argv = policy.argv();
  cell.env = policy.env();
  cell.stdout_max_bytes = policy.stdout_max_bytes();
  cell.stderr_max_bytes = policy.stderr_max_bytes();
  cell.writable_max_bytes = policy.workspace_max_bytes();
  cell.cancel = ctx->cancel_;
  cell.deadline = ctx->deadline_;
  cell.on_path_denied = DenialRecorder(*ctx);
  ctx->host_ = std::move(previous->host_);
  if (Status s = ctx->host_->StartCell(std::move(cell)); !s.ok()) return s;
  return ctx;
}

uint32_t GuestMemoryPages() { return snakecage_linear_memory_current_pages(); }

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

uint64_t RunsResumedFromSnapshots() { return g_resumed_runs.load(std::memory_order_relaxed); }

Status SnapshotAtUserCodeBegin(const std::filesystem::path& path, std::string_view identity) {
  if (g_begin == nullptr || !g_begin->in_begin_handler) {
    return Internal("startup snapshot: only a BeginHandler can take one");
  }
  StartupSnapshot snapshot;
  snapshot.identity = std::string(identity);
  snapshot.stack_pointer = g_begin->instance->w2c___stack_pointer;
  snapshot.entry = g_begin->entry;
  snapshot.memory_pages = GuestMemoryPages();
  return WriteStartupSnapshot(path, snapshot, SNAKECAGE_LINEAR_MEMORY_BASE);
}

namespace {

// The snapshot's memory and stack pointer, in place of start-up's.
Status Restore(Z_snakecage_guest_instance_t& instance, const StartupSnapshot& snapshot) {
  wasm_rt_memory_t& memory = instance.w2c_memory;
  if (snapshot.memory_pages < memory.pages) {
    return Internal("startup snapshot: smaller than the module's initial memory");
  }
  if (snapshot.memory_pages > memory.pages &&
      wasm_rt_grow_memory(&memory, snapshot.memory_pages - memory.pages) == UINT32_MAX) {
    return Internal("startup snapshot: its " + std::to_string(snapshot.memory_pages) +
                    " pages of memory are above the memory cap");
  }
  size_t left = size_t{snapshot.memory_pages} * kWasmPageBytes;
  uint8_t* to = SNAKECAGE_LINEAR_MEMORY_BASE;
  off_t from = static_cast<off_t>(kSnapshotMemoryOffset);
  if (snapshot.load == StartupSnapshot::Load::kMap) {
    // Copy-on-write over the memory: a page is read from the file (the
    // page cache) only when touched, and a page written becomes the
    // process's own. The file never changes under the mapping: snapshots
    // are replaced by rename.
    if (mmap(to, left, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, snapshot.file.get(),
             from) == MAP_FAILED) {
      return Internal(std::string("startup snapshot: cannot map its memory: ") +
                      std::strerror(errno));
    }
    left = 0;
  }
  while (left > 0) {
    const ssize_t n = pread(snapshot.file.get(), to, left, from);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return Internal(std::string("startup snapshot: cannot read its memory: ") +
                      (n == 0 ? "the file is shorter than its header says" : std::strerror(errno)));
    }
    to += n;
    from += n;
    left -= static_cast<size_t>(n);
  }
  instance.w2c___stack_pointer = snapshot.stack_pointer;
  return Status::Ok();
}

}  // namespace

namespace {

// The one guest of the process and what its hooks point at. Statics, not
// RunGuest's locals, so that a trap's longjmp leaves nothing of ours
// half-destroyed, and so that RunGuestAgain finds the instance RunGuest kept.
Z_snakecage_guest_instance_t g_instance;
FuelAccount g_fuel;
Z_wasi_snapshot_preview1_instance_t g_wasi_imports;
BeginState g_begin_state;
GuestReports g_reports;
CellHooks g_cells;
Z_snakecage_instance_t g_hooks;

// Fresh per-run state for a run under `initial`, on the thread whose stack
// ends at `stack_top`.
void ResetRunState(ExecutionContext& initial, const BeginHandler& at_begin,
                   const CellEndHandler& at_cell_end, uintptr_t stack_top) {
  g_fuel = FuelAccount{};
  g_reports = GuestReports{};
  g_wasi_imports = Z_wasi_snapshot_preview1_instance_t{};
  g_begin_state = BeginState{};
  BeginState& begin = g_begin_state;
  begin.handler = &at_begin;
  begin.current = &initial;
  begin.wasi_imports = &g_wasi_imports;
  begin.fuel = &g_fuel;
  begin.cell_handler = &at_cell_end;
  begin.cells = &g_cells;
  begin.reports = &g_reports;
  begin.instance = &g_instance;
  begin.stack_top = stack_top;
  g_begin = &begin;
  g_fuel.on_begin = &OnUserCodeBegin;
  g_fuel.run_user_code = &RunUserCode;
  g_fuel.on_begin_arg = &begin;
  g_cells = CellHooks{false, CellKind::kScript, &OnCellEnd, &begin};
  g_hooks = Z_snakecage_instance_t{&g_fuel, &g_reports, &g_cells, nullptr};
}

// Points the imports and hooks at the instance's memory and globals.
void ConnectInstance(ExecutionContext& initial) {
  g_wasi_imports.host = &initial.host();
  g_wasi_imports.memory = Z_snakecage_guestZ_memory(&g_instance);
  g_hooks.memory = g_wasi_imports.memory;
  g_fuel.fuel = Z_snakecage_guestZ_snakecage_fuel(&g_instance);
  g_begin_state.interrupt = Z_snakecage_guestZ_snakecage_interrupt(&g_instance);
}

void StartTimeout(ExecutionContext& initial) {
  if (initial.timeout() != nullptr && initial.deadline()) {
    initial.timeout()->Start(*initial.deadline(), g_begin_state.interrupt, initial.cancel());
  }
}

// After the guest stopped (returned or trapped): the facts of the run and
// its classification under the context in force.
ExecutionResult Conclude(wasm_rt_trap_t trap, bool instantiated) {
  ExecutionContext& ctx = *g_begin_state.current;
  GuestRun run;
  run.trap = trap;
  run.instantiated = instantiated;
  if (instantiated) {
    run.exhausted = *Z_snakecage_guestZ_snakecage_fuel_exhausted(&g_instance);
    run.fuel_remaining = static_cast<int64_t>(*g_fuel.fuel);
  }
  run.memory_error = snakecage_linear_memory_last_error();
  run.refused_grows =
      snakecage_linear_memory_refused_grows() - g_begin_state.refused_grows_before;
  run.peak_pages = snakecage_linear_memory_peak_pages();
  // The deadline counts only if it came before the guest stopped for
  // another reason (a fuel trap that happened first keeps its label).
  if (ctx.timeout() != nullptr && ctx.timeout()->Finish() &&
      run.exhausted != fuel::kExhaustedByFuel) {
    ctx.host().RecordTrap(TrapReason::kTimeout, "wall-clock timeout of " +
                                                    std::to_string(*ctx.policy().timeout_seconds()) +
                                                    " s");
  }
  return Classify(ctx, run, g_fuel, g_reports);
}

// True from instantiation until the instance is freed (in a process forked
// while the guest ran too): what a GuestRewinder needs.
bool g_instance_live = false;

// Set by GuestRewinder::Rewind, taken by RunGuestAgain.
bool g_rewound = false;

}  // namespace

StatusOr<ExecutionResult> RunGuest(ExecutionContext& initial, const BeginHandler& at_begin,
                                   AfterRun after, const CellEndHandler& at_cell_end,
                                   const StartupSnapshot* resume) {
  InitRuntimeOnce();
  SetMemoryCap(initial.policy());
  ResetRunState(initial, at_begin, at_cell_end, StackTopOfThisThread());

  volatile bool instantiated = false;
  Status restored;
  wasm_rt_trap_t trap = wasm_rt_impl_try();
  if (trap == WASM_RT_TRAP_NONE) {
    Z_snakecage_guest_instantiate(&g_instance, &g_hooks, &g_wasi_imports);
    instantiated = true;
    g_instance_live = true;
    ConnectInstance(initial);
    if (resume != nullptr) restored = Restore(g_instance, *resume);
    if (restored.ok()) {
      StartTimeout(initial);
      if (resume != nullptr) {
        g_resumed_runs.fetch_add(1, std::memory_order_relaxed);
        Z_snakecageZ_user_code_begin(&g_hooks, resume->entry);  // as the guest's main would
      } else {
        Z_snakecage_guestZ__start(&g_instance);
      }
    }
  }
  g_begin = nullptr;
  if (trap != WASM_RT_TRAP_NONE) ForgetSkippedFrames(g_begin_state.stack_top);
  if (!restored.ok()) {
    Z_snakecage_guest_free(&g_instance);
    g_instance_live = false;
    return restored;
  }
  ExecutionResult result = Conclude(trap, instantiated);
  if (instantiated && after == AfterRun::kFreeInstance) {
    Z_snakecage_guest_free(&g_instance);
    g_instance_live = false;
  }
  const snakecage_linear_memory_error_t memory_error = snakecage_linear_memory_last_error();
  if (!instantiated && (memory_error == SNAKECAGE_LINEAR_MEMORY_RESERVE_FAILED ||
                        memory_error == SNAKECAGE_LINEAR_MEMORY_ALREADY_LIVE)) {
    return Internal(std::string("cannot instantiate the interpreter: ") +
                    snakecage_linear_memory_strerror(memory_error));
  }
  return result;
}

StatusOr<PristineGuest> KeepPristineGuest() {
  if (g_begin == nullptr || !g_begin->in_begin_handler) {
    return Internal("pristine guest: only a BeginHandler can keep one");
  }
  PristineGuest pristine;
  pristine.stack_pointer = g_begin->instance->w2c___stack_pointer;
  pristine.entry = g_begin->entry;
  pristine.pages = GuestMemoryPages();
  pristine.memory.Reset(static_cast<int>(memfd_create("snakecage-pristine-guest",
                                                      MFD_CLOEXEC | MFD_ALLOW_SEALING)));
  if (!pristine.memory.valid()) {
    return Internal(std::string("pristine guest: memfd_create: ") + std::strerror(errno));
  }
  const std::string_view memory(reinterpret_cast<const char*>(SNAKECAGE_LINEAR_MEMORY_BASE),
                                size_t{pristine.pages} * kWasmPageBytes);
  if (!WriteAll(pristine.memory.get(), memory)) {
    return Internal(std::string("pristine guest: cannot write its memory: ") +
                    std::strerror(errno));
  }
  // Nothing may change it from here on, in this process or a child.
  if (fcntl(pristine.memory.get(), F_ADD_SEALS,
            F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0) {
    return Internal(std::string("pristine guest: cannot seal its memory: ") +
                    std::strerror(errno));
  }
  return pristine;
}

GuestRewinder::GuestRewinder(GuestRewinder&& other) noexcept
    : pristine_(std::exchange(other.pristine_, nullptr)),
      pages_(other.pages_),
      stack_pointer_(other.stack_pointer_),
      entry_(other.entry_),
      page_bytes_(other.page_bytes_),
      pagemap_(std::move(other.pagemap_)),
      entries_(std::move(other.entries_)) {}

GuestRewinder::~GuestRewinder() {
  if (pristine_ != nullptr) munmap(pristine_, size_t{pages_} * kWasmPageBytes);
}

StatusOr<GuestRewinder> GuestRewinder::Open(const PristineGuest& pristine) {
  if (!g_instance_live) return Internal("guest rewinder: no guest instance is live");
  GuestRewinder r;
  r.pages_ = pristine.pages;
  r.stack_pointer_ = pristine.stack_pointer;
  r.entry_ = pristine.entry;
  void* map = mmap(nullptr, size_t{pristine.pages} * kWasmPageBytes, PROT_READ, MAP_SHARED,
                   pristine.memory.get(), 0);
  if (map == MAP_FAILED) {
    return Internal(std::string("guest rewinder: cannot map the pristine memory: ") +
                    std::strerror(errno));
  }
  r.pristine_ = static_cast<uint8_t*>(map);
  r.pagemap_.Reset(open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC));
  if (!r.pagemap_.valid()) {
    return Internal(std::string("guest rewinder: cannot open /proc/self/pagemap: ") +
                    std::strerror(errno));
  }
  r.page_bytes_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  r.entries_.resize(size_t{pristine.pages} * kWasmPageBytes / r.page_bytes_);
  return r;
}

StatusOr<size_t> GuestRewinder::Rewind() {
  g_rewound = false;
  if (!snakecage_linear_memory_shrink(Z_snakecage_guestZ_memory(&g_instance), pages_)) {
    return Internal("guest rewinder: cannot shrink the memory back to " +
                    std::to_string(pages_) + " pages");
  }
  // One pagemap entry per system page: bit 56 "mapped by this process
  // alone" (a page it wrote: copy-on-write made it its own, or it was
  // never in the parent's memory), bit 62 "swapped" (whatever it holds).
  // Every other page is still the one shared with the process that kept
  // the pristine guest, which never writes its memory again.
  const uint64_t at = reinterpret_cast<uintptr_t>(SNAKECAGE_LINEAR_MEMORY_BASE) / page_bytes_ *
                      sizeof(uint64_t);
  if (!ReadAllAt(pagemap_.get(), entries_.data(), entries_.size() * sizeof(uint64_t), at)) {
    return Internal(std::string("guest rewinder: cannot read /proc/self/pagemap: ") +
                    std::strerror(errno));
  }
  constexpr uint64_t kExclusive = uint64_t{1} << 56;
  constexpr uint64_t kSwapped = uint64_t{1} << 62;
  size_t copied = 0;
  uint8_t* memory = SNAKECAGE_LINEAR_MEMORY_BASE;
  for (size_t i = 0; i < entries_.size();) {
    if (!(entries_[i] & (kExclusive | kSwapped))) {
      ++i;
      continue;
    }
    size_t run = 1;
    while (i + run < entries_.size() && (entries_[i + run] & (kExclusive | kSwapped))) ++run;
    std::memcpy(memory + i * page_bytes_, pristine_ + i * page_bytes_, run * page_bytes_);
    copied += run;
    i += run;
  }
  g_instance.w2c___stack_pointer = stack_pointer_;
  *Z_snakecage_guestZ_snakecage_fuel_exhausted(&g_instance) = 0;
  *Z_snakecage_guestZ_snakecage_interrupt(&g_instance) = 0;
  g_rewound = true;
  return copied;
}

StatusOr<ExecutionResult> RunGuestAgain(ExecutionContext& ctx, GuestRewinder& rewinder) {
  if (!g_rewound) return Internal("run again: the guest was not rewound");
  g_rewound = false;
  static const BeginHandler kNoHandler;
  static const CellEndHandler kNoCells;
  SetMemoryCap(ctx.policy());
  // The thread RunGuest ran on (finding its stack again would read
  // /proc or the CPU mask, which a confined process may not).
  ResetRunState(ctx, kNoHandler, kNoCells, g_begin_state.stack_top);
  ConnectInstance(ctx);
  g_begin_state.refused_grows_before = snakecage_linear_memory_refused_grows();
  wasm_rt_trap_t trap = wasm_rt_impl_try();
  if (trap == WASM_RT_TRAP_NONE) {
    StartTimeout(ctx);
    Z_snakecageZ_user_code_begin(&g_hooks, rewinder.entry());
  }
  g_begin = nullptr;
  if (trap != WASM_RT_TRAP_NONE) ForgetSkippedFrames(g_begin_state.stack_top);
  return Conclude(trap, true);
}

}  // namespace snakecage
