/* engine/runtime/linear_memory.h: the host's controls over the guest's
 * linear memory.
 *
 * The runtime (wasm_rt_allocate_memory / wasm_rt_grow_memory /
 * wasm_rt_free_memory, called by wasm2c-generated code) keeps the one linear
 * memory of the process at SNAKECAGE_LINEAR_MEMORY_BASE
 * (linear_memory_layout.h): it reserves
 * SNAKECAGE_LINEAR_MEMORY_RESERVATION_BYTES there on first use
 * (MAP_FIXED_NOREPLACE, PROT_NONE, so it counts toward RLIMIT_AS but not
 * toward committed memory) and makes pages readable and writable as the
 * memory grows. Freeing the memory discards its pages (they read as zero next
 * time) but keeps the reservation, so the next instance gets memory at the
 * same address, zeroed.
 *
 * Limits: the reservation is address space, so RLIMIT_AS must leave room for
 * it (8 GiB + 64 KiB on top of the process's own needs); RLIMIT_DATA counts
 * only the committed (grown) pages and is the rlimit that matches the guest's
 * real memory use.
 *
 * Everything here is process-global: one linear memory per process, and at
 * most one live at a time. Not thread-safe; call from the thread that runs
 * the guest, or while the guest is not running. Plain C, usable from C++.
 */
#ifndef SNAKECAGE_ENGINE_RUNTIME_LINEAR_MEMORY_H_
#define SNAKECAGE_ENGINE_RUNTIME_LINEAR_MEMORY_H_

#include <stdbool.h>
#include <stdint.h>

#include "engine/runtime/linear_memory_layout.h"
#include "wasm-rt.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Why the last wasm_rt_allocate_memory() failed. */
typedef enum {
  SNAKECAGE_LINEAR_MEMORY_OK = 0,
  /* The module's initial size is above the cap (or above
   * SNAKECAGE_LINEAR_MEMORY_MAX_PAGES). */
  SNAKECAGE_LINEAR_MEMORY_INITIAL_ABOVE_CAP,
  /* A linear memory is already live in this process; free it first. */
  SNAKECAGE_LINEAR_MEMORY_ALREADY_LIVE,
  /* The address range at SNAKECAGE_LINEAR_MEMORY_BASE could not be reserved
   * (something else is mapped there, or RLIMIT_AS is too low);
   * snakecage_linear_memory_last_errno() has the errno of mmap(). */
  SNAKECAGE_LINEAR_MEMORY_RESERVE_FAILED,
  /* mprotect() refused to commit the initial pages (out of memory);
   * snakecage_linear_memory_last_errno() has its errno. */
  SNAKECAGE_LINEAR_MEMORY_COMMIT_FAILED,
} snakecage_linear_memory_error_t;

/* Sets the largest size, in 64 KiB pages, the guest's memory may have.
 * memory.grow past it returns -1 (the guest's malloc fails, so Python raises
 * MemoryError); instantiating a module whose initial size is above it fails
 * with SNAKECAGE_LINEAR_MEMORY_INITIAL_ABOVE_CAP. Applies to the live memory
 * too: a memory already above a new, lower cap keeps its pages but cannot
 * grow. The module's own maximum, if lower, still applies. Values above
 * SNAKECAGE_LINEAR_MEMORY_MAX_PAGES mean SNAKECAGE_LINEAR_MEMORY_MAX_PAGES,
 * which is also the default. */
void snakecage_linear_memory_set_cap_pages(uint32_t pages);

/* The cap in effect, in pages. */
uint32_t snakecage_linear_memory_cap_pages(void);

/* True while a linear memory is allocated (between wasm_rt_allocate_memory and
 * wasm_rt_free_memory). */
bool snakecage_linear_memory_is_live(void);

/* Current size of the live memory in pages; 0 when none is live. */
uint32_t snakecage_linear_memory_current_pages(void);

/* Largest size, in pages, the memory has had since it was allocated or since
 * the last snakecage_linear_memory_reset_peak(); 0 before the first
 * allocation. Still readable after wasm_rt_free_memory() (it then reports the
 * freed memory's peak). */
uint32_t snakecage_linear_memory_peak_pages(void);

/* Starts a new peak measurement at the current size (for example in a forked
 * child that should only account for its own growth). */
void snakecage_linear_memory_reset_peak(void);

/* Number of memory.grow calls refused (by the cap, the module's maximum or the
 * OS) since the memory was allocated. */
uint64_t snakecage_linear_memory_refused_grows(void);

/* Why the last allocation failed; SNAKECAGE_LINEAR_MEMORY_OK after one that
 * succeeded. Z_<module>_instantiate() traps with WASM_RT_TRAP_EXHAUSTION when
 * the allocation fails; this tells that apart from a stack overflow. */
snakecage_linear_memory_error_t snakecage_linear_memory_last_error(void);

/* errno of the failed mmap()/mprotect() for RESERVE_FAILED / COMMIT_FAILED;
 * 0 otherwise. */
int snakecage_linear_memory_last_errno(void);

/* A readable name for an error code, e.g. "initial size above the memory cap". */
const char* snakecage_linear_memory_strerror(snakecage_linear_memory_error_t error);

/* Shrinks the live memory back to `pages` (no more than its current size):
 * the pages above read as zero and are inaccessible again, as if never
 * grown, and the peak restarts at `pages`. For a process that runs the guest
 * again from an earlier state (the executor's resident children). Returns
 * false, changing nothing, when no memory is live or `pages` is above the
 * current size, and false when the kernel refuses to discard the pages
 * (the memory must then not be used again). */
bool snakecage_linear_memory_shrink(wasm_rt_memory_t* memory, uint32_t pages);

/* True when `address` lies in the reserved range (used by the fault handler). */
bool snakecage_linear_memory_reservation_contains(uintptr_t address);

/* Unmaps the reservation. Only allowed when no memory is live (returns false
 * and does nothing otherwise); the next allocation reserves again.
 * wasm_rt_free() calls it. */
bool snakecage_linear_memory_release_reservation(void);

#ifdef __cplusplus
}
#endif

#endif /* SNAKECAGE_ENGINE_RUNTIME_LINEAR_MEMORY_H_ */
