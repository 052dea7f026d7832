// WasiHost path_* calls: escapes are refused with NOTCAPABLE and reported,
// legitimate paths work, final-component rules ("."/"..", trailing '/').
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "fake_guest.h"
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
using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

constexpr uint32_t kApp = 3;
constexpr uint64_t kRw = kReadRights | kWriteRights;
constexpr uint32_t kFollow = abi::kLookupSymlinkFollow;

class WasiPathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // outer/ holds a secret next to the workspace; the workspace is
    // outer/ws. Escapes would reach outer/secret.
    outer_ = std::make_unique<TempDir>();
    ws_ = outer_->path() / "ws";
    std::filesystem::create_directories(ws_ / "sub" / "deeper");
    WriteFile(outer_->path() / "secret", "top secret");
    WriteFile(ws_ / "file", "inside");
    WasiConfig c;
    c.preopens = {{ws_, "/app", false}};
    host_ = MakeHost(c, &denials_);
    ASSERT_NE(host_, nullptr);
  }

  // Calls a path-only call (create_directory, unlink, rmdir) by name.
  uint32_t PathCall(uint32_t (WasiHost::*call)(GuestMemory, uint32_t, uint32_t,
                                               uint32_t),
                    std::string_view path, uint32_t fd = kApp) {
    const uint32_t p = g_.Put(path);
    return (host_.get()->*call)(g_.mem(), fd, p,
                                static_cast<uint32_t>(path.size()));
  }
  uint32_t Stat(std::string_view path, uint32_t flags, uint8_t* type) {
    const uint32_t p = g_.Put(path);
    const uint32_t st = g_.Alloc(64);
    const uint32_t r = host_->PathFilestatGet(
        g_.mem(), kApp, flags, p, static_cast<uint32_t>(path.size()), st);
    *type = g_.Load<uint8_t>(st + 16);
    return r;
  }
  uint32_t Rename(std::string_view from, std::string_view to,
                  uint32_t to_fd = kApp) {
    const uint32_t a = g_.Put(from), b = g_.Put(to);
    return host_->PathRename(g_.mem(), kApp, a,
                             static_cast<uint32_t>(from.size()), to_fd, b,
                             static_cast<uint32_t>(to.size()));
  }
  uint32_t Link(std::string_view from, std::string_view to,
                uint32_t flags = 0) {
    const uint32_t a = g_.Put(from), b = g_.Put(to);
    return host_->PathLink(g_.mem(), kApp, flags, a,
                           static_cast<uint32_t>(from.size()), kApp, b,
                           static_cast<uint32_t>(to.size()));
  }
  uint32_t Symlink(std::string_view contents, std::string_view at) {
    const uint32_t a = g_.Put(contents), b = g_.Put(at);
    return host_->PathSymlink(g_.mem(), a,
                              static_cast<uint32_t>(contents.size()), kApp, b,
                              static_cast<uint32_t>(at.size()));
  }
  std::pair<uint32_t, std::string> Readlink(std::string_view path,
                                            uint32_t buf_len = 256) {
    const uint32_t p = g_.Put(path);
    const uint32_t buf = g_.Alloc(buf_len, 1), used = g_.Alloc(4);
    const uint32_t r = host_->PathReadlink(g_.mem(), kApp, p,
                                           static_cast<uint32_t>(path.size()),
                                           buf, buf_len, used);
    return {r, r == abi::kSuccess ? g_.Read(buf, g_.Load<uint32_t>(used)) : ""};
  }
  uint32_t SetTimes(std::string_view path, uint32_t flags, uint64_t mtim) {
    const uint32_t p = g_.Put(path);
    return host_->PathFilestatSetTimes(g_.mem(), kApp, flags, p,
                                       static_cast<uint32_t>(path.size()), 0,
                                       mtim, abi::kFstflagMtim);
  }

  std::unique_ptr<TempDir> outer_;
  std::filesystem::path ws_;
  FakeGuest g_{16};
  std::vector<Denial> denials_;
  std::unique_ptr<WasiHost> host_;
};

TEST_F(WasiPathTest, LegitimatePathsOpen) {
  ASSERT_EQ(::symlink("sub", (ws_ / "to_sub").c_str()), 0);
  ASSERT_EQ(::symlink("../file", (ws_ / "sub" / "up_file").c_str()), 0);
  for (const char* p :
       {"file", "./file", "sub/../file", "sub/deeper/../../file",
        "sub//..//file", "to_sub/../file", "sub/up_file"}) {
    auto [err, fd] = OpenPath(*host_, g_, kApp, p);
    ASSERT_EQ(err, abi::kSuccess) << p;
    EXPECT_EQ(ReadFd(*host_, g_, fd, 16).second, "inside") << p;
  }
  EXPECT_TRUE(denials_.empty());
}

TEST_F(WasiPathTest, EscapesAreNotCapableAndReported) {
  ASSERT_EQ(::symlink("/etc/passwd", (ws_ / "passwd").c_str()), 0);
  ASSERT_EQ(::symlink("..", (ws_ / "up").c_str()), 0);
  ASSERT_EQ(::symlink(outer_->path().c_str(), (ws_ / "abs_dir").c_str()), 0);
  ASSERT_EQ(::symlink("../../secret", (ws_ / "sub" / "rel_escape").c_str()), 0);
  ASSERT_EQ(::symlink("sub/rel_escape", (ws_ / "chain").c_str()), 0);
  const std::vector<std::string> attempts = {"../secret",
                                             "a/../../secret",
                                             "sub/../../secret",
                                             "sub/deeper/../../../secret",
                                             "/etc/passwd",
                                             "/",
                                             "..",
                                             "passwd",
                                             "up/secret",
                                             "up",
                                             "abs_dir/secret",
                                             "sub/rel_escape",
                                             "chain",
                                             "./../ws/file"};
  for (const std::string& p : attempts) {
    denials_.clear();
    auto [err, fd] = OpenPath(*host_, g_, kApp, p);
    EXPECT_EQ(err, abi::kNotcapable) << p;
    EXPECT_EQ(denials_, (std::vector<Denial>{{"path_open", p}})) << p;
  }
}

TEST_F(WasiPathTest, EscapesAreRefusedByEveryPathCall) {
  ASSERT_EQ(::symlink("/etc", (ws_ / "etc").c_str()), 0);
  ASSERT_EQ(::symlink("..", (ws_ / "up").c_str()), 0);
  uint8_t type;
  EXPECT_EQ(PathCall(&WasiHost::PathCreateDirectory, "../made"),
            abi::kNotcapable);
  EXPECT_EQ(PathCall(&WasiHost::PathCreateDirectory, "up/made"),
            abi::kNotcapable);
  EXPECT_FALSE(std::filesystem::exists(outer_->path() / "made"));
  EXPECT_EQ(PathCall(&WasiHost::PathUnlinkFile, "../secret"), abi::kNotcapable);
  EXPECT_EQ(PathCall(&WasiHost::PathUnlinkFile, "up/secret"), abi::kNotcapable);
  EXPECT_EQ(PathCall(&WasiHost::PathRemoveDirectory, ".."), abi::kNotcapable);
  EXPECT_EQ(PathCall(&WasiHost::PathRemoveDirectory, "up/ws"),
            abi::kNotcapable);
  EXPECT_EQ(PathCall(&WasiHost::PathUnlinkFile, "/etc/passwd"),
            abi::kNotcapable);
  EXPECT_EQ(ReadFile(outer_->path() / "secret"), "top secret");
  EXPECT_EQ(Stat("../secret", 0, &type), abi::kNotcapable);
  EXPECT_EQ(Stat("..", 0, &type), abi::kNotcapable);
  EXPECT_EQ(Stat("etc/passwd", 0, &type), abi::kNotcapable);
  EXPECT_EQ(Stat("etc", kFollow, &type), abi::kNotcapable);
  EXPECT_EQ(Stat("etc/", 0, &type), abi::kNotcapable);  // '/' follows
  EXPECT_EQ(Rename("file", "../stolen"), abi::kNotcapable);
  EXPECT_EQ(Rename("up/secret", "mine"), abi::kNotcapable);
  EXPECT_EQ(Link("up/secret", "mine"), abi::kNotcapable);
  EXPECT_EQ(Link("file", "up/planted"), abi::kNotcapable);
  EXPECT_EQ(Symlink("/etc/passwd", "../planted"), abi::kNotcapable);
  EXPECT_EQ(Readlink("../ws/etc").first, abi::kNotcapable);
  EXPECT_EQ(SetTimes("../secret", 0, 1), abi::kNotcapable);
  EXPECT_EQ(SetTimes("etc", kFollow, 1), abi::kNotcapable);
  EXPECT_FALSE(std::filesystem::exists(outer_->path() / "stolen"));
  EXPECT_FALSE(std::filesystem::exists(outer_->path() / "planted"));
  EXPECT_FALSE(std::filesystem::exists(ws_ / "mine"));
  EXPECT_EQ(ReadFile(outer_->path() / "secret"), "top secret");
  const std::vector<Denial> expected = {
      {"path_create_directory", "../made"},
      {"path_create_directory", "up/made"},
      {"path_unlink_file", "../secret"},
      {"path_unlink_file", "up/secret"},
      {"path_remove_directory", ".."},
      {"path_remove_directory", "up/ws"},
      {"path_unlink_file", "/etc/passwd"},
      {"path_filestat_get", "../secret"},
      {"path_filestat_get", ".."},
      {"path_filestat_get", "etc/passwd"},
      {"path_filestat_get", "etc"},
      {"path_filestat_get", "etc/"},
      {"path_rename", "../stolen"},
      {"path_rename", "up/secret"},
      {"path_link", "up/secret"},
      {"path_link", "up/planted"},
      {"path_symlink", "../planted"},
      {"path_readlink", "../ws/etc"},
      {"path_filestat_set_times", "../secret"},
      {"path_filestat_set_times", "etc"},
  };
  EXPECT_EQ(denials_, expected);
}

TEST_F(WasiPathTest, EscapingSymlinkItselfCanBeInspectedWithoutFollowing) {
  ASSERT_EQ(::symlink("/etc/passwd", (ws_ / "passwd").c_str()), 0);
  uint8_t type = 0;
  EXPECT_EQ(Stat("passwd", 0, &type), abi::kSuccess);
  EXPECT_EQ(type, abi::kFiletypeSymbolicLink);
  EXPECT_EQ(Readlink("passwd"), std::make_pair(uint32_t{abi::kSuccess},
                                               std::string("/etc/passwd")));
  // Opening it without following: LOOP (a symlink), not the target.
  EXPECT_EQ(OpenPath(*host_, g_, kApp, "passwd", 0, kReadRights, 0, 0).error,
            abi::kLoop);
  // Removing the link is allowed and leaves the target alone.
  EXPECT_EQ(PathCall(&WasiHost::PathUnlinkFile, "passwd"), abi::kSuccess);
  EXPECT_TRUE(std::filesystem::exists("/etc/passwd"));
  EXPECT_TRUE(denials_.empty());
}

TEST_F(WasiPathTest, HardLinkWithFollowOfASymlinkIsRefused) {
  ASSERT_EQ(::symlink("file", (ws_ / "lnk").c_str()), 0);
  EXPECT_EQ(Link("lnk", "hard", kFollow), abi::kNotsup);
  EXPECT_EQ(Link("file", "hard", kFollow), abi::kSuccess);
  EXPECT_EQ(std::filesystem::hard_link_count(ws_ / "file"), 2u);
  EXPECT_EQ(Link("lnk", "hard_to_link", 0), abi::kSuccess);
  EXPECT_TRUE(std::filesystem::is_symlink(ws_ / "hard_to_link"));
}

TEST_F(WasiPathTest, DirectoryCallsAndDotRules) {
  EXPECT_EQ(PathCall(&WasiHost::PathCreateDirectory, "new"), abi::kSuccess);
  EXPECT_TRUE(std::filesystem::is_directory(ws_ / "new"));
  EXPECT_EQ(PathCall(&WasiHost::PathCreateDirectory, "new"), abi::kExist);
  EXPECT_EQ(PathCall(&WasiHost::PathCreateDirectory, "new2/"), abi::kSuccess);
  EXPECT_EQ(PathCall(&WasiHost::PathCreateDirectory, "."), abi::kExist);
  EXPECT_EQ(PathCall(&WasiHost::PathCreateDirectory, "missing/x"), abi::kNoent);
  EXPECT_EQ(PathCall(&WasiHost::PathRemoveDirectory, "."), abi::kInval);
  EXPECT_EQ(PathCall(&WasiHost::PathRemoveDirectory, "sub/.."), abi::kNotempty);
  EXPECT_EQ(PathCall(&WasiHost::PathRemoveDirectory, "sub"), abi::kNotempty);
  EXPECT_EQ(PathCall(&WasiHost::PathRemoveDirectory, "file"), abi::kNotdir);
  EXPECT_EQ(PathCall(&WasiHost::PathRemoveDirectory, "new2/"), abi::kSuccess);
  EXPECT_FALSE(std::filesystem::exists(ws_ / "new2"));
  EXPECT_EQ(PathCall(&WasiHost::PathUnlinkFile, "sub"), abi::kIsdir);
  EXPECT_EQ(PathCall(&WasiHost::PathUnlinkFile, "."), abi::kIsdir);
  EXPECT_EQ(PathCall(&WasiHost::PathUnlinkFile, "file/"), abi::kNotdir);
  EXPECT_EQ(PathCall(&WasiHost::PathUnlinkFile, "sub/"), abi::kIsdir);
  EXPECT_EQ(PathCall(&WasiHost::PathUnlinkFile, "nothing/"), abi::kNoent);
  EXPECT_TRUE(std::filesystem::exists(ws_ / "file"));
  EXPECT_EQ(PathCall(&WasiHost::PathUnlinkFile, "file"), abi::kSuccess);
  EXPECT_FALSE(std::filesystem::exists(ws_ / "file"));
  EXPECT_TRUE(denials_.empty());
}

TEST_F(WasiPathTest, MissingPathsAreNoentWithoutADenial) {
  for (const char* p : {"missing", "sub/missing", "missing/../file/x",
                        "sub/../missing", "missing/", "sub/deeper/../nope"}) {
    EXPECT_EQ(OpenPath(*host_, g_, kApp, p).error, abi::kNoent) << p;
  }
  EXPECT_TRUE(denials_.empty());
  // Missing, but climbing above the root as written: an escape.
  EXPECT_EQ(OpenPath(*host_, g_, kApp, "missing/../../x").error,
            abi::kNotcapable);
  EXPECT_EQ(denials_, (std::vector<Denial>{{"path_open", "missing/../../x"}}));
}

TEST_F(WasiPathTest, MalformedPaths) {
  EXPECT_EQ(OpenPath(*host_, g_, kApp, "").error, abi::kNoent);
  EXPECT_EQ(OpenPath(*host_, g_, kApp, std::string("fi\0le", 5)).error,
            abi::kInval);
  EXPECT_EQ(OpenPath(*host_, g_, kApp, std::string(4096, 'a')).error,
            abi::kNametoolong);
  EXPECT_EQ(PathCall(&WasiHost::PathUnlinkFile, ""), abi::kNoent);
  // Path calls on something that is not a directory handle.
  auto [err, fd] = OpenPath(*host_, g_, kApp, "file");
  ASSERT_EQ(err, abi::kSuccess);
  EXPECT_EQ(OpenPath(*host_, g_, fd, "x").error, abi::kNotdir);
  EXPECT_EQ(OpenPath(*host_, g_, 1, "x").error, abi::kNotdir);
  EXPECT_EQ(OpenPath(*host_, g_, 55, "x").error, abi::kBadf);
  // Unknown flag bits.
  EXPECT_EQ(OpenPath(*host_, g_, kApp, "file", 1 << 4).error, abi::kInval);
  EXPECT_EQ(OpenPath(*host_, g_, kApp, "file", 0, kReadRights, 1 << 5).error,
            abi::kInval);
  EXPECT_TRUE(denials_.empty());
}

TEST_F(WasiPathTest, RenameLinkSymlinkReadlinkInsideTheWorkspace) {
  EXPECT_EQ(Rename("file", "sub/moved"), abi::kSuccess);
  EXPECT_EQ(ReadFile(ws_ / "sub" / "moved"), "inside");
  EXPECT_EQ(Rename("sub/moved", "sub/deeper/"), abi::kNotdir);
  EXPECT_EQ(Rename("sub/deeper", "sub/renamed_dir/"), abi::kSuccess);
  EXPECT_TRUE(std::filesystem::is_directory(ws_ / "sub" / "renamed_dir"));
  EXPECT_EQ(Rename(".", "x"), abi::kBusy);
  EXPECT_EQ(Rename("missing", "x"), abi::kNoent);
  EXPECT_EQ(Link("sub/moved", "hard"), abi::kSuccess);
  EXPECT_EQ(std::filesystem::hard_link_count(ws_ / "hard"), 2u);
  EXPECT_EQ(Link("sub", "hard_dir"), abi::kPerm);
  EXPECT_EQ(Link("sub/moved", "hard"), abi::kExist);
  EXPECT_EQ(Link("sub/moved", "sub/"), abi::kExist);
  EXPECT_EQ(Symlink("sub/moved", "sym"), abi::kSuccess);
  EXPECT_EQ(Readlink("sym"),
            std::make_pair(uint32_t{abi::kSuccess}, std::string("sub/moved")));
  // A short buffer gets the first bytes, like readlink(2).
  EXPECT_EQ(Readlink("sym", 3),
            std::make_pair(uint32_t{abi::kSuccess}, std::string("sub")));
  EXPECT_EQ(Readlink("hard").first, abi::kInval);
  EXPECT_EQ(Readlink(".").first, abi::kInval);
  EXPECT_EQ(Symlink("anything", "sym"), abi::kExist);
  EXPECT_EQ(Symlink("anything", "."), abi::kExist);
  auto [err, fd] = OpenPath(*host_, g_, kApp, "sym");
  ASSERT_EQ(err, abi::kSuccess);
  EXPECT_EQ(ReadFd(*host_, g_, fd, 16).second, "inside");
  EXPECT_TRUE(denials_.empty());
}

TEST_F(WasiPathTest, StatAndSetTimesFollowOrNot) {
  ASSERT_EQ(::symlink("file", (ws_ / "lnk").c_str()), 0);
  uint8_t type = 0;
  EXPECT_EQ(Stat("lnk", 0, &type), abi::kSuccess);
  EXPECT_EQ(type, abi::kFiletypeSymbolicLink);
  EXPECT_EQ(Stat("lnk", kFollow, &type), abi::kSuccess);
  EXPECT_EQ(type, abi::kFiletypeRegularFile);
  EXPECT_EQ(Stat("sub/", 0, &type), abi::kSuccess);
  EXPECT_EQ(type, abi::kFiletypeDirectory);
  EXPECT_EQ(Stat("sub/..", 0, &type), abi::kSuccess);
  EXPECT_EQ(type, abi::kFiletypeDirectory);
  EXPECT_EQ(Stat(".", 0, &type), abi::kSuccess);
  EXPECT_EQ(Stat("file/", 0, &type), abi::kNotdir);
  EXPECT_EQ(Stat("nothing", 0, &type), abi::kNoent);

  const uint64_t t1 = 1'000'000'000ull * 1'500'000'000ull;
  ASSERT_EQ(SetTimes("lnk", kFollow, t1), abi::kSuccess);
  struct stat st {};
  ASSERT_EQ(::stat((ws_ / "file").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 1'500'000'000);
  const uint64_t t2 = 1'000'000'000ull * 1'400'000'000ull;
  ASSERT_EQ(SetTimes("lnk", 0, t2), abi::kSuccess);  // the link itself
  ASSERT_EQ(::lstat((ws_ / "lnk").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 1'400'000'000);
  ASSERT_EQ(::stat((ws_ / "file").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 1'500'000'000);
  ASSERT_EQ(SetTimes("sub/", 0, t2), abi::kSuccess);
  ASSERT_EQ(::stat((ws_ / "sub").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 1'400'000'000);
}

TEST_F(WasiPathTest, OpenedSubdirectoryIsABaseForFurtherPaths) {
  auto [err, sub] = OpenPath(*host_, g_, kApp, "sub", abi::kOflagDirectory);
  ASSERT_EQ(err, abi::kSuccess);
  WriteFile(ws_ / "sub" / "inner", "in sub");
  auto [err2, fd] = OpenPath(*host_, g_, sub, "inner");
  ASSERT_EQ(err2, abi::kSuccess);
  EXPECT_EQ(ReadFd(*host_, g_, fd, 16).second, "in sub");
  // Beneath the subdirectory handle, even the workspace root is outside.
  EXPECT_EQ(OpenPath(*host_, g_, sub, "../file").error, abi::kNotcapable);
  EXPECT_EQ(denials_, (std::vector<Denial>{{"path_open", "../file"}}));
}

TEST_F(WasiPathTest, CreateNeedsTheRightAndCreatesBeneathOnly) {
  auto [err, fd] =
      OpenPath(*host_, g_, kApp, "sub/deeper/new.txt", abi::kOflagCreat, kRw);
  ASSERT_EQ(err, abi::kSuccess);
  EXPECT_TRUE(std::filesystem::exists(ws_ / "sub" / "deeper" / "new.txt"));
  // A dangling symlink pointing outside: O_CREAT through it is refused.
  ASSERT_EQ(::symlink((outer_->path() / "created").c_str(),
                      (ws_ / "dangling").c_str()),
            0);
  EXPECT_EQ(OpenPath(*host_, g_, kApp, "dangling", abi::kOflagCreat, kRw).error,
            abi::kNotcapable);
  EXPECT_FALSE(std::filesystem::exists(outer_->path() / "created"));
  // Without PATH_CREATE_FILE on the directory handle: NOTCAPABLE.
  const uint32_t st = g_.Alloc(24);
  ASSERT_EQ(host_->FdFdstatGet(g_.mem(), kApp, st), abi::kSuccess);
  ASSERT_EQ(host_->FdFdstatSetRights(
                g_.mem(), kApp,
                g_.Load<uint64_t>(st + 8) & ~abi::kRightPathCreateFile,
                g_.Load<uint64_t>(st + 16)),
            abi::kSuccess);
  EXPECT_EQ(
      OpenPath(*host_, g_, kApp, "other.txt", abi::kOflagCreat, kRw).error,
      abi::kNotcapable);
  EXPECT_FALSE(std::filesystem::exists(ws_ / "other.txt"));
}

}  // namespace
}  // namespace snakecage::wasi
