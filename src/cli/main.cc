// snakecage: command-line front end of the library.
//
//   snakecage run [OPTIONS] (FILE | -c CODE | -) [-- ARG...]
//
// Exit status: with --json, 0 whenever a result was produced; without it,
// the guest's own exit status (124 on timeout). 2 for a usage or policy
// error (one line on stderr naming the flag, field or path), 1 for a host
// failure.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "cli/cli_args.h"
#include "cli/result_json.h"
#include "snakecage/execution.h"

namespace snakecage::cli {
namespace {

constexpr int kExitHostFailure = 1;
constexpr int kExitUsage = 2;

int UsageError(const std::string& message) {
  std::cerr << "snakecage: error: " << message << "\n";
  return kExitUsage;
}

int ExitFor(const Status& s) {
  std::cerr << "snakecage: error: " << s.message() << "\n";
  return s.code() == StatusCode::kInvalidArgument || s.code() == StatusCode::kNotFound
             ? kExitUsage
             : kExitHostFailure;
}

// A fresh, empty workspace for one run, removed when it goes out of scope.
class TempWorkspace {
 public:
  static StatusOr<std::filesystem::path> Create(TempWorkspace& owner) {
    std::error_code ec;
    std::filesystem::path base = std::filesystem::temp_directory_path(ec);
    if (ec) base = "/tmp";
    std::string pattern = (base / "snakecage-run-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      return Internal("cannot create a workspace in " + base.string() + ": " +
                      std::strerror(errno));
    }
    owner.path_ = pattern;
    return owner.path_;
  }
  ~TempWorkspace() {
    if (!path_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(path_, ec);
    }
  }

 private:
  std::filesystem::path path_;
};

struct RunFlags {
  bool json = false;
  std::optional<std::string> fuel, memory, stdout_max, stderr_max, timeout, data, code;
  std::vector<std::string> env, mounts;
  std::string source;
};

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

StatusOr<ExecutionPolicy> PolicyFromFlags(const RunFlags& f,
                                          const std::vector<std::string>& guest_args) {
  ExecutionPolicy p;
  if (f.fuel) {
    auto v = ParsePositiveInteger("--fuel", *f.fuel);
    if (!v.ok()) return v.status();
    p.fuel_budget = *v;
  }
  struct SizeFlag {
    const char* name;
    const std::optional<std::string>& text;
    uint64_t& field;
  };
  for (SizeFlag s : {SizeFlag{"--memory", f.memory, p.memory_bytes},
                     SizeFlag{"--stdout-max", f.stdout_max, p.stdout_max_bytes},
                     SizeFlag{"--stderr-max", f.stderr_max, p.stderr_max_bytes}}) {
    if (!s.text) continue;
    auto v = ParseSize(s.name, *s.text);
    if (!v.ok()) return v.status();
    s.field = *v;
  }
  if (f.timeout) {
    auto v = ParseSeconds("--timeout", *f.timeout);
    if (!v.ok()) return v.status();
    p.timeout_seconds = *v;
  }
  for (const auto& e : f.env) {
    auto kv = ParseEnvAssignment("--env", e);
    if (!kv.ok()) return kv.status();
    SetEnv(p.env, kv->first, kv->second);
  }
  for (const auto& m : f.mounts) {
    auto mount = ParseMount("--mount", m);
    if (!mount.ok()) return mount.status();
    p.additional_readonly_mounts.push_back(*mount);
  }
  if (f.data) p.mount_data_dir = std::filesystem::path(*f.data);
  p.argv = ExecutionPolicy::DefaultArgv(p.guest_mount_path);
  p.argv.insert(p.argv.end(), guest_args.begin(), guest_args.end());
  return p;
}

int Run(const RunFlags& flags, const std::vector<std::string>& guest_args) {
  StatusOr<std::string> code = ReadCode(flags);
  if (!code.ok()) return ExitFor(code.status());
  StatusOr<ExecutionPolicy> policy = PolicyFromFlags(flags, guest_args);
  if (!policy.ok()) return ExitFor(policy.status());

  TempWorkspace workspace_owner;
  auto workspace = TempWorkspace::Create(workspace_owner);
  if (!workspace.ok()) return ExitFor(workspace.status());
  policy->workspace_dir = *workspace;
  if (Status s = CheckExecutionPolicy(*policy); !s.ok()) return ExitFor(s);

  StatusOr<ExecutionResult> result = RunPython(*code, *policy);
  if (!result.ok()) return ExitFor(result.status());

  if (flags.json) {
    std::cout << ResultToJson(*result).dump() << "\n";
    return 0;
  }
  std::fwrite(result->stdout_text.data(), 1, result->stdout_text.size(), stdout);
  std::fflush(stdout);
  std::fwrite(result->stderr_text.data(), 1, result->stderr_text.size(), stderr);
  std::fflush(stderr);
  return result->exit_code;
}

int Main(int argc, char** argv) {
  // Everything after the first standalone "--" is the guest's sys.argv[1:].
  std::vector<std::string> args(argv + 1, argv + argc);
  std::vector<std::string> guest_args;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--") {
      guest_args.assign(args.begin() + static_cast<long>(i) + 1, args.end());
      args.resize(i);
      break;
    }
  }

  CLI::App app{"snakecage: run untrusted Python in a WebAssembly sandbox"};
  app.require_subcommand(1);
  RunFlags f;
  CLI::App* run = app.add_subcommand("run", "Run Python code in a fresh sandbox");
  run->add_option("source", f.source, "FILE with the code, or - for stdin");
  run->add_option("-c", f.code, "The code itself");
  run->add_flag("--json", f.json, "Print the result as one JSON object");
  run->add_option("--fuel", f.fuel, "Fuel budget (WebAssembly operators)");
  run->add_option("--memory", f.memory, "Memory cap: bytes or K/M/G");
  run->add_option("--stdout-max", f.stdout_max, "stdout cap: bytes or K/M/G");
  run->add_option("--stderr-max", f.stderr_max, "stderr cap: bytes or K/M/G");
  run->add_option("--timeout", f.timeout, "Wall-clock limit in seconds");
  run->add_option("--env", f.env, "KEY=VALUE in the guest's environment (repeatable)");
  run->add_option("--mount", f.mounts, "HOST:GUEST[:ro] read-only mount (repeatable)");
  run->add_option("--data", f.data, "Host directory mounted read-only at /data");

  std::vector<const char*> cargv{argv[0]};
  for (const auto& a : args) cargv.push_back(a.c_str());
  try {
    app.parse(static_cast<int>(cargv.size()), cargv.data());
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);  // prints the help, exit status 0
  } catch (const CLI::ParseError& e) {
    return UsageError(e.what());
  }
  if (run->parsed()) return Run(f, guest_args);
  return UsageError("unknown command");
}

}  // namespace
}  // namespace snakecage::cli

int main(int argc, char** argv) { return snakecage::cli::Main(argc, argv); }
