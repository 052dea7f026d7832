// Read-only mounts refuse every write-like call with ROFS and stay unchanged;
// rename and link between preopens are refused.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <string>
#include <vector>

#include "fake_guest.h"
#include "wasi/wasi_host.h"

namespace snakecage::wasi {
namespace {

using testing::FakeGuest;
using testing::kReadRights;
using testing::kWriteRights;
using testing::MakeHost;
using testing::OpenPath;
using testing::ReadFd;
using testing::ReadFile;
using testing::TempDir;
using testing::WriteFd;
using testing::WriteFile;

constexpr uint32_t kWs = 3;    // read-write workspace
constexpr uint32_t kData = 4;  // read-only mount
constexpr uint32_t kFollow = abi::kLookupSymlinkFollow;

// Everything observable about a tree: per entry, type, size, contents or
// link target, mtime and ctime (ns), link count.
std::map<std::string, std::string> Snapshot(const std::filesystem::path& root) {
  std::map<std::string, std::string> out;
  auto add = [&](const std::filesystem::path& p) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0) return;
    std::string v =
        std::to_string(st.st_mode) + " " + std::to_string(st.st_size) + " " +
        std::to_string(st.st_nlink) + " " + std::to_string(st.st_mtim.tv_sec) +
        "." + std::to_string(st.st_mtim.tv_nsec) + " " +
        std::to_string(st.st_ctim.tv_sec) + "." +
        std::to_string(st.st_ctim.tv_nsec) + " ";
    if (S_ISREG(st.st_mode)) v += ReadFile(p);
    if (S_ISLNK(st.st_mode)) v += std::filesystem::read_symlink(p).string();
    out[std::filesystem::relative(p, root).string()] = v;
  };
  add(root);
  for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
    add(e.path());
  }
  return out;
}

class WasiReadOnlyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteFile(ws_ / "mine.txt", "workspace file");
    WriteFile(data_ / "file.txt", "original");
    std::filesystem::create_directories(data_ / "dir");
    std::filesystem::create_directories(data_ / "emptydir");
    WriteFile(data_ / "dir" / "inner.txt", "inner");
    ASSERT_EQ(::symlink("file.txt", (data_ / "lnk").c_str()), 0);
    // Give everything an old, distinctive time so any touch shows.
    for (const char* p : {"file.txt", "dir", "emptydir", "dir/inner.txt", ""}) {
      struct timespec ts[2] = {{1'000'000'000, 5}, {1'000'000'000, 7}};
      ASSERT_EQ(::utimensat(AT_FDCWD, (data_ / p).c_str(), ts, 0), 0);
    }
    WasiConfig c;
    c.preopens = {{ws_.path(), "/app", false}, {data_.path(), "/data", true}};
    host_ = MakeHost(c);
    ASSERT_NE(host_, nullptr);
    before_ = Snapshot(data_.path());
  }

  void TearDown() override {
    EXPECT_EQ(Snapshot(data_.path()), before_) << "the read-only tree changed";
    EXPECT_EQ(ReadFile(ws_ / "mine.txt"), "workspace file");
  }

  uint32_t Path1(uint32_t (WasiHost::*call)(GuestMemory, uint32_t, uint32_t,
                                            uint32_t),
                 uint32_t fd, std::string_view path) {
    const uint32_t p = g_.Put(path);
    return (host_.get()->*call)(g_.mem(), fd, p,
                                static_cast<uint32_t>(path.size()));
  }
  uint32_t Rename(uint32_t from_fd, std::string_view from, uint32_t to_fd,
                  std::string_view to) {
    const uint32_t a = g_.Put(from), b = g_.Put(to);
    return host_->PathRename(g_.mem(), from_fd, a,
                             static_cast<uint32_t>(from.size()), to_fd, b,
                             static_cast<uint32_t>(to.size()));
  }
  uint32_t Link(uint32_t from_fd, std::string_view from, uint32_t to_fd,
                std::string_view to) {
    const uint32_t a = g_.Put(from), b = g_.Put(to);
    return host_->PathLink(g_.mem(), from_fd, 0, a,
                           static_cast<uint32_t>(from.size()), to_fd, b,
                           static_cast<uint32_t>(to.size()));
  }
  uint32_t OpenReadOnly(uint32_t dir, std::string_view path,
                        uint32_t oflags = 0) {
    auto [err, fd] = OpenPath(*host_, g_, dir, path, oflags, kReadRights);
    EXPECT_EQ(err, abi::kSuccess) << path;
    return fd;
  }

  TempDir ws_;
  TempDir data_;
  FakeGuest g_{16};
  std::unique_ptr<WasiHost> host_;
  std::map<std::string, std::string> before_;
};

TEST_F(WasiReadOnlyTest, ReadingWorks) {
  const uint32_t fd = OpenReadOnly(kData, "file.txt");
  EXPECT_EQ(ReadFd(*host_, g_, fd, 64).second, "original");
  const uint32_t via_link = OpenReadOnly(kData, "lnk");
  EXPECT_EQ(ReadFd(*host_, g_, via_link, 64).second, "original");
  const uint32_t dir = OpenReadOnly(kData, "dir", abi::kOflagDirectory);
  const uint32_t inner = OpenReadOnly(dir, "inner.txt");
  EXPECT_EQ(ReadFd(*host_, g_, inner, 64).second, "inner");
  const uint32_t buf = g_.Alloc(512), used = g_.Alloc(4);
  EXPECT_EQ(host_->FdReaddir(g_.mem(), kData, buf, 512, 0, used),
            abi::kSuccess);
  EXPECT_GT(g_.Load<uint32_t>(used), 0u);
}

TEST_F(WasiReadOnlyTest, PathOpenWithAnyWriteIntentIsRofs) {
  struct Case {
    const char* what;
    const char* path;
    uint32_t oflags;
    uint64_t rights;
    uint32_t fdflags;
  };
  const Case cases[] = {
      {"create new", "new.txt", abi::kOflagCreat, kReadRights, 0},
      {"create existing", "file.txt", abi::kOflagCreat, kReadRights, 0},
      {"exclusive", "new.txt", abi::kOflagCreat | abi::kOflagExcl, kReadRights,
       0},
      {"excl alone", "file.txt", abi::kOflagExcl, kReadRights, 0},
      {"truncate", "file.txt", abi::kOflagTrunc, kReadRights, 0},
      {"append", "file.txt", 0, kReadRights, abi::kFdflagAppend},
      {"write", "file.txt", 0, kReadRights | abi::kRightFdWrite, 0},
      {"write only", "file.txt", 0, abi::kRightFdWrite, 0},
      {"allocate", "file.txt", 0, abi::kRightFdAllocate, 0},
      {"set size", "file.txt", 0, abi::kRightFdFilestatSetSize, 0},
      {"directory for write", "dir", abi::kOflagDirectory, kWriteRights, 0},
      {"nested", "dir/inner.txt", abi::kOflagTrunc, kReadRights, 0},
      {"through symlink", "lnk", 0, kWriteRights, 0},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(OpenPath(*host_, g_, kData, c.path, c.oflags, c.rights, c.fdflags)
                  .error,
              abi::kRofs)
        << c.what;
  }
  EXPECT_FALSE(std::filesystem::exists(data_ / "new.txt"));
}

TEST_F(WasiReadOnlyTest, NamespaceChangesAreRofs) {
  EXPECT_EQ(Path1(&WasiHost::PathCreateDirectory, kData, "newdir"), abi::kRofs);
  EXPECT_EQ(Path1(&WasiHost::PathRemoveDirectory, kData, "emptydir"),
            abi::kRofs);
  EXPECT_EQ(Path1(&WasiHost::PathUnlinkFile, kData, "file.txt"), abi::kRofs);
  EXPECT_EQ(Path1(&WasiHost::PathUnlinkFile, kData, "lnk"), abi::kRofs);
  EXPECT_EQ(Rename(kData, "file.txt", kData, "renamed.txt"), abi::kRofs);
  EXPECT_EQ(Rename(kData, "file.txt", kWs, "stolen.txt"), abi::kRofs);
  EXPECT_EQ(Rename(kWs, "mine.txt", kData, "planted.txt"), abi::kRofs);
  EXPECT_EQ(Link(kData, "file.txt", kData, "hard.txt"), abi::kRofs);
  EXPECT_EQ(Link(kData, "file.txt", kWs, "hard.txt"), abi::kRofs);
  EXPECT_EQ(Link(kWs, "mine.txt", kData, "hard.txt"), abi::kRofs);
  const uint32_t contents = g_.Put("file.txt"), at = g_.Put("sym");
  EXPECT_EQ(host_->PathSymlink(g_.mem(), contents, 8, kData, at, 3),
            abi::kRofs);
  for (uint32_t flags : {0u, kFollow}) {
    for (const char* p : {"file.txt", "lnk", "dir", "."}) {
      const uint32_t path = g_.Put(p);
      EXPECT_EQ(host_->PathFilestatSetTimes(
                    g_.mem(), kData, flags, path,
                    static_cast<uint32_t>(std::strlen(p)), 0, 0,
                    abi::kFstflagAtimNow | abi::kFstflagMtimNow),
                abi::kRofs)
          << p;
    }
  }
  EXPECT_FALSE(std::filesystem::exists(ws_ / "stolen.txt"));
  EXPECT_FALSE(std::filesystem::exists(ws_ / "hard.txt"));
}

TEST_F(WasiReadOnlyTest, WritesThroughReadOnlyHandlesAreRofs) {
  const uint32_t file = OpenReadOnly(kData, "file.txt");
  const uint32_t dir = OpenReadOnly(kData, "dir", abi::kOflagDirectory);
  EXPECT_EQ(WriteFd(*host_, g_, file, "x").first, abi::kRofs);
  const uint32_t buf = g_.Put("x");
  const uint32_t iov = g_.PutIovecs({{buf, 1}});
  const uint32_t out = g_.Alloc(4);
  EXPECT_EQ(host_->FdPwrite(g_.mem(), file, iov, 1, 0, out), abi::kRofs);
  EXPECT_EQ(host_->FdFilestatSetSize(g_.mem(), file, 0), abi::kRofs);
  EXPECT_EQ(host_->FdAllocate(g_.mem(), file, 0, 100), abi::kRofs);
  for (uint32_t fd : {file, dir, kData}) {
    EXPECT_EQ(
        host_->FdFilestatSetTimes(g_.mem(), fd, 0, 0, abi::kFstflagMtimNow),
        abi::kRofs)
        << fd;
  }
  // A subdirectory opened from the mount carries the flag.
  EXPECT_EQ(Path1(&WasiHost::PathCreateDirectory, dir, "x"), abi::kRofs);
  EXPECT_EQ(Path1(&WasiHost::PathUnlinkFile, dir, "inner.txt"), abi::kRofs);
  EXPECT_EQ(
      OpenPath(*host_, g_, dir, "inner.txt", abi::kOflagTrunc, kReadRights)
          .error,
      abi::kRofs);
}

TEST_F(WasiReadOnlyTest, FlagMovesWithTheHandleOnRenumber) {
  const uint32_t ro = OpenReadOnly(kData, "file.txt");
  auto [err, rw] =
      OpenPath(*host_, g_, kWs, "mine.txt", 0, kReadRights | kWriteRights);
  ASSERT_EQ(err, abi::kSuccess);
  ASSERT_EQ(host_->FdRenumber(g_.mem(), ro, rw), abi::kSuccess);
  EXPECT_EQ(WriteFd(*host_, g_, rw, "x").first, abi::kRofs);
  // The preopen itself, renumbered onto the workspace's number.
  ASSERT_EQ(host_->FdRenumber(g_.mem(), kData, kWs), abi::kSuccess);
  EXPECT_EQ(Path1(&WasiHost::PathCreateDirectory, kWs, "x"), abi::kRofs);
}

TEST(WasiCrossPreopenTest, RenameAndLinkBetweenPreopensAreXdev) {
  TempDir a, b;
  WriteFile(a / "f", "A");
  WriteFile(b / "g", "B");
  WasiConfig c;
  c.preopens = {{a.path(), "/a", false}, {b.path(), "/b", false}};
  auto host = MakeHost(c);
  FakeGuest g;
  const uint32_t f = g.Put("f"), moved = g.Put("moved");
  EXPECT_EQ(host->PathRename(g.mem(), 3, f, 1, 4, moved, 5), abi::kXdev);
  EXPECT_EQ(host->PathLink(g.mem(), 3, 0, f, 1, 4, moved, 5), abi::kXdev);
  EXPECT_FALSE(std::filesystem::exists(b / "moved"));
  EXPECT_EQ(ReadFile(a / "f"), "A");
  EXPECT_EQ(std::filesystem::hard_link_count(a / "f"), 1u);
  // A handle opened beneath /a still belongs to /a.
  auto [err, sub] = OpenPath(*host, g, 3, ".", abi::kOflagDirectory,
                             kReadRights | abi::kRightPathRenameSource);
  ASSERT_EQ(err, abi::kSuccess);
  EXPECT_EQ(host->PathRename(g.mem(), sub, f, 1, 4, moved, 5), abi::kXdev);
  EXPECT_EQ(host->PathRename(g.mem(), sub, f, 1, 3, moved, 5), abi::kSuccess);
  EXPECT_EQ(ReadFile(a / "moved"), "A");
}

}  // namespace
}  // namespace snakecage::wasi
