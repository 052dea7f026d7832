// Wall-clock timeout of one execution, on its own thread (the cold path;
// a zygote's child, which may not start threads, uses a timer signal).
//
// A Watchdog started with a timeout waits on its own thread. If the guest is
// still running at the deadline it (1) marks the execution timed out, (2)
// cancels the WASI host's token, so a sleeping or blocked host call returns
// and traps, and (3) raises the guest's `snakecage_interrupt` global, so
// running guest code traps at its next check point (function entry or loop
// header) whatever it is doing; the generated C reads that global with an
// atomic load, so no loop can hoist it (see src/fuel/fuel_instrumenter.h).
//
// First cause wins: Finish() and the deadline race on one atomic; whichever
// comes first decides whether the execution timed out.
//
// Thread-safety: Start/Finish from the engine's thread; the watchdog thread
// touches only the atomics, the cancel token and the interrupt word.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>

#include "engine/guest_runner.h"
#include "wasi/cancel_token.h"

namespace snakecage {

class Watchdog final : public TimeoutGuard {
 public:
  Watchdog() = default;
  ~Watchdog() override;
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // Arms `deadline`. `interrupt` is the guest's interrupt global; it must
  // stay valid until Finish() returns.
  void Start(std::chrono::steady_clock::time_point deadline, uint64_t* interrupt,
             std::shared_ptr<wasi::CancelToken> cancel) override;

  // Ends the race and joins the thread. Returns true when the deadline came
  // first (the execution timed out). Idempotent.
  bool Finish() override;

 private:
  enum State : int { kRunning, kFinished, kFired };
  void Run(std::chrono::steady_clock::time_point deadline);

  std::atomic<int> state_{kRunning};
  uint64_t* interrupt_ = nullptr;
  std::shared_ptr<wasi::CancelToken> cancel_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace snakecage
