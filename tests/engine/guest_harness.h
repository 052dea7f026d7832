// tests/engine/guest_harness.h: running wasm2c modules under the snakecage
// runtime from GoogleTest.
//
// RunGuarded(f) arms the trap target, runs f and returns the trap that ended
// it (WASM_RT_TRAP_NONE if f returned). A trap longjmps out of f, so f must
// not own objects with destructors; write results to variables outside it.
// Single-threaded, like the runtime.
#pragma once

#include "engine/runtime/linear_memory.h"
#include "engine/runtime/wasm_rt_impl.h"

namespace snakecage::engine::testing {

template <typename F>
wasm_rt_trap_t RunGuarded(F&& f) {
  wasm_rt_trap_t trap = wasm_rt_impl_try();
  if (trap == WASM_RT_TRAP_NONE) {
    f();
  }
  return trap;
}

// wasm_rt_init() once per process; it is idempotent but cheap to skip.
inline void EnsureRuntime() {
  if (!wasm_rt_is_initialized()) wasm_rt_init();
}

}  // namespace snakecage::engine::testing
