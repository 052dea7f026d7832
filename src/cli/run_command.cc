// `snakecage run`: flags over a policy file over the defaults, a session,
// one execution.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "base/scoped_temp_dir.h"
#include "cli/cli_args.h"
#include "cli/commands.h"
#include "snakecage/executor.h"
#include "snakecage/policy.h"
#include "snakecage/sandbox.h"

namespace snakecage::cli {
namespace {

StatusOr<std::string> ReadCode(const RunFlags& f) {
  if (f.code) {
    if (!f.source.empty()) {
      return InvalidArgument("give the code once: -c CODE or FILE or -, not both");
    }
    return *f.code;
  }
  if (f.source.empty()) return InvalidArgument("run: expected FILE, -c CODE or - (stdin)");
  std::ostringstream buf;
  if (f.source == "-") {
    buf << std::cin.rdbuf();
    return buf.str();
  }
  std::ifstream in(f.source, std::ios::binary);
  if (!in) return InvalidArgument(f.source + ": cannot read the file: " + std::strerror(errno));
  buf << in.rdbuf();
  return buf.str();
}

// Applies the flags over `p`, which starts as `base` (defaults or the
// policy file's values). Guest arguments are appended to base's argv.
Status ApplyFlags(const RunFlags& f, const std::vector<std::string>& guest_args,
                  const ExecutionPolicy& base, ExecutionPolicyBuilder& p) {
  if (Status s = ApplyPolicyFlags(f.policy_fields, p); !s.ok()) return s;
  if (!guest_args.empty()) {
    std::vector<std::string> argv = base.argv();
    argv.insert(argv.end(), guest_args.begin(), guest_args.end());
    p.argv(std::move(argv));
  }
  return Status::Ok();
}

// Prints the result as `snakecage run` does; returns the exit status.
int PrintResult(const SandboxResult& result, bool json) {
  if (json) {
    // Invalid UTF-8 in a file name the guest made becomes U+FFFD.
    std::cout << SandboxResultToJson(result).dump(-1, ' ', false,
                                                  nlohmann::ordered_json::error_handler_t::replace)
              << "\n";
    std::cout.flush();
    return 0;
  }
  std::fwrite(result.stdout_text.data(), 1, result.stdout_text.size(), stdout);
  std::fflush(stdout);
  std::fwrite(result.stderr_text.data(), 1, result.stderr_text.size(), stderr);
  std::fflush(stderr);
  return result.exit_code;
}

}  // namespace

int RunCommand(const RunFlags& flags, const std::vector<std::string>& guest_args) {
  // Everything is checked before anything is created on disk.
  StatusOr<std::string> code = ReadCode(flags);
  if (!code.ok()) return ExitFor(code.status());
  StatusOr<ExecutionPolicy> base = PolicyFileOrDefaults(flags.policy);
  if (!base.ok()) return ExitFor(base.status());
  ExecutionPolicyBuilder builder(*base);
  if (Status s = ApplyFlags(flags, guest_args, *base, builder); !s.ok()) return ExitFor(s);
  if (flags.keep_state) {
    if (!flags.session) return UsageError("--keep-state needs --session (state is kept in a session)");
    builder.keep_state(true);
  }
  StatusOr<ExecutionPolicy> policy = builder.Build();
  if (!policy.ok()) return ExitFor(policy.status());
  if (flags.session) {
    if (Status s = CheckSessionId(*flags.session); !s.ok()) return ExitFor(s);
  }
  StatusOr<std::shared_ptr<TelemetryLogger>> logger = OpenLogFile(flags.log_file);
  if (!logger.ok()) return ExitFor(logger.status());

  SandboxOptions options;
  options.policy = *policy;
  options.session_id = flags.session;
  options.logger = *logger;
  // This run's own executor, for its one execution: its zygote forks no
  // children ahead (they would only take CPU from this one). When it goes
  // (before this returns), a kept state's globals are saved beside the
  // workspace for the next run.
  ExecutorOptions executor_options;
  executor_options.fork_ahead = false;
  const std::shared_ptr<Executor> executor = std::make_shared<Executor>(std::move(executor_options));
  options.executor = executor;
  ScopedTempDir temp_root;  // the workspace root of a run without a session
  if (flags.workspace_root) {
    options.workspace_root = *flags.workspace_root;
  } else if (flags.session) {
    options.workspace_root = "workspace";
  } else {
    if (Status s = temp_root.Create("snakecage-run-"); !s.ok()) return ExitFor(s);
    options.workspace_root = temp_root.path();
    // Deleted when this returns: flushing it to disk would outlast it by nothing.
    options.one_off_session = true;
  }
  StatusOr<std::unique_ptr<PythonSandbox>> sandbox = CreateSandbox(std::move(options));
  if (!sandbox.ok()) return ExitFor(sandbox.status());
  StatusOr<SandboxResult> result = (*sandbox)->Execute(*code);
  if (!result.ok()) return ExitFor(result.status());
  if (!temp_root.path().empty()) {
    // The run's own session goes with temp_root when this returns.
    result->workspace_path.clear();
    result->session_id.clear();
  }

  const int status = PrintResult(*result, flags.json);
  if (policy->keep_state()) return status;  // the executor saves the state as it goes
  // Nothing is left but to exit. The session goes now; the executor's
  // zygote ends by itself when this process does (its control socket
  // closes), so the process exits without waiting for the zygote and the
  // execution's process to tear down (about a millisecond).
  sandbox->reset();
  temp_root.Remove();
  std::_Exit(status);
}

}  // namespace snakecage::cli
