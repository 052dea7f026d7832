// poll_oneoff: clock subscriptions really sleep; the deadline and the cancel
// token end a sleep early with a kTimeout unwind; fd subscriptions.
#include <gtest/gtest.h>
#include <time.h>

#include <chrono>
#include <thread>

#include "fake_guest.h"
#include "wasi/wasi_host.h"

namespace snakecage::wasi {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;
using testing::FakeGuest;
using testing::kReadRights;
using testing::MakeHost;
using testing::OpenPath;
using testing::TempDir;
using testing::WriteFile;

struct Sub {
  uint64_t userdata;
  uint8_t tag;
  uint32_t clock_id = abi::kClockMonotonic;
  uint64_t timeout = 0;
  uint16_t flags = 0;
  uint32_t fd = 0;
};

struct Ev {
  uint64_t userdata;
  uint16_t error;
  uint8_t type;
  uint64_t nbytes;
  uint16_t flags;
};

class WasiPollTest : public ::testing::Test {
 protected:
  // Runs poll_oneoff; returns its result and fills *events.
  uint32_t Poll(WasiHost& host, const std::vector<Sub>& subs,
                std::vector<Ev>* events) {
    const uint32_t n = static_cast<uint32_t>(subs.size());
    const uint32_t in = g_.Alloc(48 * n), out = g_.Alloc(32 * n),
                   nout = g_.Alloc(4);
    for (uint32_t i = 0; i < n; ++i) {
      const uint32_t s = in + 48 * i;
      g_.Store<uint64_t>(s, subs[i].userdata);
      g_.Store<uint8_t>(s + 8, subs[i].tag);
      if (subs[i].tag == abi::kEventtypeClock) {
        g_.Store<uint32_t>(s + 16, subs[i].clock_id);
        g_.Store<uint64_t>(s + 24, subs[i].timeout);
        g_.Store<uint16_t>(s + 40, subs[i].flags);
      } else {
        g_.Store<uint32_t>(s + 16, subs[i].fd);
      }
    }
    const uint32_t r = host.PollOneoff(g_.mem(), in, out, n, nout);
    events->clear();
    if (r == abi::kSuccess) {
      for (uint32_t i = 0; i < g_.Load<uint32_t>(nout); ++i) {
        const uint32_t e = out + 32 * i;
        events->push_back({g_.Load<uint64_t>(e), g_.Load<uint16_t>(e + 8),
                           g_.Load<uint8_t>(e + 10), g_.Load<uint64_t>(e + 16),
                           g_.Load<uint16_t>(e + 24)});
      }
    }
    return r;
  }

  static uint64_t MonotonicNs() {
    struct timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return uint64_t(ts.tv_sec) * 1'000'000'000 + uint64_t(ts.tv_nsec);
  }

  FakeGuest g_;
};

TEST_F(WasiPollTest, RelativeClockSleepsAtLeastTheTimeout) {
  auto host = MakeHost(WasiConfig{});
  std::vector<Ev> ev;
  const auto t0 = steady_clock::now();
  ASSERT_EQ(Poll(*host, {{42, abi::kEventtypeClock, abi::kClockMonotonic,
                          50'000'000}},
                 &ev),
            abi::kSuccess);
  EXPECT_GE(steady_clock::now() - t0, milliseconds(50));
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].userdata, 42u);
  EXPECT_EQ(ev[0].error, abi::kSuccess);
  EXPECT_EQ(ev[0].type, abi::kEventtypeClock);
  EXPECT_FALSE(host->unwind().has_value());
}

TEST_F(WasiPollTest, AbsoluteMonotonicAndRealtimeClocks) {
  auto host = MakeHost(WasiConfig{});
  std::vector<Ev> ev;
  auto t0 = steady_clock::now();
  ASSERT_EQ(Poll(*host, {{1, abi::kEventtypeClock, abi::kClockMonotonic,
                          MonotonicNs() + 30'000'000,
                          abi::kSubclockflagAbstime}},
                 &ev),
            abi::kSuccess);
  EXPECT_GE(steady_clock::now() - t0, milliseconds(30));
  struct timespec rt{};
  clock_gettime(CLOCK_REALTIME, &rt);
  const uint64_t rt_ns = uint64_t(rt.tv_sec) * 1'000'000'000 + rt.tv_nsec;
  t0 = steady_clock::now();
  ASSERT_EQ(Poll(*host, {{2, abi::kEventtypeClock, abi::kClockRealtime,
                          rt_ns + 30'000'000, abi::kSubclockflagAbstime}},
                 &ev),
            abi::kSuccess);
  EXPECT_GE(steady_clock::now() - t0, milliseconds(25));
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].userdata, 2u);
  // In the past: at once.
  t0 = steady_clock::now();
  ASSERT_EQ(Poll(*host, {{3, abi::kEventtypeClock, abi::kClockMonotonic, 1,
                          abi::kSubclockflagAbstime}},
                 &ev),
            abi::kSuccess);
  EXPECT_LT(steady_clock::now() - t0, milliseconds(1000));
  EXPECT_EQ(ev.size(), 1u);
}

TEST_F(WasiPollTest, EarliestClockFiresAlone) {
  auto host = MakeHost(WasiConfig{});
  std::vector<Ev> ev;
  ASSERT_EQ(Poll(*host,
                 {{1, abi::kEventtypeClock, abi::kClockMonotonic,
                   5'000'000'000},
                  {2, abi::kEventtypeClock, abi::kClockMonotonic, 20'000'000}},
                 &ev),
            abi::kSuccess);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].userdata, 2u);
}

TEST_F(WasiPollTest, DeadlineEndsTheSleepWithATimeout) {
  WasiConfig c;
  c.deadline = steady_clock::now() + milliseconds(60);
  auto host = MakeHost(c);
  std::vector<Ev> ev;
  const auto t0 = steady_clock::now();
  EXPECT_EQ(Poll(*host, {{1, abi::kEventtypeClock, abi::kClockMonotonic,
                          10'000'000'000}},
                 &ev),
            WasiHost::kUnwind);
  const auto elapsed = steady_clock::now() - t0;
  EXPECT_GE(elapsed, milliseconds(50));
  EXPECT_LT(elapsed, milliseconds(5000));
  ASSERT_TRUE(host->unwind().has_value());
  EXPECT_EQ(host->unwind()->kind, Unwind::Kind::kTrap);
  EXPECT_EQ(host->unwind()->trap_reason, TrapReason::kTimeout);
  EXPECT_EQ(host->unwind()->message,
            "poll_oneoff: execution deadline reached while waiting");
}

TEST_F(WasiPollTest, CancelEndsTheSleepWithATimeout) {
  WasiConfig c;
  c.cancel = std::make_shared<CancelToken>();
  auto host = MakeHost(c);
  std::thread canceller([token = c.cancel] {
    std::this_thread::sleep_for(milliseconds(50));
    token->Cancel();
  });
  std::vector<Ev> ev;
  const auto t0 = steady_clock::now();
  EXPECT_EQ(Poll(*host, {{1, abi::kEventtypeClock, abi::kClockMonotonic,
                          10'000'000'000}},
                 &ev),
            WasiHost::kUnwind);
  canceller.join();
  EXPECT_LT(steady_clock::now() - t0, milliseconds(5000));
  ASSERT_TRUE(host->unwind().has_value());
  EXPECT_EQ(host->unwind()->trap_reason, TrapReason::kTimeout);
  EXPECT_EQ(host->unwind()->message,
            "poll_oneoff: execution cancelled while waiting");
}

TEST_F(WasiPollTest, FdSubscriptionsAreReadyAtOnce) {
  TempDir ws;
  WriteFile(ws / "f", "12345");
  WasiConfig c;
  c.preopens = {{ws.path(), "/app", false}};
  auto host = MakeHost(c);
  auto [err, fd] = OpenPath(*host, g_, 3, "f", 0, kReadRights);
  ASSERT_EQ(err, abi::kSuccess);
  std::vector<Ev> ev;
  ASSERT_EQ(Poll(*host,
                 {{1, abi::kEventtypeFdRead, 0, 0, 0, 0},
                  {2, abi::kEventtypeFdWrite, 0, 0, 0, 1},
                  {3, abi::kEventtypeFdRead, 0, 0, 0, fd},
                  {4, abi::kEventtypeFdRead, 0, 0, 0, 99},
                  {5, abi::kEventtypeClock, abi::kClockMonotonic,
                   10'000'000'000}},
                 &ev),
            abi::kSuccess);
  ASSERT_EQ(ev.size(), 4u);
  EXPECT_EQ(ev[0].userdata, 1u);
  EXPECT_EQ(ev[0].type, abi::kEventtypeFdRead);
  EXPECT_EQ(ev[0].error, abi::kSuccess);
  EXPECT_EQ(ev[0].flags, abi::kEventrwflagHangup);  // stdin: at end
  EXPECT_EQ(ev[1].userdata, 2u);
  EXPECT_EQ(ev[1].type, abi::kEventtypeFdWrite);
  EXPECT_EQ(ev[1].error, abi::kSuccess);
  EXPECT_EQ(ev[2].userdata, 3u);
  EXPECT_EQ(ev[2].nbytes, 5u);
  EXPECT_EQ(ev[3].userdata, 4u);
  EXPECT_EQ(ev[3].error, abi::kBadf);
}

TEST_F(WasiPollTest, InvalidSubscriptions) {
  auto host = MakeHost(WasiConfig{});
  std::vector<Ev> ev;
  EXPECT_EQ(Poll(*host, {}, &ev), abi::kInval);
  EXPECT_EQ(Poll(*host, {{1, 7}}, &ev), abi::kInval);
  EXPECT_EQ(Poll(*host, {{1, abi::kEventtypeClock, abi::kClockMonotonic, 1,
                          0x80}},
                 &ev),
            abi::kInval);
  // CPU-time clocks cannot be slept on: an event with INVAL.
  ASSERT_EQ(Poll(*host, {{9, abi::kEventtypeClock, abi::kClockProcessCputime,
                          1'000'000}},
                 &ev),
            abi::kSuccess);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].userdata, 9u);
  EXPECT_EQ(ev[0].error, abi::kInval);
}

TEST_F(WasiPollTest, OutArrayPastTheEndTraps) {
  auto host = MakeHost(WasiConfig{});
  const uint32_t in = g_.Alloc(48), nout = g_.Alloc(4);
  EXPECT_EQ(host->PollOneoff(g_.mem(), in, g_.size() - 16, 1, nout),
            WasiHost::kUnwind);
  EXPECT_EQ(host->unwind()->trap_reason, TrapReason::kMemoryOutOfBounds);
}

}  // namespace
}  // namespace snakecage::wasi
