#include "server/metrics.h"

#include <sstream>

namespace snakecage::server {

MetricsLogger::MetricsLogger(std::shared_ptr<TelemetryLogger> next)
    : next_(std::move(next)), duration_counts_(DurationBuckets().size(), 0) {}

const std::vector<double>& MetricsLogger::DurationBuckets() {
  static const std::vector<double> buckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                              0.1,   0.25,   0.5,   1,    2.5,   5,
                                              10,    30,     60};
  return buckets;
}

void MetricsLogger::Log(LogLevel level, std::string_view logger, TelemetryEvent event,
                        const nlohmann::ordered_json& fields) {
  if (event == TelemetryEvent::kExecutionComplete) {
    std::lock_guard<std::mutex> lock(mu_);
    ++executions_;
    if (fields.contains("error")) {
      ++failures_["host_error"];
    } else {
      if (!fields.value("success", false)) {
        const auto& reason = fields.value("trap_reason", nlohmann::ordered_json());
        ++failures_[reason.is_string() ? reason.get<std::string>() : "exit_status"];
      }
      const double seconds = fields.value("duration_ms", 0.0) / 1000.0;
      const auto& bounds = DurationBuckets();
      for (size_t i = 0; i < bounds.size(); ++i) {
        if (seconds <= bounds[i]) {
          ++duration_counts_[i];
          break;
        }
      }
      ++duration_count_;
      duration_sum_ += seconds;
      fuel_ += fields.value("fuel_consumed", uint64_t{0});
    }
  }
  if (next_) next_->Log(level, logger, event, fields);
}

void MetricsLogger::CountHttpResponse(int status) {
  std::lock_guard<std::mutex> lock(mu_);
  ++http_[status];
}

std::string MetricsLogger::Render(uint64_t active_sessions) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::ostringstream out;
  out << "# HELP snakecage_executions_total Executions finished (or refused by the host).\n"
      << "# TYPE snakecage_executions_total counter\n"
      << "snakecage_executions_total " << executions_ << "\n"
      << "# HELP snakecage_execution_failures_total Executions that did not succeed, by reason.\n"
      << "# TYPE snakecage_execution_failures_total counter\n";
  for (const auto& [reason, n] : failures_) {
    out << "snakecage_execution_failures_total{reason=\"" << reason << "\"} " << n << "\n";
  }
  out << "# HELP snakecage_execution_duration_seconds Wall time of an execution.\n"
      << "# TYPE snakecage_execution_duration_seconds histogram\n";
  uint64_t cumulative = 0;
  const auto& bounds = DurationBuckets();
  for (size_t i = 0; i < bounds.size(); ++i) {
    cumulative += duration_counts_[i];
    out << "snakecage_execution_duration_seconds_bucket{le=\"" << bounds[i] << "\"} "
        << cumulative << "\n";
  }
  out << "snakecage_execution_duration_seconds_bucket{le=\"+Inf\"} " << duration_count_ << "\n"
      << "snakecage_execution_duration_seconds_sum " << duration_sum_ << "\n"
      << "snakecage_execution_duration_seconds_count " << duration_count_ << "\n"
      << "# HELP snakecage_fuel_consumed_total WebAssembly operators charged to users' code.\n"
      << "# TYPE snakecage_fuel_consumed_total counter\n"
      << "snakecage_fuel_consumed_total " << fuel_ << "\n"
      << "# HELP snakecage_active_sessions Sessions under the workspace root.\n"
      << "# TYPE snakecage_active_sessions gauge\n"
      << "snakecage_active_sessions " << active_sessions << "\n"
      << "# HELP snakecage_http_requests_total HTTP responses, by status.\n"
      << "# TYPE snakecage_http_requests_total counter\n";
  for (const auto& [code, n] : http_) {
    out << "snakecage_http_requests_total{code=\"" << code << "\"} " << n << "\n";
  }
  return out.str();
}

}  // namespace snakecage::server
