// reference_counter.h: a deliberately naive second implementation of the
// fuel count, for differential tests of the segment-based rewrite.
//
// AddReferenceCounter() inserts "snakecage_fuel -= 1" before every operator
// whose cost is 1, with its own copy of the cost table (a test that reused
// the instrumenter's table would agree with it by construction). It exports
// the same three globals as the real instrumenter, so FuelRunner reads them,
// but it never checks or traps: it only counts.
//
// For a run that completes, both counts must be equal. Test-only.
#pragma once

#include <cstdint>
#include <vector>

namespace snakecage::fuel::testing {

// Returns the counting module, or an empty vector (after ADD_FAILURE) if
// `wasm` cannot be read.
std::vector<uint8_t> AddReferenceCounter(const std::vector<uint8_t>& wasm);

}  // namespace snakecage::fuel::testing
