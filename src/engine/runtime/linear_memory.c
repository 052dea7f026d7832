/* engine/runtime/linear_memory.c: wasm2c's memory API (wasm-rt.h) with the
 * one linear memory of the process at SNAKECAGE_LINEAR_MEMORY_BASE, and the
 * host's controls over it (linear_memory.h). */
#define _GNU_SOURCE
#include "engine/runtime/linear_memory.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "engine/runtime/wasm_rt_impl.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

/* All process-global; see linear_memory.h. */
static bool g_reserved;
static bool g_live;
static uint32_t g_cap_pages = SNAKECAGE_LINEAR_MEMORY_MAX_PAGES;
static uint32_t g_current_pages;
static uint32_t g_peak_pages;
static uint64_t g_committed_bytes;
static uint64_t g_refused_grows;
static snakecage_linear_memory_error_t g_last_error = SNAKECAGE_LINEAR_MEMORY_OK;
static int g_last_errno;

static uint32_t min_u32(uint32_t a, uint32_t b) { return a < b ? a : b; }

void snakecage_linear_memory_set_cap_pages(uint32_t pages) {
  g_cap_pages = min_u32(pages, SNAKECAGE_LINEAR_MEMORY_MAX_PAGES);
}

uint32_t snakecage_linear_memory_cap_pages(void) { return g_cap_pages; }

bool snakecage_linear_memory_is_live(void) { return g_live; }

uint32_t snakecage_linear_memory_current_pages(void) {
  return g_live ? g_current_pages : 0;
}

uint32_t snakecage_linear_memory_peak_pages(void) { return g_peak_pages; }

void snakecage_linear_memory_reset_peak(void) {
  g_peak_pages = snakecage_linear_memory_current_pages();
}

uint64_t snakecage_linear_memory_refused_grows(void) { return g_refused_grows; }

snakecage_linear_memory_error_t snakecage_linear_memory_last_error(void) {
  return g_last_error;
}

int snakecage_linear_memory_last_errno(void) { return g_last_errno; }

const char* snakecage_linear_memory_strerror(snakecage_linear_memory_error_t error) {
  switch (error) {
    case SNAKECAGE_LINEAR_MEMORY_OK:
      return "no error";
    case SNAKECAGE_LINEAR_MEMORY_INITIAL_ABOVE_CAP:
      return "initial size above the memory cap";
    case SNAKECAGE_LINEAR_MEMORY_ALREADY_LIVE:
      return "a linear memory is already live in this process";
    case SNAKECAGE_LINEAR_MEMORY_RESERVE_FAILED:
      return "cannot reserve the address range of linear memory";
    case SNAKECAGE_LINEAR_MEMORY_COMMIT_FAILED:
      return "cannot commit the initial pages of linear memory";
  }
  return "unknown linear memory error";
}

bool snakecage_linear_memory_reservation_contains(uintptr_t address) {
  return g_reserved && address - (uintptr_t)SNAKECAGE_LINEAR_MEMORY_BASE_ADDRESS <
                           SNAKECAGE_LINEAR_MEMORY_RESERVATION_BYTES;
}

static bool reserve(void) {
  if (g_reserved) return true;
  void* want = SNAKECAGE_LINEAR_MEMORY_BASE;
  void* got = mmap(want, SNAKECAGE_LINEAR_MEMORY_RESERVATION_BYTES, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE,
                   -1, 0);
  if (got == MAP_FAILED) {
    g_last_errno = errno;
    return false;
  }
  if (got != want) {
    /* A kernel older than 4.17 treats MAP_FIXED_NOREPLACE as a hint. */
    munmap(got, SNAKECAGE_LINEAR_MEMORY_RESERVATION_BYTES);
    g_last_errno = EEXIST;
    return false;
  }
  g_reserved = true;
  return true;
}

bool snakecage_linear_memory_release_reservation(void) {
  if (g_live) return false;
  if (g_reserved) {
    if (munmap(SNAKECAGE_LINEAR_MEMORY_BASE, SNAKECAGE_LINEAR_MEMORY_RESERVATION_BYTES) != 0) {
      return false;
    }
    g_reserved = false;
  }
  return true;
}

static WASM_RT_NO_RETURN void allocation_failed(wasm_rt_memory_t* memory,
                                                snakecage_linear_memory_error_t error) {
  g_last_error = error;
  memory->data = NULL;
  memory->pages = 0;
  memory->size = 0;
  wasm_rt_trap(WASM_RT_TRAP_EXHAUSTION);
}

void wasm_rt_allocate_memory(wasm_rt_memory_t* memory, uint32_t initial_pages,
                             uint32_t max_pages) {
  g_last_error = SNAKECAGE_LINEAR_MEMORY_OK;
  g_last_errno = 0;
  memory->max_pages = max_pages;
  if (g_live) allocation_failed(memory, SNAKECAGE_LINEAR_MEMORY_ALREADY_LIVE);
  if (initial_pages > g_cap_pages) {
    allocation_failed(memory, SNAKECAGE_LINEAR_MEMORY_INITIAL_ABOVE_CAP);
  }
  if (!reserve()) allocation_failed(memory, SNAKECAGE_LINEAR_MEMORY_RESERVE_FAILED);
  /* Transparent huge pages where the kernel offers them ("madvise" mode):
   * the page tables of a 2 MiB huge page are one entry, so a zygote's fork
   * copies, and its child's exit tears down, 512 times fewer entries for
   * the interpreter's ~12 MB of start-up memory. A child's first write to a
   * shared huge page splits it and copies only the 4 KiB page written, so
   * copy-on-write stays per page. Best effort: without THP nothing changes
   * but speed. (Set again for every allocation: freeing replaces the
   * mapping, and the advice with it.) */
  (void)madvise(SNAKECAGE_LINEAR_MEMORY_BASE, SNAKECAGE_LINEAR_MEMORY_RESERVATION_BYTES,
                MADV_HUGEPAGE);
  uint64_t bytes = (uint64_t)initial_pages * SNAKECAGE_WASM_PAGE_SIZE;
  if (bytes != 0 &&
      mprotect(SNAKECAGE_LINEAR_MEMORY_BASE, bytes, PROT_READ | PROT_WRITE) != 0) {
    g_last_errno = errno;
    allocation_failed(memory, SNAKECAGE_LINEAR_MEMORY_COMMIT_FAILED);
  }
  g_live = true;
  g_committed_bytes = bytes;
  g_current_pages = initial_pages;
  g_peak_pages = initial_pages;
  g_refused_grows = 0;
  memory->data = SNAKECAGE_LINEAR_MEMORY_BASE;
  memory->pages = initial_pages;
  memory->size = (uint32_t)bytes;
}

uint32_t wasm_rt_grow_memory(wasm_rt_memory_t* memory, uint32_t delta) {
  uint32_t old_pages = memory->pages;
  uint64_t new_pages = (uint64_t)old_pages + delta;
  if (memory->data != SNAKECAGE_LINEAR_MEMORY_BASE || !g_live) {
    g_refused_grows++;
    return UINT32_MAX;
  }
  if (delta == 0) return old_pages;
  if (new_pages > memory->max_pages || new_pages > g_cap_pages ||
      new_pages > SNAKECAGE_LINEAR_MEMORY_MAX_PAGES) {
    g_refused_grows++;
    return UINT32_MAX;
  }
  uint64_t old_bytes = (uint64_t)old_pages * SNAKECAGE_WASM_PAGE_SIZE;
  uint64_t delta_bytes = (uint64_t)delta * SNAKECAGE_WASM_PAGE_SIZE;
  if (mprotect(SNAKECAGE_LINEAR_MEMORY_BASE + old_bytes, delta_bytes,
               PROT_READ | PROT_WRITE) != 0) {
    g_refused_grows++;
    return UINT32_MAX;
  }
  memory->pages = (uint32_t)new_pages;
  memory->size = (uint32_t)(new_pages * SNAKECAGE_WASM_PAGE_SIZE);
  g_current_pages = (uint32_t)new_pages;
  if (g_committed_bytes < old_bytes + delta_bytes) g_committed_bytes = old_bytes + delta_bytes;
  if (g_current_pages > g_peak_pages) g_peak_pages = g_current_pages;
  return old_pages;
}

bool snakecage_linear_memory_shrink(wasm_rt_memory_t* memory, uint32_t pages) {
  if (!g_live || memory->data != SNAKECAGE_LINEAR_MEMORY_BASE || pages > memory->pages) {
    return false;
  }
  uint64_t keep = (uint64_t)pages * SNAKECAGE_WASM_PAGE_SIZE;
  if (g_committed_bytes > keep) {
    /* Every page ever committed above `pages`, not only the current size's:
     * a grown memory is zero where it was never written. */
    uint64_t drop = g_committed_bytes - keep;
    if (madvise(SNAKECAGE_LINEAR_MEMORY_BASE + keep, drop, MADV_DONTNEED) != 0 ||
        mprotect(SNAKECAGE_LINEAR_MEMORY_BASE + keep, drop, PROT_NONE) != 0) {
      return false;
    }
    g_committed_bytes = keep;
  }
  memory->pages = pages;
  memory->size = (uint32_t)keep;
  g_current_pages = pages;
  g_peak_pages = pages;
  return true;
}

void wasm_rt_free_memory(wasm_rt_memory_t* memory) {
  if (!g_live || memory->data != SNAKECAGE_LINEAR_MEMORY_BASE) {
    /* Never allocated (allocation trapped) or already freed. */
    memory->data = NULL;
    memory->pages = 0;
    memory->size = 0;
    return;
  }
  if (g_committed_bytes != 0) {
    /* Replace the committed pages by fresh PROT_NONE ones: returns them to the
     * OS and makes them read as zero when committed again. */
    void* p = mmap(SNAKECAGE_LINEAR_MEMORY_BASE, g_committed_bytes, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
    if (p != SNAKECAGE_LINEAR_MEMORY_BASE) {
      if (madvise(SNAKECAGE_LINEAR_MEMORY_BASE, g_committed_bytes, MADV_DONTNEED) != 0 ||
          mprotect(SNAKECAGE_LINEAR_MEMORY_BASE, g_committed_bytes, PROT_NONE) != 0) {
        /* The next instance would see this one's data: refuse to go on. */
        perror("snakecage: cannot discard linear memory");
        abort();
      }
    }
  }
  g_live = false;
  g_committed_bytes = 0;
  g_current_pages = 0;
  memory->data = NULL;
  memory->pages = 0;
  memory->size = 0;
}
