#include "fake_trap.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>

static jmp_buf* g_target;
static wasm_rt_trap_t g_code;

void wasm_rt_trap(wasm_rt_trap_t code) {
  if (g_target == NULL) {
    fprintf(stderr, "wasm_rt_trap(%d) outside RunCatchingTrap\n", (int)code);
    abort();
  }
  g_code = code;
  longjmp(*g_target, 1);
}

int RunCatchingTrap(void (*fn)(void*), void* ctx, wasm_rt_trap_t* code) {
  jmp_buf buf;
  jmp_buf* volatile saved = g_target;
  g_target = &buf;
  if (setjmp(buf) != 0) {
    g_target = saved;
    *code = g_code;
    return 1;
  }
  fn(ctx);
  g_target = saved;
  return 0;
}
