// What a zygote's spares touch before their requests
// (src/executor/page_warming.h). Each test that reads the page tables forks
// a child, as the zygote does, and the child reports through a pipe what
// FaultRecorder saw; the parent checks it.
#include "executor/page_warming.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>

namespace snakecage::executor {
namespace {

constexpr size_t kPage = 4096;

// Runs `child` in a forked child and returns what it wrote to the pipe it
// was given; fails the test if the child did not exit 0.
std::string InChild(const std::function<std::string()>& child) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    const std::string out = child();
    size_t off = 0;
    while (off < out.size()) {
      const ssize_t n = write(fds[1], out.data() + off, out.size() - off);
      if (n <= 0) _exit(3);
      off += static_cast<size_t>(n);
    }
    _exit(0);
  }
  close(fds[1]);
  std::string out;
  char buf[65536];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  return out;
}

// The pages of `pages` (one list) that lie in [base, base + n pages), as
// page indices.
std::vector<size_t> Within(const std::vector<uintptr_t>& pages, const void* base, size_t n) {
  const uintptr_t b = reinterpret_cast<uintptr_t>(base);
  std::vector<size_t> out;
  for (uintptr_t p : pages) {
    if (p >= b && p < b + n * kPage) out.push_back((p - b) / kPage);
  }
  return out;
}

char* MapAnonymous(size_t pages, int prot = PROT_READ | PROT_WRITE) {
  void* p = mmap(nullptr, pages * kPage, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  EXPECT_NE(p, MAP_FAILED);
  return static_cast<char*>(p);
}

TEST(FaultRecorderTest, ReportsExactlyThePagesAChildWroteOrCreated) {
  // Written by the parent before the fork: shared with the child until it
  // writes. `fresh` is never touched by the parent.
  char* shared = MapAnonymous(16);
  for (size_t i = 0; i < 16; ++i) shared[i * kPage] = static_cast<char>(i + 1);
  char* fresh = MapAnonymous(4);
  const std::string lesson = InChild([&] {
    StatusOr<FaultRecorder> recorder = FaultRecorder::Open();
    if (!recorder.ok()) _exit(10);
    shared[2 * kPage] = 'a';                     // copy on write
    shared[5 * kPage + 100] = 'b';               // copy on write
    volatile char read = shared[7 * kPage];      // a read shares, copies nothing
    (void)read;
    fresh[1 * kPage] = 'c';                      // a new page
    StatusOr<PageSet> pages = recorder->Read();
    if (!pages.ok()) _exit(11);
    return EncodePages(*pages);
  });
  StatusOr<PageSet> pages = DecodePages(lesson);
  ASSERT_TRUE(pages.ok()) << pages.status().message();
  EXPECT_EQ(Within(pages->writable, shared, 16), (std::vector<size_t>{2, 5}));
  EXPECT_EQ(Within(pages->writable, fresh, 4), (std::vector<size_t>{1}));
  EXPECT_EQ(Within(pages->readable, shared, 16), (std::vector<size_t>{}));
  munmap(shared, 16 * kPage);
  munmap(fresh, 4 * kPage);
}

TEST(FaultRecorderTest, ReportsFileBackedPagesTheChildFaultedInAsReadable) {
  // A read-only file mapping nobody touched before the fork: fork copies no
  // page tables for it, so whatever is present in the child it faulted in.
  char path[] = "/tmp/page-warming-test.XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  std::string content(64 * kPage, 'x');
  ASSERT_EQ(write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
  void* map = mmap(nullptr, 64 * kPage, PROT_READ, MAP_PRIVATE, fd, 0);
  ASSERT_NE(map, MAP_FAILED);
  const char* file = static_cast<const char*>(map);
  const std::string lesson = InChild([&] {
    StatusOr<FaultRecorder> recorder = FaultRecorder::Open();
    if (!recorder.ok()) _exit(10);
    volatile char c = file[40 * kPage];
    (void)c;
    StatusOr<PageSet> pages = recorder->Read();
    if (!pages.ok()) _exit(11);
    return EncodePages(*pages);
  });
  StatusOr<PageSet> pages = DecodePages(lesson);
  ASSERT_TRUE(pages.ok()) << pages.status().message();
  // The page read is there (the kernel may map neighbours of it too), and
  // nothing of the file counts as written.
  const std::vector<size_t> readable = Within(pages->readable, file, 64);
  EXPECT_TRUE(std::find(readable.begin(), readable.end(), 40u) != readable.end());
  EXPECT_EQ(Within(pages->writable, file, 64), (std::vector<size_t>{}));
  munmap(map, 64 * kPage);
  close(fd);
  unlink(path);
}

TEST(TouchPagesTest, TouchesOnlyPagesInMappingsOfTheirKindAndChangesNothing) {
  char* shared = MapAnonymous(8);
  for (size_t i = 0; i < 8; ++i) shared[i * kPage] = static_cast<char>(0x40 + i);
  char* no_access = MapAnonymous(2, PROT_NONE);
  char* read_only = MapAnonymous(2, PROT_READ);
  char* gone = MapAnonymous(2);
  munmap(gone, 2 * kPage);
  const std::string report = InChild([&] {
    PageSet warm;
    // Writable: a good page and a run of three (touched together), then a
    // page of each mapping a write would crash on: none, no access,
    // read-only.
    warm.writable = {reinterpret_cast<uintptr_t>(shared + 1 * kPage),
                     reinterpret_cast<uintptr_t>(shared + 3 * kPage),
                     reinterpret_cast<uintptr_t>(shared + 4 * kPage),
                     reinterpret_cast<uintptr_t>(shared + 5 * kPage),
                     reinterpret_cast<uintptr_t>(gone),
                     reinterpret_cast<uintptr_t>(no_access),
                     reinterpret_cast<uintptr_t>(read_only)};
    // Readable: a read-only page (fine) and an inaccessible one (skipped).
    warm.readable = {reinterpret_cast<uintptr_t>(read_only + kPage),
                     reinterpret_cast<uintptr_t>(no_access + kPage)};
    std::sort(warm.writable.begin(), warm.writable.end());
    std::sort(warm.readable.begin(), warm.readable.end());
    StatusOr<FaultRecorder> recorder = FaultRecorder::Open();
    if (!recorder.ok()) _exit(10);
    const size_t touched = TouchPages(warm);
    StatusOr<PageSet> pages = recorder->Read();
    if (!pages.ok()) _exit(11);
    std::string out = std::to_string(touched) + " ";
    for (size_t i : Within(pages->writable, shared, 8)) out += std::to_string(i) + ",";
    out += " ";
    for (size_t i = 0; i < 8; ++i) out += shared[i * kPage];
    return out;
  });
  // 5 touched (four writes, one read); pages 1 and 3-5 now the child's
  // own; every byte as it was.
  EXPECT_EQ(report, "5 1,3,4,5, @ABCDEFG");
  munmap(shared, 8 * kPage);
  munmap(no_access, 2 * kPage);
  munmap(read_only, 2 * kPage);
}

TEST(PageSetTest, EncodesAndDecodesBothKinds) {
  PageSet pages{{0x1000, 0x7f0000002000}, {0x3000, 0x5000}};
  StatusOr<PageSet> back = DecodePages(EncodePages(pages));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, pages);
  EXPECT_EQ(EncodePages(pages).size(), 32u);
  StatusOr<PageSet> empty = DecodePages("");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->size(), 0u);
}

TEST(PageSetTest, DecodeRefusesTornOrUnalignedEntries) {
  StatusOr<PageSet> torn = DecodePages(std::string(12, '\0'));
  ASSERT_FALSE(torn.ok());
  EXPECT_EQ(torn.status().message(), "page list: 12 bytes is not a whole number of 8-byte entries");
  std::string unaligned = EncodePages(PageSet{{}, {0x1000}});
  unaligned[0] = 0x10;  // 0x1010
  StatusOr<PageSet> bad = DecodePages(unaligned);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "page list: entry 0 is not a page address");
}

TEST(PageSetTest, IntersectKeepsWhatBothHaveKindByKind) {
  PageSet a{{0x1000, 0x2000, 0x3000}, {0x8000, 0x9000}};
  PageSet b{{0x2000, 0x3000, 0x4000}, {0x9000, 0xa000}};
  EXPECT_EQ(Intersect(a, b), (PageSet{{0x2000, 0x3000}, {0x9000}}));
  // A page written in one lesson and only read in another is in neither.
  EXPECT_EQ(Intersect(PageSet{{0x1000}, {}}, PageSet{{}, {0x1000}}).size(), 0u);
}

}  // namespace
}  // namespace snakecage::executor
