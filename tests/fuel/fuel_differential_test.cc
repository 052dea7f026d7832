// Differential test: on programs with recursion, nested loops, br_table
// dispatch, early returns and branches carrying values, the segment-based
// fuel count must equal a naive count that charges 1 before every costed
// operator (reference_counter.h), for every input tried.

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "fuel/fuel_instrumenter.h"
#include "fuel_test_util.h"
#include "reference_counter.h"

namespace snakecage::fuel {
namespace {

using testing::FuelRunner;
using testing::RunResult;

constexpr char kProgramsWat[] = R"wat(
(module
  (type $i2i (func (param i32) (result i32)))
  (import "env" "host" (func $host (type $i2i)))
  (memory 1)
  (table 2 funcref)
  (elem (i32.const 0) $fib $collatz)

  ;; Bytecode for $vm at address 0 (ops: 0 halt, 1 push imm, 2 add-acc,
  ;; 3 dec, 4 jnz target):  0: push n   2: add-acc   3: dec   4: jnz 2
  ;; 6: halt. Computes n + (n-1) + ... + 1.
  (data (i32.const 0) "\01\00\02\03\04\02\00")

  (func $fib (export "fib") (type $i2i)
    local.get 0
    i32.const 2
    i32.lt_u
    if
      local.get 0
      return
    end
    local.get 0
    i32.const 1
    i32.sub
    call $fib
    local.get 0
    i32.const 2
    i32.sub
    call $fib
    i32.add)

  (func $collatz (export "collatz") (type $i2i) (local $steps i32)
    block $done
      loop $next
        local.get 0
        i32.const 1
        i32.le_u
        br_if $done
        local.get 0
        i32.const 1
        i32.and
        if
          local.get 0
          i32.const 3
          i32.mul
          i32.const 1
          i32.add
          local.set 0
        else
          local.get 0
          i32.const 1
          i32.shr_u
          local.set 0
        end
        local.get $steps
        i32.const 1
        i32.add
        local.set $steps
        br $next
      end
    end
    local.get $steps)

  ;; A stack-free bytecode interpreter: acc, counter, pc.
  (func (export "vm") (param $n i32) (result i32)
    (local $pc i32) (local $acc i32) (local $counter i32) (local $op i32)
    ;; patch the immediate of "push" with n
    i32.const 1
    local.get $n
    i32.store8
    loop $dispatch
      local.get $pc
      i32.load8_u
      local.set $op
      local.get $pc
      i32.const 1
      i32.add
      local.set $pc
      block $halt
        block $add
          block $jnz
            block $dec
              block $push
                local.get $op
                br_table $halt $push $add $dec $jnz $halt
              end
              ;; push imm
              local.get $pc
              i32.load8_u
              local.set $counter
              local.get $pc
              i32.const 1
              i32.add
              local.set $pc
              br $dispatch
            end
            ;; dec
            local.get $counter
            i32.const 1
            i32.sub
            local.set $counter
            br $dispatch
          end
          ;; jnz target
          local.get $pc
          i32.load8_u
          local.get $pc
          i32.const 1
          i32.add
          local.get $counter
          select
          local.set $pc
          br $dispatch
        end
        ;; add-acc
        local.get $acc
        local.get $counter
        i32.add
        local.set $acc
        br $dispatch
      end
    end
    local.get $acc)

  ;; Sieve of Eratosthenes in linear memory from address 1024.
  (func (export "sieve") (param $n i32) (result i32)
    (local $i i32) (local $j i32) (local $count i32)
    i32.const 1024
    i32.const 0
    local.get $n
    memory.fill
    i32.const 2
    local.set $i
    block $outer_done
      loop $outer
        local.get $i
        local.get $n
        i32.ge_u
        br_if $outer_done
        block $continue
          local.get $i
          i32.const 1024
          i32.add
          i32.load8_u
          br_if $continue
          local.get $count
          i32.const 1
          i32.add
          local.set $count
          local.get $i
          local.get $i
          i32.mul
          local.set $j
          block $inner_done
            loop $inner
              local.get $j
              local.get $n
              i32.ge_u
              br_if $inner_done
              local.get $j
              i32.const 1024
              i32.add
              i32.const 1
              i32.store8
              local.get $j
              local.get $i
              i32.add
              local.set $j
              br $inner
            end
          end
        end
        local.get $i
        i32.const 1
        i32.add
        local.set $i
        br $outer
      end
    end
    local.get $count)

  ;; Branches that carry values, nested early exits, indirect and host calls:
  ;; x % 3 == 0: count down from x; x % 5 == 0: collatz(x) (indirect);
  ;; x % 7 == 0: host(x) and return; else fib(x & 15) (indirect).
  (func (export "mixed") (param $x i32) (result i32) (local $k i32)
    block $out (result i32)
      block $mid (result i32)
        local.get $x
        local.get $x
        i32.const 3
        i32.rem_u
        i32.eqz
        br_if $mid
        drop
        local.get $x
        i32.const 5
        i32.rem_u
        i32.eqz
        if (result i32)
          local.get $x
          i32.const 1
          call_indirect (type $i2i)
        else
          local.get $x
          i32.const 7
          i32.rem_u
          i32.eqz
          if
            local.get $x
            call $host
            return
          end
          local.get $x
          i32.const 15
          i32.and
          i32.const 0
          call_indirect (type $i2i)
        end
        br $out
      end
      local.set $k
      loop $l (result i32)
        local.get $k
        i32.const 1
        i32.sub
        local.tee $k
        local.get $k
        i32.const 0
        i32.gt_s
        br_if $l
      end
      nop
    end
    i32.const 1000
    i32.add)
)
)wat";

class FuelDifferentialTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::vector<uint8_t> wasm = testing::WatToWasm(kProgramsWat);
    ASSERT_FALSE(wasm.empty());
    auto instrumented = InstrumentFuel(wasm);
    ASSERT_TRUE(instrumented.ok()) << instrumented.status().message();
    ASSERT_EQ(testing::ValidationErrors(*instrumented), "");
    metered_ = std::make_unique<FuelRunner>(*instrumented);
    ASSERT_TRUE(metered_->ok());
    const std::vector<uint8_t> reference = testing::AddReferenceCounter(wasm);
    ASSERT_FALSE(reference.empty());
    reference_ = std::make_unique<FuelRunner>(reference);
    ASSERT_TRUE(reference_->ok());
  }

  // Runs `name(arg)` in both modules and expects equal results and counts.
  void ExpectSameCount(const char* name, uint32_t arg) {
    constexpr int64_t kBudget = 1'000'000'000;
    RunResult metered = metered_->Call(name, {arg}, kBudget);
    RunResult reference = reference_->Call(name, {arg}, kBudget);
    ASSERT_FALSE(metered.trapped)
        << name << "(" << arg << "): " << metered.trap_message;
    ASSERT_FALSE(reference.trapped) << reference.trap_message;
    ASSERT_EQ(metered.results.size(), 1u);
    ASSERT_EQ(reference.results.size(), 1u);
    EXPECT_EQ(metered.results[0].Get<uint32_t>(),
              reference.results[0].Get<uint32_t>())
        << name << "(" << arg << ")";
    EXPECT_GT(reference.consumed, 0) << name << "(" << arg << ")";
    EXPECT_EQ(metered.consumed, reference.consumed)
        << name << "(" << arg << ")";
  }

  std::unique_ptr<FuelRunner> metered_;
  std::unique_ptr<FuelRunner> reference_;
};

TEST_F(FuelDifferentialTest, RecursiveFib) {
  for (uint32_t n = 0; n <= 15; ++n) ExpectSameCount("fib", n);
}

TEST_F(FuelDifferentialTest, Collatz) {
  for (uint32_t n = 0; n <= 60; ++n) ExpectSameCount("collatz", n);
}

TEST_F(FuelDifferentialTest, BytecodeInterpreter) {
  for (uint32_t n = 1; n <= 40; ++n) ExpectSameCount("vm", n);
}

TEST_F(FuelDifferentialTest, Sieve) {
  for (uint32_t n : {0u, 1u, 2u, 3u, 10u, 100u, 1000u, 5000u}) {
    ExpectSameCount("sieve", n);
  }
}

TEST_F(FuelDifferentialTest, BranchesWithValuesAndEarlyExits) {
  for (uint32_t x = 1; x <= 60; ++x) ExpectSameCount("mixed", x);
}

}  // namespace
}  // namespace snakecage::fuel
