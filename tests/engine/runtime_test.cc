// tests/engine/runtime_test.cc: the wasm2c runtime (src/engine/runtime) with
// modules compiled by snakecage_add_wasm2c_library(): fixed linear-memory
// address, memory cap and peak, traps, stack overflow, re-instantiation.
#include <signal.h>

#include <cstdint>
#include <cstring>
#include <thread>

#include <gtest/gtest.h>

#include "guest_harness.h"
#include "probe.h"
#include "second.h"

// Under ASan (the sanitizer build): the engine's runtime owns SIGSEGV, as in
// production, so a host fault it forwards ends in SIGSEGV itself rather than
// in ASan's report.
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
extern "C" const char* __asan_default_options() { return "handle_segv=0"; }
#endif
#endif

namespace snakecage::engine::testing {
namespace {

constexpr uint32_t kPage = 65536;
constexpr uint32_t kGrowFailed = UINT32_MAX;

class ProbeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    EnsureRuntime();
    Z_probe_init_module();
    Z_second_init_module();
  }

  void SetUp() override {
    snakecage_linear_memory_set_cap_pages(SNAKECAGE_LINEAR_MEMORY_MAX_PAGES);
    ASSERT_EQ(Instantiate(), WASM_RT_TRAP_NONE)
        << snakecage_linear_memory_strerror(snakecage_linear_memory_last_error());
  }

  void TearDown() override {
    if (live_) Z_probe_free(&instance_);
    live_ = false;
    snakecage_linear_memory_set_cap_pages(SNAKECAGE_LINEAR_MEMORY_MAX_PAGES);
  }

  wasm_rt_trap_t Instantiate() {
    std::memset(&instance_, 0, sizeof instance_);
    wasm_rt_trap_t trap = RunGuarded([&] { Z_probe_instantiate(&instance_); });
    live_ = trap == WASM_RT_TRAP_NONE;
    return trap;
  }

  void Reinstantiate() {
    Z_probe_free(&instance_);
    live_ = false;
    ASSERT_EQ(Instantiate(), WASM_RT_TRAP_NONE);
  }

  Z_probe_instance_t instance_;
  bool live_ = false;
};

TEST_F(ProbeTest, MemoryLivesAtTheFixedBase) {
  wasm_rt_memory_t* memory = Z_probeZ_memory(&instance_);
  EXPECT_EQ(memory->data, SNAKECAGE_LINEAR_MEMORY_BASE);
  EXPECT_EQ(memory->pages, 2u);
  EXPECT_EQ(memory->size, 2 * kPage);
  EXPECT_EQ(memory->max_pages, 1000u);
  EXPECT_TRUE(snakecage_linear_memory_is_live());
  EXPECT_EQ(snakecage_linear_memory_current_pages(), 2u);
  // The active data segment landed at the base.
  EXPECT_EQ(std::memcmp(SNAKECAGE_LINEAR_MEMORY_BASE + 16, "hello", 5), 0);
}

TEST_F(ProbeTest, GeneratedAccessesUseTheConstantBaseNotMemoryData) {
  wasm_rt_memory_t* memory = Z_probeZ_memory(&instance_);
  uint8_t* saved = memory->data;
  memory->data = nullptr;  // the generated code must not look at it
  uint32_t loaded = 0;
  wasm_rt_trap_t trap = RunGuarded([&] {
    Z_probeZ_store(&instance_, 1000, 0x12345678u);
    Z_probeZ_fill(&instance_, 2000, 0xab, 4);
    Z_probeZ_copy(&instance_, 3000, 1000, 4);
    loaded = Z_probeZ_load(&instance_, 3000);
  });
  memory->data = saved;
  ASSERT_EQ(trap, WASM_RT_TRAP_NONE);
  EXPECT_EQ(loaded, 0x12345678u);
  uint32_t at_base;
  std::memcpy(&at_base, SNAKECAGE_LINEAR_MEMORY_BASE + 1000, 4);
  EXPECT_EQ(at_base, 0x12345678u);
  EXPECT_EQ(SNAKECAGE_LINEAR_MEMORY_BASE[2003], 0xab);
}

TEST_F(ProbeTest, GrowWithinCapSucceedsAndPastCapReturnsMinusOne) {
  snakecage_linear_memory_set_cap_pages(5);
  uint32_t r1 = 0, r2 = 0, r3 = 0, r4 = 0, size = 0;
  ASSERT_EQ(RunGuarded([&] {
              r1 = Z_probeZ_grow(&instance_, 3);  // 2 -> 5: exactly the cap
              r2 = Z_probeZ_grow(&instance_, 1);  // 6 > 5
              r3 = Z_probeZ_grow(&instance_, 0);
              r4 = Z_probeZ_grow(&instance_, 0xffffffffu);
              size = Z_probeZ_size(&instance_);
            }),
            WASM_RT_TRAP_NONE);
  EXPECT_EQ(r1, 2u);
  EXPECT_EQ(r2, kGrowFailed);
  EXPECT_EQ(r3, 5u);
  EXPECT_EQ(r4, kGrowFailed);
  EXPECT_EQ(size, 5u);
  EXPECT_EQ(Z_probeZ_memory(&instance_)->size, 5 * kPage);
  EXPECT_EQ(snakecage_linear_memory_refused_grows(), 2u);
  EXPECT_EQ(snakecage_linear_memory_peak_pages(), 5u);

  // The new pages are usable up to the last byte, and the next one traps.
  uint32_t last = 0;
  ASSERT_EQ(RunGuarded([&] {
              Z_probeZ_store(&instance_, 5 * kPage - 4, 77);
              last = Z_probeZ_load(&instance_, 5 * kPage - 4);
            }),
            WASM_RT_TRAP_NONE);
  EXPECT_EQ(last, 77u);
  EXPECT_EQ(RunGuarded([&] { Z_probeZ_load(&instance_, 5 * kPage - 3); }), WASM_RT_TRAP_OOB);

  // Raising the cap lets it grow again.
  snakecage_linear_memory_set_cap_pages(7);
  uint32_t r5 = 0;
  ASSERT_EQ(RunGuarded([&] { r5 = Z_probeZ_grow(&instance_, 2); }), WASM_RT_TRAP_NONE);
  EXPECT_EQ(r5, 5u);
  EXPECT_EQ(snakecage_linear_memory_peak_pages(), 7u);
}

TEST_F(ProbeTest, ModuleMaximumStillApplies) {
  uint32_t r1 = 0, r2 = 0;
  ASSERT_EQ(RunGuarded([&] {
              r1 = Z_probeZ_grow(&instance_, 998);  // 2 -> 1000, the module's max
              r2 = Z_probeZ_grow(&instance_, 1);
            }),
            WASM_RT_TRAP_NONE);
  EXPECT_EQ(r1, 2u);
  EXPECT_EQ(r2, kGrowFailed);
  EXPECT_EQ(snakecage_linear_memory_current_pages(), 1000u);
}

TEST_F(ProbeTest, PeakPagesTracksTheLargestSizeAndCanBeReset) {
  EXPECT_EQ(snakecage_linear_memory_peak_pages(), 2u);
  ASSERT_EQ(RunGuarded([&] { Z_probeZ_grow(&instance_, 4); }), WASM_RT_TRAP_NONE);
  EXPECT_EQ(snakecage_linear_memory_peak_pages(), 6u);
  snakecage_linear_memory_reset_peak();
  EXPECT_EQ(snakecage_linear_memory_peak_pages(), 6u);
  ASSERT_EQ(RunGuarded([&] { Z_probeZ_grow(&instance_, 1); }), WASM_RT_TRAP_NONE);
  EXPECT_EQ(snakecage_linear_memory_peak_pages(), 7u);
  // A fresh instance starts a fresh measurement.
  Reinstantiate();
  EXPECT_EQ(snakecage_linear_memory_peak_pages(), 2u);
}

TEST_F(ProbeTest, InitialSizeAboveCapIsReportedNotFatal) {
  Z_probe_free(&instance_);
  live_ = false;
  snakecage_linear_memory_set_cap_pages(1);
  EXPECT_EQ(Instantiate(), WASM_RT_TRAP_EXHAUSTION);
  EXPECT_EQ(snakecage_linear_memory_last_error(), SNAKECAGE_LINEAR_MEMORY_INITIAL_ABOVE_CAP);
  EXPECT_FALSE(snakecage_linear_memory_is_live());
  EXPECT_EQ(Z_probeZ_memory(&instance_)->data, nullptr);
  Z_probe_free(&instance_);  // freeing the half-made instance is harmless

  snakecage_linear_memory_set_cap_pages(2);
  EXPECT_EQ(Instantiate(), WASM_RT_TRAP_NONE);
  EXPECT_EQ(snakecage_linear_memory_last_error(), SNAKECAGE_LINEAR_MEMORY_OK);
  EXPECT_EQ(Z_probeZ_memory(&instance_)->data, SNAKECAGE_LINEAR_MEMORY_BASE);
}

TEST_F(ProbeTest, SecondLiveMemoryIsRefused) {
  Z_second_instance_t second;
  std::memset(&second, 0, sizeof second);
  EXPECT_EQ(RunGuarded([&] { Z_second_instantiate(&second); }), WASM_RT_TRAP_EXHAUSTION);
  EXPECT_EQ(snakecage_linear_memory_last_error(), SNAKECAGE_LINEAR_MEMORY_ALREADY_LIVE);
  Z_second_free(&second);
  // The first instance is untouched.
  EXPECT_EQ(Z_probeZ_memory(&instance_)->data, SNAKECAGE_LINEAR_MEMORY_BASE);
  EXPECT_EQ(snakecage_linear_memory_current_pages(), 2u);
  EXPECT_EQ(std::memcmp(SNAKECAGE_LINEAR_MEMORY_BASE + 16, "hello", 5), 0);

  // After the first is freed, the other module gets the same address.
  Z_probe_free(&instance_);
  live_ = false;
  uint32_t answer = 0;
  ASSERT_EQ(RunGuarded([&] {
              Z_second_instantiate(&second);
              answer = Z_secondZ_answer(&second);
            }),
            WASM_RT_TRAP_NONE);
  EXPECT_EQ(answer, 42u);
  EXPECT_EQ(Z_secondZ_memory(&second)->data, SNAKECAGE_LINEAR_MEMORY_BASE);
  Z_second_free(&second);
}

TEST_F(ProbeTest, ReinstantiationStartsWithZeroedMemory) {
  ASSERT_EQ(RunGuarded([&] {
              Z_probeZ_store(&instance_, 100, 0xdeadbeefu);
              Z_probeZ_store(&instance_, 16, 0x21212121u);  // over "hell"
              Z_probeZ_grow(&instance_, 3);
              Z_probeZ_store(&instance_, 4 * kPage + 8, 0xcafef00du);
              (*Z_probeZ_counter(&instance_)) = 7;
            }),
            WASM_RT_TRAP_NONE);
  Reinstantiate();
  uint32_t at100 = 1, grown = 0, high = 1, size = 0;
  ASSERT_EQ(RunGuarded([&] {
              at100 = Z_probeZ_load(&instance_, 100);
              size = Z_probeZ_size(&instance_);
              grown = Z_probeZ_grow(&instance_, 3);
              high = Z_probeZ_load(&instance_, 4 * kPage + 8);
            }),
            WASM_RT_TRAP_NONE);
  EXPECT_EQ(at100, 0u);
  EXPECT_EQ(size, 2u);
  EXPECT_EQ(grown, 2u);
  EXPECT_EQ(high, 0u);
  EXPECT_EQ(std::memcmp(SNAKECAGE_LINEAR_MEMORY_BASE + 16, "hello", 5), 0);
  EXPECT_EQ(*Z_probeZ_counter(&instance_), 41u);
}

TEST_F(ProbeTest, ExportedGlobalIsReachable) {
  uint32_t bumped = 0;
  ASSERT_EQ(RunGuarded([&] { bumped = Z_probeZ_bump(&instance_); }), WASM_RT_TRAP_NONE);
  EXPECT_EQ(bumped, 42u);
  EXPECT_EQ(*Z_probeZ_counter(&instance_), 42u);
}

TEST_F(ProbeTest, OutOfBoundsLoadsAndStoresTrap) {
  EXPECT_EQ(RunGuarded([&] { Z_probeZ_load(&instance_, 2 * kPage); }), WASM_RT_TRAP_OOB);
  EXPECT_EQ(RunGuarded([&] { Z_probeZ_load(&instance_, 2 * kPage - 2); }), WASM_RT_TRAP_OOB);
  EXPECT_EQ(RunGuarded([&] { Z_probeZ_load(&instance_, 0xfffffffcu); }), WASM_RT_TRAP_OOB);
  // Largest address a wasm32 access can form: 0xffffffff + 0xffffffff.
  EXPECT_EQ(RunGuarded([&] { Z_probeZ_load_far(&instance_, 0xffffffffu); }), WASM_RT_TRAP_OOB);
  EXPECT_EQ(RunGuarded([&] { Z_probeZ_load64_far(&instance_, 0xffffffffu); }),
            WASM_RT_TRAP_OOB);
  EXPECT_EQ(RunGuarded([&] { Z_probeZ_store(&instance_, 3 * kPage, 1); }), WASM_RT_TRAP_OOB);
  // Bulk memory is checked before anything is written.
  EXPECT_EQ(RunGuarded([&] { Z_probeZ_fill(&instance_, 2 * kPage - 4, 0xee, 5); }),
            WASM_RT_TRAP_OOB);
  EXPECT_EQ(SNAKECAGE_LINEAR_MEMORY_BASE[2 * kPage - 4], 0);
  EXPECT_EQ(RunGuarded([&] { Z_probeZ_copy(&instance_, 0, 2 * kPage - 1, 2); }),
            WASM_RT_TRAP_OOB);
  // The instance is still usable.
  uint32_t ok = 0;
  ASSERT_EQ(RunGuarded([&] {
              Z_probeZ_store(&instance_, 2 * kPage - 4, 5);
              ok = Z_probeZ_load(&instance_, 2 * kPage - 4);
            }),
            WASM_RT_TRAP_NONE);
  EXPECT_EQ(ok, 5u);
}

TEST_F(ProbeTest, ArithmeticAndControlTraps) {
  EXPECT_EQ(RunGuarded([&] { Z_probeZ_div(&instance_, 1, 0); }), WASM_RT_TRAP_DIV_BY_ZERO);
  EXPECT_EQ(RunGuarded([&] { Z_probeZ_div(&instance_, 0x80000000u, 0xffffffffu); }),
            WASM_RT_TRAP_INT_OVERFLOW);
  EXPECT_EQ(RunGuarded([&] { Z_probeZ_crash(&instance_); }), WASM_RT_TRAP_UNREACHABLE);
  EXPECT_EQ(RunGuarded([&] { Z_probeZ_call_slot(&instance_, 1, 5); }),  // null slot
            WASM_RT_TRAP_CALL_INDIRECT);
  EXPECT_EQ(RunGuarded([&] { Z_probeZ_call_slot(&instance_, 2, 5); }),  // past the end
            WASM_RT_TRAP_CALL_INDIRECT);
  uint32_t via_table = 0;
  ASSERT_EQ(RunGuarded([&] { via_table = Z_probeZ_call_slot(&instance_, 0, 5); }),
            WASM_RT_TRAP_NONE);
  EXPECT_EQ(via_table, 5u);
}

TEST_F(ProbeTest, UnboundedRecursionTrapsWithExhaustionAndProcessSurvives) {
  EXPECT_EQ(RunGuarded([&] { Z_probeZ_recurse(&instance_, 0); }), WASM_RT_TRAP_EXHAUSTION);
  // The recursion really went deep before it trapped.
  uint32_t depth_reached;
  std::memcpy(&depth_reached, SNAKECAGE_LINEAR_MEMORY_BASE, 4);
  EXPECT_GT(depth_reached, 1000u);
  // It traps again (the alternate signal stack is reusable) ...
  EXPECT_EQ(RunGuarded([&] { Z_probeZ_recurse(&instance_, 0); }), WASM_RT_TRAP_EXHAUSTION);
  // ... and bounded recursion still works afterwards.
  uint32_t depth = 0;
  ASSERT_EQ(RunGuarded([&] { depth = Z_probeZ_deep(&instance_, 5000); }), WASM_RT_TRAP_NONE);
  EXPECT_EQ(depth, 5000u);
}

TEST_F(ProbeTest, UnboundedRecursionOnAnotherThreadTrapsToo) {
  wasm_rt_trap_t trap = WASM_RT_TRAP_NONE;
  uint32_t depth = 0;
  std::thread worker([&] {
    trap = RunGuarded([&] { Z_probeZ_recurse(&instance_, 0); });
    RunGuarded([&] { depth = Z_probeZ_deep(&instance_, 100); });
  });
  worker.join();
  EXPECT_EQ(trap, WASM_RT_TRAP_EXHAUSTION);
  EXPECT_EQ(depth, 100u);
}

using ProbeDeathTest = ProbeTest;

TEST_F(ProbeDeathTest, HostFaultOutsideGuestMemoryIsNotSwallowed) {
  // A fault in host code at an address that is neither linear memory nor the
  // stack must still kill the process with SIGSEGV.
  EXPECT_EXIT(
      {
        RunGuarded([&] {});
        *reinterpret_cast<volatile int*>(static_cast<uintptr_t>(64)) = 1;
      },
      ::testing::KilledBySignal(SIGSEGV), "");
}

TEST(RuntimeTest, FuncTypeRegistrationIsCanonical) {
  EnsureRuntime();
  uint32_t a = wasm_rt_register_func_type(2, 1, WASM_RT_I32, WASM_RT_F32, WASM_RT_I64);
  uint32_t b = wasm_rt_register_func_type(0, 1, WASM_RT_I32);
  uint32_t c = wasm_rt_register_func_type(2, 1, WASM_RT_I32, WASM_RT_F32, WASM_RT_I64);
  uint32_t d = wasm_rt_register_func_type(1, 2, WASM_RT_I32, WASM_RT_F32, WASM_RT_I64);
  EXPECT_NE(a, 0u);
  EXPECT_EQ(a, c);
  EXPECT_NE(a, b);
  EXPECT_NE(a, d);  // same types, different param/result split
}

TEST(RuntimeTest, TrapMessagesAreDistinct) {
  EXPECT_STREQ(wasm_rt_strerror(WASM_RT_TRAP_OOB),
               "Out-of-bounds access in linear memory or a table");
  EXPECT_STREQ(wasm_rt_strerror(WASM_RT_TRAP_EXHAUSTION), "Call stack exhausted");
  EXPECT_NE(WASM_RT_TRAP_OOB, WASM_RT_TRAP_EXHAUSTION);
}

}  // namespace
}  // namespace snakecage::engine::testing
