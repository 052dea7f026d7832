#include "cli/server_flags.h"

#include "snakecage/executor.h"

#include <unistd.h>

#include <string>

#include "cli/cli_args.h"
#include "snakecage/policy.h"

namespace snakecage::cli {

StatusOr<ServerLimits> ServerLimitsFrom(const ServerFlags& f) {
  ServerLimits limits;
  StatusOr<ExecutionPolicy> policy = PolicyFileOrDefaults(f.policy);
  if (!policy.ok()) return policy.status();
  limits.policy = *policy;
  limits.max_timeout_seconds = limits.policy.timeout_seconds().value_or(30);
  if (f.max_timeout) {
    auto v = ParseSeconds("--max-timeout", *f.max_timeout);
    if (!v.ok()) return v.status();
    if (*v <= 0) return InvalidArgument("--max-timeout: must be > 0 (got '" + *f.max_timeout + "')");
    limits.max_timeout_seconds = *v;
  }
  if (f.max_sessions) {
    auto v = ParsePositiveInteger("--max-sessions", *f.max_sessions);
    if (!v.ok()) return v.status();
    limits.max_sessions = *v;
  }
  if (f.idle_expiry) {
    auto v = ParseSeconds("--idle-expiry", *f.idle_expiry);
    if (!v.ok()) return v.status();
    limits.idle_expiry_seconds = *v;
  }
  if (f.max_code_bytes) {
    auto v = ParseSize("--max-code-bytes", *f.max_code_bytes);
    if (!v.ok()) return v.status();
    if (*v == 0) return InvalidArgument("--max-code-bytes: must be > 0 (got '0')");
    limits.max_code_bytes = *v;
  }
  if (f.max_file_bytes) {
    auto v = ParseSize("--max-file-bytes", *f.max_file_bytes);
    if (!v.ok()) return v.status();
    if (*v == 0) return InvalidArgument("--max-file-bytes: must be > 0 (got '0')");
    limits.max_file_bytes = *v;
  }
  if (f.rate_limit) {
    auto v = ParseSeconds("--rate-limit", *f.rate_limit);  // a number >= 0
    if (!v.ok()) {
      return InvalidArgument("--rate-limit: expected requests per minute, a number >= 0 (got '" +
                             *f.rate_limit + "')");
    }
    limits.rate_limit_per_minute = *v;
  }
  if (Status s = limits.Validate(); !s.ok()) return s;
  return limits;
}


StatusOr<std::shared_ptr<TelemetryLogger>> ServerLogger(const ServerFlags& flags) {
  if (flags.log_file) {
    auto opened = JsonLinesLogger::Open(*flags.log_file);
    if (!opened.ok()) return opened.status();
    return std::shared_ptr<TelemetryLogger>(std::move(*opened));
  }
  return std::shared_ptr<TelemetryLogger>(JsonLinesLogger::ForDescriptor(STDERR_FILENO));
}

StatusOr<std::unique_ptr<SandboxService>> CreateServerService(
    const ServerFlags& flags, ServerLimits limits, std::shared_ptr<TelemetryLogger> logger,
    ScopedTempDir& temp_root, std::string_view temp_prefix) {
  ServiceOptions options;
  options.limits = std::move(limits);
  options.logger = std::move(logger);
  // The server's own executor, gone with the service before the command
  // returns: kept states' globals are saved then (live_interpreters.h), and
  // the next server on this root restores them.
  options.executor = std::make_shared<Executor>();
  if (flags.workspace_root) {
    options.workspace_root = *flags.workspace_root;
  } else {
    if (Status s = temp_root.Create(temp_prefix); !s.ok()) return s;
    options.workspace_root = temp_root.path();
  }
  return SandboxService::Create(std::move(options));
}

}  // namespace snakecage::cli
