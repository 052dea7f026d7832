/* engine/runtime/linear_memory_layout.h: where the guest's linear memory lives.
 *
 * One wasm2c instance per process has its linear memory at the fixed virtual
 * address SNAKECAGE_LINEAR_MEMORY_BASE. The generated code (see
 * src/engine/aot/split_wasm2c_output.py) addresses memory as
 * SNAKECAGE_LINEAR_MEMORY_BASE + address, a constant the compiler keeps in a
 * register, instead of reloading `mem->data` after every store.
 *
 * The runtime reserves SNAKECAGE_LINEAR_MEMORY_RESERVATION_BYTES there
 * (PROT_NONE) and commits pages as the memory grows. The reservation covers
 * every address a wasm32 load or store can form (a 32-bit address plus a
 * 32-bit offset plus the access size), so loads and stores need no bounds
 * check: an access beyond the current size faults inside the reservation and
 * becomes an out-of-bounds trap.
 *
 * This header is part of the cache key of every compiled module (changing it
 * recompiles them); keep it to these constants. Plain C, usable from C++.
 */
#ifndef SNAKECAGE_ENGINE_RUNTIME_LINEAR_MEMORY_LAYOUT_H_
#define SNAKECAGE_ENGINE_RUNTIME_LINEAR_MEMORY_LAYOUT_H_

#include <stdint.h>

/* Address of byte 0 of the guest's linear memory (32 TiB, in the middle of the
 * x86-64 and 48-bit AArch64 user address space, away from where the kernel
 * places the executable, heap, stacks and mmap()s). */
#define SNAKECAGE_LINEAR_MEMORY_BASE_ADDRESS 0x200000000000ull
#define SNAKECAGE_LINEAR_MEMORY_BASE ((uint8_t*)SNAKECAGE_LINEAR_MEMORY_BASE_ADDRESS)

/* A WebAssembly page, in bytes. */
#define SNAKECAGE_WASM_PAGE_SIZE 65536ull

/* Bytes reserved at the base: 8 GiB for base + (u32 address) + (u32 offset),
 * plus one page for the bytes of an access that starts just below 8 GiB. */
#define SNAKECAGE_LINEAR_MEMORY_RESERVATION_BYTES \
  (0x200000000ull + SNAKECAGE_WASM_PAGE_SIZE)

/* Largest memory the runtime will create or grow to, in pages. 65536 pages
 * (4 GiB) would not fit wasm_rt_memory_t's 32-bit `size` field. */
#define SNAKECAGE_LINEAR_MEMORY_MAX_PAGES 65535u

#endif /* SNAKECAGE_ENGINE_RUNTIME_LINEAR_MEMORY_LAYOUT_H_ */
