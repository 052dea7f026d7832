// executor/dead_stack.h: clearing the part of a thread's stack below the
// frame that asks, where earlier calls left their locals.
//
// A resident child (zygote_child.h, "Residents") runs one request's guest
// after another on the same thread. The guest's frames, and the host's under
// it (WASI calls copying output, the result's JSON), lie below the frame that
// serves the requests; when they return their bytes stay. Between requests
// the resident clears everything below the stack pointer: the rest of the
// page the pointer is in, and the pages below it that this process wrote
// (/proc/self/pagemap: present and mapped here alone, or swapped out), are
// zeroed, from the pointer down to the first 256 KiB with none such (so the
// next request finds the pages it will use again in place); every page
// below that is dropped (madvise MADV_DONTNEED: zero when next touched).
// Pages still shared with the zygote hold the zygote's bytes, which every
// child sees: copying them to zero them would only cost memory. The
// clearing runs on a small stack of its own (swapcontext), so that none of
// its frames is in what it clears.
//
// Thread-safety: one DeadStack per thread, used by that thread only (the
// clearing stack is per process: a resident has one thread).
#pragma once

#include <cstdint>

#include "base/unique_fd.h"
#include "snakecage/status.h"

namespace snakecage::executor {

class DeadStack {
 public:
  // The calling thread's stack. Call before confinement (it may read the
  // thread's CPU mask, and opens /proc/self/pagemap); Internal when the
  // bounds or the page map cannot be had.
  static StatusOr<DeadStack> OfThisThread();

  // Clears the stack below the caller's frame, as above. False when it
  // could not (the page map unreadable, madvise refused): the stack may
  // then hold what it held, and the caller must not serve another request.
  bool Clear() const;

 private:
  DeadStack(uintptr_t low, uintptr_t high, UniqueFd pagemap)
      : low_(low), high_(high), pagemap_(std::move(pagemap)) {}
  uintptr_t low_;   // the lowest usable address of the stack
  uintptr_t high_;  // one past its highest
  UniqueFd pagemap_;
};

}  // namespace snakecage::executor
