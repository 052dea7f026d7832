// The closed set of trap reasons: wire names are what JSON results carry, so
// each must map back to its reason, and nothing outside the set may.
#include "snakecage/trap_reason.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace snakecage {
namespace {

TEST(TrapReasonTest, WireNamesRoundTripAndAreDistinct) {
  std::set<std::string> names;
#define SNAKECAGE_X(e, wire, display)                                     \
  EXPECT_EQ(TrapReasonFromWireName(TrapReasonWireName(TrapReason::e)),    \
            TrapReason::e);                                               \
  EXPECT_EQ(TrapReasonWireName(TrapReason::e), wire);                     \
  EXPECT_EQ(TrapReasonDisplayName(TrapReason::e), display);               \
  names.insert(wire);
  SNAKECAGE_TRAP_REASONS(SNAKECAGE_X)
#undef SNAKECAGE_X
  EXPECT_EQ(names, (std::set<std::string>{
                       "out_of_fuel", "memory_limit", "timeout", "stack_overflow",
                       "memory_out_of_bounds", "unreachable", "integer_divide_by_zero",
                       "integer_overflow", "invalid_conversion", "indirect_call", "host_error",
                       "killed"}));
  EXPECT_EQ(TrapReasonFromWireName("OutOfFuel"), std::nullopt);
  EXPECT_EQ(TrapReasonFromWireName(""), std::nullopt);
}

}  // namespace
}  // namespace snakecage
