// executor/zeroing_free.cc: in the zygote's processes, memory given back to
// the allocator holds nothing of what it held.
//
// A resident child serves one request after another (zygote_child.h,
// "Residents"), perhaps of different clients (a server's pooled one-off
// workspaces). Its guest is put back page for page, and its dead stack is
// cleared (dead_stack.h); what its host code allocated for a request (the
// guest's output, its result's JSON, the WASI host's buffers) is freed. This
// file makes "freed" mean "cleared": free() zeroes the whole usable block
// before glibc takes it back, and realloc() that moves a block frees the old
// one through that free(). So a request that escaped the WebAssembly sandbox
// would find none of an earlier request's data in the heap. (glibc's own
// perturb tunable is not enough: it skips the thread cache and leaves the
// last 8 bytes of each block.)
//
// It replaces glibc's free and realloc for the zygote executable and every
// library it loads (an executable's definitions come first); glibc's own
// __libc_* entry points do the rest. The sanitizer builds keep their own
// allocator, which this would fight: there it is not compiled.
#include <malloc.h>
#include <string.h>

#include <cstddef>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SNAKECAGE_ALLOCATOR_IS_ASAN 1
#endif
#endif

#if !defined(SNAKECAGE_ALLOCATOR_IS_ASAN)

extern "C" {

void* __libc_malloc(size_t size);
void __libc_free(void* block);

void free(void* block) {
  if (block == nullptr) return;
  explicit_bzero(block, malloc_usable_size(block));
  __libc_free(block);
}

void* realloc(void* block, size_t size) {
  if (block == nullptr) return __libc_malloc(size);
  if (size == 0) {
    free(block);
    return nullptr;
  }
  const size_t usable = malloc_usable_size(block);
  if (size <= usable) return block;  // its tail is cleared when it is freed
  void* grown = __libc_malloc(size);
  if (grown == nullptr) return nullptr;  // the old block stays, as realloc's contract says
  memcpy(grown, block, usable);
  free(block);
  return grown;
}

}  // extern "C"

#endif  // !SNAKECAGE_ALLOCATOR_IS_ASAN
