// CreateSandbox() / PythonSandbox::Execute(): each promise of the library's
// front door, through real executions.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "snakecage/sandbox.h"

namespace snakecage {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

class SandboxTest : public ::testing::Test {
 protected:
  SandboxTest() {
    char tmpl[] = "/tmp/snakecage-sandbox-test-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) std::abort();
    dir_ = tmpl;
    root_ = dir_ / "sessions";
  }
  ~SandboxTest() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::unique_ptr<PythonSandbox> Create(const ExecutionPolicy& policy,
                                        std::optional<std::string> id = std::nullopt) {
    SandboxOptions o;
    o.policy = policy;
    o.session_id = std::move(id);
    o.workspace_root = root_;
    o.logger = log_;
    auto s = CreateSandbox(std::move(o));
    EXPECT_TRUE(s.ok()) << s.status().message();
    return s.ok() ? std::move(*s) : nullptr;
  }
  std::unique_ptr<PythonSandbox> Create(std::optional<std::string> id = std::nullopt) {
    return Create(ExecutionPolicy(), std::move(id));
  }
  static SandboxResult Exec(PythonSandbox& sb, const std::string& code) {
    auto r = sb.Execute(code);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? std::move(*r) : SandboxResult{};
  }
  static ExecutionPolicy Build(ExecutionPolicyBuilder b) {
    auto p = b.Build();
    EXPECT_TRUE(p.ok()) << p.status().message();
    return p.ok() ? *p : ExecutionPolicy();
  }
  std::vector<std::string> EventNames() const {
    std::vector<std::string> out;
    for (const auto& r : log_->records()) out.emplace_back(TelemetryEventName(r.event));
    return out;
  }

  fs::path dir_, root_;
  std::shared_ptr<RecordingLogger> log_ = std::make_shared<RecordingLogger>();
};

TEST_F(SandboxTest, PrintsAndReportsTheSession) {
  auto sb = Create("first");
  ASSERT_TRUE(sb);
  SandboxResult r = Exec(*sb, "print(2 + 2)");
  EXPECT_TRUE(r.success);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.stdout_text, "4\n");
  EXPECT_EQ(r.session_id, "first");
  EXPECT_EQ(r.workspace_path, fs::absolute(root_ / "first" / "workspace"));
  EXPECT_EQ(sb->policy().mount_host_dir(), r.workspace_path);
  EXPECT_GT(r.fuel_consumed, 0u);
  EXPECT_EQ(r.metadata.fuel_analysis.status, FuelStatus::kEfficient);
  EXPECT_EQ(r.metadata.error_guidance, std::nullopt);
}

TEST_F(SandboxTest, NewSessionIdIsAUuidV4) {
  auto sb = Create();
  ASSERT_TRUE(sb);
  EXPECT_TRUE(CheckSessionId(sb->session_id(), /*allow_non_uuid=*/false).ok())
      << sb->session_id();
  EXPECT_EQ(sb->session_id()[14], '4');
  EXPECT_TRUE(fs::is_directory(root_ / sb->session_id() / "workspace"));
}

TEST_F(SandboxTest, CallersPolicyIsNeverChanged) {
  ExecutionPolicy policy = Build(ExecutionPolicyBuilder().fuel_budget(123'456'789));
  const ExecutionPolicy copy = policy;
  auto sb = Create(policy, "p");
  ASSERT_TRUE(sb);
  EXPECT_EQ(policy, copy);
  EXPECT_NE(sb->policy().mount_host_dir(), policy.mount_host_dir());
  EXPECT_EQ(sb->policy().fuel_budget(), 123'456'789u);
}

TEST_F(SandboxTest, CustomPolicyTakesEffect) {
  fs::create_directories(dir_ / "data");
  fs::create_directories(dir_ / "refs");
  std::ofstream(dir_ / "data" / "in.txt") << "data!";
  std::ofstream(dir_ / "refs" / "r.txt") << "ref!";
  ExecutionPolicy policy = Build(ExecutionPolicyBuilder()
                                     .env({{"ONLY", "this"}})
                                     .argv({"prog", "/app/user_code.py", "x"})
                                     .mount_data_dir(dir_ / "data")
                                     .add_readonly_mount({dir_ / "refs", "/refs"}));
  auto sb = Create(policy, "custom");
  ASSERT_TRUE(sb);
  SandboxResult r = Exec(*sb,
                         "import os, sys\n"
                         "print(dict(os.environ))\n"
                         "print(sys.argv)\n"
                         "print(open('/data/in.txt').read(), open('/refs/r.txt').read())\n");
  EXPECT_EQ(r.stdout_text,
            "{'ONLY': 'this'}\n['/app/user_code.py', 'x']\ndata! ref!\n")
      << r.stderr_text;
}

TEST_F(SandboxTest, FuelBudgetTakesEffect) {
  auto sb = Create(Build(ExecutionPolicyBuilder().fuel_budget(2'000'000)), "fuel");
  ASSERT_TRUE(sb);
  SandboxResult r = Exec(*sb, "while True:\n    pass\n");
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.exit_code, 134);
  EXPECT_EQ(r.metadata.trap_reason, TrapReason::kOutOfFuel);
  EXPECT_EQ(r.fuel_consumed, 2'000'000u);
  EXPECT_EQ(r.metadata.fuel_analysis.status, FuelStatus::kExhausted);
  EXPECT_DOUBLE_EQ(r.metadata.fuel_analysis.utilization_percent, 100.0);
  ASSERT_TRUE(r.metadata.error_guidance);
  EXPECT_NE(r.metadata.error_guidance->find("fuel_budget"), std::string::npos);
  EXPECT_NE(r.metadata.error_guidance->find("2000000"), std::string::npos);
}

TEST_F(SandboxTest, MemoryCapTakesEffect) {
  auto sb = Create(Build(ExecutionPolicyBuilder().memory_bytes(32 << 20)), "mem");
  ASSERT_TRUE(sb);
  SandboxResult r = Exec(*sb, "x = bytearray(64 * 1024 * 1024)\n");
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.stderr_text.find("MemoryError"), std::string::npos) << r.stderr_text;
  EXPECT_EQ(r.metadata.memory_limit_bytes, uint64_t{32 << 20});
  ASSERT_TRUE(r.metadata.error_guidance);
  EXPECT_NE(r.metadata.error_guidance->find("memory_bytes"), std::string::npos);
}

TEST_F(SandboxTest, TimeoutTakesEffect) {
  auto sb = Create(Build(ExecutionPolicyBuilder().timeout_seconds(0.3)), "slow");
  ASSERT_TRUE(sb);
  SandboxResult r = Exec(*sb, "import time\ntime.sleep(30)\n");
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.exit_code, 124);
  EXPECT_EQ(r.metadata.trap_reason, TrapReason::kTimeout);
  EXPECT_LT(r.duration_ms, 10'000);
  ASSERT_TRUE(r.metadata.error_guidance);
  EXPECT_NE(r.metadata.error_guidance->find("timeout_seconds"), std::string::npos);
}

TEST_F(SandboxTest, OrdinaryFailuresAreNotSuccesses) {
  auto sb = Create("fail");
  ASSERT_TRUE(sb);
  SandboxResult syntax = Exec(*sb, "def broken(:\n");
  EXPECT_FALSE(syntax.success);
  EXPECT_EQ(syntax.exit_code, 1);
  EXPECT_FALSE(syntax.metadata.trapped);
  EXPECT_NE(syntax.stderr_text.find("SyntaxError"), std::string::npos);
  SandboxResult raised = Exec(*sb, "raise ValueError('boom')\n");
  EXPECT_FALSE(raised.success);
  EXPECT_EQ(raised.exit_code, 1);
  EXPECT_NE(raised.stderr_text.find("ValueError: boom"), std::string::npos);
  EXPECT_EQ(raised.metadata.error_guidance, std::nullopt);
  SandboxResult exited = Exec(*sb, "import sys\nsys.exit(7)\n");
  EXPECT_FALSE(exited.success);
  EXPECT_EQ(exited.exit_code, 7);
}

TEST_F(SandboxTest, OutputCapsTruncateAndSaySo) {
  auto sb = Create(
      Build(ExecutionPolicyBuilder().stdout_max_bytes(10).stderr_max_bytes(5)), "caps");
  ASSERT_TRUE(sb);
  SandboxResult r = Exec(*sb,
                         "import sys\nsys.stdout.write('x' * 100)\nsys.stderr.write('e' * 50)\n");
  EXPECT_TRUE(r.success) << r.stderr_text;
  EXPECT_EQ(r.stdout_text, std::string(10, 'x'));
  EXPECT_EQ(r.stderr_text, std::string(5, 'e'));
  EXPECT_TRUE(r.metadata.stdout_truncated);
  EXPECT_TRUE(r.metadata.stderr_truncated);
  EXPECT_EQ(r.metadata.stdout_bytes, 100u);
  EXPECT_EQ(r.metadata.stderr_bytes, 50u);
}

TEST_F(SandboxTest, AFullWorkspaceIsReportedWithGuidance) {
  auto sb = Create(Build(ExecutionPolicyBuilder().workspace_max_bytes(64 * 1024)), "quota");
  ASSERT_TRUE(sb);
  SandboxResult full = Exec(*sb,
                            "with open('/app/big', 'wb') as f:\n"
                            "    f.write(b'x' * 1_000_000)\n");
  EXPECT_FALSE(full.success);
  EXPECT_EQ(full.exit_code, 1);
  EXPECT_NE(full.stderr_text.find("No space left on device"), std::string::npos)
      << full.stderr_text;
  EXPECT_GE(full.metadata.workspace_writes_refused, 1u);
  EXPECT_EQ(full.metadata.workspace_max_bytes, 64u * 1024);
  ASSERT_TRUE(full.metadata.error_guidance);
  EXPECT_NE(full.metadata.error_guidance->find("quota of 65536 bytes"), std::string::npos)
      << *full.metadata.error_guidance;
  EXPECT_NE(full.metadata.error_guidance->find("workspace_max_bytes"), std::string::npos);
  // Never more on the host than the quota allows (user_code.py has a block).
  EXPECT_EQ(fs::file_size(sb->workspace_path() / "big"), 64u * 1024 - 4096);
  // The next execution starts from what is there: still full, until the
  // code deletes something.
  SandboxResult next = Exec(*sb,
                            "import os\n"
                            "try:\n"
                            "    open('/app/more', 'w').write('m')\n"
                            "except OSError as e:\n"
                            "    print('refused', e.strerror)\n"
                            "os.remove('/app/big')\n"
                            "open('/app/more', 'w').write('m')\n"
                            "print('written')\n");
  EXPECT_TRUE(next.success) << next.stderr_text;
  EXPECT_EQ(next.stdout_text, "refused No space left on device\nwritten\n");
  EXPECT_EQ(next.metadata.workspace_writes_refused, 1u);
  EXPECT_EQ(next.metadata.error_guidance, std::nullopt);  // it succeeded
}

TEST_F(SandboxTest, FileChangesAreReportedSorted) {
  auto sb = Create("files");
  ASSERT_TRUE(sb);
  SandboxResult first = Exec(*sb,
                             "import os\n"
                             "os.makedirs('/app/sub/deeper')\n"
                             "for p in ['b.txt', 'a.txt', 'sub/deeper/c.txt', 'gone.txt']:\n"
                             "    open('/app/' + p, 'w').write(p)\n");
  EXPECT_TRUE(first.success) << first.stderr_text;
  EXPECT_EQ(first.files_created,
            (std::vector<std::string>{"a.txt", "b.txt", "gone.txt", "sub/deeper/c.txt"}));
  EXPECT_TRUE(first.files_modified.empty());
  EXPECT_TRUE(first.files_deleted.empty());

  SandboxResult second = Exec(*sb,
                              "import os\n"
                              "open('/app/b.txt', 'a').write('more')\n"
                              "os.remove('/app/gone.txt')\n"
                              "open('/app/new.txt', 'w').write('n')\n");
  EXPECT_TRUE(second.success) << second.stderr_text;
  EXPECT_EQ(second.files_created, std::vector<std::string>{"new.txt"});
  EXPECT_EQ(second.files_modified, std::vector<std::string>{"b.txt"});
  EXPECT_EQ(second.files_deleted, std::vector<std::string>{"gone.txt"});

  // The staged script is the host's input, not a change by the guest.
  SandboxResult third = Exec(*sb, "pass");
  EXPECT_TRUE(third.files_created.empty());
  EXPECT_TRUE(third.files_modified.empty());
  EXPECT_TRUE(third.files_deleted.empty());
}

TEST_F(SandboxTest, AModificationThatRestoresTheMtimeIsStillSeen) {
  auto sb = Create("mtime");
  ASSERT_TRUE(sb);
  ASSERT_TRUE(Exec(*sb, "open('/app/f.txt', 'w').write('12345')").success);
  SandboxResult r = Exec(*sb,
                         "import os\n"
                         "st = os.stat('/app/f.txt')\n"
                         "open('/app/f.txt', 'r+').write('54321')\n"
                         "os.utime('/app/f.txt', ns=(st.st_atime_ns, st.st_mtime_ns))\n");
  EXPECT_TRUE(r.success) << r.stderr_text;
  EXPECT_EQ(r.files_modified, std::vector<std::string>{"f.txt"});
}

TEST_F(SandboxTest, FirstUseIsCreatedLaterUsesAreRetrieved) {
  ASSERT_TRUE(Create("s1"));
  ASSERT_TRUE(Create("s1"));
  ASSERT_TRUE(Create("s1"));
  EXPECT_EQ(log_->records(TelemetryEvent::kSessionCreated).size(), 1u);
  EXPECT_EQ(log_->records(TelemetryEvent::kSessionRetrieved).size(), 2u);
  std::vector<std::string> names = EventNames();
  auto created = std::find(names.begin(), names.end(), "session.created");
  auto retrieved = std::find(names.begin(), names.end(), "session.retrieved");
  EXPECT_LT(created, retrieved);
  EXPECT_EQ(log_->records(TelemetryEvent::kSessionCreated)[0].fields["session_id"], "s1");
}

TEST_F(SandboxTest, ExecutionEventsCarryThePolicyAndTheOutcome) {
  auto sb = Create(Build(ExecutionPolicyBuilder().fuel_budget(777'000'000)), "events");
  ASSERT_TRUE(sb);
  SandboxResult r = Exec(*sb, "open('/app/x', 'w').write('1')\nprint('hi')");
  ASSERT_TRUE(r.success);
  auto starts = log_->records(TelemetryEvent::kExecutionStart);
  ASSERT_EQ(starts.size(), 1u);
  EXPECT_EQ(starts[0].fields["runtime"], "python");
  EXPECT_EQ(starts[0].fields["session_id"], "events");
  EXPECT_EQ(starts[0].fields["policy"]["fuel_budget"], 777'000'000u);
  EXPECT_EQ(starts[0].fields["policy"]["mount_host_dir"], r.workspace_path.string());
  auto done = log_->records(TelemetryEvent::kExecutionComplete);
  ASSERT_EQ(done.size(), 1u);
  const Json& f = done[0].fields;
  EXPECT_EQ(f["success"], true);
  EXPECT_EQ(f["exit_code"], 0);
  EXPECT_EQ(f["fuel_consumed"], r.fuel_consumed);
  EXPECT_EQ(f["stdout_bytes"], 3u);
  EXPECT_EQ(f["files_created"], 1u);
  EXPECT_EQ(f["trap_reason"], nullptr);
  EXPECT_EQ(log_->records(TelemetryEvent::kSessionMetadataUpdated).size(), 1u);
}

TEST_F(SandboxTest, PathDenialsAreLoggedButRateLimited) {
  auto sb = Create("denied");
  ASSERT_TRUE(sb);
  SandboxResult r = Exec(*sb,
                         "for i in range(40):\n"
                         "    try:\n"
                         "        open('/app/../escape%d' % i)\n"
                         "    except OSError:\n"
                         "        pass\n"
                         "raise SystemExit(3)\n");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_GE(r.metadata.path_denials, 40u);
  auto events = log_->records(TelemetryEvent::kSecurityPathDenied);
  ASSERT_EQ(events.size(), PythonSandbox::kMaxPathDenialEvents);
  EXPECT_EQ(events[0].logger, "snakecage.security");
  EXPECT_EQ(events[0].fields["call"], "path_open");
  EXPECT_EQ(events[0].fields["path"], "../escape0");
  EXPECT_EQ(events[0].fields["denials_total"], r.metadata.path_denials);
  ASSERT_TRUE(r.metadata.error_guidance);
  EXPECT_NE(r.metadata.error_guidance->find("../escape0"), std::string::npos);
}

TEST_F(SandboxTest, BadSessionIdsTouchNothing) {
  for (const std::string& bad : std::vector<std::string>{"", ".", "..", "a/b", "../x", "has space", std::string(129, 'a')}) {
    SandboxOptions o;
    o.session_id = bad;
    o.workspace_root = root_;
    auto s = CreateSandbox(o);
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
  }
  SandboxOptions strict;
  strict.session_id = "not-a-uuid";
  strict.workspace_root = root_;
  strict.allow_non_uuid = false;
  EXPECT_FALSE(CreateSandbox(strict).ok());
  EXPECT_FALSE(fs::exists(root_));
}

TEST_F(SandboxTest, GuestCannotSeeOrAlterSessionMetadata) {
  auto sb = Create("meta");
  ASSERT_TRUE(sb);
  const std::string before = Slurp(root_ / "meta" / "session.json");
  ASSERT_FALSE(before.empty());
  SandboxResult r = Exec(*sb,
                         "import os\n"
                         "print(sorted(os.listdir('/app')))\n"
                         "for p in ['/app/../session.json', '/app/session.json']:\n"
                         "    try:\n"
                         "        open(p, 'w').write('{}')\n"
                         "        print('wrote', p)\n"
                         "    except OSError as e:\n"
                         "        print('refused', p)\n");
  EXPECT_EQ(r.stdout_text,
            "['user_code.py']\nrefused /app/../session.json\nwrote /app/session.json\n");
  // The guest's own /app/session.json is just a workspace file.
  auto meta = sb->sessions().ReadMetadata("meta");
  ASSERT_TRUE(meta.ok());
  EXPECT_EQ(meta->session_id, "meta");
  EXPECT_EQ(meta->execution_count, 1u);
  EXPECT_NE(Slurp(root_ / "meta" / "session.json"), "{}");
}

TEST_F(SandboxTest, PreserveLogsKeepsOutputOutsideTheWorkspace) {
  auto sb = Create(Build(ExecutionPolicyBuilder().preserve_logs(true)), "logs");
  ASSERT_TRUE(sb);
  ASSERT_TRUE(Exec(*sb, "import sys\nprint('out1')\nprint('err1', file=sys.stderr)").success);
  ASSERT_TRUE(Exec(*sb, "print('out2')").success);
  EXPECT_EQ(Slurp(root_ / "logs" / "logs" / "1.stdout"), "out1\n");
  EXPECT_EQ(Slurp(root_ / "logs" / "logs" / "1.stderr"), "err1\n");
  EXPECT_EQ(Slurp(root_ / "logs" / "logs" / "2.stdout"), "out2\n");
  auto nolog = Create("nologs");
  ASSERT_TRUE(Exec(*nolog, "print(1)").success);
  EXPECT_TRUE(fs::is_empty(root_ / "nologs" / "logs"));
}

// Two executions in one session at once are serialised: each appends
// "start" then "end" around a sleep; interleaving would show start,start.
TEST_F(SandboxTest, ConcurrentExecutionsInOneSessionAreSerialised) {
  const std::string code =
      "import time\n"
      "open('/app/trace', 'a').write('start\\n')\n"
      "time.sleep(0.2)\n"
      "open('/app/trace', 'a').write('end\\n')\n";
  auto a = Create("shared");
  auto b = Create("shared");
  ASSERT_TRUE(a && b);
  std::thread t1([&] { EXPECT_TRUE(Exec(*a, code).success); });
  std::thread t2([&] { EXPECT_TRUE(Exec(*b, code).success); });
  t1.join();
  t2.join();
  EXPECT_EQ(Slurp(root_ / "shared" / "workspace" / "trace"), "start\nend\nstart\nend\n");
  auto meta = a->sessions().ReadMetadata("shared");
  ASSERT_TRUE(meta.ok());
  EXPECT_EQ(meta->execution_count, 2u);
}

TEST_F(SandboxTest, FuelAnalysisThresholds) {
  EXPECT_EQ(AnalyseFuel(0, 100, false).status, FuelStatus::kEfficient);
  EXPECT_EQ(AnalyseFuel(49, 100, false).status, FuelStatus::kEfficient);
  EXPECT_EQ(AnalyseFuel(50, 100, false).status, FuelStatus::kModerate);
  EXPECT_EQ(AnalyseFuel(74, 100, false).status, FuelStatus::kModerate);
  EXPECT_EQ(AnalyseFuel(75, 100, false).status, FuelStatus::kWarning);
  EXPECT_EQ(AnalyseFuel(89, 100, false).status, FuelStatus::kWarning);
  EXPECT_EQ(AnalyseFuel(90, 100, false).status, FuelStatus::kCritical);
  EXPECT_EQ(AnalyseFuel(99, 100, false).status, FuelStatus::kCritical);
  EXPECT_EQ(AnalyseFuel(100, 100, false).status, FuelStatus::kExhausted);
  EXPECT_EQ(AnalyseFuel(10, 100, true).status, FuelStatus::kExhausted);
  EXPECT_DOUBLE_EQ(AnalyseFuel(25, 200, false).utilization_percent, 12.5);
  EXPECT_EQ(FuelStatusName(FuelStatus::kCritical), "critical");
}

// Golden JSON shape: key order and types of everything a user sees.
TEST_F(SandboxTest, ResultJsonShape) {
  auto sb = Create("json");
  ASSERT_TRUE(sb);
  SandboxResult r = Exec(*sb, "open('/app/n.txt', 'w').write('x')\nprint('ok')");
  Json j = SandboxResultToJson(r);
  std::vector<std::string> keys;
  for (const auto& [k, v] : j.items()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{
                      "success", "exit_code", "stdout", "stderr", "fuel_consumed",
                      "memory_used_bytes", "duration_ms", "files_created", "files_modified",
                      "files_deleted", "workspace_path", "session_id", "metadata"}));
  std::vector<std::string> meta_keys;
  for (const auto& [k, v] : j["metadata"].items()) meta_keys.push_back(k);
  EXPECT_EQ(meta_keys, (std::vector<std::string>{
                           "trapped", "trap_reason", "trap_message", "stdout_truncated",
                           "stderr_truncated", "stdout_bytes", "stderr_bytes", "memory_pages",
                           "fuel_budget", "memory_limit_bytes", "timeout_seconds",
                           "path_denials", "workspace_max_bytes", "workspace_writes_refused",
                           "missing_module", "fuel_analysis", "error_guidance", "state", "state_reason", "state_dropped"}));
  EXPECT_EQ(j["files_created"], Json::array({"n.txt"}));
  EXPECT_EQ(j["session_id"], "json");
  EXPECT_EQ(j["metadata"]["fuel_analysis"]["status"], "efficient");
  EXPECT_EQ(j["metadata"]["fuel_analysis"]["budget"], 5'000'000'000u);
  EXPECT_TRUE(j["metadata"]["error_guidance"].is_null());
  EXPECT_TRUE(j["metadata"]["trap_reason"].is_null());
}

}  // namespace
}  // namespace snakecage
