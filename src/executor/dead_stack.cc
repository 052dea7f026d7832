#include "executor/dead_stack.h"

#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "base/read_all_at.h"

namespace snakecage::executor {
namespace {

constexpr uintptr_t kPage = 4096;
// Pages of the page map read at a time, going down: 256 KiB of stack.
constexpr size_t kScanPages = 64;
constexpr uint64_t kPresent = uint64_t{1} << 63;
constexpr uint64_t kSwapped = uint64_t{1} << 62;

// The clearing runs on this stack. madvise, pread and explicit_bzero need
// little; a sanitizer's frames need more.
alignas(64) char g_clearing_stack[64 * 1024];

// What the clearing works on and what it found, while the cleared thread
// waits in swapcontext.
struct Clearing {
  ucontext_t cleared;   // the thread whose stack is cleared
  ucontext_t clearing;  // ClearBelowSavedPointer on g_clearing_stack
  uintptr_t low = 0;
  int pagemap = -1;
  bool ok = false;
};
Clearing g_clearing;

uintptr_t StackPointerOf(const ucontext_t& context) {
#if defined(__x86_64__)
  return static_cast<uintptr_t>(context.uc_mcontext.gregs[REG_RSP]);
#elif defined(__aarch64__)
  return static_cast<uintptr_t>(context.uc_mcontext.sp);
#else
#error "DeadStack: no stack pointer for this architecture"
#endif
}

// Runs on g_clearing_stack; returns to the cleared thread through uc_link.
// Below the saved stack pointer nothing is live: swapcontext saves it as it
// will be after swapcontext returns.
void ClearBelowSavedPointer() {
  Clearing& c = g_clearing;
  const uintptr_t sp = StackPointerOf(c.cleared);
  uintptr_t top = sp & ~(kPage - 1);
  if (top < c.low) return;  // not this stack's pointer: ok stays false
  explicit_bzero(reinterpret_cast<void*>(top), sp - top);
  uint64_t entries[kScanPages];
  while (top > c.low) {
    const uintptr_t from = std::max(c.low, top - kScanPages * kPage);
    const size_t pages = (top - from) / kPage;
    if (!ReadAllAt(c.pagemap, entries, pages * sizeof(uint64_t),
                   from / kPage * sizeof(uint64_t))) {
      return;
    }
    bool any = false;
    for (size_t i = 0; i < pages; ++i) {
      if (!(entries[i] & (kPresent | kSwapped))) continue;
      explicit_bzero(reinterpret_cast<void*>(from + i * kPage), kPage);
      any = true;
    }
    top = from;
    if (!any) break;
  }
  if (top > c.low && madvise(reinterpret_cast<void*>(c.low), top - c.low, MADV_DONTNEED) != 0) {
    return;
  }
  c.ok = true;
}

}  // namespace

StatusOr<DeadStack> DeadStack::OfThisThread() {
  pthread_attr_t attr;
  if (int rc = pthread_getattr_np(pthread_self(), &attr); rc != 0) {
    return Internal(std::string("dead stack: pthread_getattr_np: ") + std::strerror(rc));
  }
  void* addr = nullptr;
  size_t size = 0;
  const int rc = pthread_attr_getstack(&attr, &addr, &size);
  pthread_attr_destroy(&attr);
  if (rc != 0 || addr == nullptr) {
    return Internal(std::string("dead stack: pthread_attr_getstack: ") + std::strerror(rc));
  }
  UniqueFd pagemap(open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC));
  if (!pagemap.valid()) {
    return Internal(std::string("dead stack: /proc/self/pagemap: ") + std::strerror(errno));
  }
  const uintptr_t low = (reinterpret_cast<uintptr_t>(addr) + kPage - 1) & ~(kPage - 1);
  return DeadStack(low, std::move(pagemap));
}

bool DeadStack::Clear() const {
  Clearing& c = g_clearing;
  c.low = low_;
  c.pagemap = pagemap_.get();
  c.ok = false;
  if (getcontext(&c.clearing) != 0) return false;
  c.clearing.uc_stack.ss_sp = g_clearing_stack;
  c.clearing.uc_stack.ss_size = sizeof g_clearing_stack;
  c.clearing.uc_link = &c.cleared;
  makecontext(&c.clearing, ClearBelowSavedPointer, 0);
  if (swapcontext(&c.cleared, &c.clearing) != 0) return false;
  return c.ok;
}

}  // namespace snakecage::executor
