// Shared fixture pieces for the server tests: a service over a temporary
// workspace root with an injectable clock (real now + an offset the test
// advances, so timestamps the library writes never run ahead of it).
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>

#include "common/temp_dir.h"
#include "snakecage/server.h"

namespace snakecage::testing {

class FakeClock {
 public:
  std::chrono::system_clock::time_point Now() const {
    return std::chrono::system_clock::now() + std::chrono::milliseconds(offset_ms_.load());
  }
  void Advance(std::chrono::milliseconds d) { offset_ms_ += d.count(); }
  SessionStore::Clock AsFunction() {
    return [this] { return Now(); };
  }

 private:
  std::atomic<int64_t> offset_ms_{0};
};

// Limits that never get in a test's way unless it lowers them.
inline ServerLimits RoomyLimits() {
  ServerLimits l;
  l.rate_limit_per_minute = 0;
  l.idle_expiry_seconds = 0;
  l.max_timeout_seconds = 20;
  return l;
}

inline std::unique_ptr<SandboxService> MakeService(const TempDir& dir, ServerLimits limits,
                                                   FakeClock* clock = nullptr) {
  ServiceOptions o;
  o.limits = std::move(limits);
  o.workspace_root = dir.path() / "root";
  if (clock != nullptr) o.clock = clock->AsFunction();
  auto s = SandboxService::Create(std::move(o));
  EXPECT_TRUE(s.ok()) << s.status().message();
  return s.ok() ? std::move(*s) : nullptr;
}

}  // namespace snakecage::testing
