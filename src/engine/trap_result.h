// engine/trap_result.h: the one place a trap becomes part of an
// ExecutionResult, wherever the trap was seen: the guest runner (a wasm trap,
// fuel, memory, a host-recorded trap), a zygote's child (a memory cap below
// what start-up used), the executor (a child killed by a signal or at the
// timeout).
//
// A trapped result has: trapped, the reason and message, the exit status
// (124 for a timeout as coreutils' timeout, 134 for any other trap as
// Wasmtime's CLI: 128 + SIGABRT, unless the caller knows better, e.g. 128 +
// the signal that killed the process) and "Execution trapped: <Reason>" as
// the last line of stderr.
//
// Thread-safety: stateless functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "snakecage/execution.h"
#include "snakecage/policy.h"

namespace snakecage {

// A WebAssembly page: the unit of linear memory.
inline constexpr uint64_t kWasmPageBytes = 65536;
inline constexpr int kTrapExitCode = 134;
inline constexpr int kTimeoutExitCode = 124;

// A result that carries the policy's limits (fuel budget, memory cap,
// timeout) and nothing of a run yet.
ExecutionResult ResultUnder(const ExecutionPolicy& policy);

// Marks `r` as trapped for `reason` (see above). Call after stderr_text
// holds what the guest wrote; `exit_code` replaces the default status.
void RecordTrap(ExecutionResult& r, TrapReason reason, std::string message,
                std::optional<int> exit_code = std::nullopt);

}  // namespace snakecage
