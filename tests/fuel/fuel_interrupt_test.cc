// The interrupt global (snakecage_interrupt): instrumented modules run in
// WABT's interpreter, the host raising the flag from an imported function or
// from an instruction hook (which plays the watchdog thread). Expected fuel
// counts are derived by hand in comments from the cost table in
// fuel_instrumenter.h: every operator costs 1 except nop, drop, block, loop,
// end, else, unreachable, return (0); a segment is charged at its start, and
// calls do not end a segment.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "fuel/fuel_instrumenter.h"
#include "fuel_test_util.h"

namespace snakecage::fuel {
namespace {

using testing::FuelRunner;
using testing::RunResult;
using testing::WatToWasm;

constexpr char kModuleWat[] = R"wat(
(module
  (type $i2i (func (param i32) (result i32)))
  (import "env" "host" (func $host (type $i2i)))
  (global $iterations (export "iterations") (mut i32) (i32.const 0))

  ;; i = 0; while (i < n) i = host(i);   host(i) returns i + 1.
  ;; Entry segment: `block` (0), `loop` (0), and the `local.get` after the
  ;; block (1): the block is left only through its end, so what follows it
  ;; is charged with the entry, 1, checked.
  ;; Loop header charges [local.get, local.get, i32.ge_s, br_if] = 4, checks.
  ;; Then [local.get, call, local.set, br] = 4 (calls do not end a segment).
  ;; A full iteration costs 8; the exit visit 4 => 1 + 8n + 4 = 8n + 5.
  (func (export "loop_calling_host") (param $n i32) (result i32)
    (local $i i32)
    block $done
      loop $l
        local.get $i
        local.get $n
        i32.ge_s
        br_if $done
        local.get $i
        call $host
        local.set $i
        br $l
      end
    end
    local.get $i)

  ;; local.get, i32.const, i32.add => 3, charged at entry, then checked.
  (func $leaf (type $i2i)
    local.get 0
    i32.const 1
    i32.add)

  ;; Entry segment [local.get, call $host, call $leaf] = 3, then $leaf's 3.
  (func (export "host_then_call") (type $i2i)
    local.get 0
    call $host
    call $leaf)

  ;; [local.get, call $host] = 2: no check point after the host call.
  (func (export "host_then_return") (type $i2i)
    local.get 0
    call $host)

  ;; Entry segment [i32.const, call, drop, loop] = 2 (drop, loop cost 0).
  ;; Loop header charges [local.get, i32.const, i32.add, local.set, br] = 5.
  ;; No calls in the loop, and it never exits.
  (func (export "spin_forever_after_host") (local $i i32)
    i32.const 0
    call $host
    drop
    loop $l
      local.get $i
      i32.const 1
      i32.add
      local.set $i
      br $l
    end)

  ;; Entry segment: `loop` (0). Each header visit charges [global.get,
  ;; i32.const, i32.add, global.set, br] = 5 before the body runs; the body
  ;; counts its runs in $iterations. No calls, never exits.
  (func (export "count_forever")
    loop $l
      global.get $iterations
      i32.const 1
      i32.add
      global.set $iterations
      br $l
    end)
)
)wat";

class InterruptTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<uint8_t> wasm = WatToWasm(kModuleWat);
    ASSERT_FALSE(wasm.empty());
    auto instrumented = InstrumentFuel(wasm);
    ASSERT_TRUE(instrumented.ok()) << instrumented.status().message();
    runner_ = std::make_unique<FuelRunner>(*instrumented);
    ASSERT_TRUE(runner_->ok());
  }

  // Makes the host function raise the interrupt (to `value`) on its
  // `nth_call`-th call (1-based) and record the fuel it saw then.
  void InterruptOnHostCall(int nth_call, uint64_t value = kInterruptRaised) {
    host_calls_ = 0;
    runner_->set_host_hook([this, nth_call, value] {
      if (++host_calls_ == nth_call) {
        fuel_seen_by_host_ = runner_->fuel();
        runner_->set_interrupt(value);
      }
    });
  }

  std::unique_ptr<FuelRunner> runner_;
  int host_calls_ = 0;
  int64_t fuel_seen_by_host_ = 0;
};

TEST_F(InterruptTest, WithoutInterruptTheLoopRunsToTheEnd) {
  // The control for the next test: 8 * 10 + 5 = 85.
  RunResult run = runner_->Call("loop_calling_host", {10}, 1000);
  EXPECT_FALSE(run.trapped) << run.trap_message;
  EXPECT_EQ(run.exhausted, 0);
  EXPECT_EQ(run.interrupt, 0u);
  EXPECT_EQ(run.consumed, 85);
  ASSERT_EQ(run.results.size(), 1u);
  EXPECT_EQ(run.results[0].Get<uint32_t>(), 10u);
}

TEST_F(InterruptTest, InterruptFromHostTrapsAtNextLoopHeaderWithExactFuel) {
  // The host raises the interrupt on its k-th call (iteration k). By then
  // the entry (1), k - 1 full iterations (8 each) and iteration k's two
  // segments (4 + 4) were charged: the host sees budget - (8k + 1). The loop
  // then stores i, branches to the header, which charges 4 and traps:
  // consumed = 8k + 5.
  constexpr int64_t kBudget = 1000;
  for (int k : {1, 2, 3, 7}) {
    InterruptOnHostCall(k);
    RunResult run = runner_->Call("loop_calling_host", {10}, kBudget);
    EXPECT_TRUE(run.trapped) << "k=" << k;
    EXPECT_EQ(run.exhausted, kExhaustedByInterrupt) << "k=" << k;
    EXPECT_EQ(host_calls_, k) << "k=" << k;
    EXPECT_EQ(fuel_seen_by_host_, kBudget - (8 * k + 1)) << "k=" << k;
    EXPECT_EQ(run.consumed, 8 * k + 5) << "k=" << k;
    EXPECT_EQ(run.remaining, kBudget - (8 * k + 5)) << "k=" << k;
    // The guest never clears the flag; the host does, before the next run.
    EXPECT_EQ(run.interrupt, kInterruptRaised) << "k=" << k;
  }
}

TEST_F(InterruptTest, FunctionEntriesCheckFuelButNotTheInterrupt) {
  // The interrupt is read at loop headers only (every unbounded execution
  // passes one; reading it at every function entry cost ~4 points of
  // overhead on CPython). host_then_call charges 3 at entry; the host raises
  // the interrupt; $leaf charges 3 at its entry and goes on: the run ends
  // normally (result 7, consumed 6) with the flag still set.
  InterruptOnHostCall(1);
  RunResult run = runner_->Call("host_then_call", {5}, 100);
  EXPECT_FALSE(run.trapped) << run.trap_message;
  EXPECT_EQ(run.exhausted, 0);
  EXPECT_EQ(fuel_seen_by_host_, 100 - 3);
  EXPECT_EQ(run.consumed, 6);
  EXPECT_EQ(run.interrupt, kInterruptRaised);
  ASSERT_EQ(run.results.size(), 1u);
  EXPECT_EQ(run.results[0].Get<uint32_t>(), 7u);
}

TEST_F(InterruptTest, RaisedInterruptTrapsWhateverFuelIsLeft) {
  // Loop headers compare the fuel with the interrupt word: raised
  // (INT64_MAX), every fuel that was charged is below it, however large the
  // budget. Raised at the first host call of loop_calling_host: the next
  // header visit traps, consumed 8 * 1 + 5 (see InterruptFromHostTraps...).
  for (int64_t budget : {int64_t{13}, int64_t{1000}, int64_t{1} << 40,
                         kUnmeteredFuel}) {
    InterruptOnHostCall(1);
    RunResult run = runner_->Call("loop_calling_host", {10}, budget);
    EXPECT_TRUE(run.trapped) << "budget=" << budget;
    EXPECT_EQ(run.exhausted, kExhaustedByInterrupt) << "budget=" << budget;
    EXPECT_EQ(run.consumed, 13) << "budget=" << budget;
    EXPECT_EQ(run.remaining, budget - 13) << "budget=" << budget;
  }
}

TEST_F(InterruptTest, LoopWithoutCallsAndUnlimitedBudgetStopsAtItsHeader) {
  // Budget INT64_MAX: fuel can never run out here. The host raises the
  // interrupt before the loop; the first header visit charges 5 and traps
  // before the body runs: consumed 2 + 5 = 7.
  InterruptOnHostCall(1);
  RunResult run = runner_->Call("spin_forever_after_host", {}, kUnmeteredFuel);
  EXPECT_TRUE(run.trapped);
  EXPECT_EQ(run.exhausted, kExhaustedByInterrupt);
  EXPECT_EQ(run.consumed, 7);
  EXPECT_EQ(run.remaining, kUnmeteredFuel - 7);
}

TEST_F(InterruptTest, InterruptRaisedWhileALoopRunsStopsItAtTheNextIteration) {
  // The watchdog's case: no calls, the flag raised from "outside" while the
  // loop body runs. The instruction hook raises it as soon as the body has
  // counted its K-th run; the K+1-th header visit charges 5 and traps before
  // the body runs again. Header visits 1..K+1 charged 5 each: consumed
  // 5(K + 1). The budget (200 000 iterations) is far more than needed, but
  // finite, so that a broken interrupt fails fast (as an out-of-fuel trap).
  constexpr uint32_t kRuns = 1000;
  constexpr int64_t kBudget = 1'000'000;
  runner_->set_instruction_hook([this] {
    if (runner_->interrupt() == 0 &&
        runner_->GlobalU32("iterations") == kRuns) {
      runner_->set_interrupt(kInterruptRaised);
    }
  });
  RunResult run = runner_->Call("count_forever", {}, kBudget);
  EXPECT_TRUE(run.trapped);
  EXPECT_EQ(run.exhausted, kExhaustedByInterrupt);
  EXPECT_EQ(runner_->GlobalU32("iterations"), kRuns);
  EXPECT_EQ(run.consumed, 5 * (int64_t{kRuns} + 1));
}

TEST_F(InterruptTest, InterruptWinsWhenFuelIsAlsoGoneAtTheSameCheck) {
  // Budget 4: entry charges 3 (1 left), $leaf's entry charges 3 (-2). With
  // the interrupt raised by the host, both hold at $leaf's check: the flag
  // says interrupt, and the fuel global says the budget was gone too.
  InterruptOnHostCall(1);
  RunResult both = runner_->Call("host_then_call", {5}, 4);
  EXPECT_TRUE(both.trapped);
  EXPECT_EQ(both.exhausted, kExhaustedByInterrupt);
  EXPECT_EQ(both.remaining, -2);

  // The same run without the interrupt is an out-of-fuel trap, same count.
  runner_->set_host_hook(nullptr);
  RunResult fuel_only = runner_->Call("host_then_call", {5}, 4);
  EXPECT_TRUE(fuel_only.trapped);
  EXPECT_EQ(fuel_only.exhausted, kExhaustedByFuel);
  EXPECT_EQ(fuel_only.remaining, -2);
}

TEST_F(InterruptTest, RunWithoutACheckPointAfterTheInterruptCompletes) {
  // host_then_return reaches no check point after the host call: the run
  // completes normally (result 6, consumed 2) with the flag still set.
  InterruptOnHostCall(1);
  RunResult run = runner_->Call("host_then_return", {5}, 100);
  EXPECT_FALSE(run.trapped) << run.trap_message;
  EXPECT_EQ(run.exhausted, 0);
  EXPECT_EQ(run.interrupt, kInterruptRaised);
  EXPECT_EQ(run.consumed, 2);
  ASSERT_EQ(run.results.size(), 1u);
  EXPECT_EQ(run.results[0].Get<uint32_t>(), 6u);
}

TEST_F(InterruptTest, InterruptRaisedBeforeTheRunTrapsAtTheFirstLoopHeader) {
  // FuelRunner::Call clears the flag, as the host contract asks; raise it
  // from the instruction hook at the first instruction instead. The entry
  // check of loop_calling_host (1) sees only fuel; the first loop header
  // charges 4 and traps; the host function is never called.
  runner_->set_instruction_hook([this] { runner_->set_interrupt(kInterruptRaised); });
  int host_calls = 0;
  runner_->set_host_hook([&host_calls] { ++host_calls; });
  RunResult run = runner_->Call("loop_calling_host", {5}, 100);
  EXPECT_TRUE(run.trapped);
  EXPECT_EQ(run.exhausted, kExhaustedByInterrupt);
  EXPECT_EQ(run.consumed, 5);
  EXPECT_EQ(host_calls, 0);
}

}  // namespace
}  // namespace snakecage::fuel
