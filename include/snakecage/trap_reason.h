// snakecage/trap_reason.h: the closed set of reasons an execution can trap.
//
// Declared once, in SNAKECAGE_TRAP_REASONS. Each entry is
//   X(Enumerator, "wire_name", "DisplayName")
// wire_name is what JSON results carry in `trap_reason`; DisplayName is what
// the line appended to stderr says ("Execution trapped: OutOfFuel").
// Code that switches on TrapReason has no `default:`, and the build uses
// -Werror=switch, so adding a reason forces every switch to handle it.
#pragma once

#include <optional>
#include <string_view>

namespace snakecage {

#define SNAKECAGE_TRAP_REASONS(X)                                   \
  X(kOutOfFuel, "out_of_fuel", "OutOfFuel")                          \
  X(kMemoryLimit, "memory_limit", "MemoryLimit")                     \
  X(kTimeout, "timeout", "Timeout")                                  \
  X(kStackOverflow, "stack_overflow", "StackOverflow")               \
  X(kMemoryOutOfBounds, "memory_out_of_bounds", "MemoryOutOfBounds") \
  X(kUnreachable, "unreachable", "Unreachable")                      \
  X(kIntegerDivideByZero, "integer_divide_by_zero", "IntegerDivideByZero") \
  X(kIntegerOverflow, "integer_overflow", "IntegerOverflow")         \
  X(kInvalidConversion, "invalid_conversion", "InvalidConversion")   \
  X(kIndirectCall, "indirect_call", "IndirectCall")                  \
  X(kHostError, "host_error", "HostError")                           \
  X(kKilled, "killed", "Killed")

enum class TrapReason {
#define SNAKECAGE_X(e, wire, display) e,
  SNAKECAGE_TRAP_REASONS(SNAKECAGE_X)
#undef SNAKECAGE_X
};

// "out_of_fuel", ...: the name in JSON results.
constexpr std::string_view TrapReasonWireName(TrapReason r) {
  switch (r) {
#define SNAKECAGE_X(e, wire, display) \
  case TrapReason::e:                 \
    return wire;
    SNAKECAGE_TRAP_REASONS(SNAKECAGE_X)
#undef SNAKECAGE_X
  }
  return "host_error";  // unreachable: the switch is exhaustive
}

// "OutOfFuel", ...: the name in the line appended to stderr.
constexpr std::string_view TrapReasonDisplayName(TrapReason r) {
  switch (r) {
#define SNAKECAGE_X(e, wire, display) \
  case TrapReason::e:                 \
    return display;
    SNAKECAGE_TRAP_REASONS(SNAKECAGE_X)
#undef SNAKECAGE_X
  }
  return "HostError";
}

// Inverse of TrapReasonWireName; nullopt for a name outside the set.
constexpr std::optional<TrapReason> TrapReasonFromWireName(std::string_view s) {
#define SNAKECAGE_X(e, wire, display) \
  if (s == wire) return TrapReason::e;
  SNAKECAGE_TRAP_REASONS(SNAKECAGE_X)
#undef SNAKECAGE_X
  return std::nullopt;
}

}  // namespace snakecage
