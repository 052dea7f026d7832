// WasiHost: configuration, args/environ, stdio sinks, clocks, random,
// sockets, proc_exit, bad pointers and the first-cause-wins unwind state.
#include <gtest/gtest.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <string>

#include "fake_guest.h"
#include "wasi/wasi_host.h"

namespace snakecage::wasi {
namespace {

using testing::FakeGuest;
using testing::MakeHost;
using testing::ReadFd;
using testing::TempDir;
using testing::WriteFd;

constexpr uint32_t kUnwind = WasiHost::kUnwind;

// ---- configuration ----------------------------------------------------------

TEST(WasiConfigTest, RefusesNulInArgvNamingTheIndex) {
  WasiConfig c;
  c.argv = {"python", std::string("a\0b", 3)};
  auto host = WasiHost::Create(c);
  ASSERT_FALSE(host.ok());
  EXPECT_EQ(host.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(host.status().message(), "argv[1]: contains a NUL byte");
}

TEST(WasiConfigTest, RefusesEnvKeyWithEquals) {
  WasiConfig c;
  c.env = {{"A", "1"}, {"B=C", "2"}};
  auto host = WasiHost::Create(c);
  ASSERT_FALSE(host.ok());
  EXPECT_EQ(host.status().message(), "env[1]: key \"B=C\" contains '='");
}

TEST(WasiConfigTest, RefusesEmptyEnvKey) {
  WasiConfig c;
  c.env = {{"", "1"}};
  auto host = WasiHost::Create(c);
  ASSERT_FALSE(host.ok());
  EXPECT_EQ(host.status().message(), "env[0]: empty key");
}

TEST(WasiConfigTest, MissingPreopenDirIsNotFoundNamingTheField) {
  TempDir dir;
  WasiConfig c;
  c.preopens = {{dir.path(), "/app", false}, {dir / "missing", "/data", true}};
  auto host = WasiHost::Create(c);
  ASSERT_FALSE(host.ok());
  EXPECT_EQ(host.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(
      host.status().message().rfind("preopens[1].host_dir: cannot open ", 0),
      0u)
      << host.status().message();
}

TEST(WasiConfigTest, RefusesDuplicateGuestPaths) {
  TempDir a, b;
  WasiConfig c;
  c.preopens = {{a.path(), "/app", false}, {b.path(), "/app", true}};
  auto host = WasiHost::Create(c);
  ASSERT_FALSE(host.ok());
  EXPECT_EQ(host.status().message(),
            "preopens[1].guest_path: \"/app\" is used by an earlier preopen");
}

TEST(WasiConfigTest, RefusesFdLimitBelowStdioAndPreopens) {
  TempDir a;
  WasiConfig c;
  c.preopens = {{a.path(), "/app", false}};
  c.max_open_fds = 3;
  auto host = WasiHost::Create(c);
  ASSERT_FALSE(host.ok());
  EXPECT_EQ(host.status().code(), StatusCode::kInvalidArgument);
}

// ---- args / environ ---------------------------------------------------------

TEST(WasiArgsTest, SizesAndExactLayout) {
  WasiConfig c;
  c.argv = {"python", "/app/user_code.py", ""};
  auto host = MakeHost(c);
  FakeGuest g;
  const uint32_t argc = g.Alloc(4), size = g.Alloc(4);
  ASSERT_EQ(host->ArgsSizesGet(g.mem(), argc, size), abi::kSuccess);
  EXPECT_EQ(g.Load<uint32_t>(argc), 3u);
  EXPECT_EQ(g.Load<uint32_t>(size), 7u + 18u + 1u);

  const uint32_t argv = g.Alloc(3 * 4);
  const uint32_t buf = g.Alloc(26, 1);
  ASSERT_EQ(host->ArgsGet(g.mem(), argv, buf), abi::kSuccess);
  EXPECT_EQ(g.Load<uint32_t>(argv + 0), buf);
  EXPECT_EQ(g.Load<uint32_t>(argv + 4), buf + 7);
  EXPECT_EQ(g.Load<uint32_t>(argv + 8), buf + 25);
  EXPECT_EQ(g.Read(buf, 26), std::string("python\0/app/user_code.py\0\0", 26));
}

TEST(WasiArgsTest, EnvironIsExactlyTheConfiguredPairs) {
  WasiConfig c;
  c.env = {{"PYTHONUTF8", "1"}, {"X", "a=b"}, {"EMPTY", ""}};
  auto host = MakeHost(c);
  FakeGuest g;
  const uint32_t count = g.Alloc(4), size = g.Alloc(4);
  ASSERT_EQ(host->EnvironSizesGet(g.mem(), count, size), abi::kSuccess);
  const std::string expected("PYTHONUTF8=1\0X=a=b\0EMPTY=\0", 26);
  EXPECT_EQ(g.Load<uint32_t>(count), 3u);
  EXPECT_EQ(g.Load<uint32_t>(size), expected.size());
  const uint32_t env = g.Alloc(12);
  const uint32_t buf = g.Alloc(static_cast<uint32_t>(expected.size()), 1);
  ASSERT_EQ(host->EnvironGet(g.mem(), env, buf), abi::kSuccess);
  EXPECT_EQ(g.Read(buf, static_cast<uint32_t>(expected.size())), expected);
  EXPECT_EQ(g.Load<uint32_t>(env + 0), buf);
  EXPECT_EQ(g.Load<uint32_t>(env + 4), buf + 13);
  EXPECT_EQ(g.Load<uint32_t>(env + 8), buf + 19);
}

TEST(WasiArgsTest, EmptyEnvironmentHasNoEntries) {
  setenv("SNAKECAGE_TEST_HOST_VAR", "leak", 1);  // must never reach the guest
  auto host = MakeHost(WasiConfig{});
  FakeGuest g;
  const uint32_t count = g.Alloc(4), size = g.Alloc(4);
  g.Store<uint32_t>(count, 99);
  g.Store<uint32_t>(size, 99);
  ASSERT_EQ(host->EnvironSizesGet(g.mem(), count, size), abi::kSuccess);
  EXPECT_EQ(g.Load<uint32_t>(count), 0u);
  EXPECT_EQ(g.Load<uint32_t>(size), 0u);
}

// ---- stdio ------------------------------------------------------------------

TEST(WasiStdioTest, StdoutKeepsCapAndCountsEverything) {
  WasiConfig c;
  c.stdout_max_bytes = 10;
  auto host = MakeHost(c);
  FakeGuest g;
  auto [r1, n1] = WriteFd(*host, g, 1, "hello ");
  auto [r2, n2] = WriteFd(*host, g, 1, "world!!");
  auto [r3, n3] = WriteFd(*host, g, 1, "more");
  EXPECT_EQ(r1, abi::kSuccess);
  EXPECT_EQ(r2, abi::kSuccess);
  EXPECT_EQ(r3, abi::kSuccess);
  // The guest is told everything was written.
  EXPECT_EQ(n1, 6u);
  EXPECT_EQ(n2, 7u);
  EXPECT_EQ(n3, 4u);
  EXPECT_EQ(host->stdout_sink().data(), "hello worl");
  EXPECT_EQ(host->stdout_sink().total_bytes(), 17u);
  EXPECT_TRUE(host->stdout_sink().truncated());
  EXPECT_EQ(host->stderr_sink().total_bytes(), 0u);
}

TEST(WasiStdioTest, UnderTheCapIsNotTruncated) {
  WasiConfig c;
  c.stdout_max_bytes = 10;
  auto host = MakeHost(c);
  FakeGuest g;
  WriteFd(*host, g, 1, "0123456789");  // exactly the cap
  EXPECT_EQ(host->stdout_sink().data(), "0123456789");
  EXPECT_FALSE(host->stdout_sink().truncated());
  EXPECT_EQ(host->stdout_sink().total_bytes(), 10u);
}

TEST(WasiStdioTest, StderrIsSeparateAndZeroCapKeepsNothing) {
  WasiConfig c;
  c.stderr_max_bytes = 0;
  auto host = MakeHost(c);
  FakeGuest g;
  auto [r, n] = WriteFd(*host, g, 2, "Traceback");
  EXPECT_EQ(r, abi::kSuccess);
  EXPECT_EQ(n, 9u);
  EXPECT_EQ(host->stderr_sink().data(), "");
  EXPECT_EQ(host->stderr_sink().total_bytes(), 9u);
  EXPECT_TRUE(host->stderr_sink().truncated());
  EXPECT_EQ(host->stdout_sink().data(), "");
}

TEST(WasiStdioTest, GathersSeveralIovecsInOrder) {
  auto host = MakeHost(WasiConfig{});
  FakeGuest g;
  const uint32_t a = g.Put("ab"), b = g.Put("cde"), c = g.Put("f");
  const uint32_t iov = g.PutIovecs({{a, 2}, {b, 0}, {b, 3}, {c, 1}});
  const uint32_t out = g.Alloc(4);
  ASSERT_EQ(host->FdWrite(g.mem(), 1, iov, 4, out), abi::kSuccess);
  EXPECT_EQ(g.Load<uint32_t>(out), 6u);
  EXPECT_EQ(host->stdout_sink().data(), "abcdef");
}

TEST(WasiStdioTest, TooManyIovecsIsInval) {
  auto host = MakeHost(WasiConfig{});
  FakeGuest g;
  std::vector<std::pair<uint32_t, uint32_t>> iovs(kMaxIovecs + 1, {0, 0});
  const uint32_t iov = g.PutIovecs(iovs);
  const uint32_t out = g.Alloc(4);
  EXPECT_EQ(host->FdWrite(g.mem(), 1, iov, kMaxIovecs + 1, out), abi::kInval);
  EXPECT_FALSE(host->unwind().has_value());
}

TEST(WasiStdioTest, StdinIsEmpty) {
  auto host = MakeHost(WasiConfig{});
  FakeGuest g;
  auto [r, data] = ReadFd(*host, g, 0, 64);
  EXPECT_EQ(r, abi::kSuccess);
  EXPECT_EQ(data, "");
}

TEST(WasiStdioTest, StdioIsACharacterDeviceThatCannotSeek) {
  auto host = MakeHost(WasiConfig{});
  FakeGuest g;
  for (uint32_t fd = 0; fd < 3; ++fd) {
    const uint32_t st = g.Alloc(24);
    ASSERT_EQ(host->FdFdstatGet(g.mem(), fd, st), abi::kSuccess);
    EXPECT_EQ(g.Load<uint8_t>(st), abi::kFiletypeCharacterDevice) << fd;
    const uint64_t rights = g.Load<uint64_t>(st + 8);
    EXPECT_EQ((rights & abi::kRightFdRead) != 0, fd == 0) << fd;
    EXPECT_EQ((rights & abi::kRightFdWrite) != 0, fd != 0) << fd;
    const uint32_t fst = g.Alloc(64);
    ASSERT_EQ(host->FdFilestatGet(g.mem(), fd, fst), abi::kSuccess);
    EXPECT_EQ(g.Load<uint8_t>(fst + 16), abi::kFiletypeCharacterDevice);
    const uint32_t pos = g.Alloc(8);
    EXPECT_EQ(host->FdSeek(g.mem(), fd, 0, abi::kWhenceCur, pos), abi::kSpipe);
    EXPECT_EQ(host->FdTell(g.mem(), fd, pos), abi::kSpipe);
  }
  // Writing to stdin / reading from stdout: no such right.
  EXPECT_EQ(WriteFd(*host, g, 0, "x").first, abi::kNotcapable);
  EXPECT_EQ(ReadFd(*host, g, 1, 4).first, abi::kNotcapable);
}

TEST(WasiStdioTest, PwriteToStdoutIsSpipe) {
  auto host = MakeHost(WasiConfig{});
  FakeGuest g;
  const uint32_t buf = g.Put("x");
  const uint32_t iov = g.PutIovecs({{buf, 1}});
  const uint32_t out = g.Alloc(4);
  EXPECT_EQ(host->FdPwrite(g.mem(), 1, iov, 1, 0, out), abi::kSpipe);
  EXPECT_EQ(host->stdout_sink().total_bytes(), 0u);
}

TEST(WasiStdioTest, ClosedStdoutIsBadf) {
  auto host = MakeHost(WasiConfig{});
  FakeGuest g;
  ASSERT_EQ(host->FdClose(g.mem(), 1), abi::kSuccess);
  EXPECT_EQ(WriteFd(*host, g, 1, "x").first, abi::kBadf);
  EXPECT_EQ(host->FdClose(g.mem(), 1), abi::kBadf);
}

// ---- bad pointers -----------------------------------------------------------

TEST(WasiPointerTest, IovecArrayPastTheEndTraps) {
  auto host = MakeHost(WasiConfig{});
  FakeGuest g;
  const uint32_t out = g.Alloc(4);
  EXPECT_EQ(host->FdWrite(g.mem(), 1, g.size() - 4, 1, out), kUnwind);
  ASSERT_TRUE(host->unwind().has_value());
  EXPECT_EQ(host->unwind()->kind, Unwind::Kind::kTrap);
  EXPECT_EQ(host->unwind()->trap_reason, TrapReason::kMemoryOutOfBounds);
  EXPECT_EQ(host->unwind()->message.rfind("fd_write: iovs [", 0), 0u)
      << host->unwind()->message;
}

TEST(WasiPointerTest, IovecBufferThatWrapsU32Traps) {
  auto host = MakeHost(WasiConfig{});
  FakeGuest g;
  const uint32_t iov = g.PutIovecs({{0xfffffff0u, 0x20}});
  const uint32_t out = g.Alloc(4);
  EXPECT_EQ(host->FdWrite(g.mem(), 1, iov, 1, out), kUnwind);
  ASSERT_TRUE(host->unwind().has_value());
  EXPECT_EQ(host->unwind()->trap_reason, TrapReason::kMemoryOutOfBounds);
  EXPECT_EQ(host->stdout_sink().total_bytes(), 0u);
}

TEST(WasiPointerTest, ResultPointerStraddlingTheEndTraps) {
  auto host = MakeHost(WasiConfig{});
  FakeGuest g;
  const uint32_t ok = g.Alloc(4);
  EXPECT_EQ(host->ArgsSizesGet(g.mem(), ok, g.size() - 3), kUnwind);
  EXPECT_EQ(host->unwind()->trap_reason, TrapReason::kMemoryOutOfBounds);
  EXPECT_NE(host->unwind()->message.find("args_sizes_get"), std::string::npos);
}

TEST(WasiPointerTest, HugeIovecCountWrapsNothingAndTraps) {
  auto host = MakeHost(WasiConfig{});
  FakeGuest g;
  const uint32_t out = g.Alloc(4);
  // 0x20000000 iovecs * 8 bytes = 2^32: would wrap in 32-bit arithmetic.
  EXPECT_EQ(host->FdWrite(g.mem(), 1, 8, 0x20000000u, out), kUnwind);
  EXPECT_EQ(host->unwind()->trap_reason, TrapReason::kMemoryOutOfBounds);
}

TEST(WasiPointerTest, EmptyRangeAtTheVeryEndIsFine) {
  auto host = MakeHost(WasiConfig{});
  FakeGuest g;
  const uint32_t iov = g.PutIovecs({{g.size(), 0}});
  const uint32_t out = g.Alloc(4);
  EXPECT_EQ(host->FdWrite(g.mem(), 1, iov, 1, out), abi::kSuccess);
  EXPECT_EQ(g.Load<uint32_t>(out), 0u);
  EXPECT_FALSE(host->unwind().has_value());
}

TEST(WasiPointerTest, RandomGetPastTheEndTraps) {
  auto host = MakeHost(WasiConfig{});
  FakeGuest g;
  EXPECT_EQ(host->RandomGet(g.mem(), g.size() - 10, 11), kUnwind);
  EXPECT_EQ(host->unwind()->trap_reason, TrapReason::kMemoryOutOfBounds);
}

TEST(WasiPointerTest, MemoryGrowthIsSeenByTheNextCall) {
  auto host = MakeHost(WasiConfig{});
  FakeGuest g(1);
  const uint32_t old_size = g.size();
  const uint32_t out = g.Alloc(4);
  g.Grow(1);
  // A buffer in the new page: in bounds now.
  std::memcpy(g.data() + old_size + 100, "grown", 5);
  const uint32_t iov = g.PutIovecs({{old_size + 100, 5}});
  EXPECT_EQ(host->FdWrite(g.mem(), 1, iov, 1, out), abi::kSuccess);
  EXPECT_EQ(host->stdout_sink().data(), "grown");
}

TEST(WasiPointerTest, AfterATrapEveryCallUnwindsWithoutEffect) {
  auto host = MakeHost(WasiConfig{});
  FakeGuest g;
  const uint32_t out = g.Alloc(4);
  ASSERT_EQ(host->FdWrite(g.mem(), 1, g.size(), 1, out), kUnwind);
  const std::string first = host->unwind()->message;
  EXPECT_EQ(WriteFd(*host, g, 1, "late").first, kUnwind);
  EXPECT_EQ(host->stdout_sink().total_bytes(), 0u);
  EXPECT_EQ(host->ProcExit(g.mem(), 0), kUnwind);
  EXPECT_EQ(host->unwind()->kind, Unwind::Kind::kTrap);
  EXPECT_EQ(host->unwind()->message, first);
}

// ---- proc_exit and first cause
// ------------------------------------------------

TEST(WasiProcTest, ProcExitRecordsTheCodeAndFirstCauseWins) {
  auto host = MakeHost(WasiConfig{});
  FakeGuest g;
  EXPECT_EQ(host->ProcExit(g.mem(), 3), kUnwind);
  ASSERT_TRUE(host->unwind().has_value());
  EXPECT_EQ(host->unwind()->kind, Unwind::Kind::kExit);
  EXPECT_EQ(host->unwind()->exit_code, 3u);
  // A later trap does not overwrite it.
  EXPECT_FALSE(host->RecordTrap(TrapReason::kTimeout, "late timeout"));
  const uint32_t out = g.Alloc(4);
  EXPECT_EQ(host->FdWrite(g.mem(), 1, g.size(), 1, out), kUnwind);
  EXPECT_EQ(host->ProcExit(g.mem(), 9), kUnwind);
  EXPECT_EQ(host->unwind()->kind, Unwind::Kind::kExit);
  EXPECT_EQ(host->unwind()->exit_code, 3u);
}

TEST(WasiProcTest, EngineTrapRecordedFirstWinsOverProcExit) {
  auto host = MakeHost(WasiConfig{});
  FakeGuest g;
  EXPECT_TRUE(host->RecordTrap(TrapReason::kOutOfFuel, "fuel"));
  EXPECT_EQ(host->ProcExit(g.mem(), 0), kUnwind);
  EXPECT_EQ(host->unwind()->kind, Unwind::Kind::kTrap);
  EXPECT_EQ(host->unwind()->trap_reason, TrapReason::kOutOfFuel);
}

TEST(WasiProcTest, ProcRaiseAndSocketsAreRefused) {
  auto host = MakeHost(WasiConfig{});
  FakeGuest g;
  const uint32_t out = g.Alloc(8);
  EXPECT_EQ(host->ProcRaise(g.mem(), 9), abi::kNotsup);
  EXPECT_EQ(host->SockAccept(g.mem(), 0, 0, out), abi::kNotsup);
  EXPECT_EQ(host->SockRecv(g.mem(), 0, 0, 0, 0, out, out + 4), abi::kNotsup);
  EXPECT_EQ(host->SockSend(g.mem(), 1, 0, 0, 0, out), abi::kNotsup);
  EXPECT_EQ(host->SockShutdown(g.mem(), 1, 3), abi::kNotsup);
  EXPECT_EQ(host->SchedYield(g.mem()), abi::kSuccess);
  EXPECT_FALSE(host->unwind().has_value());
}

// ---- deadline / cancel at call start ----------------------------------------

TEST(WasiDeadlineTest, PassedDeadlineTrapsAtTheStartOfAnyCall) {
  WasiConfig c;
  c.deadline = std::chrono::steady_clock::now() - std::chrono::milliseconds(1);
  auto host = MakeHost(c);
  FakeGuest g;
  EXPECT_EQ(WriteFd(*host, g, 1, "x").first, kUnwind);
  ASSERT_TRUE(host->unwind().has_value());
  EXPECT_EQ(host->unwind()->trap_reason, TrapReason::kTimeout);
  EXPECT_EQ(host->unwind()->message, "fd_write: execution deadline passed");
  EXPECT_EQ(host->stdout_sink().total_bytes(), 0u);
}

TEST(WasiDeadlineTest, CancelTrapsAtTheStartOfAnyCall) {
  WasiConfig c;
  c.cancel = std::make_shared<CancelToken>();
  auto host = MakeHost(c);
  FakeGuest g;
  const uint32_t t = g.Alloc(8);
  EXPECT_EQ(host->ClockTimeGet(g.mem(), abi::kClockMonotonic, 0, t),
            abi::kSuccess);
  c.cancel->Cancel();
  EXPECT_EQ(host->ClockTimeGet(g.mem(), abi::kClockMonotonic, 0, t), kUnwind);
  EXPECT_EQ(host->unwind()->trap_reason, TrapReason::kTimeout);
  EXPECT_EQ(host->unwind()->message, "clock_time_get: execution cancelled");
}

// ---- clocks / random
// ----------------------------------------------------------

TEST(WasiClockTest, MonotonicAdvancesAndRealtimeMatchesTheHost) {
  auto host = MakeHost(WasiConfig{});
  FakeGuest g;
  const uint32_t t = g.Alloc(8);
  ASSERT_EQ(host->ClockTimeGet(g.mem(), abi::kClockMonotonic, 0, t),
            abi::kSuccess);
  const uint64_t m1 = g.Load<uint64_t>(t);
  struct timespec sleep_for = {0, 2'000'000};
  nanosleep(&sleep_for, nullptr);
  ASSERT_EQ(host->ClockTimeGet(g.mem(), abi::kClockMonotonic, 0, t),
            abi::kSuccess);
  EXPECT_GE(g.Load<uint64_t>(t) - m1, 2'000'000u);

  struct timespec now {};
  clock_gettime(CLOCK_REALTIME, &now);
  ASSERT_EQ(host->ClockTimeGet(g.mem(), abi::kClockRealtime, 0, t),
            abi::kSuccess);
  const int64_t host_ns = int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
  EXPECT_LT(std::abs(static_cast<int64_t>(g.Load<uint64_t>(t)) - host_ns),
            1'000'000'000);
  for (uint32_t id : {abi::kClockProcessCputime, abi::kClockThreadCputime}) {
    EXPECT_EQ(host->ClockTimeGet(g.mem(), id, 0, t), abi::kSuccess) << id;
    EXPECT_GT(g.Load<uint64_t>(t), 0u) << id;
    EXPECT_EQ(host->ClockResGet(g.mem(), id, t), abi::kSuccess) << id;
    EXPECT_GT(g.Load<uint64_t>(t), 0u) << id;
  }
  EXPECT_EQ(host->ClockTimeGet(g.mem(), 4, 0, t), abi::kInval);
  EXPECT_EQ(host->ClockResGet(g.mem(), 4, t), abi::kInval);
}

TEST(WasiRandomTest, FillsTheBufferFromTheOs) {
  auto host = MakeHost(WasiConfig{});
  FakeGuest g;
  const uint32_t a = g.Alloc(4096), b = g.Alloc(4096);
  ASSERT_EQ(host->RandomGet(g.mem(), a, 4096), abi::kSuccess);
  ASSERT_EQ(host->RandomGet(g.mem(), b, 4096), abi::kSuccess);
  const std::string x = g.Read(a, 4096), y = g.Read(b, 4096);
  EXPECT_NE(x, y);
  // 4096 random bytes: far more than 64 distinct values.
  std::string sorted = x;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_GT(std::unique(sorted.begin(), sorted.end()) - sorted.begin(), 64);
  // Nothing written past the requested length.
  const uint32_t c = g.Alloc(16);
  ASSERT_EQ(host->RandomGet(g.mem(), c, 8), abi::kSuccess);
  EXPECT_EQ(g.Load<uint64_t>(c + 8), 0u);
}

}  // namespace
}  // namespace snakecage::wasi
