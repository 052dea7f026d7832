#include "wasi/cancel_token.h"

namespace snakecage::wasi {

void CancelToken::Cancel() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    flag_.store(true, std::memory_order_release);
  }
  cv_.notify_all();
}

bool CancelToken::WaitUntil(std::chrono::steady_clock::time_point until) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_until(lock, until, [this] { return cancelled(); });
}

}  // namespace snakecage::wasi
