#include "cli/result_json.h"

namespace snakecage::cli {

nlohmann::ordered_json ResultToJson(const ExecutionResult& r) {
  nlohmann::ordered_json metadata = {
      {"trapped", r.trapped},
      {"trap_reason", r.trap_reason ? nlohmann::ordered_json(std::string(
                                          TrapReasonWireName(*r.trap_reason)))
                                    : nlohmann::ordered_json(nullptr)},
      {"trap_message", r.trap_message},
      {"stdout_truncated", r.stdout_truncated},
      {"stderr_truncated", r.stderr_truncated},
      {"stdout_bytes", r.stdout_bytes},
      {"stderr_bytes", r.stderr_bytes},
      {"memory_pages", r.memory_peak_pages},
      {"fuel_budget", r.fuel_budget},
      {"memory_limit_bytes", r.memory_limit_bytes},
      {"timeout_seconds", r.timeout_seconds ? nlohmann::ordered_json(*r.timeout_seconds)
                                            : nlohmann::ordered_json(nullptr)},
  };
  return {
      {"success", r.success()},
      {"exit_code", r.exit_code},
      {"stdout", r.stdout_text},
      {"stderr", r.stderr_text},
      {"fuel_consumed", r.fuel_consumed},
      {"memory_used_bytes", r.memory_peak_bytes},
      {"duration_ms", r.duration_ms},
      {"metadata", std::move(metadata)},
  };
}

}  // namespace snakecage::cli
