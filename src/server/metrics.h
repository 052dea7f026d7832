// server/metrics.h: the numbers /metrics serves, gathered from telemetry.
//
// A MetricsLogger sits in the SandboxService's logger chain, so every
// execution is counted whichever door it came through (HTTP JSON, MCP over
// HTTP or stdio): it reads execution.complete events and forwards every
// event to the next logger (if any). Render() writes the Prometheus text
// exposition format (version 0.0.4):
//
//   snakecage_executions_total                      counter
//   snakecage_execution_failures_total{reason=...}  counter: the trap reason
//       (out_of_fuel, timeout, ...), "exit_status" for a non-zero exit
//       without a trap, "host_error" for an execution the host could not run
//   snakecage_execution_duration_seconds            histogram
//   snakecage_fuel_consumed_total                   counter (operators)
//   snakecage_active_sessions                       gauge, given to Render()
//   snakecage_http_requests_total{code=...}         counter, by HTTP status
//
// Thread-safety: Log() and Render() may be called from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "snakecage/telemetry.h"

namespace snakecage::server {

class MetricsLogger final : public TelemetryLogger {
 public:
  // `next` receives every event too; may be null.
  explicit MetricsLogger(std::shared_ptr<TelemetryLogger> next = nullptr);

  void Log(LogLevel level, std::string_view logger, TelemetryEvent event,
           const nlohmann::ordered_json& fields) override;

  // Counts one HTTP response.
  void CountHttpResponse(int status);

  std::string Render(uint64_t active_sessions) const;

  // Upper bounds of the duration histogram's buckets, seconds.
  static const std::vector<double>& DurationBuckets();

 private:
  std::shared_ptr<TelemetryLogger> next_;
  mutable std::mutex mu_;
  uint64_t executions_ = 0;
  std::map<std::string, uint64_t> failures_;
  std::vector<uint64_t> duration_counts_;  // per bucket, not cumulative
  uint64_t duration_count_ = 0;
  double duration_sum_ = 0;
  uint64_t fuel_ = 0;
  std::map<int, uint64_t> http_;
};

}  // namespace snakecage::server
