#include "wasi/errno_map.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace snakecage::wasi {
namespace {

TEST(ErrnoMapTest, CommonValues) {
  EXPECT_EQ(WasiErrnoFromHost(0), abi::kSuccess);
  EXPECT_EQ(WasiErrnoFromHost(ENOENT), abi::kNoent);
  EXPECT_EQ(WasiErrnoFromHost(EACCES), abi::kAcces);
  EXPECT_EQ(WasiErrnoFromHost(EPERM), abi::kPerm);
  EXPECT_EQ(WasiErrnoFromHost(EEXIST), abi::kExist);
  EXPECT_EQ(WasiErrnoFromHost(ENOTDIR), abi::kNotdir);
  EXPECT_EQ(WasiErrnoFromHost(EISDIR), abi::kIsdir);
  EXPECT_EQ(WasiErrnoFromHost(ENOTEMPTY), abi::kNotempty);
  EXPECT_EQ(WasiErrnoFromHost(ELOOP), abi::kLoop);
  EXPECT_EQ(WasiErrnoFromHost(EROFS), abi::kRofs);
  EXPECT_EQ(WasiErrnoFromHost(EXDEV), abi::kXdev);
  EXPECT_EQ(WasiErrnoFromHost(ENOSPC), abi::kNospc);
  EXPECT_EQ(WasiErrnoFromHost(EDQUOT), abi::kDquot);
  EXPECT_EQ(WasiErrnoFromHost(EFBIG), abi::kFbig);
  EXPECT_EQ(WasiErrnoFromHost(EIO), abi::kIo);
  EXPECT_EQ(WasiErrnoFromHost(ENAMETOOLONG), abi::kNametoolong);
  EXPECT_EQ(WasiErrnoFromHost(EMFILE), abi::kMfile);
  EXPECT_EQ(WasiErrnoFromHost(ESPIPE), abi::kSpipe);
  EXPECT_EQ(WasiErrnoFromHost(ENXIO), abi::kNxio);
}

TEST(ErrnoMapTest, LinuxAliasesMapLikeTheirTwin) {
  EXPECT_EQ(WasiErrnoFromHost(EWOULDBLOCK), abi::kAgain);
  EXPECT_EQ(WasiErrnoFromHost(EAGAIN), abi::kAgain);
  EXPECT_EQ(WasiErrnoFromHost(ENOTSUP), abi::kNotsup);
  EXPECT_EQ(WasiErrnoFromHost(EOPNOTSUPP), abi::kNotsup);
  EXPECT_EQ(WasiErrnoFromHost(EDEADLOCK), abi::kDeadlk);
}

TEST(ErrnoMapTest, UnknownValuesAreIoAndNoFailureIsSuccess) {
  EXPECT_EQ(WasiErrnoFromHost(9999), abi::kIo);
  EXPECT_EQ(WasiErrnoFromHost(-1), abi::kIo);
  // Every Linux errno (1..133) maps to a real preview1 failure.
  for (int e = 1; e <= 133; ++e) {
    const abi::Errno w = WasiErrnoFromHost(e);
    EXPECT_NE(w, abi::kSuccess) << e;
    EXPECT_LE(w, abi::kNotcapable) << e;
  }
}

}  // namespace
}  // namespace snakecage::wasi
