// wasi/cancel_token.h: a cancel flag another thread can raise, and a sleep
// that ends as soon as it is raised.
//
// The WASI host sleeps in poll_oneoff through WaitUntil(); a watchdog or a
// server thread calls Cancel() to end the execution early. flag() exposes the
// raw atomic so a hot loop (e.g. a fuel check) can poll it cheaply.
//
// Ownership: shared (std::shared_ptr) between whoever cancels and the host.
// Thread-safety: every member is safe to call from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace snakecage::wasi {

class CancelToken {
 public:
  CancelToken() = default;
  CancelToken(const CancelToken&) = delete;
  CancelToken& operator=(const CancelToken&) = delete;

  // Raises the flag and wakes every WaitUntil(). Idempotent; cannot be undone.
  void Cancel();
  bool cancelled() const { return flag_.load(std::memory_order_acquire); }
  const std::atomic<bool>& flag() const { return flag_; }

  // Blocks until `until` or until Cancel(), whichever comes first.
  // Returns true when the token is cancelled (also if it already was).
  bool WaitUntil(std::chrono::steady_clock::time_point until);

 private:
  std::atomic<bool> flag_{false};
  std::mutex mu_;
  std::condition_variable cv_;
};

}  // namespace snakecage::wasi
