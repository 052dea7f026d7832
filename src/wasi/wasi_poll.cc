// WasiHost: poll_oneoff. Clock subscriptions really sleep (time.sleep works);
// the sleep ends early at the execution deadline or when the cancel token is
// raised, and the call then unwinds with TrapReason::kTimeout.
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <vector>

#include "wasi/errno_map.h"
#include "wasi/wasi_host.h"
#include "wasi/wasi_host_internal.h"

namespace snakecage::wasi {

using internal::FdEntry;

namespace {

using Clock = std::chrono::steady_clock;

// Longest sleep one clock subscription asks for; beyond it, a timeout is
// treated as "forever" without overflowing time_point arithmetic.
constexpr uint64_t kMaxSleepNs = 100ull * 365 * 24 * 3600 * 1'000'000'000ull;
// While waiting on host fds, the deadline and the token are re-checked at
// least this often.
constexpr std::chrono::milliseconds kPollSlice{10};

struct Event {
  uint64_t userdata = 0;
  abi::Errno error = abi::kSuccess;
  uint8_t type = abi::kEventtypeClock;
  uint64_t nbytes = 0;
  uint16_t flags = 0;
};

struct PendingClock {
  uint64_t userdata;
  Clock::time_point wake;
};

struct PendingFd {
  uint64_t userdata;
  uint8_t type;  // kEventtypeFdRead or kEventtypeFdWrite
};

}  // namespace

uint32_t WasiHost::PollOneoff(GuestMemory mem, uint32_t in, uint32_t out,
                              uint32_t nsubscriptions, uint32_t nevents_out) {
  Call call(*this, mem, "poll_oneoff");
  const uint64_t n = nsubscriptions;
  if (!call.Begin() || !call.Check(in, n * abi::kSubscriptionSize, "in") ||
      !call.Check(out, n * abi::kEventSize, "out") ||
      !call.Check(nevents_out, 4, "nevents_out")) {
    return kUnwind;
  }
  if (n == 0 || n > kMaxPollSubscriptions) return abi::kInval;

  std::vector<Event> ready;
  std::vector<PendingClock> clocks;
  std::vector<PendingFd> fd_subs;
  std::vector<struct pollfd> pollfds;
  const Clock::time_point start = Clock::now();

  for (uint64_t i = 0; i < n; ++i) {
    const uint64_t sub = in + i * abi::kSubscriptionSize;
    const uint64_t userdata =
        mem.Load<uint64_t>(sub + abi::kSubscriptionUserdata);
    const uint8_t tag = mem.Load<uint8_t>(sub + abi::kSubscriptionTag);
    if (tag == abi::kEventtypeClock) {
      const uint32_t id = mem.Load<uint32_t>(sub + abi::kSubscriptionClockId);
      const uint64_t timeout =
          mem.Load<uint64_t>(sub + abi::kSubscriptionClockTimeout);
      const uint16_t flags =
          mem.Load<uint16_t>(sub + abi::kSubscriptionClockFlags);
      if ((flags & ~abi::kSubclockflagAbstime) != 0) return abi::kInval;
      clockid_t host_clock;
      if (id == abi::kClockRealtime) {
        host_clock = CLOCK_REALTIME;
      } else if (id == abi::kClockMonotonic) {
        host_clock = CLOCK_MONOTONIC;
      } else {
        // CPU-time clocks cannot be slept on; unknown ids are invalid.
        ready.push_back({userdata, abi::kInval, abi::kEventtypeClock, 0, 0});
        continue;
      }
      uint64_t remaining = timeout;
      if (flags & abi::kSubclockflagAbstime) {
        struct timespec ts {};
        ::clock_gettime(host_clock, &ts);
        const uint64_t now_ns = TimestampFromTimespec(ts);
        remaining = timeout > now_ns ? timeout - now_ns : 0;
      }
      if (remaining == 0) {
        ready.push_back({userdata, abi::kSuccess, abi::kEventtypeClock, 0, 0});
        continue;
      }
      clocks.push_back({userdata, start + std::chrono::nanoseconds(std::min(
                                              remaining, kMaxSleepNs))});
    } else if (tag == abi::kEventtypeFdRead || tag == abi::kEventtypeFdWrite) {
      const uint32_t fd = mem.Load<uint32_t>(sub + abi::kSubscriptionFd);
      const bool reading = tag == abi::kEventtypeFdRead;
      FdEntry* e = Lookup(fd);
      Event ev{userdata, abi::kSuccess, tag, 0, 0};
      if (e == nullptr) {
        ev.error = abi::kBadf;
        ready.push_back(ev);
      } else if (e->is_stdio()) {
        const bool is_stdin = e->kind == FdEntry::Kind::kStdin;
        if (reading != is_stdin) {
          ev.error = abi::kBadf;
        } else if (is_stdin) {
          ev.flags = abi::kEventrwflagHangup;  // empty input: at end
        }
        ready.push_back(ev);
      } else if (e->kind == FdEntry::Kind::kVirtualDirectory) {
        ready.push_back(ev);  // nothing ever to wait for
      } else if (e->filetype == abi::kFiletypeRegularFile) {
        // Regular files are always ready; reads report what is left.
        if (reading) {
          struct stat st {};
          const off_t pos = ::lseek(e->host.get(), 0, SEEK_CUR);
          if (::fstat(e->host.get(), &st) == 0 && pos >= 0 &&
              st.st_size > pos) {
            ev.nbytes = static_cast<uint64_t>(st.st_size - pos);
          }
        }
        ready.push_back(ev);
      } else {
        fd_subs.push_back({userdata, tag});
        pollfds.push_back(
            {e->host.get(), static_cast<short>(reading ? POLLIN : POLLOUT), 0});
      }
    } else {
      return abi::kInval;
    }
  }

  // Nothing ready yet: wait for the earliest clock or a host fd, in slices,
  // ending early at the deadline or on cancel.
  while (ready.empty()) {
    const Clock::time_point now = Clock::now();
    if (cancel_->cancelled()) {
      call.Timeout("execution cancelled while waiting");
      return kUnwind;
    }
    if (config_.deadline && now >= *config_.deadline) {
      call.Timeout("execution deadline reached while waiting");
      return kUnwind;
    }
    std::optional<Clock::time_point> limit;
    for (const PendingClock& c : clocks) {
      if (c.wake <= now) {
        ready.push_back(
            {c.userdata, abi::kSuccess, abi::kEventtypeClock, 0, 0});
      } else if (!limit || c.wake < *limit) {
        limit = c.wake;
      }
    }
    if (!ready.empty()) break;
    if (config_.deadline && (!limit || *config_.deadline < *limit)) {
      limit = *config_.deadline;
    }
    if (pollfds.empty()) {
      // Only clocks: sleep until the earliest one (or the deadline), or
      // until the token is raised. `limit` is set: clocks is non-empty.
      cancel_->WaitUntil(*limit);
      continue;
    }
    Clock::duration slice = kPollSlice;
    if (limit) slice = std::min<Clock::duration>(slice, *limit - now);
    const auto ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(slice).count();
    struct timespec ts {};
    ts.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
    ts.tv_nsec = static_cast<long>(ns % 1'000'000'000);
    const int r = ::ppoll(pollfds.data(), pollfds.size(), &ts, nullptr);
    if (r < 0) {
      if (errno == EINTR) continue;
      return WasiErrnoFromHost(errno);
    }
    for (size_t i = 0; i < pollfds.size(); ++i) {
      const short re = pollfds[i].revents;
      if (re == 0) continue;
      Event ev{fd_subs[i].userdata, abi::kSuccess, fd_subs[i].type, 0, 0};
      if (re & POLLNVAL) {
        ev.error = abi::kBadf;
      } else if ((re & POLLERR) && !(re & (POLLIN | POLLOUT))) {
        ev.error = abi::kIo;
      } else {
        if (re & POLLHUP) ev.flags = abi::kEventrwflagHangup;
        int avail = 0;
        if (ev.type == abi::kEventtypeFdRead &&
            ::ioctl(pollfds[i].fd, FIONREAD, &avail) == 0 && avail > 0) {
          ev.nbytes = static_cast<uint64_t>(avail);
        }
      }
      ready.push_back(ev);
    }
  }

  const uint64_t count = std::min<uint64_t>(ready.size(), n);
  for (uint64_t i = 0; i < count; ++i) {
    const uint64_t ev = out + i * abi::kEventSize;
    std::memset(mem.At(ev), 0, abi::kEventSize);
    mem.Store<uint64_t>(ev + abi::kEventUserdata, ready[i].userdata);
    mem.Store<uint16_t>(ev + abi::kEventError, ready[i].error);
    mem.Store<uint8_t>(ev + abi::kEventType, ready[i].type);
    mem.Store<uint64_t>(ev + abi::kEventFdNbytes, ready[i].nbytes);
    mem.Store<uint16_t>(ev + abi::kEventFdFlags, ready[i].flags);
  }
  mem.Store<uint32_t>(nevents_out, static_cast<uint32_t>(count));
  return abi::kSuccess;
}

}  // namespace snakecage::wasi
