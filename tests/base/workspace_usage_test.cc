// What a workspace costs against workspace_max_bytes: the rule
// (ChargeForFileSize, ChargeForEntry) and the walk (MeasureWorkspace).
#include "base/workspace_usage.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "base/unique_fd.h"
#include "common/temp_dir.h"

namespace snakecage {
namespace {

namespace fs = std::filesystem;
constexpr uint64_t kBlock = kWorkspaceBlockBytes;

void Write(const fs::path& p, const std::string& data) {
  std::ofstream(p, std::ios::binary) << data;
}

uint64_t Measure(const fs::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  EXPECT_TRUE(fd.valid());
  const WorkspaceUsage u = MeasureWorkspace(fd.get());
  EXPECT_EQ(u.error, 0);
  return u.bytes;
}

TEST(WorkspaceUsageTest, AFileCostsWholeBlocksAndAtLeastOne) {
  EXPECT_EQ(ChargeForFileSize(0), kBlock);
  EXPECT_EQ(ChargeForFileSize(1), kBlock);
  EXPECT_EQ(ChargeForFileSize(kBlock), kBlock);
  EXPECT_EQ(ChargeForFileSize(kBlock + 1), 2 * kBlock);
  EXPECT_EQ(LargestFileSizeFor(2 * kBlock + 100), 2 * kBlock);
  EXPECT_EQ(LargestFileSizeFor(kBlock - 1), 0u);
}

TEST(WorkspaceUsageTest, AnEmptyWorkspaceCostsNothing) {
  testing::TempDir dir;
  EXPECT_EQ(Measure(dir.path()), 0u);
}

TEST(WorkspaceUsageTest, CountsFilesDirectoriesLinksAndSparseFilesByTheRule) {
  testing::TempDir dir;
  const fs::path root = dir.path();
  Write(root / "small", "abc");                         // 1 block
  Write(root / "empty", "");                            // 1 block
  Write(root / "two", std::string(kBlock + 1, 'x'));    // 2 blocks
  fs::create_directories(root / "d" / "e");             // 2 blocks
  Write(root / "d" / "e" / "deep", std::string(10, 'y'));  // 1 block
  ASSERT_EQ(::symlink("small", (root / "lnk").c_str()), 0);  // 1 block
  ASSERT_EQ(::link((root / "two").c_str(), (root / "d" / "two-again").c_str()), 0);  // 1 block
  {
    // Apparent size 100 MB, nothing on disk: counts in full.
    UniqueFd f(::open((root / "sparse").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
    ASSERT_EQ(::ftruncate(f.get(), 100'000'000), 0);
  }
  EXPECT_EQ(Measure(root), 9 * kBlock + ChargeForFileSize(100'000'000));
}

TEST(WorkspaceUsageTest, ASymlinkIsNeverFollowedOutOfTheTree) {
  testing::TempDir outside, dir;
  Write(outside.path() / "big", std::string(10 * kBlock, 'o'));
  ASSERT_EQ(::symlink(outside.path().c_str(), (dir.path() / "out").c_str()), 0);
  EXPECT_EQ(Measure(dir.path()), kBlock);
}

TEST(WorkspaceUsageTest, AnyDepthWithTwoDescriptors) {
  testing::TempDir dir;
  // Deeper than any descriptor limit would allow one descriptor per level.
  UniqueFd cur(::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  constexpr int kDepth = 3000;
  for (int i = 0; i < kDepth; ++i) {
    ASSERT_EQ(::mkdirat(cur.get(), "d", 0755), 0);
    cur.Reset(::openat(cur.get(), "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(cur.valid());
  }
  UniqueFd leaf(::openat(cur.get(), "leaf", O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
  ASSERT_TRUE(leaf.valid());
  EXPECT_EQ(Measure(dir.path()), (kDepth + 1) * kBlock);
  // TempDir's recursive removal cannot go that deep by path: remove it here.
  for (int i = 0; i < kDepth; ++i) {
    ::unlinkat(cur.get(), "leaf", 0);
    UniqueFd up(::openat(cur.get(), "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    ASSERT_EQ(::unlinkat(up.get(), "d", AT_REMOVEDIR), 0);
    cur = std::move(up);
  }
}

}  // namespace
}  // namespace snakecage
