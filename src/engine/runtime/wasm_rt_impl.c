/* engine/runtime/wasm_rt_impl.c: snakecage's implementation of the wasm2c
 * runtime API (/usr/include/wasm-rt.h, WABT 1.0.32): initialisation, traps,
 * the fault handler, function types, exception tags and tables. Linear memory
 * is in linear_memory.c. Semantics follow upstream's
 * /usr/src/wasm2c/wasm-rt-impl.c except where noted. */
#define _GNU_SOURCE
#include "engine/runtime/wasm_rt_impl.h"

#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "engine/runtime/linear_memory.h"

#define MAX_EXCEPTION_SIZE 65536u

/* Below the lowest address of a thread's stack, how far a fault still counts
 * as a stack overflow: the kernel's stack guard gap (1 MiB by default) and a
 * function frame's worth of slack. The thread's own guard size is added. */
#define STACK_OVERFLOW_SLACK_BYTES ((uintptr_t)(1u << 20) + 65536u)
/* A fault this close below the interrupted stack pointer is a stack
 * overflow too (a frame that jumped past the guard, or unknown bounds). */
#define STACK_POINTER_SLACK_BYTES ((uintptr_t)65536u)
#define ALT_STACK_MIN_BYTES ((size_t)65536u)

jmp_buf wasm_rt_jmp_buf;

/* ---- per-thread state (the fault handler reads it) ------------------------ */

typedef struct {
  bool prepared;       /* stack bounds and alternate signal stack set up */
  uintptr_t stack_low;  /* lowest usable stack address; 0 if unknown */
  uintptr_t stack_high; /* one past the highest */
  uintptr_t overflow_slack;
  void* alt_stack_mapping; /* ours to unmap at thread exit, or NULL */
  size_t alt_stack_mapping_bytes;
} ThreadState;

static __thread __attribute__((tls_model("initial-exec"))) ThreadState t_thread;

static pthread_once_t g_thread_key_once = PTHREAD_ONCE_INIT;
static pthread_key_t g_thread_key;

static void release_alt_stack(void* unused) {
  (void)unused;
  if (t_thread.alt_stack_mapping == NULL) return;
  stack_t disable;
  memset(&disable, 0, sizeof disable);
  disable.ss_flags = SS_DISABLE;
  sigaltstack(&disable, NULL);
  munmap(t_thread.alt_stack_mapping, t_thread.alt_stack_mapping_bytes);
  t_thread.alt_stack_mapping = NULL;
}

static void create_thread_key(void) {
  if (pthread_key_create(&g_thread_key, release_alt_stack) != 0) {
    perror("snakecage: pthread_key_create");
    abort();
  }
}

static void find_stack_bounds(void) {
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) return;
  void* addr = NULL;
  size_t size = 0, guard = 0;
  if (pthread_attr_getstack(&attr, &addr, &size) == 0 && size != 0) {
    pthread_attr_getguardsize(&attr, &guard);
    t_thread.stack_low = (uintptr_t)addr;
    t_thread.stack_high = (uintptr_t)addr + size;
    t_thread.overflow_slack = STACK_OVERFLOW_SLACK_BYTES + guard;
  }
  pthread_attr_destroy(&attr);
}

static void install_alt_stack(void) {
  stack_t current;
  if (sigaltstack(NULL, &current) == 0 && !(current.ss_flags & SS_DISABLE) &&
      current.ss_size >= ALT_STACK_MIN_BYTES) {
    return; /* someone (a sanitizer, an earlier runtime) already gave us one */
  }
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  size_t bytes = ALT_STACK_MIN_BYTES;
  long min_sig = sysconf(_SC_SIGSTKSZ);
  if (min_sig > 0 && (size_t)min_sig * 4 > bytes) bytes = (size_t)min_sig * 4;
  bytes = (bytes + page - 1) / page * page;
  /* One PROT_NONE page below, so an overflow of the signal stack faults. */
  uint8_t* mapping = mmap(NULL, bytes + page, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (mapping == MAP_FAILED) {
    perror("snakecage: cannot allocate the alternate signal stack");
    abort();
  }
  mprotect(mapping, page, PROT_NONE);
  stack_t ss;
  memset(&ss, 0, sizeof ss);
  ss.ss_sp = mapping + page;
  ss.ss_size = bytes;
  if (sigaltstack(&ss, NULL) != 0) {
    perror("snakecage: sigaltstack");
    abort();
  }
  t_thread.alt_stack_mapping = mapping;
  t_thread.alt_stack_mapping_bytes = bytes + page;
  pthread_once(&g_thread_key_once, create_thread_key);
  /* Any non-NULL value makes the destructor run at thread exit. */
  pthread_setspecific(g_thread_key, &t_thread);
}

static void prepare_thread(void) {
  if (t_thread.prepared) return;
  find_stack_bounds();
  install_alt_stack();
  t_thread.prepared = true;
}

/* ---- fault handler ------------------------------------------------------- */

static bool g_initialized;
static bool g_handlers_installed;
static struct sigaction g_previous_segv;
static struct sigaction g_previous_bus;

static uintptr_t interrupted_stack_pointer(void* ucontext) {
  const ucontext_t* uc = (const ucontext_t*)ucontext;
  if (uc == NULL) return 0;
#if defined(__x86_64__)
  return (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
#elif defined(__aarch64__)
  return (uintptr_t)uc->uc_mcontext.sp;
#else
  return 0;
#endif
}

static bool is_stack_overflow(uintptr_t addr, uintptr_t sp) {
  if (t_thread.stack_high != 0) {
    if (addr >= t_thread.stack_high) return false;
    /* Nothing below the top of the stack faults unless the stack cannot grow
     * there: the guard, the gap below it, or past RLIMIT_STACK. */
    if (addr + t_thread.overflow_slack >= t_thread.stack_low) return true;
    return sp != 0 && addr + STACK_POINTER_SLACK_BYTES >= sp;
  }
  return sp != 0 && addr + STACK_POINTER_SLACK_BYTES >= sp &&
         addr < sp + STACK_POINTER_SLACK_BYTES;
}

static void forward_fault(int sig, siginfo_t* info, void* ucontext) {
  const struct sigaction* prev = sig == SIGBUS ? &g_previous_bus : &g_previous_segv;
  if ((prev->sa_flags & SA_SIGINFO) && prev->sa_sigaction != NULL) {
    prev->sa_sigaction(sig, info, ucontext);
    return;
  }
  if (!(prev->sa_flags & SA_SIGINFO) && prev->sa_handler != SIG_DFL &&
      prev->sa_handler != SIG_IGN) {
    prev->sa_handler(sig);
    return;
  }
  /* Default action: restore it. A real fault re-executes and kills the
   * process with this signal; a sent one is re-raised (it stays pending until
   * this handler returns). */
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(sig, &dfl, NULL);
  if (info->si_code <= 0) raise(sig);
}

static void fault_handler(int sig, siginfo_t* info, void* ucontext) {
  /* Only faults the kernel raised on a thread that is running guest code
   * (it armed a trap target) are ours. */
  if (info->si_code > 0 && t_thread.prepared) {
    uintptr_t addr = (uintptr_t)info->si_addr;
    if (snakecage_linear_memory_reservation_contains(addr)) {
      wasm_rt_trap(WASM_RT_TRAP_OOB);
    }
    if (is_stack_overflow(addr, interrupted_stack_pointer(ucontext))) {
      wasm_rt_trap(WASM_RT_TRAP_EXHAUSTION);
    }
  }
  forward_fault(sig, info, ucontext);
}

static void install_handlers(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  sa.sa_sigaction = fault_handler;
  if (sigaction(SIGSEGV, &sa, &g_previous_segv) != 0 ||
      sigaction(SIGBUS, &sa, &g_previous_bus) != 0) {
    perror("snakecage: sigaction");
    abort();
  }
  g_handlers_installed = true;
}

static void restore_handlers(void) {
  if (!g_handlers_installed) return;
  sigaction(SIGSEGV, &g_previous_segv, NULL);
  sigaction(SIGBUS, &g_previous_bus, NULL);
  g_handlers_installed = false;
}

/* ---- init, traps -------------------------------------------------------- */

void wasm_rt_init(void) {
  if (!g_handlers_installed) install_handlers();
  prepare_thread();
  g_initialized = true;
}

bool wasm_rt_is_initialized(void) { return g_initialized; }

typedef struct {
  wasm_rt_type_t* types; /* params then results */
  uint32_t param_count;
  uint32_t result_count;
} FuncType;

static FuncType* g_func_types;
static uint32_t g_func_type_count;

void wasm_rt_free(void) {
  for (uint32_t i = 0; i < g_func_type_count; ++i) free(g_func_types[i].types);
  free(g_func_types);
  g_func_types = NULL;
  g_func_type_count = 0;
  restore_handlers();
  snakecage_linear_memory_release_reservation();
  g_initialized = false;
}

void wasm_rt_trap(wasm_rt_trap_t code) {
  if (code == WASM_RT_TRAP_NONE) code = WASM_RT_TRAP_UNREACHABLE;
  WASM_RT_LONGJMP(wasm_rt_jmp_buf, code);
}

const char* wasm_rt_strerror(wasm_rt_trap_t trap) {
  switch (trap) {
    case WASM_RT_TRAP_NONE:
      return "No error";
    case WASM_RT_TRAP_OOB:
      return "Out-of-bounds access in linear memory or a table";
    case WASM_RT_TRAP_INT_OVERFLOW:
      return "Integer overflow on divide or truncation";
    case WASM_RT_TRAP_DIV_BY_ZERO:
      return "Integer divide by zero";
    case WASM_RT_TRAP_INVALID_CONVERSION:
      return "Conversion from NaN to integer";
    case WASM_RT_TRAP_UNREACHABLE:
      return "Unreachable instruction executed";
    case WASM_RT_TRAP_CALL_INDIRECT:
      return "Invalid call_indirect";
    case WASM_RT_TRAP_UNCAUGHT_EXCEPTION:
      return "Uncaught exception";
    case WASM_RT_TRAP_EXHAUSTION:
      return "Call stack exhausted";
  }
  return "invalid trap code";
}

/* ---- function types ------------------------------------------------------ */

static void* checked_malloc(size_t bytes) {
  void* p = malloc(bytes == 0 ? 1 : bytes);
  if (p == NULL) {
    perror("snakecage: out of memory in the wasm2c runtime");
    abort();
  }
  return p;
}

uint32_t wasm_rt_register_func_type(uint32_t param_count, uint32_t result_count, ...) {
  uint32_t total = param_count + result_count;
  wasm_rt_type_t* types = checked_malloc((size_t)total * sizeof(wasm_rt_type_t));
  va_list args;
  va_start(args, result_count);
  for (uint32_t i = 0; i < total; ++i) types[i] = (wasm_rt_type_t)va_arg(args, int);
  va_end(args);

  for (uint32_t i = 0; i < g_func_type_count; ++i) {
    const FuncType* t = &g_func_types[i];
    if (t->param_count == param_count && t->result_count == result_count &&
        memcmp(t->types, types, (size_t)total * sizeof(wasm_rt_type_t)) == 0) {
      free(types);
      return i + 1;
    }
  }
  FuncType* grown = realloc(g_func_types, ((size_t)g_func_type_count + 1) * sizeof(FuncType));
  if (grown == NULL) {
    perror("snakecage: out of memory in the wasm2c runtime");
    abort();
  }
  g_func_types = grown;
  g_func_types[g_func_type_count] = (FuncType){types, param_count, result_count};
  return ++g_func_type_count; /* index + 1: 0 is never a valid type */
}

/* ---- exceptions ---------------------------------------------------------- */

static uint32_t g_tag_count;
static uint32_t g_active_exception_tag;
static uint32_t g_active_exception_size;
static uint8_t g_active_exception[MAX_EXCEPTION_SIZE];
static WASM_RT_UNWIND_TARGET* g_unwind_target;

uint32_t wasm_rt_register_tag(uint32_t size) {
  if (size > MAX_EXCEPTION_SIZE) wasm_rt_trap(WASM_RT_TRAP_EXHAUSTION);
  return g_tag_count++;
}

void wasm_rt_load_exception(uint32_t tag, uint32_t size, const void* values) {
  if (size > MAX_EXCEPTION_SIZE) wasm_rt_trap(WASM_RT_TRAP_EXHAUSTION);
  g_active_exception_tag = tag;
  g_active_exception_size = size;
  if (size != 0) memcpy(g_active_exception, values, size);
}

void wasm_rt_throw(void) {
  WASM_RT_LONGJMP(*g_unwind_target, WASM_RT_TRAP_UNCAUGHT_EXCEPTION);
}

WASM_RT_UNWIND_TARGET* wasm_rt_get_unwind_target(void) { return g_unwind_target; }

void wasm_rt_set_unwind_target(WASM_RT_UNWIND_TARGET* target) {
  /* wasm_rt_impl_try() comes through here first on every thread that runs
   * the guest: give the thread its alternate signal stack. */
  if (__builtin_expect(!t_thread.prepared, 0)) prepare_thread();
  g_unwind_target = target;
}

uint32_t wasm_rt_exception_tag(void) { return g_active_exception_tag; }

uint32_t wasm_rt_exception_size(void) { return g_active_exception_size; }

void* wasm_rt_exception(void) { return g_active_exception; }

/* ---- tables -------------------------------------------------------------- */

#define DEFINE_TABLE_OPS(type)                                                   \
  void wasm_rt_allocate_##type##_table(wasm_rt_##type##_table_t* table,          \
                                       uint32_t elements, uint32_t max_elements) { \
    table->size = elements;                                                      \
    table->max_size = max_elements;                                              \
    table->data = calloc(elements == 0 ? 1 : elements, sizeof(wasm_rt_##type##_t)); \
    if (table->data == NULL) {                                                   \
      table->size = 0;                                                           \
      wasm_rt_trap(WASM_RT_TRAP_EXHAUSTION);                                     \
    }                                                                            \
  }                                                                              \
  void wasm_rt_free_##type##_table(wasm_rt_##type##_table_t* table) {            \
    free(table->data);                                                           \
    table->data = NULL;                                                          \
    table->size = 0;                                                             \
  }                                                                              \
  uint32_t wasm_rt_grow_##type##_table(wasm_rt_##type##_table_t* table,          \
                                       uint32_t delta, wasm_rt_##type##_t init) { \
    uint32_t old_elems = table->size;                                            \
    uint64_t new_elems = (uint64_t)table->size + delta;                          \
    if (delta == 0) return old_elems;                                            \
    if (new_elems > table->max_size) return UINT32_MAX;                          \
    void* new_data = realloc(table->data, new_elems * sizeof(wasm_rt_##type##_t)); \
    if (new_data == NULL) return UINT32_MAX;                                     \
    table->data = new_data;                                                      \
    table->size = (uint32_t)new_elems;                                           \
    for (uint32_t i = old_elems; i < new_elems; i++) table->data[i] = init;      \
    return old_elems;                                                            \
  }

DEFINE_TABLE_OPS(funcref)
DEFINE_TABLE_OPS(externref)
