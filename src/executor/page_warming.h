// executor/page_warming.h: the pages an execution faults in, learned from a
// zygote's probe children and touched by each later spare while it waits.
//
// After fork, the first write to each page of the zygote's memory costs the
// child a copy-on-write fault, and the first run of each code page a file
// fault: about 1.9 µs each on this machine kind (a virtual machine; memcg
// charging), and a warm print(2+2) takes ~210 of them, half its time in the
// child. Which pages those are hardly depends on the user's code: the
// interpreter's allocator state, frames, the host's buffers. So:
//
//   1. When it starts serving, a zygote forks kLessons probe children that
//      run a fixed program of its own (zygote_server.cc), never a user's:
//      what one execution touched must not shape the timing of another's.
//      Each records the pages it faulted in (FaultRecorder: /proc/self/maps
//      and /proc/self/pagemap, opened before confinement) after its result,
//      and sends them to the zygote on a pipe (EncodePages).
//   2. The zygote keeps the pages all of them faulted in (Intersect): the
//      part every run needs, not the noise of one.
//   3. Each later spare touches those pages (TouchPages) before it waits for
//      its request, so the faults happen while it would sit idle.
//
// Touching never changes memory: a writable page's first byte is written
// back with the value it holds, a readable page's is read. Only pages that
// lie in a mapping of the right kind in the touching process *now* are
// touched (its own maps are read first): the zygote's heap may have shrunk
// since the pages were learned, and a write outside a writable mapping would
// be a crash. Nothing here runs on an execution's critical path, and none of
// it is reachable from the guest: these are host descriptors and host memory.
//
// Thread-safety: functions of their arguments; FaultRecorder is a value
// holding two descriptors. TouchPages must run while no other thread of the
// process writes the pages (a spare has one thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "base/unique_fd.h"
#include "snakecage/status.h"

namespace snakecage::executor {

// How many probe children's pages are intersected into the warm set.
inline constexpr int kLessons = 3;
// A child that faulted in more pages than these teaches nothing (it sends
// no lesson): every later spare would copy what it touched (writable pages
// are each spare's private memory; readable ones are shared page-cache
// pages), so a bound keeps a probe gone wrong from costing every spare.
inline constexpr size_t kMaxLessonWritablePages = 1024;  // 4 MiB
inline constexpr size_t kMaxLessonReadablePages = 8192;

// Page-aligned addresses, sorted and without duplicates.
struct PageSet {
  std::vector<uintptr_t> writable;  // private writable mappings: write-touch
  std::vector<uintptr_t> readable;  // other readable mappings: read-touch

  size_t size() const { return writable.size() + readable.size(); }
  bool operator==(const PageSet&) const = default;
};

// Reads which pages this process has faulted in since it was forked.
class FaultRecorder {
 public:
  // Opens /proc/self/maps and /proc/self/pagemap. Call before confinement
  // (Landlock does not grant /proc); reading later needs only read/pread.
  static StatusOr<FaultRecorder> Open();

  // The pages this process faulted in: in private writable mappings, the
  // present pages mapped only here (copied on write, or new); in other
  // readable mappings, the present pages (fork does not copy the page
  // tables of file mappings that were never written, so those were faulted
  // in here too). Special mappings ([vvar], [vdso], [vsyscall]) and
  // unreadable ones are skipped.
  StatusOr<PageSet> Read() const;

 private:
  FaultRecorder(UniqueFd maps, UniqueFd pagemap)
      : maps_(std::move(maps)), pagemap_(std::move(pagemap)) {}
  UniqueFd maps_;
  UniqueFd pagemap_;
};

// The pages in both `a` and `b`, kind by kind.
PageSet Intersect(const PageSet& a, const PageSet& b);

// A lesson on the wire: one little-endian uint64 per page, its address with
// bit 0 set for a writable page. An empty string is an empty set.
std::string EncodePages(const PageSet& pages);
// InvalidArgument if the length is not a multiple of 8 or an address is not
// page-aligned (bit 0 aside).
StatusOr<PageSet> DecodePages(const std::string& bytes);

// Touches the pages of `pages` that lie, in this process now, in a mapping
// of their kind (writable private for `writable`, readable for `readable`);
// skips the others. Returns how many it touched.
size_t TouchPages(const PageSet& pages);

}  // namespace snakecage::executor
