// Exact fuel counts of hand-written modules, instrumented and run in WABT's
// interpreter. Every expected number is derived by hand in a comment from
// the cost table in fuel_instrumenter.h: every operator costs 1 except nop,
// drop, block, loop, end, else, unreachable, return (0).

#include "fuel/fuel_instrumenter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "fuel_test_util.h"
#include "wabt/binary-reader-ir.h"
#include "wabt/binary-reader.h"
#include "wabt/ir.h"

namespace snakecage::fuel {
namespace {

using testing::FuelRunner;
using ::testing::HasSubstr;
using testing::RunResult;
using testing::ValidationErrors;
using testing::WatToWasm;

constexpr int64_t kBigBudget = 1'000'000'000;

// One module holding all the metered functions the tests call.
constexpr char kModuleWat[] = R"wat(
(module
  (type $i2i (func (param i32) (result i32)))
  (import "env" "host" (func $host (type $i2i)))
  (table 1 funcref)
  (elem (i32.const 0) $leaf)

  ;; local.get, local.get, i32.add, local.get, i32.add, nop, i32.const, drop
  (func (export "straight") (param i32 i32 i32) (result i32)
    local.get 0
    local.get 1
    i32.add
    local.get 2
    i32.add
    nop
    i32.const 7
    drop)

  (func (export "if_else") (param i32) (result i32)
    local.get 0
    if (result i32)
      i32.const 10
    else
      i32.const 20
      i32.const 1
      i32.add
    end
    i32.const 2
    i32.mul)

  (func (export "if_no_else") (param i32) (result i32) (local i32)
    local.get 0
    if
      i32.const 5
      local.set 1
    end
    local.get 1)

  (func (export "count") (param $n i32) (result i32) (local $i i32)
    block $done
      loop $l
        local.get $i
        local.get $n
        i32.ge_s
        br_if $done
        local.get $i
        i32.const 1
        i32.add
        local.set $i
        br $l
      end
    end
    local.get $i)

  (func (export "spin") (param $n i32) (local $i i32)
    loop $l
      local.get $i
      i32.const 1
      i32.add
      local.tee $i
      local.get $n
      i32.lt_s
      br_if $l
    end)

  (func (export "nested") (param $n i32) (param $m i32) (result i32)
    (local $i i32) (local $j i32) (local $acc i32)
    block $done_i
      loop $li
        local.get $i
        local.get $n
        i32.ge_s
        br_if $done_i
        i32.const 0
        local.set $j
        block $done_j
          loop $lj
            local.get $j
            local.get $m
            i32.ge_s
            br_if $done_j
            local.get $acc
            i32.const 1
            i32.add
            local.set $acc
            local.get $j
            i32.const 1
            i32.add
            local.set $j
            br $lj
          end
        end
        local.get $i
        i32.const 1
        i32.add
        local.set $i
        br $li
      end
    end
    local.get $acc)

  (func (export "br_if") (param i32) (result i32)
    block $out (result i32)
      i32.const 1
      local.get 0
      br_if $out
      drop
      i32.const 2
      i32.const 3
      i32.add
    end
    i32.const 10
    i32.add)

  (func (export "br_table") (param i32) (result i32)
    block $b2
      block $b1
        block $b0
          local.get 0
          br_table $b0 $b1 $b2
        end
        i32.const 100
        return
      end
      i32.const 200
      i32.const 1
      i32.add
      return
    end
    i32.const 300
    i32.const 1
    i32.sub
    i32.const 1
    i32.sub)

  (func $leaf (type $i2i)
    local.get 0
    i32.const 1
    i32.add)

  (func $mid (type $i2i)
    local.get 0
    call $leaf
    call $leaf)

  (func (export "calls") (type $i2i)
    local.get 0
    call $mid
    call $host
    call $mid)

  (func (export "indirect") (type $i2i)
    local.get 0
    i32.const 0
    call_indirect (type $i2i))

  (func (export "zero_cost")
    nop
    block
      nop
      loop
        nop
      end
    end
    nop)

  (func (export "dead_code") (result i32)
    block $b
      br $b
      i32.const 1
      drop
      loop $forever
        br $forever
      end
    end
    i32.const 42)

  (func (export "early_return") (param i32) (result i32)
    local.get 0
    if
      i32.const 1
      return
    end
    i32.const 2
    i32.const 3
    i32.add)

  (func (export "multi_value") (param i32) (result i32)
    local.get 0
    i32.const 3
    block (param i32 i32) (result i32)
      i32.add
    end
    i32.const 2
    i32.mul)

  (func (export "boom")
    i32.const 1
    drop
    unreachable)

  (func (export "forever")
    loop $l
      br $l
    end)
)
)wat";

class FuelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    original_ = WatToWasm(kModuleWat);
    ASSERT_FALSE(original_.empty());
    auto instrumented = InstrumentFuel(original_, &stats_);
    ASSERT_TRUE(instrumented.ok()) << instrumented.status().message();
    instrumented_ = std::move(instrumented).value();
    runner_ = std::make_unique<FuelRunner>(instrumented_);
    ASSERT_TRUE(runner_->ok());
  }

  // Runs `name` with a big budget, expects no trap and the i32 `result`,
  // and returns the fuel consumed.
  int64_t Consumed(std::string_view name, const std::vector<uint32_t>& args,
                   uint32_t expected_result) {
    RunResult run = runner_->Call(name, args, kBigBudget);
    EXPECT_FALSE(run.trapped) << name << ": " << run.trap_message;
    EXPECT_EQ(run.exhausted, 0) << name;
    EXPECT_EQ(run.results.size(), 1u) << name;
    if (run.results.size() == 1) {
      EXPECT_EQ(run.results[0].Get<uint32_t>(), expected_result) << name;
    }
    return run.consumed;
  }

  // `name` needs exactly `need` and its last charge is checked: with that
  // budget it completes with nothing left; with one less it traps out of
  // fuel, one short.
  void ExpectNeedsExactly(std::string_view name, const std::vector<uint32_t>& args,
                          int64_t need) {
    RunResult exact = runner_->Call(name, args, need);
    EXPECT_FALSE(exact.trapped) << name << ": " << exact.trap_message;
    EXPECT_EQ(exact.exhausted, 0) << name;
    EXPECT_EQ(exact.remaining, 0) << name;
    RunResult short_by_one = runner_->Call(name, args, need - 1);
    EXPECT_TRUE(short_by_one.trapped) << name;
    EXPECT_EQ(short_by_one.exhausted, kExhaustedByFuel) << name;
    EXPECT_EQ(short_by_one.remaining, -1) << name;
  }

  std::vector<uint8_t> original_;
  std::vector<uint8_t> instrumented_;
  InstrumentStats stats_;
  std::unique_ptr<FuelRunner> runner_;
};

TEST_F(FuelTest, InstrumentedModuleValidates) {
  EXPECT_EQ(ValidationErrors(instrumented_), "");
}

TEST_F(FuelTest, StatsCountFunctionsChargesAndChecks) {
  // 18 defined functions (the import is not instrumented).
  // Checks: one per function entry (18) + one per reachable loop header:
  // count, spin, nested x2, zero_cost, forever = 6 (the loop in dead_code
  // is dead) => 24.
  // Charge points = segments with non-zero cost, per function. Entering a
  // block and leaving one no branch targets do not end a segment, and the
  // code after a closed block or if (nothing inside leaves it but through
  // its end) is charged with the segment before it:
  //   straight 1, if_else 3 (entry with the code after the if, then, else),
  //   if_no_else 2 (entry with the code after, then), count 3 (entry with
  //   the code after the closed block, header, after br_if), spin 1,
  //   nested 5 (entry with the code after the outer block; per loop: header
  //   and after br_if, the inner block's code after it going with the outer
  //   loop's after-br_if segment), br_if 2 (entry: the block body up to
  //   br_if and the code after the block; after br_if), br_table 4 (entry
  //   and $b0's body, after each block: the returns leave them), leaf 1,
  //   mid 1, calls 1, indirect 1, zero_cost 0, dead_code 1 (entry with the
  //   code after the block), early_return 3 (the return leaves the if),
  //   multi_value 1, boom 1, forever 1 => 32
  EXPECT_EQ(stats_.functions_instrumented, 18u);
  EXPECT_EQ(stats_.checks, 24u);
  EXPECT_EQ(stats_.charge_points, 32u);
}

TEST_F(FuelTest, GlobalsStartUnmeteredNotExhaustedNotInterrupted) {
  EXPECT_EQ(runner_->fuel(), INT64_MAX);
  EXPECT_EQ(runner_->exhausted(), 0);
  EXPECT_EQ(runner_->interrupt(), 0u);
}

TEST_F(FuelTest, StraightLineFunction) {
  // local.get 1, local.get 1, i32.add 1, local.get 1, i32.add 1, nop 0,
  // i32.const 1, drop 0, end 0  =>  6
  EXPECT_EQ(Consumed("straight", {1, 2, 3}, 6), 6);
}

TEST_F(FuelTest, IfElseChargesOnlyTheArmTaken) {
  // Before the arms: local.get 1 + if 1 = 2. After `end`: i32.const 1 +
  // i32.mul 1 = 2.
  // then-arm: i32.const 1 (+ else 0)             => 2 + 1 + 2 = 5
  // else-arm: i32.const 1, i32.const 1, i32.add 1 => 2 + 3 + 2 = 7
  EXPECT_EQ(Consumed("if_else", {1}, 20), 5);
  EXPECT_EQ(Consumed("if_else", {0}, 42), 7);
}

TEST_F(FuelTest, IfWithoutElse) {
  // local.get 1 + if 1 = 2; then-arm i32.const 1 + local.set 1 = 2;
  // after end: local.get 1.
  // taken: 2 + 2 + 1 = 5; not taken: 2 + 1 = 3
  EXPECT_EQ(Consumed("if_no_else", {1}, 5), 5);
  EXPECT_EQ(Consumed("if_no_else", {0}, 0), 3);
}

TEST_F(FuelTest, LoopCountIsLinearInIterations) {
  // The loop header runs n+1 times. Each of the n full iterations costs
  // local.get, local.get, i32.ge_s, br_if (4) + local.get, i32.const,
  // i32.add, local.set, br (5) = 9. The last header visit costs 4 (br_if
  // taken), then local.get after the block = 1. block/loop/end cost 0.
  // => 9n + 5
  for (uint32_t n : {0u, 1u, 2u, 10u, 1000u}) {
    EXPECT_EQ(Consumed("count", {n}, n), 9 * int64_t{n} + 5) << "n=" << n;
  }
}

TEST_F(FuelTest, NestedLoopsMultiply) {
  // Inner loop for one outer iteration: 13 per iteration (4 header + 4
  // acc + 4 j + br 1) and 4 for the exit => 13m + 4.
  // Outer iteration: header 4 + (i32.const, local.set) 2 + inner 13m + 4 +
  // (local.get, i32.const, i32.add, local.set, br) 5 = 13m + 15.
  // Exit: header 4 + local.get 1 = 5.  => n(13m + 15) + 5
  struct Case {
    uint32_t n, m;
  };
  for (Case c :
       {Case{0, 0}, Case{1, 0}, Case{0, 7}, Case{3, 4}, Case{20, 30}}) {
    const int64_t n = c.n, m = c.m;
    EXPECT_EQ(Consumed("nested", {c.n, c.m}, c.n * c.m), n * (13 * m + 15) + 5)
        << "n=" << n << " m=" << m;
  }
}

TEST_F(FuelTest, BrIfTakenAndNotTaken) {
  // i32.const 1, local.get 1, br_if 1 = 3; after the block: i32.const 1,
  // i32.add 1 = 2.
  // taken (p != 0): 3 + 2 = 5 (result 1 + 10 = 11)
  // not taken: + drop 0, i32.const 1, i32.const 1, i32.add 1 = 3 => 8
  //            (result 5 + 10 = 15)
  EXPECT_EQ(Consumed("br_if", {1}, 11), 5);
  EXPECT_EQ(Consumed("br_if", {0}, 15), 8);
}

TEST_F(FuelTest, BrTableEachTarget) {
  // local.get 1 + br_table 1 = 2, then
  // case 0: i32.const 1, return 0            => 3
  // case 1: i32.const, i32.const, i32.add 3  => 5
  // default: i32.const, i32.const, i32.sub, i32.const, i32.sub 5 => 7
  EXPECT_EQ(Consumed("br_table", {0}, 100), 3);
  EXPECT_EQ(Consumed("br_table", {1}, 201), 5);
  EXPECT_EQ(Consumed("br_table", {2}, 298), 7);
  EXPECT_EQ(Consumed("br_table", {99}, 298), 7);
}

TEST_F(FuelTest, NestedCallsChargeEachFunctionItsOwnOperators) {
  // leaf: local.get, i32.const, i32.add                      = 3
  // mid:  local.get, call, call = 3 + 2 leaf calls            = 3 + 6 = 9
  // calls: local.get, call $mid, call $host, call $mid = 4 + 2 mid calls
  //        (the imported host function is not metered)       = 4 + 18 = 22
  // result: p + 2 (mid) + 1 (host) + 2 (mid) = p + 5
  EXPECT_EQ(Consumed("calls", {10}, 15), 22);
}

TEST_F(FuelTest, IndirectCall) {
  // local.get, i32.const, call_indirect = 3, + leaf 3 => 6
  EXPECT_EQ(Consumed("indirect", {4}, 5), 6);
}

TEST_F(FuelTest, ZeroCostOnlyFunctionConsumesNothing) {
  // nop, block, nop, loop, nop, end, end, nop, end: all cost 0.
  RunResult run = runner_->Call("zero_cost", {}, kBigBudget);
  EXPECT_FALSE(run.trapped) << run.trap_message;
  EXPECT_EQ(run.consumed, 0);
  // A budget of 0 is enough: checks trap only on negative fuel.
  run = runner_->Call("zero_cost", {}, 0);
  EXPECT_FALSE(run.trapped) << run.trap_message;
  EXPECT_EQ(run.remaining, 0);
}

TEST_F(FuelTest, DeadCodeIsNotCharged) {
  // br 1; the rest of the block (including an infinite loop) never runs;
  // after the block: i32.const 1  => 2
  EXPECT_EQ(Consumed("dead_code", {}, 42), 2);
}

TEST_F(FuelTest, EarlyReturnCostsNothingItself) {
  // local.get 1 + if 1 = 2; then-arm: i32.const 1, return 0 => 3
  // else: after end: i32.const, i32.const, i32.add 3        => 5
  EXPECT_EQ(Consumed("early_return", {1}, 1), 3);
  EXPECT_EQ(Consumed("early_return", {0}, 5), 5);
}

TEST_F(FuelTest, BlockWithParameters) {
  // local.get 1, i32.const 1, block 0, i32.add 1, end 0, i32.const 1,
  // i32.mul 1 => 5 ; result (p + 3) * 2
  EXPECT_EQ(Consumed("multi_value", {4}, 14), 5);
}

TEST_F(FuelTest, SegmentGoesThroughABlockNoBranchTargets) {
  // multi_value's block is entered and left straight-line, so the whole
  // body (5) is one segment, charged and checked at entry: with a budget of
  // 4 it traps there, before anything ran. (Were the block's end a segment
  // boundary, entry would charge only 2 and the run would finish at -1.)
  ExpectNeedsExactly("multi_value", {4}, 5);
}

TEST_F(FuelTest, CodeAfterAClosedBlockIsChargedWithTheSegmentBeforeIt) {
  // br_if's block is left only through its end (its br_if targets the block
  // itself), so the code after it (i32.const, i32.add = 2) runs whenever the
  // entry does and is charged there, with the block body up to br_if (3):
  // entry 5, checked. Taken branch: 5 in all, so a budget of 5 runs and 4
  // traps at entry, before anything ran.
  ExpectNeedsExactly("br_if", {1}, 5);
}

TEST_F(FuelTest, UnreachableTrapIsNotFuelExhaustion) {
  // i32.const 1, drop 0, unreachable 0 => 1; the trap is the guest's own.
  RunResult run = runner_->Call("boom", {}, kBigBudget);
  EXPECT_TRUE(run.trapped);
  EXPECT_EQ(run.exhausted, 0);
  EXPECT_EQ(run.consumed, 1);
}

TEST_F(FuelTest, ExactBudgetRunsAndOneLessTraps) {
  // "straight" needs 6, all charged at entry, then checked.
  ExpectNeedsExactly("straight", {1, 2, 3}, 6);
}

TEST_F(FuelTest, ExactBudgetInALoop) {
  // "spin": each iteration is one segment charged at the loop header:
  // local.get, i32.const, i32.add, local.tee, local.get, i32.lt_s, br_if = 7.
  // Entry segment is just `loop` (0). n iterations => 7n, and the last
  // charge is followed by a check.
  constexpr uint32_t kN = 50;
  ExpectNeedsExactly("spin", {kN}, 7 * kN);
}

TEST_F(FuelTest, OverrunAfterTheLastCheckIsNotATrap) {
  // early_return with 0 needs 5: entry (local.get, if = 2), checked, then
  // the code after the if (3), a segment of its own because the then-arm's
  // return leaves the if, charged without a check. With a budget of 4 the
  // entry check sees 2, the function finishes and leaves -1: the host sees
  // consumed 5 > budget; the trap would come at the next entry or loop
  // header.
  RunResult run = runner_->Call("early_return", {0}, 4);
  EXPECT_FALSE(run.trapped) << run.trap_message;
  EXPECT_EQ(run.exhausted, 0);
  EXPECT_EQ(run.remaining, -1);
  EXPECT_EQ(run.consumed, 5);
}

TEST_F(FuelTest, CodeAfterALoopInAClosedBlockIsPaidBeforeTheLoop) {
  // "count" with n = 10 needs 9 * 10 + 5 = 95. The local.get after its
  // block (1) is charged at entry (the block is closed), so the last check,
  // at the final loop-header visit, already covers all 95: a budget of 94
  // traps there, with nothing left unpaid.
  ExpectNeedsExactly("count", {10}, 95);
}

TEST_F(FuelTest, ExhaustionAtCalleeEntry) {
  // "calls" charges its whole first segment at entry: 4 (calls do not end a
  // segment). $mid's entry charges 3 and checks. Budget 6: 6 - 4 = 2 at
  // the caller's check, 2 - 3 = -1 at $mid's check => trap, consumed 7.
  RunResult run = runner_->Call("calls", {0}, 6);
  EXPECT_TRUE(run.trapped);
  EXPECT_EQ(run.exhausted, 1);
  EXPECT_EQ(run.consumed, 7);
}

TEST_F(FuelTest, InfiniteLoopTraps) {
  // Entry segment is `loop` (0): check only. Each header visit charges
  // br (1) and checks. With budget B the (B+1)-th visit sees -1 => trap,
  // consumed B + 1.
  RunResult run = runner_->Call("forever", {}, 1000);
  EXPECT_TRUE(run.trapped);
  EXPECT_EQ(run.exhausted, 1);
  EXPECT_EQ(run.consumed, 1001);
}

TEST_F(FuelTest, GlobalsAreAppendedAndFunctionNamesKept) {
  wabt::Module module;
  wabt::Errors errors;
  wabt::ReadBinaryOptions options(wabt::Features(), nullptr,
                                  /*read_debug_names=*/true, true, true);
  ASSERT_TRUE(wabt::Succeeded(
      wabt::ReadBinaryIr("out.wasm", instrumented_.data(), instrumented_.size(),
                         options, &errors, &module)));
  // The test module has no globals of its own, so the three new ones are
  // 0 (fuel), 1 (exhausted), 2 (interrupt), exported under their names.
  ASSERT_EQ(module.globals.size(), 3u);
  EXPECT_EQ(module.globals[0]->type, wabt::Type::I64);
  EXPECT_TRUE(module.globals[0]->mutable_);
  EXPECT_EQ(module.globals[1]->type, wabt::Type::I32);
  EXPECT_TRUE(module.globals[1]->mutable_);
  EXPECT_EQ(module.globals[2]->type, wabt::Type::I64);
  EXPECT_TRUE(module.globals[2]->mutable_);
  std::map<std::string, wabt::Index> global_exports;
  for (const wabt::Export* exp : module.exports) {
    if (exp->kind == wabt::ExternalKind::Global) {
      global_exports[exp->name] = exp->var.index();
    }
  }
  EXPECT_EQ(global_exports,
            (std::map<std::string, wabt::Index>{{kFuelGlobalExport, 0},
                                                {kExhaustedGlobalExport, 1},
                                                {kInterruptGlobalExport, 2}}));
  // Function indices and names are unchanged: 0 is the import, $leaf is 9.
  // After the 18 defined functions come the 16 export wrappers (one per
  // exported function; the table holds $leaf itself, no import).
  ASSERT_EQ(module.funcs.size(), 19u + 16u);
  EXPECT_EQ(module.funcs[0]->name, "$host");
  EXPECT_EQ(module.funcs[9]->name, "$leaf");
  EXPECT_EQ(module.num_func_imports, 1u);
}

TEST_F(FuelTest, DefinedFunctionsTakeAndReturnFuelExportsKeepTheirTypes) {
  wabt::Module module;
  wabt::Errors errors;
  wabt::ReadBinaryOptions options(wabt::Features(), nullptr,
                                  /*read_debug_names=*/true, true, true);
  ASSERT_TRUE(wabt::Succeeded(
      wabt::ReadBinaryIr("out.wasm", instrumented_.data(), instrumented_.size(),
                         options, &errors, &module)));
  using wabt::Type;
  // The import keeps (i32) -> i32; $leaf gets a trailing i64 in and out.
  EXPECT_EQ(module.funcs[0]->decl.sig.param_types,
            (wabt::TypeVector{Type::I32}));
  EXPECT_EQ(module.funcs[0]->decl.sig.result_types,
            (wabt::TypeVector{Type::I32}));
  EXPECT_EQ(module.funcs[9]->decl.sig.param_types,
            (wabt::TypeVector{Type::I32, Type::I64}));
  EXPECT_EQ(module.funcs[9]->decl.sig.result_types,
            (wabt::TypeVector{Type::I32, Type::I64}));
  // "count" (function 4): param $n stays 0, the fuel parameter is 1, and
  // its own local $i moves from 1 to 2 (the name section follows).
  const wabt::Func& count = *module.funcs[4];
  EXPECT_EQ(count.GetNumParams(), 2u);
  EXPECT_EQ(count.GetLocalType(wabt::Var(1, wabt::Location())), Type::I64);
  EXPECT_EQ(count.GetLocalIndex(wabt::Var("$n", wabt::Location())), 0u);
  EXPECT_EQ(count.GetLocalIndex(wabt::Var("$i", wabt::Location())), 2u);
  // Every export keeps the type it had: "straight" is (i32 i32 i32) -> i32,
  // served by a wrapper appended after the defined functions.
  for (const wabt::Export* exp : module.exports) {
    if (exp->name != "straight") {
      continue;
    }
    const wabt::Index func = module.GetFuncIndex(exp->var);
    EXPECT_GE(func, 19u);
    EXPECT_EQ(module.funcs[func]->decl.sig.param_types,
              (wabt::TypeVector{Type::I32, Type::I32, Type::I32}));
    EXPECT_EQ(module.funcs[func]->decl.sig.result_types,
              (wabt::TypeVector{Type::I32}));
  }
}

TEST_F(FuelTest, HostSeesExactFuelAndCanChangeIt) {
  // "calls" = local.get, call $mid, call $host, call $mid: 4 at entry; each
  // $mid costs 9. When $host runs, 4 + 9 = 13 are used; the host then sets
  // the fuel to 1000 and the second $mid charges 9 from there => 991.
  constexpr int64_t kBudget = 500;
  int64_t seen_by_host = 0;
  runner_->set_host_hook([&] {
    seen_by_host = runner_->fuel();
    runner_->set_fuel(1000);
  });
  RunResult run = runner_->Call("calls", {10}, kBudget);
  EXPECT_FALSE(run.trapped) << run.trap_message;
  EXPECT_EQ(seen_by_host, kBudget - 13);
  EXPECT_EQ(run.remaining, 991);
}

TEST(FuelInstrumentTest, GlobalAfterAMemoryTrapShowsChargesUpToTheLastPublication) {
  // The one imprecision of keeping fuel in registers (see the header): after
  // a trap other than out-of-fuel/interrupt/unreachable, the host reads the
  // global, which the header of every loop that calls and every host call
  // keep current; what the frames charged after the last of those is not in
  // it. The budget itself is enforced all the same (checks use the
  // register).
  //
  // "oob": a call-free loop (7 per iteration: local.get, i32.const,
  //   i32.add, local.tee, local.get, i32.lt_s, br_if; n = 5 => 35), which
  //   does not publish, then [i32.const, i32.load (traps), drop] charging 2
  //   => the model says 37; the global shows nothing charged: 0.
  // "oob_calling_loop": a loop calling $leaf (6 per iteration in the loop:
  //   local.get, call, local.tee, local.get, i32.lt_s, br_if; 3 in $leaf),
  //   then the same trap. Each header visit charges its iteration's 6 and
  //   publishes: the 5th shows 5 * 6 + 4 * 3 = 42 (the 5th call's 3 and
  //   the 2 after the loop, 47 in the model, come after it).
  // "oob_after_host": the call-free loop, then the imported $host (not
  //   metered): the fuel is stored before the host call => 35 + 4 = 39,
  //   exact.
  std::vector<uint8_t> wasm = WatToWasm(R"wat(
    (module
      (import "env" "host" (func $host (param i32) (result i32)))
      (memory 1)
      (func $leaf (param i32) (result i32)
        local.get 0
        i32.const 1
        i32.add)
      (func (export "oob") (param $n i32) (local $i i32)
        loop $l
          local.get $i
          i32.const 1
          i32.add
          local.tee $i
          local.get $n
          i32.lt_s
          br_if $l
        end
        i32.const 70000
        i32.load
        drop)
      (func (export "oob_calling_loop") (param $n i32) (local $i i32)
        loop $l
          local.get $i
          call $leaf
          local.tee $i
          local.get $n
          i32.lt_s
          br_if $l
        end
        i32.const 70000
        i32.load
        drop)
      (func (export "oob_after_host") (param $n i32) (local $i i32)
        loop $l
          local.get $i
          i32.const 1
          i32.add
          local.tee $i
          local.get $n
          i32.lt_s
          br_if $l
        end
        i32.const 1
        call $host
        i32.const 70000
        i32.load
        drop
        drop))
  )wat");
  auto instrumented = InstrumentFuel(wasm);
  ASSERT_TRUE(instrumented.ok()) << instrumented.status().message();
  FuelRunner runner(*instrumented);
  ASSERT_TRUE(runner.ok());

  // `name` traps out of bounds (not out of fuel) and the global shows
  // `consumed`.
  auto expect_memory_trap = [&runner](std::string_view name, int64_t consumed) {
    RunResult run = runner.Call(name, {5}, 1000);
    EXPECT_TRUE(run.trapped) << name;
    EXPECT_EQ(run.exhausted, 0) << name;
    EXPECT_EQ(run.consumed, consumed) << name;
  };
  expect_memory_trap("oob", 0);
  expect_memory_trap("oob_calling_loop", 42);
  expect_memory_trap("oob_after_host", 39);

  // The budget holds in a call-free loop all the same: 20 is gone at the
  // third header visit (7 * 3 = 21).
  RunResult out = runner.Call("oob", {5}, 20);
  EXPECT_TRUE(out.trapped);
  EXPECT_EQ(out.exhausted, kExhaustedByFuel);
  EXPECT_EQ(out.remaining, -1);
}

TEST(FuelInstrumentTest, ImportedFunctionInATableIsCalledThroughAnAdapter) {
  // The table holds the import $host; call_indirect passes fuel, so the
  // rewrite puts an adapter there that stores the fuel for the host, calls
  // it and reloads. "via_table" = local.get, i32.const, call_indirect = 3,
  // charged at entry; the host sees budget - 3 and sets the fuel to 1000;
  // nothing is charged after the call.
  // "via_ref_func" stores ref.func $host in the table at run time (slot 1)
  // and calls it: [ref.func, i32.const, ... ] see below.
  std::vector<uint8_t> wasm = WatToWasm(R"wat(
    (module
      (type $i2i (func (param i32) (result i32)))
      (import "env" "host" (func $host (type $i2i)))
      (table 2 funcref)
      (elem (i32.const 0) $host)
      (func (export "via_table") (param i32) (result i32)
        local.get 0
        i32.const 0
        call_indirect (type $i2i))
      ;; i32.const, ref.func, table.set, local.get, i32.const,
      ;; call_indirect => 6
      (func (export "via_ref_func") (param i32) (result i32)
        i32.const 1
        ref.func $host
        table.set 0
        local.get 0
        i32.const 1
        call_indirect (type $i2i)))
  )wat");
  auto instrumented = InstrumentFuel(wasm);
  ASSERT_TRUE(instrumented.ok()) << instrumented.status().message();
  EXPECT_EQ(ValidationErrors(*instrumented), "");
  FuelRunner runner(*instrumented);
  ASSERT_TRUE(runner.ok());
  int64_t seen_by_host = 0;
  runner.set_host_hook([&] {
    seen_by_host = runner.fuel();
    runner.set_fuel(1000);
  });
  RunResult run = runner.Call("via_table", {41}, 500);
  EXPECT_FALSE(run.trapped) << run.trap_message;
  EXPECT_EQ(seen_by_host, 500 - 3);
  EXPECT_EQ(run.remaining, 1000);
  ASSERT_EQ(run.results.size(), 1u);
  EXPECT_EQ(run.results[0].Get<uint32_t>(), 42u);

  run = runner.Call("via_ref_func", {7}, 500);
  EXPECT_FALSE(run.trapped) << run.trap_message;
  EXPECT_EQ(seen_by_host, 500 - 6);
  EXPECT_EQ(run.remaining, 1000);
  ASSERT_EQ(run.results.size(), 1u);
  EXPECT_EQ(run.results[0].Get<uint32_t>(), 8u);
}

TEST(FuelInstrumentTest, StartFunctionIsMeteredAgainstTheGlobal) {
  // The start function runs at instantiation, through a wrapper with its
  // original type () -> (): global.get, i32.const, i32.add, global.set = 4
  // from the initial (unmetered) fuel.
  std::vector<uint8_t> wasm = WatToWasm(R"wat(
    (module
      (global $g (export "g") (mut i32) (i32.const 0))
      (func $init
        global.get $g
        i32.const 1
        i32.add
        global.set $g)
      (start $init)
      (func (export "get") (result i32) global.get $g))
  )wat");
  auto instrumented = InstrumentFuel(wasm);
  ASSERT_TRUE(instrumented.ok()) << instrumented.status().message();
  EXPECT_EQ(ValidationErrors(*instrumented), "");
  FuelRunner runner(*instrumented);
  ASSERT_TRUE(runner.ok());
  EXPECT_EQ(runner.fuel(), kUnmeteredFuel - 4);
  EXPECT_EQ(runner.GlobalU32("g"), 1u);
}

TEST(FuelInstrumentTest, MultipleResultsAndDeadCodeCalls) {
  // $pair returns two values: its body block gets a type with two results.
  // "sum_pair" = local.get, call $pair, i32.add = 3, + $pair's local.get,
  // local.get = 2 => 5. "pair" is exported as it is: 2 => the wrapper
  // returns both values. "dead_call" has a call and a local.get in dead
  // code, which must still validate after the rewrite: br 1 + local.get 1
  // after the block => 2.
  std::vector<uint8_t> wasm = WatToWasm(R"wat(
    (module
      (func $pair (export "pair") (param i32) (result i32 i32)
        local.get 0
        local.get 0)
      (func (export "sum_pair") (param i32) (result i32)
        local.get 0
        call $pair
        i32.add)
      (func (export "dead_call") (param i32) (result i32) (local i32)
        block $b
          br $b
          local.get 1
          call $pair
          i32.add
          local.set 1
        end
        local.get 1))
  )wat");
  auto instrumented = InstrumentFuel(wasm);
  ASSERT_TRUE(instrumented.ok()) << instrumented.status().message();
  EXPECT_EQ(ValidationErrors(*instrumented), "");
  FuelRunner runner(*instrumented);
  ASSERT_TRUE(runner.ok());
  RunResult run = runner.Call("sum_pair", {21}, 100);
  EXPECT_FALSE(run.trapped) << run.trap_message;
  EXPECT_EQ(run.consumed, 5);
  ASSERT_EQ(run.results.size(), 1u);
  EXPECT_EQ(run.results[0].Get<uint32_t>(), 42u);

  run = runner.Call("pair", {9}, 100);
  EXPECT_FALSE(run.trapped) << run.trap_message;
  EXPECT_EQ(run.consumed, 2);
  ASSERT_EQ(run.results.size(), 2u);
  EXPECT_EQ(run.results[0].Get<uint32_t>(), 9u);
  EXPECT_EQ(run.results[1].Get<uint32_t>(), 9u);

  run = runner.Call("dead_call", {5}, 100);
  EXPECT_FALSE(run.trapped) << run.trap_message;
  EXPECT_EQ(run.consumed, 2);
  ASSERT_EQ(run.results.size(), 1u);
  EXPECT_EQ(run.results[0].Get<uint32_t>(), 0u);
}

TEST(FuelInstrumentTest, ExistingGlobalsKeepTheirIndices) {
  // The module's own global 0 must still be global 0 and hold its value;
  // get_g reads it: global.get 1 => consumed 1, result 77.
  std::vector<uint8_t> wasm = WatToWasm(R"wat(
    (module
      (global $g (mut i32) (i32.const 77))
      (func (export "get_g") (result i32) global.get $g))
  )wat");
  auto instrumented = InstrumentFuel(wasm);
  ASSERT_TRUE(instrumented.ok()) << instrumented.status().message();
  EXPECT_EQ(ValidationErrors(*instrumented), "");
  FuelRunner runner(*instrumented);
  ASSERT_TRUE(runner.ok());
  RunResult run = runner.Call("get_g", {}, 100);
  EXPECT_FALSE(run.trapped) << run.trap_message;
  EXPECT_EQ(run.consumed, 1);
  ASSERT_EQ(run.results.size(), 1u);
  EXPECT_EQ(run.results[0].Get<uint32_t>(), 77u);
}

TEST(FuelInstrumentTest, RefusesModuleExportingFuelGlobalName) {
  std::vector<uint8_t> wasm = WatToWasm(R"wat(
    (module (func (export "snakecage_fuel")))
  )wat");
  auto result = InstrumentFuel(wasm);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(result.status().message(), HasSubstr("\"snakecage_fuel\""));
}

TEST(FuelInstrumentTest, RefusesModuleExportingExhaustedName) {
  std::vector<uint8_t> wasm = WatToWasm(R"wat(
    (module (global (export "snakecage_fuel_exhausted") i32 (i32.const 0)))
  )wat");
  auto result = InstrumentFuel(wasm);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(result.status().message(),
              HasSubstr("\"snakecage_fuel_exhausted\""));
}

TEST(FuelInstrumentTest, RefusesModuleExportingInterruptName) {
  std::vector<uint8_t> wasm = WatToWasm(R"wat(
    (module (global (export "snakecage_interrupt") (mut i32) (i32.const 0)))
  )wat");
  auto result = InstrumentFuel(wasm);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(result.status().message(), HasSubstr("\"snakecage_interrupt\""));
}

TEST(FuelInstrumentTest, RefusesItsOwnOutput) {
  std::vector<uint8_t> wasm = WatToWasm("(module (func (export \"f\")))");
  auto once = InstrumentFuel(wasm);
  ASSERT_TRUE(once.ok()) << once.status().message();
  auto twice = InstrumentFuel(*once);
  ASSERT_FALSE(twice.ok());
  EXPECT_THAT(twice.status().message(), HasSubstr("already"));
}

TEST(FuelInstrumentTest, RefusesGarbageBytes) {
  const std::vector<uint8_t> garbage = {'n', 'o', 't',  ' ',  'w',  'a',
                                        's', 'm', 0xff, 0x00, 0x13, 0x37};
  auto result = InstrumentFuel(garbage);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(result.status().message(),
              HasSubstr("not a WebAssembly binary module"));
}

TEST(FuelInstrumentTest, RefusesEmptyInput) {
  auto result = InstrumentFuel(std::span<const uint8_t>());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
}

TEST(FuelInstrumentTest, RefusesTruncatedModule) {
  std::vector<uint8_t> wasm =
      WatToWasm("(module (func (export \"f\") (result i32) i32.const 1))");
  ASSERT_GT(wasm.size(), 12u);
  wasm.resize(wasm.size() - 5);
  auto result = InstrumentFuel(wasm);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
}

TEST(FuelInstrumentTest, RefusesModuleThatDoesNotValidate) {
  // Well-formed binary, but the body returns an i64 where i32 is declared:
  // magic, version, type section [() -> i32], function section [type 0],
  // code section [body: no locals, i64.const 0, end].
  const std::vector<uint8_t> wasm = {
      0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,  // header
      0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f,        // type section
      0x03, 0x02, 0x01, 0x00,                          // function section
      0x0a, 0x06, 0x01, 0x04, 0x00, 0x42, 0x00, 0x0b,  // code section
  };
  auto result = InstrumentFuel(wasm);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(result.status().message(), HasSubstr("does not validate"));
}

}  // namespace
}  // namespace snakecage::fuel

namespace snakecage::fuel {
namespace {

// Metering::kExportsOnly (for measuring the cost of metering): the same host
// interface, the same results, and no fuel charged.
TEST(ExportsOnlyTest, AddsTheHostInterfaceButChargesNothing) {
  const std::vector<uint8_t> original = testing::WatToWasm(kModuleWat);
  InstrumentStats stats;
  auto plain = InstrumentFuel(original, &stats, Metering::kExportsOnly);
  ASSERT_TRUE(plain.ok()) << plain.status().message();
  EXPECT_EQ(testing::ValidationErrors(*plain), "");
  EXPECT_EQ(stats.functions_instrumented, 0u);
  EXPECT_EQ(stats.charge_points, 0u);
  EXPECT_EQ(stats.checks, 0u);
  testing::FuelRunner runner(*plain);
  ASSERT_TRUE(runner.ok());
  testing::RunResult run = runner.Call("straight", {1, 2, 3}, 1000);
  EXPECT_FALSE(run.trapped);
  EXPECT_EQ(run.consumed, 0);
  ASSERT_EQ(run.results.size(), 1u);
  EXPECT_EQ(run.results[0].Get<uint32_t>(), 6u);
  // A budget of 0 does not stop it either: nothing is metered.
  run = runner.Call("straight", {1, 2, 3}, 0);
  EXPECT_FALSE(run.trapped);
  auto metered = InstrumentFuel(original, nullptr, Metering::kOn);
  ASSERT_TRUE(metered.ok());
  EXPECT_LT(plain->size(), metered->size());
}

}  // namespace
}  // namespace snakecage::fuel
