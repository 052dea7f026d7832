// snakecage-bench-runner: runs one Python file through RunPython() a given
// number of times and prints one JSON object per run, one per line.
//
//   snakecage-bench-runner FILE [REPEAT]      (REPEAT defaults to 1)
//
// The same source builds two binaries: snakecage-bench-runner links the
// metered engine (snakecage_engine) and snakecage-bench-runner-unmetered the
// engine whose guest carries no fuel charges (snakecage_engine_unmetered).
// bench/run_benchmarks.py drives both; see bench/README.md.
//
// Each run gets a fresh, empty workspace in the temp directory (removed after
// the run) and the default ExecutionPolicy except for the fuel budget, which
// is 9e18 operators so that no workload can run out. Each line carries:
//   run            0-based index of the run in this process
//   wall_ms        wall time measured here around the RunPython() call
//   duration_ms    ExecutionResult::duration_ms (the engine's own clock)
//   fuel_consumed  ExecutionResult::fuel_consumed
//   success        ExecutionResult::success()
//   exit_code      the guest's exit status
//   trap_reason    wire name of the trap reason, or null
//   stdout         the guest's stdout, exactly
//   stderr         the guest's stderr, exactly
//
// Exit status: 0 when every run produced a result (whatever the guest did),
// 2 for a usage error, 1 when the host could not run the code at all.
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "base/scoped_temp_dir.h"
#include "snakecage/execution.h"
#include "snakecage/status.h"
#include "snakecage/trap_reason.h"

namespace snakecage::bench {
namespace {

constexpr int kExitHostFailure = 1;
constexpr int kExitUsage = 2;
// Large enough that no benchmark runs out, below the policy's int64 ceiling.
constexpr uint64_t kBenchFuelBudget = 9'000'000'000'000'000'000ull;

int Usage(const std::string& message) {
  std::cerr << "snakecage-bench-runner: error: " << message << "\n"
            << "usage: snakecage-bench-runner FILE [REPEAT]\n";
  return kExitUsage;
}


StatusOr<uint64_t> ParseRepeat(const std::string& text) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) {
    return InvalidArgument("REPEAT: must be a positive integer (got \"" + text + "\")");
  }
  errno = 0;
  unsigned long long v = std::strtoull(text.c_str(), nullptr, 10);
  if (errno == ERANGE || v == 0) {
    return InvalidArgument("REPEAT: must be a positive integer (got \"" + text + "\")");
  }
  return static_cast<uint64_t>(v);
}

StatusOr<std::string> ReadFile(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return NotFound("FILE: cannot read " + file.string() + ": " + std::strerror(errno));
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

// One run: fresh workspace, RunPython(), one JSON line on stdout.
Status RunOnce(const std::string& code, uint64_t index) {
  ScopedTempDir workspace;
  if (Status s = workspace.Create("snakecage-bench-"); !s.ok()) return s;

  StatusOr<ExecutionPolicy> policy =
      ExecutionPolicyBuilder().fuel_budget(kBenchFuelBudget).mount_host_dir(workspace.path()).Build();
  if (!policy.ok()) return policy.status();

  const auto started = std::chrono::steady_clock::now();
  StatusOr<ExecutionResult> result = RunPython(code, *policy);
  const auto finished = std::chrono::steady_clock::now();
  if (!result.ok()) return result.status();

  nlohmann::ordered_json line;
  line["run"] = index;
  line["wall_ms"] = std::chrono::duration<double, std::milli>(finished - started).count();
  line["duration_ms"] = result->duration_ms;
  line["fuel_consumed"] = result->fuel_consumed;
  line["success"] = result->success();
  line["exit_code"] = result->exit_code;
  if (result->trap_reason) {
    line["trap_reason"] = std::string(TrapReasonWireName(*result->trap_reason));
  } else {
    line["trap_reason"] = nullptr;
  }
  line["stdout"] = result->stdout_text;
  line["stderr"] = result->stderr_text;
  // The engine already replaced invalid UTF-8; `replace` only guards dump().
  std::cout << line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  std::cout.flush();
  return Status::Ok();
}

int Main(int argc, char** argv) {
  if (argc < 2 || argc > 3) return Usage("expected FILE and an optional REPEAT");
  uint64_t repeat = 1;
  if (argc == 3) {
    auto r = ParseRepeat(argv[2]);
    if (!r.ok()) return Usage(r.status().message());
    repeat = *r;
  }
  auto code = ReadFile(argv[1]);
  if (!code.ok()) return Usage(code.status().message());

  for (uint64_t i = 0; i < repeat; ++i) {
    if (Status s = RunOnce(*code, i); !s.ok()) {
      std::cerr << "snakecage-bench-runner: error: run " << i << ": " << s.message() << "\n";
      return kExitHostFailure;
    }
  }
  return 0;
}

}  // namespace
}  // namespace snakecage::bench

int main(int argc, char** argv) { return snakecage::bench::Main(argc, argv); }
