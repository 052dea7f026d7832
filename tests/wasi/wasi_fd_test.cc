// WasiHost fd_* calls on files and directories in a read-write workspace.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <map>
#include <set>
#include <string>

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

constexpr uint32_t kApp = 3;  // the workspace preopen
constexpr uint64_t kRw = kReadRights | kWriteRights;

class WasiFdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WasiConfig c;
    c.preopens = {{ws_.path(), "/app", false}};
    host_ = MakeHost(c);
    ASSERT_NE(host_, nullptr);
  }

  uint32_t OpenFile(std::string_view path, uint32_t oflags = 0,
                    uint64_t rights = kRw, uint32_t fdflags = 0) {
    auto [err, fd] = OpenPath(*host_, g_, kApp, path, oflags, rights, fdflags);
    EXPECT_EQ(err, abi::kSuccess) << path;
    return fd;
  }
  uint64_t Seek(uint32_t fd, int64_t off, uint32_t whence, uint32_t* err) {
    const uint32_t out = g_.Alloc(8);
    *err = host_->FdSeek(g_.mem(), fd, static_cast<uint64_t>(off), whence, out);
    return g_.Load<uint64_t>(out);
  }
  uint64_t Tell(uint32_t fd) {
    const uint32_t out = g_.Alloc(8);
    EXPECT_EQ(host_->FdTell(g_.mem(), fd, out), abi::kSuccess);
    return g_.Load<uint64_t>(out);
  }
  std::string Pread(uint32_t fd, uint32_t len, uint64_t off) {
    uint32_t buf = 0;
    const uint32_t iov = g_.OneIovec(len, &buf);
    const uint32_t out = g_.Alloc(4);
    EXPECT_EQ(host_->FdPread(g_.mem(), fd, iov, 1, off, out), abi::kSuccess);
    return g_.Read(buf, g_.Load<uint32_t>(out));
  }
  uint32_t Pwrite(uint32_t fd, std::string_view data, uint64_t off) {
    const uint32_t buf = g_.Put(data);
    const uint32_t iov =
        g_.PutIovecs({{buf, static_cast<uint32_t>(data.size())}});
    const uint32_t out = g_.Alloc(4);
    return host_->FdPwrite(g_.mem(), fd, iov, 1, off, out);
  }

  TempDir ws_;
  FakeGuest g_{16};
  std::unique_ptr<WasiHost> host_;
};

TEST_F(WasiFdTest, SeekTellPreadPwrite) {
  WriteFile(ws_ / "f.txt", "0123456789");
  const uint32_t fd = OpenFile("f.txt");
  EXPECT_EQ(Tell(fd), 0u);
  EXPECT_EQ(ReadFd(*host_, g_, fd, 4).second, "0123");
  EXPECT_EQ(Tell(fd), 4u);
  uint32_t err;
  EXPECT_EQ(Seek(fd, 2, abi::kWhenceCur, &err), 6u);
  EXPECT_EQ(err, abi::kSuccess);
  EXPECT_EQ(ReadFd(*host_, g_, fd, 2).second, "67");
  EXPECT_EQ(Seek(fd, -3, abi::kWhenceEnd, &err), 7u);
  EXPECT_EQ(Seek(fd, 1, abi::kWhenceSet, &err), 1u);
  // pread/pwrite use their own offset and leave the position alone.
  EXPECT_EQ(Pread(fd, 3, 5), "567");
  EXPECT_EQ(Tell(fd), 1u);
  EXPECT_EQ(Pwrite(fd, "AB", 8), abi::kSuccess);
  EXPECT_EQ(Tell(fd), 1u);
  EXPECT_EQ(ReadFile(ws_ / "f.txt"), "01234567AB");
  EXPECT_EQ(Pwrite(fd, "Z", 12), abi::kSuccess);  // past the end: a hole
  EXPECT_EQ(ReadFile(ws_ / "f.txt"), std::string("01234567AB\0\0Z", 13));
  // Bad whence and a negative result.
  Seek(fd, 0, 3, &err);
  EXPECT_EQ(err, abi::kInval);
  Seek(fd, -100, abi::kWhenceSet, &err);
  EXPECT_EQ(err, abi::kInval);
  EXPECT_EQ(Tell(fd), 1u);
}

TEST_F(WasiFdTest, WriteThenReadBackThroughTheHost) {
  const uint32_t fd = OpenFile("new.txt", abi::kOflagCreat | abi::kOflagExcl);
  auto [r, n] = WriteFd(*host_, g_, fd, "hello");
  EXPECT_EQ(r, abi::kSuccess);
  EXPECT_EQ(n, 5u);
  EXPECT_EQ(ReadFile(ws_ / "new.txt"), "hello");
  // EXCL on an existing file.
  EXPECT_EQ(OpenPath(*host_, g_, kApp, "new.txt",
                     abi::kOflagCreat | abi::kOflagExcl, kRw)
                .error,
            abi::kExist);
  // TRUNC empties it.
  OpenFile("new.txt", abi::kOflagTrunc);
  EXPECT_EQ(ReadFile(ws_ / "new.txt"), "");
}

TEST_F(WasiFdTest, ReadOnlyHandleCannotWriteAndWriteOnlyCannotRead) {
  WriteFile(ws_ / "f.txt", "data");
  const uint32_t ro = OpenFile("f.txt", 0, kReadRights);
  EXPECT_EQ(WriteFd(*host_, g_, ro, "x").first, abi::kNotcapable);
  const uint32_t wo = OpenFile("f.txt", 0, kWriteRights);
  EXPECT_EQ(ReadFd(*host_, g_, wo, 4).first, abi::kNotcapable);
  EXPECT_EQ(ReadFile(ws_ / "f.txt"), "data");
}

TEST_F(WasiFdTest, AppendFlagAppends) {
  WriteFile(ws_ / "log", "a");
  const uint32_t fd = OpenFile("log", 0, kRw, abi::kFdflagAppend);
  WriteFd(*host_, g_, fd, "b");
  EXPECT_EQ(ReadFile(ws_ / "log"), "ab");
  const uint32_t st = g_.Alloc(24);
  ASSERT_EQ(host_->FdFdstatGet(g_.mem(), fd, st), abi::kSuccess);
  EXPECT_EQ(g_.Load<uint16_t>(st + 2), abi::kFdflagAppend);
  // Turn append off, seek to 0, overwrite.
  ASSERT_EQ(host_->FdFdstatSetFlags(g_.mem(), fd, 0), abi::kSuccess);
  uint32_t err;
  Seek(fd, 0, abi::kWhenceSet, &err);
  WriteFd(*host_, g_, fd, "X");
  EXPECT_EQ(ReadFile(ws_ / "log"), "Xb");
  EXPECT_EQ(host_->FdFdstatSetFlags(g_.mem(), fd, abi::kFdflagSync),
            abi::kNotsup);
  EXPECT_EQ(host_->FdFdstatSetFlags(g_.mem(), fd, 1 << 8), abi::kInval);
}

TEST_F(WasiFdTest, FdstatOfPreopenFileAndDirectory) {
  WriteFile(ws_ / "f", "");
  std::filesystem::create_directory(ws_ / "d");
  const uint32_t st = g_.Alloc(24);
  ASSERT_EQ(host_->FdFdstatGet(g_.mem(), kApp, st), abi::kSuccess);
  EXPECT_EQ(g_.Load<uint8_t>(st), abi::kFiletypeDirectory);
  EXPECT_NE(g_.Load<uint64_t>(st + 16) & abi::kRightFdWrite, 0u);

  const uint32_t f = OpenFile("f");
  ASSERT_EQ(host_->FdFdstatGet(g_.mem(), f, st), abi::kSuccess);
  EXPECT_EQ(g_.Load<uint8_t>(st), abi::kFiletypeRegularFile);
  EXPECT_EQ(g_.Load<uint64_t>(st + 8),
            kRw & ~abi::kRightPathOpen & ~abi::kRightFdReaddir);

  const uint32_t d = OpenFile("d", abi::kOflagDirectory, kReadRights);
  ASSERT_EQ(host_->FdFdstatGet(g_.mem(), d, st), abi::kSuccess);
  EXPECT_EQ(g_.Load<uint8_t>(st), abi::kFiletypeDirectory);
  EXPECT_EQ(g_.Load<uint64_t>(st + 8) & abi::kRightFdRead, 0u);
  EXPECT_NE(g_.Load<uint64_t>(st + 8) & abi::kRightFdReaddir, 0u);
}

TEST_F(WasiFdTest, RightsCanOnlyBeDropped) {
  WriteFile(ws_ / "f", "abc");
  const uint32_t fd = OpenFile("f");
  ASSERT_EQ(host_->FdFdstatSetRights(g_.mem(), fd, abi::kRightFdWrite, 0),
            abi::kSuccess);
  EXPECT_EQ(ReadFd(*host_, g_, fd, 3).first, abi::kNotcapable);
  EXPECT_EQ(host_->FdFdstatSetRights(g_.mem(), fd,
                                     abi::kRightFdWrite | abi::kRightFdRead, 0),
            abi::kNotcapable);
}

TEST_F(WasiFdTest, FilestatSizeTimesAllocate) {
  WriteFile(ws_ / "f", "12345");
  const uint32_t fd = OpenFile("f");
  const uint32_t st = g_.Alloc(64);
  ASSERT_EQ(host_->FdFilestatGet(g_.mem(), fd, st), abi::kSuccess);
  EXPECT_EQ(g_.Load<uint8_t>(st + 16), abi::kFiletypeRegularFile);
  EXPECT_EQ(g_.Load<uint64_t>(st + 24), 1u);  // nlink
  EXPECT_EQ(g_.Load<uint64_t>(st + 32), 5u);  // size
  struct stat host_st {};
  ASSERT_EQ(::stat((ws_ / "f").c_str(), &host_st), 0);
  EXPECT_EQ(g_.Load<uint64_t>(st + 8), host_st.st_ino);

  ASSERT_EQ(host_->FdFilestatSetSize(g_.mem(), fd, 2), abi::kSuccess);
  EXPECT_EQ(ReadFile(ws_ / "f"), "12");
  ASSERT_EQ(host_->FdAllocate(g_.mem(), fd, 0, 4096), abi::kSuccess);
  EXPECT_EQ(std::filesystem::file_size(ws_ / "f"), 4096u);

  const uint64_t t = 1'600'000'000'123'456'789ull;
  ASSERT_EQ(host_->FdFilestatSetTimes(g_.mem(), fd, t, t + 1,
                                      abi::kFstflagAtim | abi::kFstflagMtim),
            abi::kSuccess);
  ASSERT_EQ(host_->FdFilestatGet(g_.mem(), fd, st), abi::kSuccess);
  EXPECT_EQ(g_.Load<uint64_t>(st + 40), t);
  EXPECT_EQ(g_.Load<uint64_t>(st + 48), t + 1);
  EXPECT_EQ(host_->FdFilestatSetTimes(g_.mem(), fd, 0, 0,
                                      abi::kFstflagAtim | abi::kFstflagAtimNow),
            abi::kInval);
}

TEST_F(WasiFdTest, PrestatNamesThePreopen) {
  const uint32_t ps = g_.Alloc(8);
  ASSERT_EQ(host_->FdPrestatGet(g_.mem(), kApp, ps), abi::kSuccess);
  EXPECT_EQ(g_.Load<uint8_t>(ps), abi::kPreopentypeDir);
  EXPECT_EQ(g_.Load<uint32_t>(ps + 4), 4u);
  const uint32_t name = g_.Alloc(4, 1);
  ASSERT_EQ(host_->FdPrestatDirName(g_.mem(), kApp, name, 4), abi::kSuccess);
  EXPECT_EQ(g_.Read(name, 4), "/app");
  EXPECT_EQ(host_->FdPrestatDirName(g_.mem(), kApp, name, 3),
            abi::kNametoolong);
  EXPECT_EQ(host_->FdPrestatGet(g_.mem(), 1, ps), abi::kBadf);
  EXPECT_EQ(host_->FdPrestatGet(g_.mem(), kApp + 1, ps), abi::kBadf);
}

TEST_F(WasiFdTest, CloseAndRenumber) {
  WriteFile(ws_ / "a", "A");
  WriteFile(ws_ / "b", "B");
  const uint32_t a = OpenFile("a");
  const uint32_t b = OpenFile("b");
  EXPECT_EQ(host_->FdRenumber(g_.mem(), a, b), abi::kSuccess);
  EXPECT_EQ(ReadFd(*host_, g_, b, 1).second, "A");
  EXPECT_EQ(ReadFd(*host_, g_, a, 1).first, abi::kBadf);
  EXPECT_EQ(host_->FdRenumber(g_.mem(), b, 99), abi::kBadf);
  EXPECT_EQ(host_->FdClose(g_.mem(), b), abi::kSuccess);
  EXPECT_EQ(host_->FdClose(g_.mem(), b), abi::kBadf);
  // The lowest free number is reused.
  EXPECT_EQ(OpenFile("a"), a);
}

TEST_F(WasiFdTest, OpenFdLimitIsMfile) {
  WasiConfig c;
  c.preopens = {{ws_.path(), "/app", false}};
  c.max_open_fds = 5;
  auto host = MakeHost(c);
  WriteFile(ws_ / "f", "");
  EXPECT_EQ(OpenPath(*host, g_, kApp, "f").error, abi::kSuccess);
  EXPECT_EQ(OpenPath(*host, g_, kApp, "f").error, abi::kMfile);
  // Refused before creating anything.
  EXPECT_EQ(OpenPath(*host, g_, kApp, "g", abi::kOflagCreat, kRw).error,
            abi::kMfile);
  EXPECT_FALSE(std::filesystem::exists(ws_ / "g"));
}

TEST_F(WasiFdTest, ReaddirWithCookiesReturnsEveryEntryOnce) {
  std::set<std::string> expected = {".", ".."};
  for (int i = 0; i < 60; ++i) {
    const std::string name = "file_" + std::to_string(i) +
                             std::string(static_cast<size_t>(i % 7), 'x');
    WriteFile(ws_ / name, "");
    expected.insert(name);
  }
  std::filesystem::create_directory(ws_ / "subdir");
  expected.insert("subdir");
  const uint32_t dir = OpenFile(".", abi::kOflagDirectory, kReadRights);

  for (uint32_t buf_len : {40u, 64u, 100u, 257u, 4096u}) {
    std::multiset<std::string> seen;
    std::map<std::string, uint8_t> types;
    uint64_t cookie = 0;
    for (int rounds = 0; rounds < 10000; ++rounds) {
      const uint32_t buf = g_.Alloc(buf_len, 8);
      const uint32_t used_out = g_.Alloc(4);
      ASSERT_EQ(host_->FdReaddir(g_.mem(), dir, buf, buf_len, cookie, used_out),
                abi::kSuccess);
      const uint32_t used = g_.Load<uint32_t>(used_out);
      // Parse whole entries; a cut-short last entry is read again next time.
      uint32_t pos = 0;
      while (pos + 24 <= used) {
        const uint64_t next = g_.Load<uint64_t>(buf + pos);
        const uint32_t namlen = g_.Load<uint32_t>(buf + pos + 16);
        if (pos + 24 + namlen > used) break;
        const std::string name = g_.Read(buf + pos + 24, namlen);
        seen.insert(name);
        types[name] = g_.Load<uint8_t>(buf + pos + 20);
        cookie = next;
        pos += 24 + namlen;
      }
      if (used < buf_len) break;  // end of directory
    }
    EXPECT_EQ(seen,
              std::multiset<std::string>(expected.begin(), expected.end()))
        << "buf_len " << buf_len;
    EXPECT_EQ(types["subdir"], abi::kFiletypeDirectory);
    EXPECT_EQ(types["file_0"], abi::kFiletypeRegularFile);
  }
}

TEST_F(WasiFdTest, ReaddirCookieZeroRewindsAndSeesNewEntries) {
  const uint32_t dir = OpenFile(".", abi::kOflagDirectory, kReadRights);
  const uint32_t buf = g_.Alloc(4096);
  const uint32_t used = g_.Alloc(4);
  ASSERT_EQ(host_->FdReaddir(g_.mem(), dir, buf, 4096, 0, used), abi::kSuccess);
  EXPECT_EQ(g_.Load<uint32_t>(used), 2u * 24 + 1 + 2);  // "." and ".."
  WriteFile(ws_ / "late", "");
  ASSERT_EQ(host_->FdReaddir(g_.mem(), dir, buf, 4096, 0, used), abi::kSuccess);
  EXPECT_EQ(g_.Load<uint32_t>(used), 3u * 24 + 1 + 2 + 4);
  // A cookie past the end: nothing.
  ASSERT_EQ(host_->FdReaddir(g_.mem(), dir, buf, 4096, 1000, used),
            abi::kSuccess);
  EXPECT_EQ(g_.Load<uint32_t>(used), 0u);
}

TEST_F(WasiFdTest, ReaddirOnAFileOrStdoutIsRefused) {
  WriteFile(ws_ / "f", "");
  const uint32_t f = OpenFile("f", 0, kReadRights);
  const uint32_t buf = g_.Alloc(64), used = g_.Alloc(4);
  EXPECT_EQ(host_->FdReaddir(g_.mem(), f, buf, 64, 0, used), abi::kNotcapable);
  EXPECT_EQ(host_->FdReaddir(g_.mem(), 1, buf, 64, 0, used), abi::kNotcapable);
  EXPECT_EQ(host_->FdReaddir(g_.mem(), 77, buf, 64, 0, used), abi::kBadf);
}

TEST_F(WasiFdTest, SyncAdviseOnFiles) {
  WriteFile(ws_ / "f", "abc");
  const uint32_t fd = OpenFile("f");
  EXPECT_EQ(host_->FdSync(g_.mem(), fd), abi::kSuccess);
  EXPECT_EQ(host_->FdDatasync(g_.mem(), fd), abi::kSuccess);
  EXPECT_EQ(host_->FdAdvise(g_.mem(), fd, 0, 3, abi::kAdviceSequential),
            abi::kSuccess);
  EXPECT_EQ(host_->FdAdvise(g_.mem(), fd, 0, 3, 6), abi::kInval);
}

TEST_F(WasiFdTest, DirectoryCannotBeReadOrWrittenAsAFile) {
  std::filesystem::create_directory(ws_ / "d");
  // Opening a directory for writing is refused.
  EXPECT_EQ(OpenPath(*host_, g_, kApp, "d", abi::kOflagDirectory, kRw).error,
            abi::kIsdir);
  EXPECT_EQ(OpenPath(*host_, g_, kApp, "d", 0, kRw).error, abi::kIsdir);
  EXPECT_EQ(WriteFd(*host_, g_, kApp, "x").first, abi::kNotcapable);
}

TEST_F(WasiFdTest, FifoDoesNotBlockTheHost) {
  ASSERT_EQ(::mkfifo((ws_ / "fifo").c_str(), 0600), 0);
  // Read side opens at once (O_NONBLOCK) and reads nothing.
  auto [err, fd] = OpenPath(*host_, g_, kApp, "fifo", 0, kReadRights);
  ASSERT_EQ(err, abi::kSuccess);
  auto [r, data] = ReadFd(*host_, g_, fd, 8);
  EXPECT_TRUE(r == abi::kSuccess || r == abi::kAgain) << r;
  EXPECT_EQ(data, "");
  // Write side with no reader elsewhere... here there is one (fd), so it
  // opens; close the reader and a new writer gets NXIO instead of blocking.
  ASSERT_EQ(host_->FdClose(g_.mem(), fd), abi::kSuccess);
  EXPECT_EQ(OpenPath(*host_, g_, kApp, "fifo", 0, kWriteRights).error,
            abi::kNxio);
}

}  // namespace
}  // namespace snakecage::wasi
