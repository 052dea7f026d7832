#include "sandbox/error_guidance.h"

#include <sstream>

namespace snakecage {
namespace {

std::string Seconds(double s) {
  std::ostringstream out;
  out << s;
  return out.str();
}

}  // namespace

std::optional<std::string> ErrorGuidanceFor(const ExecutionResult& r) {
  if (r.success()) return std::nullopt;
  if (r.trap_reason) {
    switch (*r.trap_reason) {
      case TrapReason::kOutOfFuel:
        return "The code used its whole fuel budget of " + std::to_string(r.fuel_budget) +
               " WebAssembly operators and was stopped before it finished. Make it do less "
               "work (smaller inputs, fewer iterations, no endless loop) or raise "
               "fuel_budget (--fuel).";
      case TrapReason::kMemoryLimit:
        return "The code needed more than the memory limit of " +
               std::to_string(r.memory_limit_bytes) +
               " bytes and the interpreter had to stop. Process the data in smaller pieces "
               "or raise memory_bytes (--memory).";
      case TrapReason::kTimeout:
        return "The code ran longer than the wall-clock limit of " +
               Seconds(r.timeout_seconds.value_or(0)) +
               " seconds and was stopped. Make it finish sooner (less work, no waiting or "
               "sleeping) or raise timeout_seconds (--timeout).";
      case TrapReason::kStackOverflow:
      case TrapReason::kMemoryOutOfBounds:
      case TrapReason::kUnreachable:
      case TrapReason::kIntegerDivideByZero:
      case TrapReason::kIntegerOverflow:
      case TrapReason::kInvalidConversion:
      case TrapReason::kIndirectCall:
      case TrapReason::kHostError:
      case TrapReason::kKilled:
        break;
    }
  }
  if (r.memory_grows_refused > 0) {
    return "The code asked for more memory than the limit of " +
           std::to_string(r.memory_limit_bytes) +
           " bytes, so Python raised MemoryError. Process the data in smaller pieces or raise "
           "memory_bytes (--memory).";
  }
  if (r.path_denials_total > 0) {
    std::string first;
    if (!r.path_denials.empty()) {
      first = " (first: " + r.path_denials.front().call + " \"" +
              r.path_denials.front().guest_path + "\")";
    }
    return "The code was refused " + std::to_string(r.path_denials_total) +
           " path(s) outside what it may access" + first +
           ". Only the workspace (read-write) and the read-only mounts are reachable, and "
           "neither \"..\" nor symlinks lead out of them: read and write files beneath the "
           "workspace.";
  }
  return std::nullopt;
}

}  // namespace snakecage
