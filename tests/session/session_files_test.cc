// Workspace file operations: ListFiles, ReadFile, WriteFile, DeletePath, and
// their confinement to the workspace.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

#include "session_test_util.h"
#include "snakecage/session.h"

namespace snakecage {
namespace {

using namespace std::chrono_literals;
using testing::Slurp;
using testing::Spit;
namespace fs = std::filesystem;

class SessionFilesTest : public testing::StoreFixture {
 protected:
  void SetUp() override {
    auto opened = store.OpenOrCreate("s");
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    ws = opened->workspace_path;
  }
  fs::path ws;
};

const std::vector<std::string> kBadPaths = {"/etc/passwd", "../x", "a/../../x", "",
                                            "..",          "a/..", "./../x"};

std::string Quoted(const std::string& p) { return "\"" + p + "\""; }

TEST(SessionFilesRefusalTest, BadPathsAreRefusedByNameBeforeTouchingDisk) {
  testing::TempDir tmp;
  auto log = std::make_shared<RecordingLogger>();
  SessionStore store(tmp.path() / "root", log);
  for (const std::string& p : kBadPaths) {
    const Status statuses[] = {
        store.ReadFile("s", p).status(),
        store.WriteFile("s", p, "data"),
        store.WriteFile("s", p, "data", /*overwrite=*/false),
        store.DeletePath("s", p),
        store.DeletePath("s", p, /*recursive=*/true),
    };
    for (const Status& s : statuses) {
      EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << p << ": " << s.message();
      EXPECT_EQ(s.message().rfind("path " + Quoted(p) + " ", 0), 0u) << s.message();
    }
  }
  EXPECT_FALSE(fs::exists(tmp.path() / "root"));
  // Every refusal but the empty path is a security event.
  const auto denied = log->records(TelemetryEvent::kSecurityPathDenied);
  EXPECT_EQ(denied.size(), 5u * (kBadPaths.size() - 1));
  ASSERT_FALSE(denied.empty());
  EXPECT_EQ(denied[0].logger, "snakecage.security");
  EXPECT_EQ(denied[0].level, LogLevel::kWarning);
  EXPECT_EQ(denied[0].fields.dump(),
            R"({"session_id":"s","operation":"read","path":"/etc/passwd","reason":"absolute"})");
  EXPECT_EQ(denied[1].fields.dump(),
            R"({"session_id":"s","operation":"write","path":"/etc/passwd","reason":"absolute"})");
  EXPECT_EQ(denied[5].fields.dump(),
            R"({"session_id":"s","operation":"read","path":"../x","reason":"dot_dot"})");
}

TEST_F(SessionFilesTest, BadPathsAreRefusedInAnExistingSession) {
  for (const std::string& p : kBadPaths) {
    EXPECT_EQ(store.ReadFile("s", p).status().code(), StatusCode::kInvalidArgument) << p;
    EXPECT_EQ(store.WriteFile("s", p, "x").code(), StatusCode::kInvalidArgument) << p;
    EXPECT_EQ(store.DeletePath("s", p, true).code(), StatusCode::kInvalidArgument) << p;
  }
  EXPECT_EQ(store.ReadFile("s", "/etc/passwd").status().message(),
            "path \"/etc/passwd\" is absolute; paths are relative to the workspace");
  EXPECT_EQ(store.ReadFile("s", "a/../../x").status().message(),
            "path \"a/../../x\" has a \"..\" component; paths must stay inside the workspace");
  EXPECT_EQ(store.ReadFile("s", "").status().message(), "path \"\" is empty");
  EXPECT_TRUE(fs::is_empty(ws));
  EXPECT_TRUE(fs::exists(tmp.path() / "sessions" / "s" / "session.json"));
}

TEST_F(SessionFilesTest, WriteCreatesParentsAndReadsBack) {
  clock.Advance(30s);
  ASSERT_TRUE(store.WriteFile("s", "a/b/c.txt", "hello").ok());
  EXPECT_EQ(Slurp(ws / "a" / "b" / "c.txt"), "hello");
  auto read = store.ReadFile("s", "a/b/c.txt");
  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_EQ(*read, "hello");
  ASSERT_TRUE(store.WriteFile("s", "./top.bin", std::string("\0\1\2", 3)).ok());
  EXPECT_EQ(*store.ReadFile("s", "top.bin"), std::string("\0\1\2", 3));
  // The write touched updated_at; no temporary files remain.
  EXPECT_EQ(store.ReadMetadata("s")->updated_at, "2026-11-26T06:40:31.000000Z");
  EXPECT_EQ(*store.ListFiles("s"), (std::vector<std::string>{"a/b/c.txt", "top.bin"}));

  const auto writes = log->records(TelemetryEvent::kSessionFileWrite);
  ASSERT_EQ(writes.size(), 2u);
  EXPECT_EQ(writes[0].fields.dump(),
            R"({"session_id":"s","path":"a/b/c.txt","bytes":5,"overwrite":true})");
  const auto reads = log->records(TelemetryEvent::kSessionFileRead);
  ASSERT_EQ(reads.size(), 2u);
  EXPECT_EQ(reads[0].fields.dump(), R"({"session_id":"s","path":"a/b/c.txt","bytes":5})");
  const auto updates = log->records(TelemetryEvent::kSessionMetadataUpdated);
  ASSERT_EQ(updates.size(), 2u);
  EXPECT_EQ(updates[0].fields["reason"], "file_write");
}

TEST_F(SessionFilesTest, OverwriteFalseOnExistingFileIsAlreadyExists) {
  ASSERT_TRUE(store.WriteFile("s", "f.txt", "original").ok());
  const Status s = store.WriteFile("s", "f.txt", "new", /*overwrite=*/false);
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(s.message(), "path \"f.txt\" in session \"s\" already exists (overwrite is false)");
  EXPECT_EQ(Slurp(ws / "f.txt"), "original");
  EXPECT_TRUE(store.WriteFile("s", "new.txt", "fresh", /*overwrite=*/false).ok());
  EXPECT_EQ(Slurp(ws / "new.txt"), "fresh");
  EXPECT_TRUE(store.WriteFile("s", "f.txt", "replaced", /*overwrite=*/true).ok());
  EXPECT_EQ(Slurp(ws / "f.txt"), "replaced");
  EXPECT_EQ(*store.ListFiles("s"), (std::vector<std::string>{"f.txt", "new.txt"}));
}

TEST_F(SessionFilesTest, WriteOntoADirectoryOrThroughAFileIsRefused) {
  fs::create_directories(ws / "dir");
  EXPECT_EQ(store.WriteFile("s", "dir", "x").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store.WriteFile("s", "dir/", "x").code(), StatusCode::kInvalidArgument);
  Spit(ws / "file", "f");
  EXPECT_EQ(store.WriteFile("s", "file/inner", "x").code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(fs::is_directory(ws / "dir"));
  EXPECT_EQ(Slurp(ws / "file"), "f");
}

TEST_F(SessionFilesTest, ReadErrors) {
  auto missing = store.ReadFile("s", "nope.txt");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "path \"nope.txt\" in session \"s\" does not exist");
  fs::create_directories(ws / "d");
  EXPECT_EQ(store.ReadFile("s", "d").status().code(), StatusCode::kInvalidArgument);
  ASSERT_EQ(::mkfifo((ws / "fifo").c_str(), 0600), 0);
  auto fifo = store.ReadFile("s", "fifo");  // must not block
  EXPECT_EQ(fifo.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(fifo.status().message(), "path \"fifo\" in session \"s\" is not a regular file");
  EXPECT_EQ(store.ReadFile("ghost", "x").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store.WriteFile("ghost", "x", "").code(), StatusCode::kNotFound);
  EXPECT_EQ(store.DeletePath("ghost", "x").code(), StatusCode::kNotFound);
  EXPECT_EQ(store.ListFiles("ghost").status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(fs::exists(tmp.path() / "sessions" / "ghost"));
}

TEST_F(SessionFilesTest, ListFilesSortedWithGlob) {
  for (const char* p : {"b.txt", "a.py", "sub/c.txt", "sub/deep/d.txt", "a.txt"}) {
    ASSERT_TRUE(store.WriteFile("s", p, "x").ok()) << p;
  }
  fs::create_directories(ws / "empty-dir");
  ASSERT_EQ(::symlink("b.txt", (ws / "link.txt").c_str()), 0);
  ASSERT_EQ(::mkfifo((ws / "pipe").c_str(), 0600), 0);
  EXPECT_EQ(*store.ListFiles("s"), (std::vector<std::string>{"a.py", "a.txt", "b.txt", "link.txt",
                                                             "sub/c.txt", "sub/deep/d.txt"}));
  // '*' crosses '/' (fnmatch without FNM_PATHNAME).
  EXPECT_EQ(
      *store.ListFiles("s", "*.txt"),
      (std::vector<std::string>{"a.txt", "b.txt", "link.txt", "sub/c.txt", "sub/deep/d.txt"}));
  EXPECT_EQ(*store.ListFiles("s", "sub/*"),
            (std::vector<std::string>{"sub/c.txt", "sub/deep/d.txt"}));
  EXPECT_EQ(*store.ListFiles("s", "?.py"), std::vector<std::string>{"a.py"});
  EXPECT_TRUE(store.ListFiles("s", "*.rs")->empty());
  const auto lists = log->records(TelemetryEvent::kSessionFileList);
  ASSERT_EQ(lists.size(), 5u);
  EXPECT_EQ(lists[0].fields.dump(), R"({"session_id":"s","glob":null,"count":6})");
  EXPECT_EQ(lists[1].fields.dump(), R"({"session_id":"s","glob":"*.txt","count":5})");
}

TEST_F(SessionFilesTest, InsideSymlinkIsFollowedBeneathForRead) {
  ASSERT_TRUE(store.WriteFile("s", "data/real.txt", "inside").ok());
  ASSERT_EQ(::symlink("data/real.txt", (ws / "alias").c_str()), 0);
  ASSERT_EQ(::symlink("data", (ws / "dlink").c_str()), 0);
  EXPECT_EQ(*store.ReadFile("s", "alias"), "inside");
  EXPECT_EQ(*store.ReadFile("s", "dlink/real.txt"), "inside");
  ASSERT_TRUE(store.WriteFile("s", "dlink/more.txt", "m").ok());
  EXPECT_EQ(Slurp(ws / "data" / "more.txt"), "m");
}

// A guest planted symlinks pointing out of the workspace at host files.
class PlantedSymlinkTest : public SessionFilesTest {
 protected:
  void SetUp() override {
    SessionFilesTest::SetUp();
    host_file = tmp.path() / "host-secret.txt";
    Spit(host_file, "secret");
    host_dir = tmp.path() / "host-dir";
    fs::create_directories(host_dir);
    Spit(host_dir / "inner.txt", "inner");
    ASSERT_EQ(::symlink(host_file.c_str(), (ws / "abs_link").c_str()), 0);
    // workspace -> s -> sessions -> tmp
    ASSERT_EQ(::symlink("../../../host-secret.txt", (ws / "rel_link").c_str()), 0);
    ASSERT_EQ(::symlink(host_dir.c_str(), (ws / "out_dir").c_str()), 0);
    ASSERT_EQ(::symlink("../../../host-dir", (ws / "rel_dir").c_str()), 0);
  }
  void ExpectHostUntouched() {
    EXPECT_EQ(Slurp(host_file), "secret");
    EXPECT_EQ(Slurp(host_dir / "inner.txt"), "inner");
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(host_dir)) names.push_back(e.path().filename());
    EXPECT_EQ(names, std::vector<std::string>{"inner.txt"});
  }
  fs::path host_file;
  fs::path host_dir;
};

TEST_F(PlantedSymlinkTest, CannotBeRead) {
  for (const char* p : {"abs_link", "rel_link", "out_dir/inner.txt", "rel_dir/inner.txt"}) {
    auto r = store.ReadFile("s", p);
    ASSERT_FALSE(r.ok()) << p << " read: " << *r;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << p;
    EXPECT_EQ(r.status().message(), "path " + Quoted(p) +
                                        " in session \"s\" leads outside the workspace (through a "
                                        "symlink)");
  }
  const auto denied = log->records(TelemetryEvent::kSecurityPathDenied);
  ASSERT_EQ(denied.size(), 4u);
  EXPECT_EQ(
      denied[2].fields.dump(),
      R"({"session_id":"s","operation":"read","path":"out_dir/inner.txt","reason":"escapes_workspace"})");
  EXPECT_TRUE(log->records(TelemetryEvent::kSessionFileRead).empty());
  ExpectHostUntouched();
}

TEST_F(PlantedSymlinkTest, CannotBeWrittenThrough) {
  for (const char* p :
       {"out_dir/inner.txt", "out_dir/new.txt", "rel_dir/new.txt", "out_dir/sub/new.txt"}) {
    EXPECT_EQ(store.WriteFile("s", p, "pwned").code(), StatusCode::kInvalidArgument) << p;
  }
  ExpectHostUntouched();
  // Writing the link's own name replaces the link, never its target.
  EXPECT_EQ(store.WriteFile("s", "abs_link", "pwned", /*overwrite=*/false).code(),
            StatusCode::kAlreadyExists);
  ASSERT_TRUE(store.WriteFile("s", "abs_link", "replaced").ok());
  ASSERT_TRUE(store.WriteFile("s", "rel_link", "replaced too").ok());
  EXPECT_FALSE(fs::is_symlink(ws / "abs_link"));
  EXPECT_EQ(Slurp(ws / "abs_link"), "replaced");
  EXPECT_EQ(Slurp(ws / "rel_link"), "replaced too");
  ExpectHostUntouched();
}

TEST_F(PlantedSymlinkTest, CannotBeListedInto) {
  EXPECT_EQ(*store.ListFiles("s"),
            (std::vector<std::string>{"abs_link", "out_dir", "rel_dir", "rel_link"}));
  EXPECT_TRUE(store.ListFiles("s", "*inner*")->empty());
}

TEST_F(PlantedSymlinkTest, DeletingRemovesTheLinkOnly) {
  EXPECT_EQ(store.DeletePath("s", "out_dir/inner.txt").code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(store.DeletePath("s", "abs_link").ok());
  ASSERT_TRUE(store.DeletePath("s", "rel_link").ok());
  ASSERT_TRUE(store.DeletePath("s", "out_dir").ok());                      // not a directory
  ASSERT_TRUE(store.DeletePath("s", "rel_dir", /*recursive=*/true).ok());  // still just the link
  EXPECT_TRUE(fs::is_empty(ws));
  ExpectHostUntouched();
  const auto deletes = log->records(TelemetryEvent::kSessionFileDelete);
  ASSERT_EQ(deletes.size(), 4u);
  EXPECT_EQ(
      deletes[0].fields.dump(),
      R"({"session_id":"s","path":"abs_link","kind":"symlink","recursive":false,"entries_removed":1})");
  EXPECT_EQ(deletes[3].fields["kind"], "symlink");
  EXPECT_EQ(deletes[3].fields["entries_removed"], 1);
}

TEST_F(SessionFilesTest, DeleteDirectoryNeedsRecursive) {
  ASSERT_TRUE(store.WriteFile("s", "tree/a.txt", "a").ok());
  ASSERT_TRUE(store.WriteFile("s", "tree/sub/b.txt", "b").ok());
  ASSERT_EQ(::symlink("/etc", (ws / "tree" / "sub" / "etc").c_str()), 0);
  fs::create_directories(ws / "empty");

  Status s = store.DeletePath("s", "tree");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "path \"tree\" in session \"s\" is a directory; deleting it needs recursive=true");
  EXPECT_EQ(store.DeletePath("s", "empty").code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(fs::exists(ws / "tree" / "sub" / "b.txt"));
  EXPECT_TRUE(fs::exists(ws / "empty"));

  ASSERT_TRUE(store.DeletePath("s", "tree", /*recursive=*/true).ok());
  ASSERT_TRUE(store.DeletePath("s", "empty/", /*recursive=*/true).ok());
  EXPECT_TRUE(fs::is_empty(ws));
  EXPECT_TRUE(fs::exists("/etc/passwd"));
  const auto deletes = log->records(TelemetryEvent::kSessionFileDelete);
  ASSERT_EQ(deletes.size(), 2u);
  // tree, a.txt, sub, b.txt, etc (the link)
  EXPECT_EQ(
      deletes[0].fields.dump(),
      R"({"session_id":"s","path":"tree","kind":"directory","recursive":true,"entries_removed":5})");
}

TEST_F(SessionFilesTest, DeleteFileAndErrors) {
  ASSERT_TRUE(store.WriteFile("s", "d/f.txt", "x").ok());
  EXPECT_EQ(store.DeletePath("s", "d/f.txt/").code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(store.DeletePath("s", "d/f.txt").ok());
  EXPECT_FALSE(fs::exists(ws / "d" / "f.txt"));
  EXPECT_TRUE(fs::is_directory(ws / "d"));
  const Status missing = store.DeletePath("s", "d/f.txt");
  EXPECT_EQ(missing.code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.message(), "path \"d/f.txt\" in session \"s\" does not exist");
  EXPECT_EQ(store.DeletePath("s", ".", true).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store.DeletePath("s", "d/.", true).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(fs::is_directory(ws / "d"));
}

}  // namespace
}  // namespace snakecage
