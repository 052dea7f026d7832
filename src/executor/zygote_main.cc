// snakecage-zygote: one pre-initialised interpreter that forks a child per
// execution. Started by the Executor (executor.cc), never by hand:
//
//   snakecage-zygote --control-fd N --startup STARTUP_KEY_JSON --installation PREFIX
//                    [--no-startup-snapshot] [--no-fork-ahead]
//   snakecage-zygote --write-startup-snapshot --installation PREFIX
//
// The second form is the build's: it starts the interpreter under the
// default policy's start-up and writes its snapshot (engine/startup_snapshot.h)
// into the installation's startup_snapshot_dir().
//
// Test builds only (see src/executor/CMakeLists.txt): compiled with
// SNAKECAGE_ZYGOTE_TEST_HOOKS its children honour SNAKECAGE_TEST_HOOK
// (zygote_child.h); with SNAKECAGE_ZYGOTE_WITHOUT_LANDLOCK they skip Landlock.
//
// 1. Start the guest interpreter under StartupPolicy(key) (every host
//    directory is the standard library's, nothing of any execution is in
//    this process), compile the seccomp program, block SIGCHLD. With a
//    start-up snapshot for the key in the installation, the interpreter
//    resumes from it at user_code_begin instead of starting (about 30 ms
//    less); without one, or with --no-startup-snapshot, it starts.
//    --no-fork-ahead: no spares and no probes (an executor that runs one
//    execution, where they would only take CPU from it).
// 2. At user_code_begin, serve the client's requests (zygote_server.h):
//    children forked per request, or spares forked ahead of them; first,
//    probe children run kProbeCode to teach the pages spares warm.
// 3. In a child (zygote_child.h), the guest goes on under the request's
//    context, confined; when it ends the child writes its result to the
//    request's pipe and exits without any interpreter finalisation. A child
//    whose request keeps its state becomes a session's live interpreter
//    instead, serving that session's cells (zygote_child.h).
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>

#include "engine/guest_runner.h"
#include "engine/installation.h"
#include "engine/startup_snapshot.h"
#include "snakecage/execution.h"
#include "executor/confinement.h"
#include "engine/startup_key.h"
#include "executor/zygote_server.h"

namespace snakecage::executor {
namespace {

using Json = nlohmann::ordered_json;

// The program the probe children run to teach the warm pages
// (page_warming.h): the zygote's own, small and ordinary (a comprehension,
// the json module, printing), so the pages it faults in are those most
// executions need.
constexpr std::string_view kProbeCode = R"PY(import json
rows = [{"n": n, "square": n * n} for n in range(200)]
text = json.dumps(rows[:20])
print(len(text), sum(r["square"] for r in rows), json.loads(text)[-1]["n"])
)PY";

// The probe's policy: the start-up key's paths and environment, every host
// directory a private temporary one holding the probe as the script.
// nullopt when it cannot be set up: spares then touch nothing.
std::optional<ExecutionPolicy> ProbePolicy(const StartupKey& key, std::filesystem::path* dir) {
  std::string pattern = "/tmp/snakecage-probe-" + std::to_string(getpid()) + "-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) return std::nullopt;
  *dir = pattern;
  StatusOr<ExecutionPolicy> base = StartupPolicy(key, *dir);
  StatusOr<ExecutionPolicy> policy =
      base.ok() ? ExecutionPolicyBuilder(*base).timeout_seconds(10).Build() : base;
  if (!policy.ok() || !StageUserCode(kProbeCode, *policy).ok()) {
    std::error_code ec;
    std::filesystem::remove_all(*dir, ec);
    return std::nullopt;
  }
  return std::move(*policy);
}

// --write-startup-snapshot: the default policy's start-up, run up to
// user_code_begin and written to the installation's snapshot directory.
int WriteDefaultSnapshot() {
  const StatusOr<Installation>& installation = ThisInstallation();
  if (!installation.ok()) {
    std::cerr << "snakecage-zygote: " << installation.status().message() << "\n";
    return 1;
  }
  StatusOr<ExecutionPolicy> defaults =
      ExecutionPolicyBuilder().mount_host_dir(installation->stdlib_dir()).Build();
  if (!defaults.ok()) {
    std::cerr << "snakecage-zygote: " << defaults.status().message() << "\n";
    return 1;
  }
  const StartupKey key = StartupKeyFor(*defaults);
  const std::filesystem::path path = StartupSnapshotPath(*installation, key);
  const std::filesystem::path dir = path.parent_path();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  StatusOr<ExecutionPolicy> policy = StartupPolicy(key, installation->stdlib_dir());
  StatusOr<std::unique_ptr<ExecutionContext>> ctx =
      policy.ok() ? ExecutionContext::Create(*policy, nullptr, std::chrono::steady_clock::now())
                  : StatusOr<std::unique_ptr<ExecutionContext>>(policy.status());
  if (!ctx.ok()) {
    std::cerr << "snakecage-zygote: " << ctx.status().message() << "\n";
    return 1;
  }
  Status written = Internal("the interpreter stopped before user_code_begin");
  Status thread = RunOnGuestThread([&] {
    StatusOr<ExecutionResult> result = RunGuest(
        **ctx,
        [&](ExecutionContext&, uint64_t*) -> ExecutionContext* {
          written = SnapshotAtUserCodeBegin(path, StartupKeyToJson(key).dump());
          if (written.ok()) {
            // The build writes only this one: any other is a stale one (of an
            // earlier default start-up) that an installation must not carry.
            for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
              const std::string name = entry.path().filename().string();
              if (entry.path() != path && name.starts_with("startup-") &&
                  name.ends_with(".snapshot")) {
                std::filesystem::remove(entry.path(), ec);
              }
            }
            std::cout << path.string() << "\n";
          }
          // Nothing of the user's code runs: the process ends here.
          std::cout.flush();
          _exit(written.ok() ? 0 : 1);
        },
        AfterRun::kKeepInstance);
    if (!result.ok()) written = result.status();
    else if (!result->stderr_text.empty()) written = Internal(result->stderr_text);
  });
  std::cerr << "snakecage-zygote: cannot write the start-up snapshot: "
            << (thread.ok() ? written.message() : thread.message()) << "\n";
  return 1;
}

int Main(int argc, char** argv) {
  std::string startup_json;
  std::string installation_prefix;
  int control = -1;
  bool write_snapshot = false;
  bool use_snapshot = true;
  bool fork_ahead = true;
  bool usage_error = false;
  ChildSettings settings;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--control-fd" && i + 1 < argc) {
      control = std::atoi(argv[++i]);
    } else if (flag == "--startup" && i + 1 < argc) {
      startup_json = argv[++i];
    } else if (flag == "--installation" && i + 1 < argc) {
      installation_prefix = argv[++i];
    } else if (flag == "--write-startup-snapshot") {
      write_snapshot = true;
    } else if (flag == "--no-startup-snapshot") {
      use_snapshot = false;
    } else if (flag == "--no-fork-ahead") {
      fork_ahead = false;
    } else {
      usage_error = true;
      break;
    }
  }
  if (write_snapshot && !usage_error && !installation_prefix.empty()) {
    Status installation = UseInstallationPrefix(installation_prefix);
    if (!installation.ok()) {
      std::cerr << "snakecage-zygote: " << installation.message() << "\n";
      return 1;
    }
    return WriteDefaultSnapshot();
  }
  if (usage_error || control < 0 || startup_json.empty() || installation_prefix.empty()) {
    std::cerr << "usage: snakecage-zygote --control-fd N --startup JSON --installation PREFIX "
                 "[--no-startup-snapshot] [--no-fork-ahead] (started by the executor)\n"
                 "       snakecage-zygote --write-startup-snapshot --installation PREFIX\n";
    return 2;
  }
  // Nothing the spawning process left open without close-on-exec (a
  // caller's sockets, files, locks) lives on in the zygote or its children.
  if (control == 3) close_range(4, ~0u, 0);
  StatusOr<SeccompProgram> seccomp = SeccompProgram::Compile();
  StatusOr<SeccompProgram> live_seccomp = SeccompProgram::Compile(SeccompProfile::kLiveInterpreter);
  StatusOr<SeccompProgram> resident_seccomp = SeccompProgram::Compile(SeccompProfile::kResident);
  settings.seccomp = seccomp.ok() ? &*seccomp : nullptr;
  settings.live_seccomp = live_seccomp.ok() ? &*live_seccomp : nullptr;
  settings.resident_seccomp = resident_seccomp.ok() ? &*resident_seccomp : nullptr;
  ZygoteServer server(UniqueFd(control), settings);
  auto fail_start = [&server](const std::string& message) {
    server.SendStartupFailure(message);
    return 1;
  };
  if (!seccomp.ok()) return fail_start(seccomp.status().message());
  if (!live_seccomp.ok()) return fail_start(live_seccomp.status().message());
  if (!resident_seccomp.ok()) return fail_start(resident_seccomp.status().message());
  StatusOr<StartupKey> key = StartupKeyFromJson(Json::parse(startup_json, nullptr, false));
  if (!key.ok()) return fail_start(key.status().message());
  // The executor's installation, whatever this program's location says.
  Status installation = UseInstallationPrefix(installation_prefix);
  if (!installation.ok()) return fail_start(installation.message());
  StatusOr<ExecutionPolicy> policy = StartupPolicy(*key, ThisInstallation()->stdlib_dir());
  if (!policy.ok()) return fail_start(policy.status().message());
  if (Status s = server.Init(); !s.ok()) return fail_start(s.message());
  std::filesystem::path probe_dir;
  if (!fork_ahead) {
    server.SetSpares(0);
  } else if (std::optional<ExecutionPolicy> probe = ProbePolicy(*key, &probe_dir)) {
    server.SetProbe(std::move(*probe), std::move(probe_dir));
  }
  std::optional<StartupSnapshot> snapshot;
  if (use_snapshot) {
    StatusOr<StartupSnapshot> found = OpenInstalledStartupSnapshot(*key);
    if (found.ok()) {
      snapshot = std::move(*found);
      // Serving one execution, it reads only the pages that one touches.
      snapshot->load = fork_ahead ? StartupSnapshot::Load::kCopy : StartupSnapshot::Load::kMap;
      server.SetStartup("snapshot");
    } else {
      server.SetStartup("started: " + found.status().message());
    }
  } else {
    server.SetStartup("started: --no-startup-snapshot");
  }

  StatusOr<std::unique_ptr<ExecutionContext>> ctx =
      ExecutionContext::Create(*policy, nullptr, std::chrono::steady_clock::now());
  if (!ctx.ok()) return fail_start(ctx.status().message());

  int exit_status = 0;
  std::optional<PristineGuest> pristine;
  Status thread = RunOnGuestThread([&] {
    StatusOr<ExecutionResult> result =
        RunGuest(**ctx,
                 [&server, &snapshot, &pristine, fork_ahead](ExecutionContext&,
                                                             uint64_t* interrupt) {
                   // Its memory is in place: no child needs the file.
                   if (snapshot) snapshot->file.Reset();
                   // A zygote serving many requests keeps the guest as it is
                   // now, so that children may serve more than one (~2 ms,
                   // 10 MB of memory); without it, every request is a fork.
                   if (fork_ahead) {
                     StatusOr<PristineGuest> kept = KeepPristineGuest();
                     if (kept.ok()) {
                       pristine.emplace(std::move(*kept));
                       server.SetPristine(&*pristine);
                     }
                   }
                   return server.Serve(interrupt);
                 },
                 AfterRun::kKeepInstance,
                 [&server](ExecutionContext&, ExecutionResult cell, uint64_t* interrupt) {
                   return server.child()->EndCell(std::move(cell), interrupt);
                 },
                 snapshot ? &*snapshot : nullptr);
    // A child exits right after the guest stops.
    if (ExecutionChild* child = server.child()) child->Finish(std::move(result));
    // Start-up ended without reaching user_code_begin.
    exit_status = fail_start(result.ok() ? "the interpreter stopped during start-up: " +
                                               result->stderr_text
                                         : result.status().message());
  });
  if (!thread.ok()) return fail_start(thread.message());
  return exit_status;
}

}  // namespace
}  // namespace snakecage::executor

int main(int argc, char** argv) { return snakecage::executor::Main(argc, argv); }
