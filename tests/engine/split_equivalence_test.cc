// tests/engine/split_equivalence_test.cc: the same module (modules/compute.c)
// translated by wasm2c once as a single translation unit (compute_whole, built
// directly from wasm2c's output) and once through the splitter into parts
// (compute_split, built by snakecage_add_wasm2c_library): both must compute
// the same results.
#include <cstdint>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "compute_split.h"
#include "compute_whole.h"
#include "guest_harness.h"

namespace snakecage::engine::testing {
namespace {

struct Results {
  std::vector<uint64_t> values;
  std::vector<double> doubles;
  wasm_rt_trap_t div_trap = WASM_RT_TRAP_NONE;
  uint8_t* memory_data = nullptr;
};

// Runs every export over a set of inputs on one module. Instance, exports and
// lifecycle functions are passed in, so the two builds run the same script.
template <typename Instance>
Results RunAll(void (*instantiate)(Instance*), void (*free_instance)(Instance*),
               wasm_rt_memory_t* (*memory)(Instance*), u32 (*fib)(Instance*, u32),
               u32 (*count_primes)(Instance*, u32), u64 (*mix64)(Instance*, u64, u32),
               f64 (*float_series)(Instance*, u32), u32 (*indirect_chain)(Instance*, u32, u32),
               u32 (*sort_hash)(Instance*, u32, u32, u32), u32 (*signed_div)(Instance*, u32, u32)) {
  Results r;
  Instance instance;
  std::memset(&instance, 0, sizeof instance);
  wasm_rt_trap_t trap = RunGuarded([&] { instantiate(&instance); });
  EXPECT_EQ(trap, WASM_RT_TRAP_NONE);
  if (trap != WASM_RT_TRAP_NONE) return r;
  r.memory_data = memory(&instance)->data;
  uint64_t values[64];
  double doubles[8];
  size_t nv = 0, nd = 0;
  trap = RunGuarded([&] {
    for (u32 n : {0u, 1u, 2u, 10u, 24u}) values[nv++] = fib(&instance, n);
    for (u32 n : {0u, 2u, 3u, 100u, 10000u, 65536u, 1000000u})
      values[nv++] = count_primes(&instance, n);
    for (u64 seed : {0ull, 1ull, 0x123456789abcdefull, ~0ull})
      values[nv++] = mix64(&instance, seed, 1000);
    for (u32 terms : {1u, 10u, 100000u}) doubles[nd++] = float_series(&instance, terms);
    for (u32 x : {1u, 7u, 0xfffffffu}) values[nv++] = indirect_chain(&instance, x, 5000);
    for (u32 n : {0u, 1u, 17u, 2048u}) {
      values[nv++] = sort_hash(&instance, 99u + n, n, 0);
      values[nv++] = sort_hash(&instance, 99u + n, n, 1);
    }
    values[nv++] = signed_div(&instance, static_cast<u32>(-17), 5);
  });
  EXPECT_EQ(trap, WASM_RT_TRAP_NONE);
  r.values.assign(values, values + nv);
  r.doubles.assign(doubles, doubles + nd);
  r.div_trap = RunGuarded([&] { signed_div(&instance, 1, 0); });
  free_instance(&instance);
  return r;
}

TEST(SplitEquivalenceTest, SplitAndWholeModulesComputeTheSame) {
  EnsureRuntime();
  Z_compute_split_init_module();
  Z_compute_whole_init_module();
  Results split = RunAll<Z_compute_split_instance_t>(
      Z_compute_split_instantiate, Z_compute_split_free, Z_compute_splitZ_memory,
      Z_compute_splitZ_fib, Z_compute_splitZ_count_primes, Z_compute_splitZ_mix64,
      Z_compute_splitZ_float_series, Z_compute_splitZ_indirect_chain,
      Z_compute_splitZ_sort_hash, Z_compute_splitZ_signed_div);
  Results whole = RunAll<Z_compute_whole_instance_t>(
      Z_compute_whole_instantiate, Z_compute_whole_free, Z_compute_wholeZ_memory,
      Z_compute_wholeZ_fib, Z_compute_wholeZ_count_primes, Z_compute_wholeZ_mix64,
      Z_compute_wholeZ_float_series, Z_compute_wholeZ_indirect_chain,
      Z_compute_wholeZ_sort_hash, Z_compute_wholeZ_signed_div);

  ASSERT_EQ(split.values.size(), 28u);
  EXPECT_EQ(split.values, whole.values);
  ASSERT_EQ(split.doubles.size(), 3u);
  for (size_t i = 0; i < split.doubles.size(); ++i) {
    uint64_t a, b;
    std::memcpy(&a, &split.doubles[i], 8);
    std::memcpy(&b, &whole.doubles[i], 8);
    EXPECT_EQ(a, b) << "float_series result " << i << " differs in its bits";
  }
  // Known values, so that "both equally wrong" fails too.
  EXPECT_EQ(split.values[4], 46368u);  // fib(24)
  EXPECT_EQ(split.values[9], 1229u);   // primes below 10000
  EXPECT_EQ(split.values[10], 6542u);  // primes below 65536
  EXPECT_EQ(split.values[11], 6542u);  // limit clamps to the buffer
  EXPECT_EQ(static_cast<int32_t>(split.values.back()), -3);
  EXPECT_EQ(split.div_trap, WASM_RT_TRAP_DIV_BY_ZERO);
  EXPECT_EQ(whole.div_trap, WASM_RT_TRAP_DIV_BY_ZERO);
  EXPECT_EQ(split.memory_data, SNAKECAGE_LINEAR_MEMORY_BASE);
  EXPECT_EQ(whole.memory_data, SNAKECAGE_LINEAR_MEMORY_BASE);
}

}  // namespace
}  // namespace snakecage::engine::testing
