/* engine/runtime/wasm_rt_impl.h: catching traps of wasm2c-generated code.
 *
 * snakecage's implementation of the wasm2c runtime API declared in
 * /usr/include/wasm-rt.h (WABT 1.0.32) replaces Debian's libwasm-rt-impl.a.
 * This header is the embedder's side of it, with the same names and
 * semantics as upstream's /usr/src/wasm2c/wasm-rt-impl.h:
 *
 *   wasm_rt_init();                          // once, before anything else
 *   Z_<module>_init_module();                // once per module
 *   wasm_rt_trap_t trap = wasm_rt_impl_try();
 *   if (trap == WASM_RT_TRAP_NONE) {
 *     Z_<module>_instantiate(&instance, &imports);   // may trap too
 *     Z_<module>Z_<export>(&instance, ...);
 *   } else {
 *     // a trap longjmp'd back here; `trap` says why
 *   }
 *
 * wasm_rt_impl_try() returns WASM_RT_TRAP_NONE when called and the trap code
 * when a trap jumps back to it (like setjmp). The caller's function must not
 * have returned in between, and locals it modified after the call are
 * indeterminate after a trap unless `volatile`.
 *
 * Traps: generated code calls wasm_rt_trap() for unreachable, integer
 * division by zero / overflow, invalid conversion, bad call_indirect,
 * out-of-bounds table and bulk-memory accesses. Out-of-bounds loads and stores
 * fault in linear memory's guard region; stack overflow faults in the native
 * stack's guard region. A SIGSEGV/SIGBUS handler (on an alternate signal
 * stack) turns those faults into WASM_RT_TRAP_OOB and WASM_RT_TRAP_EXHAUSTION,
 * deciding by the fault address (see wasm_rt_impl.c). Any other fault is not
 * ours: it goes to the handler installed before wasm_rt_init() or, if none,
 * kills the process with the signal as usual. Host code called by the guest
 * (an import) is treated like guest code: if it touches linear memory past
 * the current size, or overflows the stack, the guest traps and the import is
 * abandoned by longjmp (so imports must not hold locks or owning C++ objects
 * across such accesses; bounds-check guest pointers first).
 *
 * Instantiation fails with a trap too: if the memory cap or the fixed address
 * does not allow the module's initial memory, Z_<module>_instantiate() traps
 * with WASM_RT_TRAP_EXHAUSTION and snakecage_linear_memory_last_error()
 * (linear_memory.h) says why.
 *
 * Process-global state, one guest at a time: the trap jump buffer
 * (wasm_rt_jmp_buf), the exception state, the function-type registry, the
 * signal handlers and the single linear memory are shared by the whole
 * process. Run one instance at a time, on one thread at a time; nothing here
 * is thread-safe. Any thread may run the guest: the first wasm_rt_impl_try()
 * on a thread gives that thread an alternate signal stack (freed when the
 * thread exits).
 */
#ifndef SNAKECAGE_ENGINE_RUNTIME_WASM_RT_IMPL_H_
#define SNAKECAGE_ENGINE_RUNTIME_WASM_RT_IMPL_H_

#include <setjmp.h>

#include "wasm-rt.h"

#ifdef __cplusplus
extern "C" {
#endif

#if !WASM_RT_MEMCHECK_SIGNAL_HANDLER || WASM_RT_USE_STACK_DEPTH_COUNT
#error "snakecage's wasm2c runtime requires WASM_RT_MEMCHECK_SIGNAL_HANDLER=1"
#endif

/* Where wasm_rt_trap() jumps. Process-global. */
extern jmp_buf wasm_rt_jmp_buf;

#define WASM_RT_LONGJMP(buf, val) siglongjmp(buf, val)

/* Arms the trap target (and the exception unwind target) and returns
 * WASM_RT_TRAP_NONE; returns the trap code again when a trap jumps back. */
#define wasm_rt_impl_try()                                                 \
  (wasm_rt_set_unwind_target(&wasm_rt_jmp_buf),                            \
   (wasm_rt_trap_t)WASM_RT_SETJMP(wasm_rt_jmp_buf))

#ifdef __cplusplus
}
#endif

#endif /* SNAKECAGE_ENGINE_RUNTIME_WASM_RT_IMPL_H_ */
