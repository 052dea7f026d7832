// fuel/fuel_instrumenter.h: fuel metering as a WebAssembly-to-WebAssembly
// rewrite.
//
// InstrumentFuel() takes a WebAssembly binary module and returns an
// equivalent module that counts the operators it executes in an exported
// i64 global and traps when the count passes a budget the host has set, or
// when the host raises an exported interrupt flag (from another thread, for
// a wall-clock timeout). The rewritten module is an ordinary module: it runs
// in any engine (wasm2c, WABT's interpreter, ...), so metering costs no
// engine support.
//
// ## Cost model (Wasmtime's default fuel, so a budget means the same to users
//    of either)
//
// Every WebAssembly operator that executes costs 1, except these, which cost
// 0 because they produce no work of their own:
//
//   nop  drop  block  loop  end  else  unreachable  return
//
// This is Wasmtime's `default_operator_cost` (wasmtime-environ), including
// `unreachable` and `return`. Operators in code that never executes (after
// an unconditional branch) cost nothing because they never execute. Calls
// cost 1 in the caller; the callee's operators are charged in the callee.
// Imported functions are host code and are not charged by the module.
//
// ## Where fuel is charged
//
// A function body is cut into straight-line *segments*: runs of code that
// control enters only at their first instruction and leaves only after
// their last. A segment ends at an instruction where control splits, may
// join, or leaves:
//
//   if  br_if  br  br_table  return  unreachable  loop  (and try, throw,
//   rethrow, return_call, return_call_indirect where those features are in
//   use)
//
// (the instruction belongs to the segment it ends, and `loop` ends the
// segment before it because its header is a join of back edges), at the
// `else` and `end` of an `if` arm, and at the `end` of a block that some
// branch targets (a join). Entering a block does not end a segment, nor
// does leaving a block no branch targets or leaving a loop (branches to a
// loop go to its header): control goes straight on, so the segment goes on
// into and out of the body. A new segment starts at the first instruction
// of a function body, of a loop body and of each `if` arm, and after each
// segment end that control can pass. Calls do not end a segment.
// Charging a segment's whole cost (the sum of the costs of its
// instructions) once, at its start, makes the total charged equal to the
// cost of the operators executed -- except when execution stops inside a
// segment (a trap, or a call that never returns), in which case the rest of
// that segment has already been paid for. Zero-cost segments get no charge.
//
// One more merge: a block or `if` that control can leave only through its
// end (no branch inside it targets a label outside it, and it holds no
// `return`) is *closed*, and the code after it runs whenever the segment
// before it does (unless the execution stops inside). That code is charged
// with the segment before the construct instead of on its own, so the join
// after a closed construct costs no charge: CPython's module goes from
// 209,052 charge points to 182,531. The segment before is charged in full
// at its start, as always, so an execution that stops inside the construct
// has paid for the code after it too.
//
// ## Where fuel (and the interrupt) is checked
//
// At function entry and at every loop header, after that point's charge: if
// the remaining fuel is negative (strictly: a budget exactly equal to what
// the code needs runs to completion), the module sets the exhausted flag to
// 1 and executes `unreachable`. Loop headers also see the interrupt: they
// compare the remaining fuel with the interrupt word instead of with 0, and
// the host raises the interrupt by setting that word to INT64_MAX, which any
// fuel that was charged at all is below; the module then sets the exhausted
// flag to 2 and executes `unreachable` (2 wins when both hold; the fuel
// global then shows whether the budget was gone too). Checks are only
// there. Every back edge goes through a loop header and every call through a function entry, so no
// execution runs unmetered for longer than one function body's straight-line
// code, and none deaf to the interrupt for longer than it takes to reach a
// loop header (every unbounded execution passes one; loop-free recursion
// ends at the stack's limit). Reading the interrupt at function entries too
// cost about 4 points of metering overhead on CPython. Remaining fuel can
// therefore go below zero between checks; the trap comes at the next check.
// A run can also
// *finish* with remaining < 0 when the code after its last check (for example
// the rest of the outermost function after its last loop) costs more than what
// was left: it completed, and consumed = budget - remaining is then larger than
// the budget by at most that straight-line tail. Wasmtime behaves the same way
// (it too checks only at entries and loop headers).
//
// (Wasmtime traps when remaining fuel is <= 0 at a check; here it is < 0,
// so that "budget == exact need" succeeds.)
//
// ## Injected code (not charged: it is not the user's operators)
//
// Fuel in registers: every defined function takes the remaining fuel as an
// extra trailing i64 parameter, $fuel, and returns what is left of it as an
// extra trailing i64 result (multi-value; wasm2c returns such results as a
// struct, {u32, u64} for example, which x86-64 and arm64 return in two
// registers). Inside the function $fuel is charged and checked like a local,
// the way Wasmtime keeps fuel in a register. A call of a defined function
// passes $fuel and takes the callee's fuel result back, so fuel never goes
// through memory between two defined functions: no store before the call,
// no load at the callee's entry, no store at its exit, no reload after it
// (that chain through the instance cost CPython +54% before; see
// docs/experiments/README.md). The function's own locals move up by one
// index to make room for $fuel (the name section follows).
//
// function entry (charge c of the first segment, then check):
//     local.get $fuel  i64.const c  i64.sub  local.tee $fuel
//     i64.const 0  i64.lt_s  if <stop> end
// loop header (charge c of the loop body's first segment, then check):
//     local.get $fuel  i64.const c  i64.sub  local.tee $fuel
//     global.set $fuel_global  local.get $fuel     (loops that call only)
//     global.get $interrupt  i64.lt_s  if <stop> end
//   (with c == 0 the i64.const/i64.sub/local.tee are omitted)
// any other segment start with cost c > 0:
//     local.get $fuel  i64.const c  i64.sub  local.set $fuel
// <stop> (the slow path: which of the two it was is decided only here):
//     local.get $fuel  global.set $fuel_global
//     i32.const 1  i32.const 2  global.get $interrupt  i64.eqz  select
//     global.set $exhausted  unreachable
//   (so the common path is one compare and branch, with a memory operand
//   at loop headers: cmp + jl on x86-64)
// call of a defined function:   ...args  local.get $fuel  call f
//                               local.set $fuel
// call_indirect (the table index is on top of the stack):
//     local.set $scratch  local.get $fuel  local.get $scratch
//     call_indirect (fuelled type)  local.set $fuel
// call of an imported (host) function, which keeps its type and sees the
// global (snakecage.user_code_begin sets the budget there):
//     local.get $fuel  global.set $fuel_global  call h
//     global.get $fuel_global  local.set $fuel
// return:                       local.get $fuel  return
// unreachable (and throw):      local.get $fuel  global.set $fuel_global
//                               unreachable
// The body is wrapped in a block with the original results, followed by
// `local.get $fuel`, so that falling off the end and every branch to the
// function's label return the fuel too.
//
// Types: the fuelled version of every function type a defined function or
// a call_indirect uses (params + i64 -> results + i64) is found or appended
// in the type section. Imported functions keep their types.
//
// Glue functions (appended after all functions, so no function index
// changes; not metered, not counted in InstrumentStats):
//   - an export wrapper per exported defined function and for the start
//     function, with the original type, which the export (and the start
//     section) then names: it calls the real function with the fuel global
//     and stores the fuel returned back to the global. The host calls
//     exports with their original signatures.
//   - an import adapter per imported function that a table, a funcref
//     global or a ref.func holds (tables are called through call_indirect,
//     which passes fuel): fuelled type, stores the fuel argument to the
//     global, calls the import, returns the global. Defined functions in
//     tables are the rewritten functions themselves.
//
// The header of every loop with a call inside (at any depth) also stores
// the fuel to the global. Call-free loops do not: on CPython that store in
// the tight loops (string scanning, memcpy, hashing) cost about 5 points of
// metering overhead. (Function entries do not either: about 3 points.)
//
// So the global is exact whenever the host can observe it: inside an
// imported function, after an exported function returned, after an
// out-of-fuel or interrupt trap, and after an `unreachable` trap (C's
// abort()). After any other trap (out-of-bounds memory access, integer
// divide by zero or overflow, invalid float conversion, call_indirect with a
// bad index or signature, call-stack exhaustion) the global shows the fuel
// at the last header of a loop that calls, or the last host call: short by
// what the frames charged since, in straight-line code, calls and
// call-free loops. In CPython the interpreter's dispatch loop calls, so
// that is the C code of the bytecode being run when the trap came. The
// budget is enforced all the same (checks read the register, and an
// out-of-fuel trap stores it), and everything a program can make visible
// goes through a host call, which stores the fuel first: work that is not
// in the global when a trap ends the run is work nobody saw the result of.
// Wasmtime has a similar imprecision on such traps.
//
// (Before fuel went into registers, each function cached it in a local that
// was stored to the global around every call; on a CPU-bound C benchmark
// compiled through wasm2c and clang -O2, metering cost ~7-9% with that
// cache, ~19% when every charge updated the global, and ~30% when the cache
// was also stored to the global at every loop header.)
// The interrupt used to be an i32 flag tested as (fuel < 0) | flag: at a
// loop header that compiled to six instructions on x86-64 (store, copy,
// shift, load, or, branch) where the compare with the interrupt word takes
// three (store, cmp with a memory operand, branch). Tight C loops (string
// scanning, memcpy) pay it on every iteration.
//
// ## Host contract
//
// The rewritten module exports three mutable globals, appended in this
// order after all existing globals (so no global index changes):
//
//   kFuelGlobalExport       "snakecage_fuel"            i64, initial value
//                           0x7fffffffffffffff (effectively unmetered)
//   kExhaustedGlobalExport  "snakecage_fuel_exhausted"  i32, initial value 0
//   kInterruptGlobalExport  "snakecage_interrupt"       i64, initial value 0
//
// To meter user code: set `snakecage_fuel` to the budget B (> 0) right
// before the user's code starts (interpreter start-up then runs unmetered),
// and `snakecage_fuel_exhausted` and `snakecage_interrupt` to 0. The host
// may write `snakecage_fuel` and `snakecage_fuel_exhausted` only while no
// guest code runs or from inside an imported function the guest called (the
// calling function reloads the fuel global when the call returns); a write
// of the fuel global from another thread or a signal handler while guest
// code runs would go unseen (running code keeps its fuel in registers) and
// be overwritten at the next host call or export return. After the run,
// consumed = B - remaining (remaining may be negative, after an out-of-fuel
// trap or after an overrun past the last check, see above).
//
// `snakecage_fuel_exhausted` after a trap:
//   0                          the trap is whatever the engine reported.
//   1 (kExhaustedByFuel)       out of fuel.
//   2 (kExhaustedByInterrupt)  stopped by the interrupt.
// Both 1 and 2 show up as an `unreachable` trap in the engine. (The word is
// the lower bound of the fuel at loop headers, so a value between 1 and
// INT64_MAX - 1 would act as a raised fuel floor, not as an interrupt.) After either,
// `snakecage_fuel` holds the exact remaining fuel at the check point that
// trapped (negative if the budget was gone; with 2 it may be too, if both
// held at that check). If a trap stops a segment part-way, that segment was
// already charged in full (but see "Injected code" for what the global shows
// after traps other than out-of-fuel, interrupt and `unreachable`).
//
// The interrupt: the host -- typically a watchdog on another thread -- may
// set `snakecage_interrupt` to kInterruptRaised (INT64_MAX; no other value)
// at any time while guest code runs, with a relaxed atomic store (in wasm2c
// output the global is a `u64` field of the instance; the exported accessor
// returns its address, e.g.
// __atomic_store_n(ptr, kInterruptRaised, __ATOMIC_RELAXED)).
// The guest sees it at its next loop header, stores its remaining fuel to
// `snakecage_fuel`, sets `snakecage_fuel_exhausted` to 2 and executes
// `unreachable`. The guest
// never writes `snakecage_interrupt`: it stays set until the host clears it,
// which the host may do only while no guest code runs (before the next
// run). Fuel counting is the same with or without the interrupt. While guest
// code runs inside an imported function, the interrupt takes effect at the
// first check point after that function returns.
//
// Requirement on native compilation: WebAssembly has no atomic globals, so
// wasm2c turns every read of the flag into a plain load
// (`w2cN = instance->w2c_snakecage_interrupt;`). A C compiler may assume no
// other thread writes it and hoist that load out of a loop that neither
// stores to memory nor calls: clang -O2 does, and such a loop then never
// sees the flag (measured: a store-free loop with an unlimited budget ran
// its full 2^32 iterations, 1.5 s, after the flag was set at 0.1 s; loops
// with loads or stores stopped within 0.01 s). The step that compiles the
// wasm2c output must therefore make each of those reads a relaxed atomic
// load, `__atomic_load_n(&instance->w2c_snakecage_interrupt,
// __ATOMIC_RELAXED)` (a plain mov on x86-64 and arm64; with it, the
// store-free loop stopped within 0.01 s too). The field keeps that name
// unless the input module already names a global `$snakecage_interrupt`, in
// which case wasm2c numbers it; find it through the export.
//
// Function indices (new glue functions are appended), imports, memories and
// tables are unchanged; existing types keep their indices (fuelled types
// are appended); exports name the same things, exported functions through
// their wrappers; the name section is kept. Custom sections other than "name" (debug info,
// producers, target_features) are dropped: code offsets change, so debug info
// would be wrong anyway.
//
// Thread-safety: InstrumentFuel is a function of its input alone and keeps
// no state between calls; WABT's reader, validator and writer keep theirs in
// per-call objects. Concurrent calls are expected to be safe but are not
// exercised by the tests. Cost: about 0.7 s and 500 MB peak for an 8.5 MB
// CPython module (the WABT IR is large); do it at build time.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "snakecage/status.h"

namespace snakecage::fuel {

inline constexpr char kFuelGlobalExport[] = "snakecage_fuel";
inline constexpr char kExhaustedGlobalExport[] = "snakecage_fuel_exhausted";
inline constexpr char kInterruptGlobalExport[] = "snakecage_interrupt";

// Values of the exhausted global after the guest stopped itself.
inline constexpr int32_t kExhaustedByFuel = 1;
inline constexpr int32_t kExhaustedByInterrupt = 2;

// Initial value of the exported fuel global: effectively unmetered.
inline constexpr int64_t kUnmeteredFuel = INT64_MAX;

// The value the host stores in the interrupt global to raise it (0: not
// raised). Loop headers trap when the remaining fuel is below the global.
inline constexpr uint64_t kInterruptRaised = static_cast<uint64_t>(INT64_MAX);

// What one rewrite did. Counts are static (places in the code), not
// executions.
struct InstrumentStats {
  uint64_t functions_instrumented = 0;  // defined (non-imported) functions
  uint64_t charge_points = 0;           // places that subtract fuel
  uint64_t checks = 0;  // function entries (fuel) + loop headers (fuel + interrupt)
};

// Rewrites `wasm` (a WebAssembly binary module using at most the features
// wasm2c 1.0.32 enables by default: MVP, mutable globals, saturating
// float-to-int, sign extension, SIMD, multi-value, bulk memory, reference
// types) so that it meters fuel as described above. The input is validated
// first.
//
// Returns the new module's bytes, or:
//   kInvalidArgument  the bytes are not a valid module, or the module already
//                     exports "snakecage_fuel", "snakecage_fuel_exhausted" or
//                     "snakecage_interrupt", or it uses call_ref or a
//                     return_call of an imported function (the fuel calling
//                     convention cannot express them; the features they
//                     need are not enabled, so validation rejects them
//                     first today).
//   kInternal         WABT failed to write the rewritten module.
// If `stats` is not null it receives the counts (only on success).
// kOn: the rewrite described above. kExportsOnly: only the three exported
// globals are added and no function is changed, so the module runs
// unmetered and uninterruptible with the same host interface; it exists to
// measure the cost of metering (bench/), never to run untrusted code.
enum class Metering { kOn, kExportsOnly };

StatusOr<std::vector<uint8_t>> InstrumentFuel(std::span<const uint8_t> wasm,
                                              InstrumentStats* stats = nullptr,
                                              Metering metering = Metering::kOn);

}  // namespace snakecage::fuel
