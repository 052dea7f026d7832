// The virtual root (WasiConfig::virtual_root, wasi/virtual_root.h): one more
// preopen "/" made of the mount points alone. It lists them, answers NOENT
// for everything else, refuses every write the way a read-only file system
// does, and hands a path that reaches a mount point to that mount, where
// the kernel resolves the rest beneath it as for any path.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <set>
#include <string>
#include <vector>

#include "fake_guest.h"
#include "wasi/virtual_root.h"
#include "wasi/wasi_host.h"

namespace snakecage::wasi {
namespace {

using testing::Denial;
using testing::FakeGuest;
using testing::kReadRights;
using testing::kWriteRights;
using testing::MakeHost;
using testing::OpenPath;
using testing::ReadFd;
using testing::TempDir;
using testing::WriteFile;

// ---- the tree alone -----------------------------------------------------------

VirtualRoot Tree() {
  StatusOr<VirtualRoot> root =
      VirtualRoot::Create({"/usr/local/lib/python3.11", "/app", "/data//x/"});
  EXPECT_TRUE(root.ok()) << root.status().message();
  return std::move(*root);
}

std::set<std::string> Children(const VirtualRoot& root, int node) {
  std::set<std::string> names;
  for (const auto& [name, child] : root.node(node).children) names.insert(name);
  return names;
}

TEST(VirtualRootTreeTest, HoldsTheComponentsOfEveryMountPoint) {
  const VirtualRoot root = Tree();
  EXPECT_EQ(Children(root, VirtualRoot::kRootNode),
            (std::set<std::string>{"app", "data", "usr"}));
  auto usr = root.Walk(VirtualRoot::kRootNode, "usr/local/lib");
  ASSERT_TRUE(usr.ok());
  EXPECT_EQ(usr.value.kind, VirtualRoot::Place::Kind::kDirectory);
  EXPECT_EQ(Children(root, usr.value.node), (std::set<std::string>{"python3.11"}));
}

TEST(VirtualRootTreeTest, AMountPointHandsTheRestOverAsWritten) {
  const VirtualRoot root = Tree();
  auto in = root.Walk(VirtualRoot::kRootNode, "usr//local/./lib/python3.11//os.py");
  ASSERT_TRUE(in.ok());
  EXPECT_EQ(in.value.kind, VirtualRoot::Place::Kind::kMount);
  EXPECT_EQ(in.value.mount, 0);
  EXPECT_EQ(in.value.rest, "os.py");
  auto top = root.Walk(VirtualRoot::kRootNode, "data/x/");
  ASSERT_TRUE(top.ok());
  EXPECT_EQ(top.value.mount, 2);
  EXPECT_EQ(top.value.rest, ".");
  // Deeper "..": the kernel's business beneath the mount (x may be a link).
  auto deep = root.Walk(VirtualRoot::kRootNode, "app/a/../../usr");
  ASSERT_TRUE(deep.ok());
  EXPECT_EQ(deep.value.mount, 1);
  EXPECT_EQ(deep.value.rest, "a/../../usr");
}

TEST(VirtualRootTreeTest, DotDotAtAMountsTopAndAtTheRootStaysInTheTree) {
  const VirtualRoot root = Tree();
  auto back = root.Walk(VirtualRoot::kRootNode, "app/./../usr/../../../app/f");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back.value.kind, VirtualRoot::Place::Kind::kMount);
  EXPECT_EQ(back.value.mount, 1);
  EXPECT_EQ(back.value.rest, "f");
  auto up = root.Walk(VirtualRoot::kRootNode, "..");
  ASSERT_TRUE(up.ok());
  EXPECT_EQ(up.value.kind, VirtualRoot::Place::Kind::kDirectory);
  EXPECT_EQ(up.value.node, VirtualRoot::kRootNode);
}

TEST(VirtualRootTreeTest, AbsentNamesAndAbsolutePaths) {
  const VirtualRoot root = Tree();
  auto last = root.Walk(VirtualRoot::kRootNode, "usr/nope/");
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last.value.kind, VirtualRoot::Place::Kind::kAbsent);
  EXPECT_EQ(root.Walk(VirtualRoot::kRootNode, "etc/passwd").error, abi::kNoent);
  EXPECT_EQ(root.Walk(VirtualRoot::kRootNode, "").error, abi::kNoent);
  EXPECT_EQ(root.Walk(VirtualRoot::kRootNode, "/app").error, abi::kNotcapable);
}

TEST(VirtualRootTreeTest, RefusesGuestPathsItCannotPlaceNamingThePreopen) {
  EXPECT_EQ(VirtualRoot::Create({"/app", "data"}).status().message(),
            "preopens[1].guest_path: \"data\" is not absolute");
  EXPECT_EQ(VirtualRoot::Create({"/app/../x"}).status().message(),
            "preopens[0].guest_path: \"/app/../x\" has a \"..\" component");
  EXPECT_EQ(VirtualRoot::Create({"//"}).status().message(),
            "preopens[0].guest_path: \"/\" is the virtual root itself");
}

// ---- through the host -------------------------------------------------------

constexpr uint32_t kWs = 3;
constexpr uint32_t kRoot = 5;  // after /app (3) and /usr/share/data (4)

class WasiVirtualRootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteFile(data_ / "table.csv", "a,b\n");
    WasiConfig c;
    c.preopens = {{ws_.path(), "/app", false}, {data_.path(), "/usr/share/data", true}};
    c.virtual_root = true;
    host_ = MakeHost(c, &denials_);
    ASSERT_NE(host_, nullptr);
  }

  // The names fd_readdir gives for `fd`, from cookie 0.
  std::vector<std::string> List(uint32_t fd) {
    const uint32_t buf = g_.Alloc(4096), used = g_.Alloc(4);
    EXPECT_EQ(host_->FdReaddir(g_.mem(), fd, buf, 4096, 0, used), abi::kSuccess);
    std::vector<std::string> names;
    const uint32_t n = g_.Load<uint32_t>(used);
    for (uint32_t at = 0; at + abi::kDirentSize <= n;) {
      const uint32_t len = g_.Load<uint32_t>(buf + at + abi::kDirentNamlen);
      EXPECT_EQ(g_.Load<uint8_t>(buf + at + abi::kDirentType), abi::kFiletypeDirectory);
      names.push_back(g_.Read(buf + at + abi::kDirentSize, len));
      at += abi::kDirentSize + len;
    }
    return names;
  }
  uint32_t Stat(uint32_t fd, std::string_view path, uint8_t* type) {
    const uint32_t p = g_.Put(path), out = g_.Alloc(abi::kFilestatSize);
    const uint32_t r = host_->PathFilestatGet(g_.mem(), fd, abi::kLookupSymlinkFollow, p,
                                              static_cast<uint32_t>(path.size()), out);
    *type = g_.Load<uint8_t>(out + abi::kFilestatFiletype);
    return r;
  }
  uint32_t Path1(uint32_t (WasiHost::*call)(GuestMemory, uint32_t, uint32_t, uint32_t),
                 std::string_view path) {
    const uint32_t p = g_.Put(path);
    return (host_.get()->*call)(g_.mem(), kRoot, p, static_cast<uint32_t>(path.size()));
  }
  uint32_t Rename(uint32_t from_fd, std::string_view from, uint32_t to_fd, std::string_view to) {
    const uint32_t a = g_.Put(from), b = g_.Put(to);
    return host_->PathRename(g_.mem(), from_fd, a, static_cast<uint32_t>(from.size()), to_fd,
                             b, static_cast<uint32_t>(to.size()));
  }

  TempDir ws_;
  TempDir data_;
  FakeGuest g_{4};
  std::vector<Denial> denials_;
  std::unique_ptr<WasiHost> host_;
};

TEST_F(WasiVirtualRootTest, IsTheLastPreopenNamedSlash) {
  const uint32_t out = g_.Alloc(abi::kPrestatSize);
  ASSERT_EQ(host_->FdPrestatGet(g_.mem(), kRoot, out), abi::kSuccess);
  EXPECT_EQ(g_.Load<uint32_t>(out + abi::kPrestatDirNameLen), 1u);
  const uint32_t name = g_.Alloc(1);
  ASSERT_EQ(host_->FdPrestatDirName(g_.mem(), kRoot, name, 1), abi::kSuccess);
  EXPECT_EQ(g_.Read(name, 1), "/");
  EXPECT_EQ(host_->FdPrestatGet(g_.mem(), kRoot + 1, out), abi::kBadf);
}

TEST_F(WasiVirtualRootTest, ListsTheMountPointsLevelByLevel) {
  EXPECT_EQ(List(kRoot), (std::vector<std::string>{".", "..", "app", "usr"}));
  auto usr = OpenPath(*host_, g_, kRoot, "usr/share", abi::kOflagDirectory,
                      kReadRights | abi::kRightFdSync);
  ASSERT_EQ(usr.error, abi::kSuccess);
  EXPECT_EQ(List(usr.fd), (std::vector<std::string>{".", "..", "data"}));
  // From a directory of the tree, a path reaches into a mount.
  auto table = OpenPath(*host_, g_, usr.fd, "data/table.csv");
  ASSERT_EQ(table.error, abi::kSuccess);
  EXPECT_EQ(ReadFd(*host_, g_, table.fd, 100).second, "a,b\n");
  uint8_t type = 0;
  EXPECT_EQ(Stat(kRoot, "usr/share", &type), abi::kSuccess);
  EXPECT_EQ(type, abi::kFiletypeDirectory);
  const uint32_t st = g_.Alloc(abi::kFilestatSize);
  ASSERT_EQ(host_->FdFilestatGet(g_.mem(), usr.fd, st), abi::kSuccess);
  EXPECT_EQ(g_.Load<uint8_t>(st + abi::kFilestatFiletype), abi::kFiletypeDirectory);
  EXPECT_EQ(g_.Load<uint64_t>(st + abi::kFilestatNlink), 3u);
  EXPECT_EQ(host_->FdSync(g_.mem(), usr.fd), abi::kSuccess);
  EXPECT_EQ(host_->FdClose(g_.mem(), usr.fd), abi::kSuccess);
}

TEST_F(WasiVirtualRootTest, WhatIsNotThereIsAbsentAndNothingIsRefused) {
  uint8_t type = 0;
  EXPECT_EQ(Stat(kRoot, "etc/passwd", &type), abi::kNoent);
  EXPECT_EQ(Stat(kRoot, "nope", &type), abi::kNoent);
  EXPECT_EQ(OpenPath(*host_, g_, kRoot, "etc/passwd").error, abi::kNoent);
  EXPECT_EQ(OpenPath(*host_, g_, kRoot, "proc").error, abi::kNoent);
  const uint32_t p = g_.Put("etc"), buf = g_.Alloc(64), used = g_.Alloc(4);
  EXPECT_EQ(host_->PathReadlink(g_.mem(), kRoot, p, 3, buf, 64, used), abi::kNoent);
  EXPECT_TRUE(denials_.empty());
}

TEST_F(WasiVirtualRootTest, WritesAreRefusedAsOnAReadOnlyFileSystem) {
  const uint32_t kCreate = abi::kOflagCreat;
  EXPECT_EQ(OpenPath(*host_, g_, kRoot, "new.txt", kCreate, kWriteRights).error, abi::kRofs);
  EXPECT_EQ(OpenPath(*host_, g_, kRoot, "tmp/new.txt", kCreate, kWriteRights).error,
            abi::kNoent);
  EXPECT_EQ(OpenPath(*host_, g_, kRoot, "usr", 0, kWriteRights).error, abi::kIsdir);
  EXPECT_EQ(OpenPath(*host_, g_, kRoot, "usr", kCreate | abi::kOflagExcl).error, abi::kExist);
  EXPECT_EQ(Path1(&WasiHost::PathCreateDirectory, "usr"), abi::kExist);
  EXPECT_EQ(Path1(&WasiHost::PathCreateDirectory, "etc"), abi::kRofs);
  EXPECT_EQ(Path1(&WasiHost::PathRemoveDirectory, "usr"), abi::kRofs);
  EXPECT_EQ(Path1(&WasiHost::PathUnlinkFile, "x"), abi::kRofs);
  // Between the tree and a mount: different file systems.
  WriteFile(ws_ / "f", "1");
  EXPECT_EQ(Rename(kWs, "f", kRoot, "f"), abi::kXdev);
  EXPECT_EQ(Rename(kRoot, "usr", kRoot, "usr2"), abi::kRofs);
  const uint32_t target = g_.Put("/app/f"), name = g_.Put("usr");
  EXPECT_EQ(host_->PathSymlink(g_.mem(), target, 6, kRoot, name, 3), abi::kExist);
  EXPECT_EQ(host_->FdAllocate(g_.mem(), kRoot, 0, 1), abi::kRofs);
  EXPECT_EQ(std::filesystem::exists(ws_ / "f"), true);
}

TEST_F(WasiVirtualRootTest, APathThroughTheTreeWritesWhereTheMountAllows) {
  auto made = OpenPath(*host_, g_, kRoot, "usr/../app/../app/out.txt",
                       abi::kOflagCreat, kWriteRights);
  ASSERT_EQ(made.error, abi::kSuccess);
  EXPECT_TRUE(std::filesystem::exists(ws_ / "out.txt"));
  EXPECT_EQ(Path1(&WasiHost::PathCreateDirectory, "app/sub"), abi::kSuccess);
  EXPECT_TRUE(std::filesystem::is_directory(ws_ / "sub"));
  // The read-only mount stays read-only when reached through the tree.
  EXPECT_EQ(Path1(&WasiHost::PathCreateDirectory, "usr/share/data/sub"), abi::kRofs);
  EXPECT_FALSE(std::filesystem::exists(data_ / "sub"));
}

TEST_F(WasiVirtualRootTest, DotDotDeepInAMountIsStillAnEscape) {
  std::filesystem::create_directory(ws_ / "a");
  EXPECT_EQ(OpenPath(*host_, g_, kRoot, "app/a/../../usr").error, abi::kNotcapable);
  ASSERT_EQ(denials_.size(), 1u);
  EXPECT_EQ(denials_[0], (Denial{"path_open", "a/../../usr"}));
  // An absolute path handed to a directory of the tree, as to any other.
  EXPECT_EQ(OpenPath(*host_, g_, kRoot, "/app").error, abi::kNotcapable);
  EXPECT_EQ(denials_.size(), 2u);
}

TEST_F(WasiVirtualRootTest, CountsAgainstTheOpenFileLimit) {
  WasiConfig c;
  c.preopens = {{ws_.path(), "/app", false}};
  c.virtual_root = true;
  c.max_open_fds = 4;
  auto refused = WasiHost::Create(c);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().message(),
            "max_open_fds: 4 leaves no room for stdio and 2 preopens");
  c.preopens[0].guest_path = "app";
  c.max_open_fds = 5;
  EXPECT_EQ(WasiHost::Create(c).status().message(),
            "preopens[0].guest_path: \"app\" is not absolute");
}

}  // namespace
}  // namespace snakecage::wasi
