// WasiHost::StartCell: a kept-state execution's next cell keeps the guest's
// descriptors and replaces what belongs to one execution.
#include <gtest/gtest.h>

#include <string>

#include "fake_guest.h"
#include "wasi/wasi_host.h"

namespace snakecage::wasi {
namespace {

using testing::FakeGuest;
using testing::kWriteRights;
using testing::MakeHost;
using testing::OpenPath;
using testing::TempDir;
using testing::WriteFd;

constexpr uint32_t kWs = 3;

class WasiCellTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WasiConfig c;
    c.preopens = {{ws_.path(), "/app", false}};
    c.stdout_max_bytes = 100;
    c.writable_max_bytes = 1 << 20;
    c.argv = {"python", "first"};
    host_ = MakeHost(c);
    ASSERT_NE(host_, nullptr);
  }
  CellConfig Cell() {
    CellConfig cell;
    cell.argv = {"python", "second"};
    cell.env = {{"CELL", "2"}};
    cell.stdout_max_bytes = 3;
    cell.writable_max_bytes = 4096;
    return cell;
  }

  TempDir ws_;
  FakeGuest g_;
  std::unique_ptr<WasiHost> host_;
};

TEST_F(WasiCellTest, OpenFilesStayAndPerExecutionPartsAreReplaced) {
  auto [err, fd] = OpenPath(*host_, g_, kWs, "log.txt", abi::kOflagCreat, kWriteRights);
  ASSERT_EQ(err, abi::kSuccess);
  ASSERT_EQ(WriteFd(*host_, g_, fd, "one ").first, abi::kSuccess);
  ASSERT_EQ(WriteFd(*host_, g_, 1, "first cell").first, abi::kSuccess);

  ASSERT_TRUE(host_->StartCell(Cell()).ok());
  // The descriptor opened in the first cell still writes.
  EXPECT_EQ(WriteFd(*host_, g_, fd, "two").first, abi::kSuccess);
  EXPECT_EQ(testing::ReadFile(ws_.path() / "log.txt"), "one two");
  // A new sink with the new cap; nothing of the first cell's output.
  ASSERT_EQ(WriteFd(*host_, g_, 1, "abcdef").first, abi::kSuccess);
  EXPECT_EQ(host_->stdout_sink().data(), "abc");
  EXPECT_EQ(host_->stdout_sink().total_bytes(), 6u);
  // The new argv and environment.
  const uint32_t sizes = g_.Alloc(8);
  ASSERT_EQ(host_->ArgsSizesGet(g_.mem(), sizes, sizes + 4), abi::kSuccess);
  EXPECT_EQ(g_.Load<uint32_t>(sizes), 2u);
  EXPECT_EQ(g_.Load<uint32_t>(sizes + 4), std::string("python\0second\0", 14).size());
  ASSERT_EQ(host_->EnvironSizesGet(g_.mem(), sizes, sizes + 4), abi::kSuccess);
  EXPECT_EQ(g_.Load<uint32_t>(sizes), 1u);
  // The new quota: 4 KiB, the file already holds one block.
  auto [big_err, big] = WriteFd(*host_, g_, fd, std::string(8192, 'x'));
  EXPECT_EQ(big_err, abi::kSuccess);
  EXPECT_LT(big, 8192u) << "the write was not cut at the new bound";
}

TEST_F(WasiCellTest, RefusesBadArgvAndAGuestThatStopped) {
  CellConfig bad = Cell();
  bad.argv = {"python", std::string("a\0b", 3)};
  Status s = host_->StartCell(bad);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "argv[1]: contains a NUL byte");

  host_->RecordExit(3);
  s = host_->StartCell(Cell());
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_NE(s.message().find("must not be resumed"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace snakecage::wasi
