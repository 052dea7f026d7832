// Test-only wasm_rt_trap: longjmps back to RunCatchingTrap(). The unit-test
// binary links this instead of WABT's runtime.
#pragma once

#include "wasm-rt.h"

#ifdef __cplusplus
extern "C" {
#endif

// Runs fn(ctx). Returns 1 and stores the code if fn called wasm_rt_trap,
// else 0. fn must not hold objects with non-trivial destructors across a
// call that may trap (the longjmp skips them).
int RunCatchingTrap(void (*fn)(void*), void* ctx, wasm_rt_trap_t* code);

#ifdef __cplusplus
}
#endif
