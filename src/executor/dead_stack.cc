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

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SNAKECAGE_DEAD_STACK_UNDER_ASAN 1
#include <dlfcn.h>
#include <sanitizer/common_interface_defs.h>
#endif
#endif

namespace snakecage::executor {
namespace {

constexpr uintptr_t kPage = 4096;
// Pages of the page map read at a time, going down: 256 KiB of stack.
constexpr size_t kScanPages = 64;
constexpr uint64_t kSwapped = uint64_t{1} << 62;
constexpr uint64_t kExclusive = uint64_t{1} << 56;  // mapped by this process alone

// The clearing runs on this stack (RunClearing). madvise, pread and
// explicit_bzero need little; a sanitizer's frames need more.
alignas(64) char g_clearing_stack[64 * 1024];

// What the clearing works on and what it found, while the cleared thread
// waits in swapcontext.
struct Clearing {
  ucontext_t cleared;   // the thread whose stack is cleared
  ucontext_t clearing;  // RunClearing on g_clearing_stack
  uintptr_t low = 0;
  uintptr_t high = 0;
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

#if defined(SNAKECAGE_DEAD_STACK_UNDER_ASAN)
// Sanitizer builds: ASan's swapcontext prints a warning on every process's
// first call (on the stderr tests read), so glibc's is called, and ASan is
// told of the switch through its fiber interface instead.
const void* g_cleared_bottom = nullptr;
size_t g_cleared_size = 0;

int SwitchToClearing(ucontext_t* from, ucontext_t* to) {
  using Swap = int (*)(ucontext_t*, const ucontext_t*);
  static const Swap glibc_swapcontext = reinterpret_cast<Swap>(dlsym(RTLD_NEXT, "swapcontext"));
  if (glibc_swapcontext == nullptr) return -1;
  void* fake_stack = nullptr;
  __sanitizer_start_switch_fiber(&fake_stack, g_clearing_stack, sizeof g_clearing_stack);
  const int rc = glibc_swapcontext(from, to);
  __sanitizer_finish_switch_fiber(fake_stack, nullptr, nullptr);
  return rc;
}
void EnteredClearing() {
  __sanitizer_finish_switch_fiber(nullptr, &g_cleared_bottom, &g_cleared_size);
}
void LeavingClearing() {
  __sanitizer_start_switch_fiber(nullptr, g_cleared_bottom, g_cleared_size);
}
#else
int SwitchToClearing(ucontext_t* from, ucontext_t* to) { return swapcontext(from, to); }
void EnteredClearing() {}
void LeavingClearing() {}
#endif

// Clears c.cleared's stack below its saved stack pointer, where nothing is
// live: swapcontext saves the pointer as it will be after swapcontext
// returns. False when it could not.
bool ClearBelowSavedPointer(const Clearing& c) {
  const uintptr_t sp = StackPointerOf(c.cleared);
  uintptr_t top = sp & ~(kPage - 1);
  if (top < c.low || sp > c.high) return false;  // not this stack's pointer
  explicit_bzero(reinterpret_cast<void*>(top), sp - top);
  uint64_t entries[kScanPages];
  while (top > c.low) {
    const uintptr_t from = std::max(c.low, top - kScanPages * kPage);
    const size_t pages = (top - from) / kPage;
    if (!ReadAllAt(c.pagemap, entries, pages * sizeof(uint64_t),
                   from / kPage * sizeof(uint64_t))) {
      return false;
    }
    bool any = false;
    for (size_t i = 0; i < pages; ++i) {
      // A page still shared with the zygote holds what it held there.
      if (!(entries[i] & (kExclusive | kSwapped))) continue;
      explicit_bzero(reinterpret_cast<void*>(from + i * kPage), kPage);
      any = true;
    }
    top = from;
    if (!any) break;
  }
  return top == c.low ||
         madvise(reinterpret_cast<void*>(c.low), top - c.low, MADV_DONTNEED) == 0;
}

// The clearing's entry, on g_clearing_stack; it returns to the cleared
// thread through uc_link.
void RunClearing() {
  EnteredClearing();
  g_clearing.ok = ClearBelowSavedPointer(g_clearing);
  LeavingClearing();
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
  return DeadStack(low, reinterpret_cast<uintptr_t>(addr) + size, std::move(pagemap));
}

bool DeadStack::Clear() const {
  Clearing& c = g_clearing;
  c.low = low_;
  c.high = high_;
  c.pagemap = pagemap_.get();
  c.ok = false;
  if (getcontext(&c.clearing) != 0) return false;
  c.clearing.uc_stack.ss_sp = g_clearing_stack;
  c.clearing.uc_stack.ss_size = sizeof g_clearing_stack;
  c.clearing.uc_link = &c.cleared;
  makecontext(&c.clearing, RunClearing, 0);
  if (SwitchToClearing(&c.cleared, &c.clearing) != 0) return false;
  return c.ok;
}

}  // namespace snakecage::executor
