// The one openat2(RESOLVE_BENEATH) wrapper and the path split that the WASI
// host and the session store share.
#include "base/path_beneath.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>

#include "base/unique_fd.h"
#include "common/temp_dir.h"

namespace snakecage {
namespace {

namespace fs = std::filesystem;

TEST(SplitLastTest, CutsAtTheLastSlashAfterTrailingSlashes) {
  auto check = [](std::string_view path, const std::string& parent, const std::string& name,
                  bool trailing) {
    const SplitPath s = SplitLast(path);
    EXPECT_EQ(s.parent, parent) << path;
    EXPECT_EQ(s.name, name) << path;
    EXPECT_EQ(s.trailing_slash, trailing) << path;
  };
  check("c", ".", "c", false);
  check("a/b/c", "a/b/", "c", false);
  check("a/b/", "a/", "b", true);
  check("a//", ".", "a", true);
  check("a/.", "a/", ".", false);
  check("a/..", "a/", "..", false);
}

class OpenBeneathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(dir_.path() / "root" / "sub");
    std::ofstream(dir_.path() / "root" / "sub" / "f.txt") << "in";
    std::ofstream(dir_.path() / "outside.txt") << "out";
    fs::create_symlink("../outside.txt", dir_.path() / "root" / "escape");
    fs::create_symlink("sub/f.txt", dir_.path() / "root" / "inside");
    root_.Reset(::open((dir_.path() / "root").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(root_.valid());
  }
  testing::TempDir dir_;
  UniqueFd root_;
};

TEST_F(OpenBeneathTest, OpensWhatIsBeneathAndNothingElse) {
  UniqueFd f(OpenBeneath(root_.get(), "sub/f.txt", O_RDONLY));
  EXPECT_TRUE(f.valid());
  UniqueFd via_link(OpenBeneath(root_.get(), "inside", O_RDONLY));
  EXPECT_TRUE(via_link.valid());
  EXPECT_EQ(OpenBeneath(root_.get(), "../outside.txt", O_RDONLY), -EXDEV);
  EXPECT_EQ(OpenBeneath(root_.get(), "sub/../../outside.txt", O_RDONLY), -EXDEV);
  EXPECT_EQ(OpenBeneath(root_.get(), "escape", O_RDONLY), -EXDEV);
  EXPECT_EQ(OpenBeneath(root_.get(), (dir_.path() / "outside.txt").string(), O_RDONLY), -EXDEV);
  EXPECT_EQ(OpenBeneath(root_.get(), "missing", O_RDONLY), -ENOENT);
}

TEST_F(OpenBeneathTest, CreatesWithTheModeGivenAndClosesOnExec) {
  UniqueFd f(OpenBeneath(root_.get(), "new.txt", O_WRONLY | O_CREAT | O_EXCL, 0640));
  ASSERT_TRUE(f.valid());
  EXPECT_EQ(fs::status(dir_.path() / "root" / "new.txt").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  EXPECT_EQ(::fcntl(f.get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
}

TEST_F(OpenBeneathTest, OpenComponentNeverFollowsASymlink) {
  EXPECT_EQ(OpenComponent(root_.get(), "inside", O_RDONLY), -ELOOP);
  UniqueFd sub(OpenComponent(root_.get(), "sub", O_RDONLY | O_DIRECTORY));
  EXPECT_TRUE(sub.valid());
}

}  // namespace
}  // namespace snakecage
