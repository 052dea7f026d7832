/* Runs the standalone test module once and prints its result. */
#include <stdio.h>
#include <string.h>

#include "engine/runtime/wasm_rt_impl.h"
#include "pgo_probe.h"

int main(void) {
  wasm_rt_init();
  Z_pgo_probe_init_module();
  static Z_pgo_probe_instance_t instance;
  memset(&instance, 0, sizeof instance);
  static volatile u32 total;
  wasm_rt_trap_t trap = wasm_rt_impl_try();
  if (trap != WASM_RT_TRAP_NONE) {
    fprintf(stderr, "trap: %s\n", wasm_rt_strerror(trap));
    return 1;
  }
  Z_pgo_probe_instantiate(&instance);
  total = Z_pgo_probeZ_collatz_total(&instance, 10000);
  printf("collatz_total(10000) = %u\n", (unsigned)total);
  Z_pgo_probe_free(&instance);
  wasm_rt_free();
  return 0;
}
