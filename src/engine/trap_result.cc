#include "engine/trap_result.h"

namespace snakecage {

ExecutionResult ResultUnder(const ExecutionPolicy& policy) {
  ExecutionResult r;
  r.fuel_budget = policy.fuel_budget();
  r.memory_limit_bytes = policy.memory_bytes();
  r.timeout_seconds = policy.timeout_seconds();
  r.workspace_max_bytes = policy.workspace_max_bytes();
  return r;
}

void RecordTrap(ExecutionResult& r, TrapReason reason, std::string message,
                std::optional<int> exit_code) {
  r.trapped = true;
  r.trap_reason = reason;
  r.trap_message = std::move(message);
  r.exit_code = exit_code.value_or(reason == TrapReason::kTimeout ? kTimeoutExitCode
                                                                  : kTrapExitCode);
  if (!r.stderr_text.empty() && r.stderr_text.back() != '\n') r.stderr_text += '\n';
  r.stderr_text += "Execution trapped: ";
  r.stderr_text += TrapReasonDisplayName(reason);
  r.stderr_text += '\n';
}

}  // namespace snakecage
