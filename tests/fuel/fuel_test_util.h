// fuel_test_util.h: helpers shared by the fuel tests. Parses WAT text with
// libwabt, validates binaries, and runs instrumented modules in WABT's
// interpreter while reading the fuel globals.
//
// Not thread-safe (each FuelRunner owns an interpreter Store); test-only.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "wabt/interp/interp.h"

namespace snakecage::fuel::testing {

// Parses a WAT module and writes it as a binary (with its name section).
// Fails the current test (ADD_FAILURE) and returns an empty vector on a
// parse error.
std::vector<uint8_t> WatToWasm(std::string_view wat);

// Reads `wasm` into WABT's IR and validates it. Returns an empty string if it
// validates, else WABT's error text.
std::string ValidationErrors(const std::vector<uint8_t>& wasm);

// The outcome of one call of an export under a budget.
struct RunResult {
  bool trapped = false;
  std::string trap_message;
  int64_t remaining = 0;   // value of snakecage_fuel after the call
  int64_t consumed = 0;    // budget - remaining
  int32_t exhausted = 0;   // value of snakecage_fuel_exhausted after the call
  uint64_t interrupt = 0;  // value of snakecage_interrupt after the call
  std::vector<wabt::interp::Value> results;
};

// Instantiates an instrumented module in WABT's interpreter. The only import
// it may have is ("env" "host": (param i32) (result i32)), a host function
// returning its argument + 1.
class FuelRunner {
 public:
  // REQUIRES: `wasm` is an instrumented module (exports the three globals
  // of the host contract in fuel_instrumenter.h).
  // Failures are reported as gtest failures; check ok() afterwards.
  explicit FuelRunner(const std::vector<uint8_t>& wasm);
  FuelRunner(const FuelRunner&) = delete;  // the host function points here
  FuelRunner& operator=(const FuelRunner&) = delete;

  bool ok() const { return ok_; }

  // Sets snakecage_fuel to `budget` and snakecage_fuel_exhausted and
  // snakecage_interrupt to 0, calls the export `name` with i32 arguments
  // `args`, and reads the globals back.
  RunResult Call(std::string_view name, const std::vector<uint32_t>& args,
                 int64_t budget);

  int64_t fuel() const;
  int32_t exhausted() const;
  uint64_t interrupt() const;
  void set_fuel(int64_t value);
  void set_interrupt(uint64_t value);

  // Value of the exported i32 global `name` (fails the test if absent).
  uint32_t GlobalU32(std::string_view name);

  // Runs `hook` inside every call of the imported host function, before it
  // returns (for example to read or change the fuel global from the host).
  void set_host_hook(std::function<void()> hook) {
    host_hook_ = std::move(hook);
  }

  // Runs `hook` before the interpreter executes each instruction of the
  // module (injected ones included), through the interpreter's trace
  // stream. This is how a test plays the host's other thread: the interpreter
  // is single-threaded, but a hook may write a global at any instruction
  // boundary, as a watchdog thread could.
  void set_instruction_hook(std::function<void()> hook) {
    instruction_hook_ = std::move(hook);
  }

 private:
  wabt::interp::Ref Export(std::string_view name) const;

  wabt::interp::Store store_;
  wabt::interp::Module::Ptr module_;
  wabt::interp::Instance::Ptr instance_;
  wabt::interp::Global::Ptr fuel_;
  wabt::interp::Global::Ptr exhausted_;
  wabt::interp::Global::Ptr interrupt_;
  std::function<void()> host_hook_;
  std::function<void()> instruction_hook_;
  bool ok_ = false;
};

}  // namespace snakecage::fuel::testing
