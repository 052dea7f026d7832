#include "engine/watchdog.h"

#include <limits>

namespace snakecage {

namespace {
// Far below zero, but far from overflow when the guest subtracts charges.
constexpr int64_t kDrained = std::numeric_limits<int64_t>::min() / 2;
}  // namespace

Watchdog::~Watchdog() { Finish(); }

void Watchdog::Start(std::chrono::steady_clock::time_point deadline, uint64_t* fuel,
                     std::shared_ptr<wasi::CancelToken> cancel) {
  fuel_ = fuel;
  cancel_ = std::move(cancel);
  thread_ = std::thread([this, deadline] { Run(deadline); });
}

void Watchdog::Run(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  if (cv_.wait_until(lock, deadline, [this] { return stop_; })) return;
  int expected = kRunning;
  if (!state_.compare_exchange_strong(expected, kFired)) return;
  fuel_when_fired_ = static_cast<int64_t>(__atomic_load_n(fuel_, __ATOMIC_RELAXED));
  if (cancel_) cancel_->Cancel();
  // The guest's charge is a plain read-modify-write of the same word, so one
  // store can be lost; repeat until the engine has seen the guest stop.
  while (!stop_) {
    __atomic_store_n(fuel_, static_cast<uint64_t>(kDrained), __ATOMIC_RELAXED);
    cv_.wait_for(lock, std::chrono::milliseconds(1), [this] { return stop_; });
  }
}

bool Watchdog::Finish() {
  int expected = kRunning;
  state_.compare_exchange_strong(expected, kFinished);
  if (thread_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  return state_.load() == kFired;
}

}  // namespace snakecage
