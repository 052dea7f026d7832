// The workspace quota (WasiConfig::writable_max_bytes): every call that
// makes the writable mount grow is refused with NOSPC past it, short writes
// fill it exactly, shrinking calls give space back, read-only mounts and
// stdio are not counted.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "base/workspace_usage.h"
#include "fake_guest.h"
#include "wasi/wasi_host.h"

namespace snakecage::wasi {
namespace {

using testing::FakeGuest;
using testing::kReadRights;
using testing::kWriteRights;
using testing::MakeHost;
using testing::OpenPath;
using testing::TempDir;
using testing::WriteFd;
using testing::WriteFile;

constexpr uint32_t kWs = 3;    // read-write workspace
constexpr uint32_t kData = 4;  // read-only mount
constexpr uint64_t kBlock = kWorkspaceBlockBytes;
constexpr uint32_t kCreate = abi::kOflagCreat | abi::kOflagTrunc;

uint64_t SizeOf(const std::filesystem::path& p) {
  struct stat st{};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return static_cast<uint64_t>(st.st_size);
}

class WasiQuotaTest : public ::testing::Test {
 protected:
  // A host whose workspace may hold `blocks` blocks.
  void Start(uint64_t max_bytes) {
    WasiConfig c;
    c.preopens = {{ws_.path(), "/app", false}, {data_.path(), "/data", true}};
    c.writable_max_bytes = max_bytes;
    host_ = MakeHost(c);
    ASSERT_NE(host_, nullptr);
  }
  uint32_t Create(std::string_view path, uint32_t fdflags = 0) {
    auto [err, fd] = OpenPath(*host_, g_, kWs, path, kCreate, kWriteRights, fdflags);
    EXPECT_EQ(err, abi::kSuccess) << path;
    return fd;
  }
  uint32_t Pwrite(uint32_t fd, std::string_view data, uint64_t off, uint32_t* written) {
    const uint32_t buf = g_.Put(data);
    const uint32_t iov = g_.PutIovecs({{buf, static_cast<uint32_t>(data.size())}});
    const uint32_t out = g_.Alloc(4);
    const uint32_t r = host_->FdPwrite(g_.mem(), fd, iov, 1, off, out);
    *written = g_.Load<uint32_t>(out);
    return r;
  }
  uint32_t Path1(uint32_t (WasiHost::*call)(GuestMemory, uint32_t, uint32_t, uint32_t),
                 std::string_view path) {
    const uint32_t p = g_.Put(path);
    return (host_.get()->*call)(g_.mem(), kWs, p, static_cast<uint32_t>(path.size()));
  }
  uint32_t Symlink(std::string_view target, std::string_view name) {
    const uint32_t a = g_.Put(target), b = g_.Put(name);
    return host_->PathSymlink(g_.mem(), a, static_cast<uint32_t>(target.size()), kWs, b,
                              static_cast<uint32_t>(name.size()));
  }
  uint32_t Link(std::string_view from, std::string_view to) {
    const uint32_t a = g_.Put(from), b = g_.Put(to);
    return host_->PathLink(g_.mem(), kWs, 0, a, static_cast<uint32_t>(from.size()), kWs, b,
                           static_cast<uint32_t>(to.size()));
  }
  uint32_t Rename(std::string_view from, std::string_view to) {
    const uint32_t a = g_.Put(from), b = g_.Put(to);
    return host_->PathRename(g_.mem(), kWs, a, static_cast<uint32_t>(from.size()), kWs, b,
                             static_cast<uint32_t>(to.size()));
  }

  TempDir ws_;
  TempDir data_;
  FakeGuest g_{64};
  std::unique_ptr<WasiHost> host_;
};

TEST_F(WasiQuotaTest, AWriteIsCutShortAtTheQuotaAndTheNextOneIsNospc) {
  Start(4 * kBlock);
  const uint32_t fd = Create("big.bin");  // one block, for the name
  const std::string chunk(3000, 'x');
  uint64_t total = 0;
  for (int i = 0; i < 6; ++i) {
    auto [err, n] = WriteFd(*host_, g_, fd, chunk);
    ASSERT_EQ(err, abi::kSuccess) << "write " << i;
    EXPECT_EQ(n, i < 5 ? 3000u : 4 * kBlock - 15000) << "write " << i;
    total += n;
  }
  // 4 blocks in all (the name's block is the content's first): the file
  // may reach exactly 16,384 bytes.
  EXPECT_EQ(total, 4 * kBlock);
  EXPECT_EQ(WriteFd(*host_, g_, fd, "y").first, abi::kNospc);
  EXPECT_EQ(SizeOf(ws_ / "big.bin"), 4 * kBlock);
  EXPECT_EQ(host_->quota_refusals(), 1u);
  // Rewriting what is already there does not grow the file: allowed.
  uint32_t written = 0;
  EXPECT_EQ(Pwrite(fd, "zz", 0, &written), abi::kSuccess);
  EXPECT_EQ(written, 2u);
}

TEST_F(WasiQuotaTest, ASparseWriteCountsItsApparentSize) {
  Start(100 * kBlock);
  const uint32_t fd = Create("sparse");
  uint32_t written = 0;
  EXPECT_EQ(Pwrite(fd, "x", 1'000'000'000, &written), abi::kNospc);
  EXPECT_EQ(written, 0u);
  EXPECT_EQ(SizeOf(ws_ / "sparse"), 0u);
  // Growing by truncation is charged the same way.
  EXPECT_EQ(host_->FdFilestatSetSize(g_.mem(), fd, 1'000'000'000), abi::kNospc);
  EXPECT_EQ(SizeOf(ws_ / "sparse"), 0u);
  EXPECT_EQ(host_->FdAllocate(g_.mem(), fd, 0, 1'000'000'000), abi::kNospc);
  EXPECT_EQ(host_->quota_refusals(), 3u);
  // What fits does.
  EXPECT_EQ(host_->FdFilestatSetSize(g_.mem(), fd, 99 * kBlock), abi::kSuccess);
  EXPECT_EQ(SizeOf(ws_ / "sparse"), 99 * kBlock);
}

TEST_F(WasiQuotaTest, WhatIsAlreadyInTheWorkspaceCounts) {
  WriteFile(ws_ / "existing", std::string(3 * kBlock, 'e'));
  Start(4 * kBlock);
  // 3 blocks taken: the new file gets one block for its name and nothing
  // more.
  const uint32_t fd = Create("new");
  EXPECT_EQ(WriteFd(*host_, g_, fd, std::string(kBlock, 'n')).second, kBlock);
  EXPECT_EQ(WriteFd(*host_, g_, fd, "more").first, abi::kNospc);
  auto [err, fd2] = OpenPath(*host_, g_, kWs, "another", kCreate, kWriteRights);
  EXPECT_EQ(err, abi::kNospc);
  EXPECT_FALSE(std::filesystem::exists(ws_ / "another"));
}

TEST_F(WasiQuotaTest, EveryNewNameCostsABlock) {
  Start(3 * kBlock);
  EXPECT_EQ(Path1(&WasiHost::PathCreateDirectory, "d1"), abi::kSuccess);
  EXPECT_EQ(Symlink("d1", "l1"), abi::kSuccess);
  Create("f");
  // Full: no directory, symlink, hard link or file more.
  EXPECT_EQ(Path1(&WasiHost::PathCreateDirectory, "d2"), abi::kNospc);
  EXPECT_EQ(Symlink("d1", "l2"), abi::kNospc);
  EXPECT_EQ(Link("f", "f2"), abi::kNospc);
  EXPECT_EQ(OpenPath(*host_, g_, kWs, "g", abi::kOflagCreat, kWriteRights).error, abi::kNospc);
  EXPECT_EQ(host_->quota_refusals(), 4u);
  for (const char* name : {"d2", "l2", "f2", "g"}) {
    EXPECT_FALSE(std::filesystem::exists(std::filesystem::symlink_status(ws_ / name)))
        << name;
  }
  // Removing gives the block back.
  EXPECT_EQ(Path1(&WasiHost::PathRemoveDirectory, "d1"), abi::kSuccess);
  EXPECT_EQ(Path1(&WasiHost::PathCreateDirectory, "d2"), abi::kSuccess);
  EXPECT_EQ(Path1(&WasiHost::PathUnlinkFile, "l1"), abi::kSuccess);
  EXPECT_EQ(Link("f", "f2"), abi::kSuccess);
  // Opening an existing file with O_CREAT costs nothing new.
  EXPECT_EQ(OpenPath(*host_, g_, kWs, "f", abi::kOflagCreat, kWriteRights).error,
            abi::kSuccess);
}

TEST_F(WasiQuotaTest, ACreationThatFailsGivesItsBlockBack) {
  Start(2 * kBlock);
  // The parent does not exist: nothing is made, nothing stays charged.
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(OpenPath(*host_, g_, kWs, "no/such/file", kCreate, kWriteRights).error,
              abi::kNoent);
    EXPECT_EQ(Path1(&WasiHost::PathCreateDirectory, "no/such/dir"), abi::kNoent);
  }
  Create("a");
  Create("b");
  EXPECT_EQ(host_->quota_refusals(), 0u);
}

TEST_F(WasiQuotaTest, TruncatingAndDeletingGiveSpaceBack) {
  Start(4 * kBlock);
  uint32_t fd = Create("a");
  ASSERT_EQ(WriteFd(*host_, g_, fd, std::string(4 * kBlock, 'a')).second, 4 * kBlock);
  EXPECT_EQ(WriteFd(*host_, g_, fd, "!").first, abi::kNospc);
  ASSERT_EQ(host_->FdFilestatSetSize(g_.mem(), fd, kBlock), abi::kSuccess);  // 1 used
  ASSERT_EQ(host_->FdClose(g_.mem(), fd), abi::kSuccess);
  fd = Create("b");
  ASSERT_EQ(WriteFd(*host_, g_, fd, std::string(3 * kBlock, 'b')).second, 3 * kBlock);
  EXPECT_EQ(WriteFd(*host_, g_, fd, "!").first, abi::kNospc);  // 4 used
  ASSERT_EQ(host_->FdClose(g_.mem(), fd), abi::kSuccess);
  // O_TRUNC of an existing file frees its content: b is one block again.
  fd = Create("b");
  ASSERT_EQ(host_->FdClose(g_.mem(), fd), abi::kSuccess);  // 2 used
  fd = Create("c");
  ASSERT_EQ(WriteFd(*host_, g_, fd, std::string(2 * kBlock, 'c')).second, 2 * kBlock);
  EXPECT_EQ(WriteFd(*host_, g_, fd, "!").first, abi::kNospc);  // 4 used
  // Deleting a closed file frees it.
  EXPECT_EQ(Path1(&WasiHost::PathUnlinkFile, "a"), abi::kSuccess);  // 3 used
  EXPECT_EQ(WriteFd(*host_, g_, fd, std::string(kBlock + 1, 'c')).second, kBlock);
  EXPECT_EQ(WriteFd(*host_, g_, fd, "!").first, abi::kNospc);  // 4 used
  ASSERT_EQ(host_->FdClose(g_.mem(), fd), abi::kSuccess);
  // Renaming over a closed file frees the one replaced (c, 3 blocks).
  EXPECT_EQ(Rename("b", "c"), abi::kSuccess);  // 1 used
  fd = Create("d");
  EXPECT_EQ(WriteFd(*host_, g_, fd, std::string(4 * kBlock, 'd')).second, 3 * kBlock);
  EXPECT_EQ(WriteFd(*host_, g_, fd, "!").first, abi::kNospc);
}

TEST_F(WasiQuotaTest, AFileDeletedWhileOpenKeepsItsSpace) {
  Start(3 * kBlock);
  const uint32_t fd = Create("held");
  ASSERT_EQ(WriteFd(*host_, g_, fd, std::string(3 * kBlock, 'h')).second, 3 * kBlock);
  EXPECT_EQ(Path1(&WasiHost::PathUnlinkFile, "held"), abi::kSuccess);
  // The disk still holds it (the guest can keep writing to it): no room.
  EXPECT_EQ(OpenPath(*host_, g_, kWs, "new", kCreate, kWriteRights).error, abi::kNospc);
  EXPECT_EQ(WriteFd(*host_, g_, fd, "more").first, abi::kNospc);
}

TEST_F(WasiQuotaTest, AppendWritesCountFromTheEnd) {
  Start(2 * kBlock);
  const uint32_t fd = Create("log", abi::kFdflagAppend);
  ASSERT_EQ(WriteFd(*host_, g_, fd, std::string(kBlock + 100, 'l')).second, kBlock + 100);
  // A positioned write on an append descriptor still lands at the end.
  uint32_t written = 0;
  EXPECT_EQ(Pwrite(fd, std::string(kBlock, 'p'), 0, &written), abi::kSuccess);
  EXPECT_EQ(written, kBlock - 100);
  EXPECT_EQ(SizeOf(ws_ / "log"), 2 * kBlock);
  EXPECT_EQ(WriteFd(*host_, g_, fd, "x").first, abi::kNospc);
}

TEST_F(WasiQuotaTest, HardLinksAndSymlinksAreCountedOnce) {
  WriteFile(ws_ / "f", std::string(2 * kBlock, 'f'));
  ASSERT_EQ(::link((ws_ / "f").c_str(), (ws_ / "g").c_str()), 0);
  ASSERT_EQ(::symlink("f", (ws_ / "s").c_str()), 0);
  // f: 2 blocks, g: 1 (a further name), s: 1.
  Start(5 * kBlock);
  Create("new");  // the fifth block
  EXPECT_EQ(OpenPath(*host_, g_, kWs, "newer", kCreate, kWriteRights).error, abi::kNospc);
  // Unlinking one name of two frees one block, not the content.
  EXPECT_EQ(Path1(&WasiHost::PathUnlinkFile, "g"), abi::kSuccess);
  Create("newer");
  EXPECT_EQ(OpenPath(*host_, g_, kWs, "newest", kCreate, kWriteRights).error, abi::kNospc);
}

TEST_F(WasiQuotaTest, ReadOnlyMountsAndStdioAreNotCounted) {
  WriteFile(data_ / "huge", std::string(10 * kBlock, 'd'));
  Start(2 * kBlock);
  const uint32_t fd = Create("mine");
  EXPECT_EQ(WriteFd(*host_, g_, fd, std::string(2 * kBlock, 'm')).second, 2 * kBlock);
  EXPECT_EQ(WriteFd(*host_, g_, 1, std::string(3 * kBlock, 'o')).second, 3 * kBlock);
  auto [err, rfd] = OpenPath(*host_, g_, kData, "huge", 0, kReadRights);
  EXPECT_EQ(err, abi::kSuccess);
  EXPECT_EQ(host_->quota_refusals(), 0u);
}

TEST_F(WasiQuotaTest, WithoutAQuotaNothingIsRefused) {
  WasiConfig c;
  c.preopens = {{ws_.path(), "/app", false}};
  host_ = MakeHost(c);
  ASSERT_NE(host_, nullptr);
  uint32_t written = 0;
  const uint32_t fd = Create("sparse");
  EXPECT_EQ(Pwrite(fd, "x", 1'000'000'000, &written), abi::kSuccess);
  EXPECT_EQ(written, 1u);
  EXPECT_EQ(host_->quota_refusals(), 0u);
}

TEST_F(WasiQuotaTest, ClosingThePreopenDoesNotBlindTheQuota) {
  WriteFile(ws_ / "existing", std::string(2 * kBlock, 'e'));
  Start(3 * kBlock);
  const uint32_t p = g_.Put("."), out = g_.Alloc(4);
  ASSERT_EQ(host_->PathOpen(g_.mem(), kWs, 0, p, 1, abi::kOflagDirectory,
                            abi::kRightPathOpen | abi::kRightPathCreateFile,
                            kWriteRights, 0, out),
            abi::kSuccess);
  const uint32_t dir = g_.Load<uint32_t>(out);
  ASSERT_EQ(host_->FdClose(g_.mem(), kWs), abi::kSuccess);
  // The existing 2 blocks are still counted through the quota's own handle.
  auto [err, fd] = OpenPath(*host_, g_, dir, "a", kCreate, kWriteRights);
  ASSERT_EQ(err, abi::kSuccess);
  EXPECT_EQ(WriteFd(*host_, g_, fd, std::string(kBlock + 1, 'a')).second, kBlock);
}

}  // namespace
}  // namespace snakecage::wasi
