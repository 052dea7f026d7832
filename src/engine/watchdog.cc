#include "engine/watchdog.h"

#include "fuel/fuel_instrumenter.h"

namespace snakecage {

Watchdog::~Watchdog() { Finish(); }

void Watchdog::Start(std::chrono::steady_clock::time_point deadline, uint64_t* interrupt,
                     std::shared_ptr<wasi::CancelToken> cancel) {
  interrupt_ = interrupt;
  cancel_ = std::move(cancel);
  thread_ = std::thread([this, deadline] { Run(deadline); });
}

void Watchdog::Run(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  if (cv_.wait_until(lock, deadline, [this] { return stop_; })) return;
  int expected = kRunning;
  if (!state_.compare_exchange_strong(expected, kFired)) return;
  if (cancel_) cancel_->Cancel();
  __atomic_store_n(interrupt_, fuel::kInterruptRaised, __ATOMIC_RELAXED);
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
