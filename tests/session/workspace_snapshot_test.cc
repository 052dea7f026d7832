// SnapshotWorkspace / DiffSnapshots.
#include "session/workspace_snapshot.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <thread>

#include "session_test_util.h"

namespace snakecage::session {
namespace {

using snakecage::testing::Spit;
using snakecage::testing::TempDir;
namespace fs = std::filesystem;

class SnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ws = tmp.path() / "ws";
    fs::create_directories(ws / "sub" / "deeper");
    fs::create_directories(ws / "empty");
    Spit(ws / "a.txt", "aaaa");
    Spit(ws / "sub" / "b.txt", "bb");
    Spit(ws / "sub" / "deeper" / "c.txt", "c");
  }
  WorkspaceSnapshot Snap() {
    auto s = SnapshotWorkspace(ws);
    EXPECT_TRUE(s.ok()) << s.status().message();
    return s.ok() ? *s : WorkspaceSnapshot{};
  }
  TempDir tmp;
  fs::path ws;
};

std::vector<std::string> Keys(const WorkspaceSnapshot& s) {
  std::vector<std::string> out;
  for (const auto& [k, v] : s) out.push_back(k);
  return out;
}

TEST_F(SnapshotTest, ListsFilesLinksAndOthersNotDirectories) {
  // A link out of the workspace: recorded, never followed.
  fs::create_directories(tmp.path() / "outside");
  Spit(tmp.path() / "outside" / "secret.txt", "s");
  ASSERT_EQ(::symlink((tmp.path() / "outside").c_str(), (ws / "out").c_str()), 0);
  ASSERT_EQ(::mkfifo((ws / "sub" / "fifo").c_str(), 0600), 0);
  const WorkspaceSnapshot s = Snap();
  EXPECT_EQ(Keys(s), (std::vector<std::string>{"a.txt", "out", "sub/b.txt", "sub/deeper/c.txt",
                                               "sub/fifo"}));
  EXPECT_EQ(s.at("a.txt").type, FileState::kFile);
  EXPECT_EQ(s.at("a.txt").size, 4u);
  EXPECT_EQ(s.at("out").type, FileState::kSymlink);
  EXPECT_EQ(s.at("out").size, (tmp.path() / "outside").string().size());
  EXPECT_EQ(s.at("sub/fifo").type, FileState::kOther);
  struct stat st;
  ASSERT_EQ(::stat((ws / "sub" / "b.txt").c_str(), &st), 0);
  EXPECT_EQ(s.at("sub/b.txt").inode, st.st_ino);
  EXPECT_EQ(s.at("sub/b.txt").mtime_ns, st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec);
  EXPECT_EQ(s.at("sub/b.txt").ctime_ns, st.st_ctim.tv_sec * 1000000000LL + st.st_ctim.tv_nsec);
}

TEST_F(SnapshotTest, WorkspaceItselfIsNeverFollowed) {
  ASSERT_EQ(::symlink(ws.c_str(), (tmp.path() / "ws-link").c_str()), 0);
  auto via_link = SnapshotWorkspace(tmp.path() / "ws-link");
  ASSERT_FALSE(via_link.ok());
  EXPECT_EQ(via_link.status().code(), StatusCode::kInternal);
  auto missing = SnapshotWorkspace(tmp.path() / "missing");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find((tmp.path() / "missing").string()), std::string::npos);
}

TEST_F(SnapshotTest, DiffFindsCreatedModifiedDeleted) {
  const WorkspaceSnapshot before = Snap();
  EXPECT_EQ(DiffSnapshots(before, before).created.size() +
                DiffSnapshots(before, before).modified.size() +
                DiffSnapshots(before, before).deleted.size(),
            0u);
  Spit(ws / "new.txt", "n");
  Spit(ws / "empty" / "z.txt", "z");
  Spit(ws / "a.txt", "changed length");
  fs::remove(ws / "sub" / "deeper" / "c.txt");
  const FileChanges d = DiffSnapshots(before, Snap());
  EXPECT_EQ(d.created, (std::vector<std::string>{"empty/z.txt", "new.txt"}));
  EXPECT_EQ(d.modified, std::vector<std::string>{"a.txt"});
  EXPECT_EQ(d.deleted, std::vector<std::string>{"sub/deeper/c.txt"});
}

TEST_F(SnapshotTest, ModificationThatRestoresTheMtimeIsStillSeen) {
  const WorkspaceSnapshot before = Snap();
  struct stat st;
  ASSERT_EQ(::stat((ws / "sub" / "b.txt").c_str(), &st), 0);
  // Let the clock move so the ctime differs, then change the content
  // without changing the size, and put the old mtime back.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  {
    const int fd = ::open((ws / "sub" / "b.txt").c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, "XY", 2), 2);
    ::close(fd);
  }
  const struct timespec times[2] = {st.st_atim, st.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, (ws / "sub" / "b.txt").c_str(), times, 0), 0);
  const WorkspaceSnapshot after = Snap();
  ASSERT_EQ(after.at("sub/b.txt").mtime_ns, before.at("sub/b.txt").mtime_ns);
  ASSERT_EQ(after.at("sub/b.txt").size, before.at("sub/b.txt").size);
  const FileChanges d = DiffSnapshots(before, after);
  EXPECT_EQ(d.modified, std::vector<std::string>{"sub/b.txt"});
  EXPECT_TRUE(d.created.empty());
  EXPECT_TRUE(d.deleted.empty());
}

TEST_F(SnapshotTest, ReplacementByRenameIsModifiedAndTypeChangesCount) {
  const WorkspaceSnapshot before = Snap();
  Spit(ws / "tmp", "aaaa");
  ASSERT_EQ(::rename((ws / "tmp").c_str(), (ws / "a.txt").c_str()), 0);
  fs::remove(ws / "sub" / "b.txt");
  ASSERT_EQ(::symlink("xx", (ws / "sub" / "b.txt").c_str()), 0);  // same size as "bb"
  const FileChanges d = DiffSnapshots(before, Snap());
  EXPECT_EQ(d.modified, (std::vector<std::string>{"a.txt", "sub/b.txt"}));
}

TEST(DiffSnapshotsTest, PureFunctionOnMaps) {
  WorkspaceSnapshot before{{"a", {FileState::kFile, 1, 10, 10, 1}},
                           {"b", {FileState::kFile, 1, 10, 10, 2}},
                           {"c", {FileState::kFile, 1, 10, 10, 3}}};
  WorkspaceSnapshot after{{"b", {FileState::kFile, 1, 10, 11, 2}},
                          {"c", {FileState::kFile, 1, 10, 10, 3}},
                          {"d", {FileState::kSymlink, 1, 10, 10, 4}},
                          {"0", {FileState::kOther, 0, 0, 0, 5}}};
  const FileChanges d = DiffSnapshots(before, after);
  EXPECT_EQ(d.created, (std::vector<std::string>{"0", "d"}));
  EXPECT_EQ(d.modified, std::vector<std::string>{"b"});
  EXPECT_EQ(d.deleted, std::vector<std::string>{"a"});
}

}  // namespace
}  // namespace snakecage::session
