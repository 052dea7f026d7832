#include "sandbox/error_guidance.h"

#include <sstream>

#include "snakecage/packages.h"

namespace snakecage {
namespace {

std::string Seconds(double s) {
  std::ostringstream out;
  out << s;
  return out.str();
}

// Names what the guest can import instead: every shipped package with its
// version and import names (the standard library is not listed: it is all
// there but for what WASI cannot offer).
std::string MissingModuleGuidance(const std::string& module) {
  std::string text = "The module '" + module +
                     "' is not available in this sandbox, and packages cannot be installed "
                     "(no pip, no network).";
  StatusOr<GuestPackages> shipped = LoadGuestPackages();
  if (shipped.ok() && !shipped->packages.empty()) {
    text += " Besides the standard library, the code can import:";
    const char* sep = " ";
    for (const GuestPackage& p : shipped->packages) {
      text += sep + p.name + " " + p.version + " (";
      for (size_t i = 0; i < p.import_names.size(); ++i) {
        text += (i ? ", " : "") + p.import_names[i];
      }
      text += ")";
      sep = ", ";
    }
    text += ".";
  }
  text += " Rewrite the code with these, or with the standard library alone.";
  return text;
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
  if (r.missing_module) return MissingModuleGuidance(*r.missing_module);
  if (r.memory_grows_refused > 0) {
    return "The code asked for more memory than the limit of " +
           std::to_string(r.memory_limit_bytes) +
           " bytes, so Python raised MemoryError. Process the data in smaller pieces or raise "
           "memory_bytes (--memory).";
  }
  if (r.workspace_writes_refused > 0) {
    return "The workspace reached its quota of " + std::to_string(r.workspace_max_bytes) +
           " bytes, so " + std::to_string(r.workspace_writes_refused) +
           " write(s) failed with OSError: [Errno 28] No space left on device. Delete files "
           "the code no longer needs, write less, or raise workspace_max_bytes "
           "(--workspace-max).";
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
