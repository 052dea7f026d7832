// fuzz/fuzz_service.h: the SandboxService the server targets share: a
// scratch workspace root, small limits, no rate limit, and an executor whose
// zygote program does not exist, so an execution fails fast as a host error
// while everything before it (arguments, sessions, files, limits) runs for
// real. Header only; one per process, never destroyed.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "snakecage/executor.h"
#include "snakecage/server.h"

namespace snakecage::fuzzing {

inline std::unique_ptr<SandboxService> MakeFuzzService(const std::string& name) {
  std::string pattern = "/tmp/snakecage-fuzz-" + name + "-XXXXXX";
  if (!mkdtemp(pattern.data())) std::abort();
  ServiceOptions options;
  options.workspace_root = std::filesystem::path(pattern) / "sessions";
  options.limits.rate_limit_per_minute = 0;
  options.limits.max_sessions = 8;
  options.limits.max_file_bytes = 4096;
  ExecutorOptions executor;
  executor.zygote_program = "/nonexistent/snakecage-zygote";
  options.executor = std::make_shared<Executor>(executor);
  auto service = SandboxService::Create(std::move(options));
  if (!service.ok()) std::abort();
  return std::move(*service);
}

}  // namespace snakecage::fuzzing
