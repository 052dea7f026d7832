// SandboxService: every operation and every limit, through real executions.
#include <fcntl.h>
#include <sys/stat.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <thread>

#include "server/test_util.h"
#include "snakecage/executor.h"
#include "snakecage/server.h"

namespace snakecage {
namespace {

namespace fs = std::filesystem;
using testing::FakeClock;
using testing::MakeService;
using testing::RoomyLimits;
using testing::TempDir;

// Session directories under the root (staging directories left out).
std::vector<std::string> SessionDirs(const fs::path& root) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(root, ec)) {
    std::string name = e.path().filename().string();
    if (!name.starts_with("+")) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The one-off sessions among them (the server's own, kept emptied).
std::vector<std::string> OneOffDirs(const fs::path& root) {
  std::vector<std::string> out;
  for (const std::string& name : SessionDirs(root)) {
    if (name.starts_with(".one-off-")) out.push_back(name);
  }
  return out;
}

ExecuteRequest Req(std::string code, std::optional<std::string> session = std::nullopt,
                   std::optional<double> timeout = std::nullopt) {
  ExecuteRequest r;
  r.code = std::move(code);
  r.session_id = std::move(session);
  r.timeout_seconds = timeout;
  return r;
}

class SandboxServiceTest : public ::testing::Test {
 protected:
  std::unique_ptr<SandboxService> Make(ServerLimits limits = RoomyLimits()) {
    return MakeService(dir_, std::move(limits), &clock_);
  }
  fs::path root() const { return dir_.path() / "root"; }
  std::string NewSession(SandboxService& s) {
    auto created = s.CreateSession("c");
    EXPECT_TRUE(created.ok()) << created.status().message();
    return created.ok() ? created->session_id : "";
  }

  TempDir dir_;
  FakeClock clock_;
};

// An execution that names no session runs in a one-off session of the
// server's: never listed, emptied afterwards and kept for the next one,
// which sees nothing of it; deleted with the server.
TEST_F(SandboxServiceTest, ExecuteWithoutSessionRunsInAOneOffSessionEmptiedForTheNext) {
  auto s = Make();
  auto r = s->ExecuteCode("c", Req("import os\nos.mkdir('/app/d')\n"
                                   "open('/app/d/secret.txt', 'w').write('x')\n"
                                   "print(2 + 2, sorted(os.listdir('/app')))"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->success);
  EXPECT_EQ(r->stdout_text, "4 ['d', 'user_code.py']\n");
  EXPECT_EQ(r->workspace_path, "");  // the server's own: not reported
  EXPECT_EQ(r->session_id, "");
  const std::vector<std::string> one_off = OneOffDirs(root());
  ASSERT_EQ(one_off.size(), 1u);
  EXPECT_EQ(SessionDirs(root()), one_off);
  // Emptied but for user_code.py, which the next execution writes over.
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(root() / one_off[0] / "workspace")) {
    left.push_back(e.path().filename().string());
  }
  EXPECT_EQ(left, std::vector<std::string>{"user_code.py"});
  auto listed = s->ListSessions("c");
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty());
  // The next one-off execution reuses it and sees nothing of the last one.
  auto next = s->ExecuteCode("c2", Req("import os\nprint(sorted(os.listdir('/app')))"));
  ASSERT_TRUE(next.ok()) << next.status().message();
  EXPECT_EQ(next->stdout_text, "['user_code.py']\n");
  EXPECT_TRUE(next->files_created.empty());
  EXPECT_EQ(OneOffDirs(root()), one_off);
  // Nobody else can name it, or make a session with such an id.
  auto named = s->ExecuteCode("c", Req("print(1)", one_off[0]));
  ASSERT_FALSE(named.ok());
  EXPECT_EQ(named.status().code(), StatusCode::kNotFound);
  auto made = s->CreateSession("c", std::string(".one-off-mine"));
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(made.status().message().find("the server's own"), std::string::npos);
  s.reset();
  EXPECT_EQ(SessionDirs(root()), std::vector<std::string>{});
}

// One-off executions, whoever sends them, run one after another in one
// resident child of the pooled workspace, as a session's executions do in
// the session's: each finds an empty workspace and a fresh interpreter.
// (That the resident holds nothing of the last one's data is
// ResidentTest.AnIdleResidentHoldsNothingOfItsLastRequest.)
TEST_F(SandboxServiceTest, OneOffExecutionsOfSeveralClientsShareAProcessEachFresh) {
  ServiceOptions o;
  o.limits = RoomyLimits();
  o.workspace_root = root();
  o.executor = std::make_shared<Executor>();
  std::shared_ptr<Executor> executor = o.executor;
  auto made = SandboxService::Create(std::move(o));
  ASSERT_TRUE(made.ok()) << made.status().message();
  auto s = std::move(*made);
  for (int i = 0; i < 4; ++i) {
    auto r = s->ExecuteCode("c" + std::to_string(i),
                            Req("import os, sys\nprint(os.listdir('/app'), hasattr(sys, 'x'))\n"
                                "sys.x = 1\nopen('/app/f', 'w')"));
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r->stdout_text, "['user_code.py'] False\n") << i;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // idle
  }
  EXPECT_EQ(OneOffDirs(root()).size(), 1u);  // one workspace for all four
  EXPECT_EQ(executor->reused_process_runs(), 3u);
  const std::string id = NewSession(*s);
  for (int i = 0; i < 4; ++i) {
    auto r = s->ExecuteCode("c", Req("print(2)", id));
    ASSERT_TRUE(r.ok() && r->stdout_text == "2\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(executor->reused_process_runs(), 6u);  // its first in a child of its own
}

// One a crashed server left behind is deleted by the next at its start.
TEST_F(SandboxServiceTest, StartingDeletesTheOneOffSessionsOfACrashedServer) {
  {
    auto s = Make();
    ASSERT_TRUE(s->ExecuteCode("c", Req("print(1)")).ok());
    ASSERT_TRUE(s->CreateSession("c", std::string("kept")).ok());
    // As if it had crashed: its one-off session stays on disk.
    const std::vector<std::string> one_off = OneOffDirs(root());
    ASSERT_EQ(one_off.size(), 1u);
    fs::copy(root() / one_off[0], root() / ".one-off-left-by-a-crash",
             fs::copy_options::recursive);
  }
  ASSERT_EQ(OneOffDirs(root()), std::vector<std::string>{".one-off-left-by-a-crash"});
  auto s = Make();
  EXPECT_EQ(SessionDirs(root()), std::vector<std::string>{"kept"});
}

// A server starting over a root an earlier one crashed in sweeps what that
// one left half-made or half-deleted.
TEST_F(SandboxServiceTest, StartingSweepsWhatACrashLeftUnderTheRoot) {
  fs::create_directories(root() / "+staging-0123abcd" / "workspace");
  fs::create_directories(root() / "+deleting-4567ef01" / "workspace");
  const timespec old_times[2] = {{0, UTIME_OMIT}, {time(nullptr) - 3600, 0}};
  for (const char* name : {"+staging-0123abcd", "+deleting-4567ef01"}) {
    ASSERT_EQ(::utimensat(AT_FDCWD, (root() / name).c_str(), old_times, 0), 0);
  }
  auto s = Make();
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(fs::is_empty(root()));
}

TEST_F(SandboxServiceTest, GuestFailuresAreResultsNotErrors) {
  auto s = Make();
  auto r = s->ExecuteCode("c", Req("raise ValueError('boom')"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->success);
  EXPECT_EQ(r->exit_code, 1);
  EXPECT_NE(r->stderr_text.find("ValueError: boom"), std::string::npos);
}

// The truth about what ran reaches a server's caller too: output written
// before a trap or a timeout, and a NUL byte refused as CPython refuses it.
TEST_F(SandboxServiceTest, OutputBeforeATrapOrTimeoutIsInTheResult) {
  ServerLimits limits = RoomyLimits();
  limits.policy = *ExecutionPolicyBuilder().fuel_budget(2'000'000).Build();
  auto s = Make(limits);
  auto fuel = s->ExecuteCode("c", Req("print('progress')\nprint('partial', end='')\n"
                                      "while True: pass"));
  ASSERT_TRUE(fuel.ok()) << fuel.status().message();
  EXPECT_EQ(fuel->metadata.trap_reason, TrapReason::kOutOfFuel);
  EXPECT_EQ(fuel->stdout_text, "progress\npartial");
  EXPECT_EQ(fuel->metadata.stdout_bytes, 16u);
  auto roomy = Make();
  auto timeout = roomy->ExecuteCode(
      "c", Req("import time\nprint('started')\ntime.sleep(30)", std::nullopt, 0.3));
  ASSERT_TRUE(timeout.ok()) << timeout.status().message();
  EXPECT_EQ(timeout->metadata.trap_reason, TrapReason::kTimeout);
  EXPECT_EQ(timeout->stdout_text, "started\n");
}

TEST_F(SandboxServiceTest, CodeWithANulByteIsCPythonsSyntaxError) {
  auto s = Make();
  auto r = s->ExecuteCode("c", Req(std::string("x = 1\nprint(x)\0print(2)\n", 23)));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->success);
  EXPECT_EQ(r->exit_code, 1);
  EXPECT_EQ(r->stdout_text, "");
  EXPECT_EQ(r->stderr_text,
            "  File \"/app/user_code.py\", line 2\n    print(x)\n"
            "SyntaxError: source code cannot contain null bytes\n");
}

TEST_F(SandboxServiceTest, SessionKeepsFilesAcrossExecutionsAndCountsThem) {
  auto s = Make();
  std::string id = NewSession(*s);
  ASSERT_EQ(SessionDirs(root()), std::vector<std::string>{id});
  auto first = s->ExecuteCode("c", Req("open('/app/n.txt', 'w').write('41')", id));
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_EQ(first->files_created, std::vector<std::string>{"n.txt"});
  auto second = s->ExecuteCode("c", Req("print(int(open('/app/n.txt').read()) + 1)",
                                     id));
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_EQ(second->stdout_text, "42\n");
  EXPECT_EQ(second->session_id, id);
  auto listed = s->ListSessions("c");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].session_id, id);
  EXPECT_EQ((*listed)[0].execution_count, 2u);
  EXPECT_FALSE((*listed)[0].created_at.empty());
}

// The service opens a session once for its executions, not at every one:
// session.retrieved is logged at the first execution, and again only when
// an execution's policy differs (here its timeout), which each result
// reports as asked.
TEST_F(SandboxServiceTest, ASessionIsOpenedOnceForItsExecutionsUnderOnePolicy) {
  auto log = std::make_shared<RecordingLogger>();
  ServiceOptions o;
  o.limits = RoomyLimits();
  o.workspace_root = root();
  o.logger = log;
  auto made = SandboxService::Create(std::move(o));
  ASSERT_TRUE(made.ok()) << made.status().message();
  SandboxService& s = **made;
  std::string id = NewSession(s);
  const auto retrieved = [&] { return log->records(TelemetryEvent::kSessionRetrieved).size(); };
  for (int i = 0; i < 3; ++i) {
    auto r = s.ExecuteCode("c", Req("print(1)", id));
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r->metadata.timeout_seconds, 20.0);
  }
  EXPECT_EQ(retrieved(), 1u);
  auto other = s.ExecuteCode("c", Req("print(1)", id, 5.0));
  ASSERT_TRUE(other.ok()) << other.status().message();
  EXPECT_EQ(other->metadata.timeout_seconds, 5.0);
  EXPECT_EQ(retrieved(), 2u);
  ExecuteRequest keep = Req("x = 1", id, 5.0);
  keep.keep_state = true;
  auto kept = s.ExecuteCode("c", keep);
  ASSERT_TRUE(kept.ok()) << kept.status().message();
  EXPECT_TRUE(kept->metadata.state.has_value());
  EXPECT_EQ(retrieved(), 3u);
  EXPECT_EQ(log->records(TelemetryEvent::kExecutionStart).size(), 5u);
  auto listed = s.ListSessions("c");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].execution_count, 5u);
  // Destroyed, it is forgotten: made again under its id, it is opened again.
  ASSERT_TRUE(s.DestroySession("c", id).ok());
  ASSERT_TRUE(s.CreateSession("c", id).ok());
  auto remade = s.ExecuteCode("c", keep);  // the policy of the last one
  ASSERT_TRUE(remade.ok()) << remade.status().message();
  EXPECT_EQ(retrieved(), 4u);
}

// What the service keeps of a session between executions is paths, never
// its directories: a session deleted by another process is NotFound at
// the next execution, and one made again under the same id is the one the
// execution after that runs in.
TEST_F(SandboxServiceTest, ASessionDeletedAndMadeAgainElsewhereIsSeenAtTheNextExecution) {
  auto s = Make();
  std::string id = NewSession(*s);
  auto first = s->ExecuteCode("c", Req("open('/app/old.txt', 'w').write('x')", id));
  ASSERT_TRUE(first.ok()) << first.status().message();
  ASSERT_EQ(first->files_created, std::vector<std::string>{"old.txt"});

  SessionStore elsewhere(root());
  ASSERT_TRUE(elsewhere.DeleteSession(id).ok());
  auto gone = s->ExecuteCode("c", Req("print(1)", id));
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(gone.status().message().starts_with("session_id: no session '" + id + "'"))
      << gone.status().message();
  EXPECT_EQ(SessionDirs(root()), std::vector<std::string>{});

  auto remade = elsewhere.OpenOrCreate(id);
  ASSERT_TRUE(remade.ok()) << remade.status().message();
  ASSERT_TRUE(remade->created);
  auto again = s->ExecuteCode("c", Req("import os\nprint(sorted(os.listdir('/app')))", id));
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->stdout_text, "['user_code.py']\n");
  auto meta = elsewhere.ReadMetadata(id);
  ASSERT_TRUE(meta.ok()) << meta.status().message();
  EXPECT_EQ(meta->execution_count, 1u);
}

TEST_F(SandboxServiceTest, ExecuteInASessionThatDoesNotExistIsNotFoundAndCreatesNothing) {
  auto s = Make();
  auto r = s->ExecuteCode("c", Req("print(1)", "never-made"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("session_id: no session 'never-made'"), std::string::npos)
      << r.status().message();
  EXPECT_EQ(SessionDirs(root()), std::vector<std::string>{});
}

TEST_F(SandboxServiceTest, BadSessionIdIsInvalidArgumentNamingTheField) {
  auto s = Make();
  auto r = s->ExecuteCode("c", Req("print(1)", "../etc"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(r.status().message().starts_with("session_id: ")) << r.status().message();
  Status d = s->DestroySession("c", "a/b");
  EXPECT_EQ(d.code(), StatusCode::kInvalidArgument);
}

TEST_F(SandboxServiceTest, TimeoutAboveTheServerLimitIsRefusedNamingIt) {
  auto s = Make();  // max_timeout_seconds 20
  auto r = s->ExecuteCode("c", Req("print(1)", std::nullopt, 20.5));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(),
            "timeout_seconds: 20.5 is more than the server's limit of 20 seconds "
            "(max_timeout_seconds)");
  auto zero = s->ExecuteCode("c", Req("print(1)", std::nullopt, 0));
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.status().message(), "timeout_seconds: must be > 0 (got 0)");
}

TEST_F(SandboxServiceTest, TimeoutDefaultsToThePolicysElseTheMaximumAndIsEnforced) {
  auto s = Make();
  auto r = s->ExecuteCode("c", Req("print(1)"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->metadata.timeout_seconds, 20.0);

  ServerLimits limits = RoomyLimits();
  limits.policy = *ExecutionPolicyBuilder().timeout_seconds(5).Build();
  auto with_policy = MakeService(dir_, limits);
  auto r2 = with_policy->ExecuteCode("c", Req("print(1)"));
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->metadata.timeout_seconds, 5.0);

  auto slow = s->ExecuteCode("c", Req("import time\ntime.sleep(10)", std::nullopt, 0.3));
  ASSERT_TRUE(slow.ok()) << slow.status().message();
  EXPECT_FALSE(slow->success);
  EXPECT_EQ(slow->metadata.trap_reason, TrapReason::kTimeout);
  EXPECT_EQ(slow->metadata.timeout_seconds, 0.3);
}

TEST_F(SandboxServiceTest, CodeLargerThanTheLimitIsRefused) {
  ServerLimits limits = RoomyLimits();
  limits.max_code_bytes = 10;
  auto s = Make(limits);
  auto ok = s->ExecuteCode("c", Req("print(123)"));  // exactly 10 bytes
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->stdout_text, "123\n");
  auto big = s->ExecuteCode("c", Req("print(1234)"));
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(big.status().message(),
            "code: 11 bytes is more than the server's limit of 10 bytes (max_code_bytes)");
}

TEST_F(SandboxServiceTest, SessionCapRefusesTheNextSessionUntilOneIsDestroyed) {
  ServerLimits limits = RoomyLimits();
  limits.max_sessions = 2;
  auto s = Make(limits);
  std::string a = NewSession(*s);
  NewSession(*s);
  auto third = s->CreateSession("c");
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(third.status().message(),
            "session limit reached: 2 sessions exist and the server allows 2 (max_sessions); "
            "destroy one with destroy_session");
  // Executions without a session are not counted against the cap.
  auto r = s->ExecuteCode("c", Req("print(1)"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_TRUE(s->DestroySession("c", a).ok());
  EXPECT_TRUE(s->CreateSession("c").ok());
}

TEST_F(SandboxServiceTest, ASessionWithAClientChosenIdIsMadeOnceAndCounted) {
  ServerLimits limits = RoomyLimits();
  limits.max_sessions = 1;
  auto s = Make(limits);
  bool created = false;
  auto made = s->CreateSession("c", std::string("mine"), &created);
  ASSERT_TRUE(made.ok()) << made.status().message();
  EXPECT_TRUE(created);
  EXPECT_EQ(made->session_id, "mine");
  // Asked again, even at the cap: the same session, not made again.
  auto again = s->CreateSession("c", std::string("mine"), &created);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_FALSE(created);
  EXPECT_EQ(again->created_at, made->created_at);
  auto other = s->CreateSession("c", std::string("other"), &created);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().code(), StatusCode::kResourceExhausted);
  EXPECT_FALSE(created);
  auto bad = s->CreateSession("c", std::string("a/b"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message().rfind("session_id: ", 0), 0u) << bad.status().message();
}

TEST_F(SandboxServiceTest, RateLimitIsATokenBucketPerClient) {
  ServerLimits limits = RoomyLimits();
  limits.rate_limit_per_minute = 3;
  auto s = Make(limits);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(s->ListSessions("alice").ok()) << i;
  auto refused = s->ListSessions("alice");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kRateLimited);
  EXPECT_TRUE(refused.status().message().starts_with(
      "rate limit exceeded: client 'alice' may make 3 requests per minute; retry in "))
      << refused.status().message();
  EXPECT_TRUE(s->ListSessions("bob").ok());  // another client has its own bucket
  // Every operation is charged, executions included.
  auto exec = s->ExecuteCode("alice", Req("print(1)"));
  EXPECT_EQ(exec.status().code(), StatusCode::kRateLimited);
  clock_.Advance(std::chrono::seconds(20));  // one token back
  EXPECT_TRUE(s->ListSessions("alice").ok());
  EXPECT_FALSE(s->ListSessions("alice").ok());
  clock_.Advance(std::chrono::minutes(5));  // refilled to the burst size, no more
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(s->ListSessions("alice").ok()) << i;
  EXPECT_FALSE(s->ListSessions("alice").ok());
}

TEST_F(SandboxServiceTest, IdleSessionsExpireFromDiskAndUseResetsTheIdleTime) {
  ServerLimits limits = RoomyLimits();
  limits.idle_expiry_seconds = 60;
  auto s = Make(limits);
  std::string kept = NewSession(*s);
  std::string idle = NewSession(*s);
  clock_.Advance(std::chrono::seconds(40));
  auto listed = s->ListSessions("c");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_NEAR((*listed)[0].idle_seconds, 40, 2);
  ASSERT_TRUE(s->ListFiles("c", kept).ok());  // a use: kept's idle time starts again
  clock_.Advance(std::chrono::seconds(30));
  auto expired = s->ExpireIdleSessions();
  ASSERT_TRUE(expired.ok());
  EXPECT_EQ(*expired, std::vector<std::string>{idle});
  EXPECT_EQ(SessionDirs(root()), std::vector<std::string>{kept});
  auto gone = s->ListFiles("c", idle);
  EXPECT_EQ(gone.status().code(), StatusCode::kNotFound);
}

TEST_F(SandboxServiceTest, EveryCallSweepsIdleSessionsLazily) {
  ServerLimits limits = RoomyLimits();
  limits.idle_expiry_seconds = 60;
  auto s = Make(limits);
  std::string id = NewSession(*s);
  clock_.Advance(std::chrono::seconds(61));
  auto listed = s->ListSessions("c");  // sweeps first
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty());
  EXPECT_EQ(SessionDirs(root()), std::vector<std::string>{});
}

TEST_F(SandboxServiceTest, ZeroIdleExpiryMeansNever) {
  auto s = Make();  // idle_expiry_seconds 0
  std::string id = NewSession(*s);
  clock_.Advance(std::chrono::hours(24 * 365));
  auto expired = s->ExpireIdleSessions();
  ASSERT_TRUE(expired.ok());
  EXPECT_TRUE(expired->empty());
  EXPECT_EQ(SessionDirs(root()), std::vector<std::string>{id});
}

TEST_F(SandboxServiceTest, DestroySessionRemovesItFromDisk) {
  auto s = Make();
  std::string id = NewSession(*s);
  ASSERT_TRUE(s->WriteFile("c", id, "a.txt", "x", FileEncoding::kText).ok());
  ASSERT_TRUE(s->DestroySession("c", id).ok());
  EXPECT_FALSE(fs::exists(root() / id));
  Status again = s->DestroySession("c", id);
  EXPECT_EQ(again.code(), StatusCode::kNotFound);
  EXPECT_NE(again.message().find(id), std::string::npos);
}

TEST_F(SandboxServiceTest, ResetEmptiesTheWorkspaceAndKeepsTheSession) {
  auto s = Make();
  std::string id = NewSession(*s);
  ASSERT_TRUE(s->WriteFile("c", id, "top.txt", "1", FileEncoding::kText).ok());
  ASSERT_TRUE(s->WriteFile("c", id, "deep/er/file.txt", "2", FileEncoding::kText).ok());
  auto r = s->ExecuteCode("c", Req("import os\nos.mkdir('/app/empty_dir')", id));
  ASSERT_TRUE(r.ok() && r->success) << r->stderr_text;
  auto reset = s->ResetSession("c", id);
  ASSERT_TRUE(reset.ok()) << reset.status().message();
  EXPECT_EQ(reset->session_id, id);
  EXPECT_EQ(reset->execution_count, 1u);
  EXPECT_TRUE(fs::is_empty(root() / id / "workspace"));
  auto after = s->ExecuteCode("c", Req("import os\nprint(sorted(os.listdir('/app')))",
                                    id));
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->stdout_text, "['user_code.py']\n");
  EXPECT_EQ(s->ResetSession("c", "missing").status().code(), StatusCode::kNotFound);
}

TEST_F(SandboxServiceTest, TextAndBinaryFilesRoundTrip) {
  auto s = Make();
  std::string id = NewSession(*s);
  auto n = s->WriteFile("c", id, "dir/t.txt", "h\xc3\xa9llo\n", FileEncoding::kText);
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(*n, 7u);
  auto t = s->ReadFile("c", id, "dir/t.txt");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->encoding, FileEncoding::kText);
  EXPECT_EQ(t->content, "h\xc3\xa9llo\n");
  EXPECT_EQ(t->size_bytes, 7u);
  EXPECT_EQ(s->ReadFile("c", id, "dir/t.txt", FileEncoding::kBase64)->content, "aMOpbGxvCg==");

  ASSERT_TRUE(s->WriteFile("c", id, "b.bin", "AP8B/g==", FileEncoding::kBase64).ok());
  auto b = s->ReadFile("c", id, "b.bin");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->encoding, FileEncoding::kBase64);
  EXPECT_EQ(b->content, "AP8B/g==");
  EXPECT_EQ(b->size_bytes, 4u);
  auto as_text = s->ReadFile("c", id, "b.bin", FileEncoding::kText);
  EXPECT_EQ(as_text.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(as_text.status().message().starts_with("encoding: ")) << as_text.status().message();

  auto r = s->ExecuteCode("c", Req("print(list(open('/app/b.bin', 'rb').read()))",
                                id));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->stdout_text, "[0, 255, 1, 254]\n");
  auto files = s->ListFiles("c", id);
  ASSERT_TRUE(files.ok());
  EXPECT_EQ(*files, (std::vector<std::string>{"b.bin", "dir/t.txt", "user_code.py"}));
  auto globbed = s->ListFiles("c", id, "*.txt");
  ASSERT_TRUE(globbed.ok());
  EXPECT_EQ(*globbed, std::vector<std::string>{"dir/t.txt"});
}

TEST_F(SandboxServiceTest, FileErrorsNameWhatIsWrong) {
  ServerLimits limits = RoomyLimits();
  limits.max_file_bytes = 8;
  auto s = Make(limits);
  std::string id = NewSession(*s);
  auto bad64 = s->WriteFile("c", id, "x", "not base64!", FileEncoding::kBase64);
  EXPECT_EQ(bad64.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(bad64.status().message().starts_with("content: not valid base64"));
  auto big = s->WriteFile("c", id, "x", "123456789", FileEncoding::kText);
  EXPECT_EQ(big.status().message(),
            "content: 9 bytes is more than the server's limit of 8 bytes (max_file_bytes)");
  ASSERT_TRUE(s->WriteFile("c", id, "x", "1", FileEncoding::kText).ok());
  auto exists = s->WriteFile("c", id, "x", "2", FileEncoding::kText, /*overwrite=*/false);
  EXPECT_EQ(exists.status().code(), StatusCode::kAlreadyExists);
  auto escape = s->ReadFile("c", id, "../session.json");
  EXPECT_EQ(escape.status().code(), StatusCode::kInvalidArgument);
  auto abs = s->WriteFile("c", id, "/etc/x", "1", FileEncoding::kText);
  EXPECT_EQ(abs.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s->ReadFile("c", id, "missing").status().code(), StatusCode::kNotFound);
  // A file the guest wrote past the limit is not returned.
  auto r = s->ExecuteCode("c", Req("open('/app/big', 'w').write('x' * 100)", id));
  ASSERT_TRUE(r.ok() && r->success);
  auto read_big = s->ReadFile("c", id, "big");
  EXPECT_EQ(read_big.status().message(),
            "path: 'big' is 100 bytes, more than the server's limit of 8 bytes (max_file_bytes)");
  EXPECT_EQ(s->ListFiles("c", "nope").status().code(), StatusCode::kNotFound);
}

TEST_F(SandboxServiceTest, DeleteFileRemovesFilesAndDirectoriesOnlyWhenRecursive) {
  auto s = Make();
  std::string id = NewSession(*s);
  ASSERT_TRUE(s->WriteFile("c", id, "d/a.txt", "1", FileEncoding::kText).ok());
  ASSERT_TRUE(s->WriteFile("c", id, "b.txt", "1", FileEncoding::kText).ok());
  ASSERT_TRUE(s->DeleteFile("c", id, "b.txt").ok());
  EXPECT_FALSE(s->DeleteFile("c", id, "d").ok());
  ASSERT_TRUE(s->DeleteFile("c", id, "d", /*recursive=*/true).ok());
  EXPECT_EQ(*s->ListFiles("c", id), std::vector<std::string>{});
  EXPECT_EQ(s->DeleteFile("c", id, "b.txt").code(), StatusCode::kNotFound);
}

TEST_F(SandboxServiceTest, CapabilitiesComeFromTheGuestAndTheLimits) {
  ServerLimits limits = RoomyLimits();
  limits.policy = *ExecutionPolicyBuilder().fuel_budget(123'456'789).Build();
  limits.max_sessions = 7;
  auto s = Make(limits);
  auto caps = s->GetCapabilities("c");
  ASSERT_TRUE(caps.ok()) << caps.status().message();
  const auto& j = *caps;
  EXPECT_TRUE(j["python_version"].get<std::string>().starts_with("3.11.")) << j["python_version"];
  EXPECT_EQ(j["python_version_info"][0], 3);
  EXPECT_EQ(j["python_version_info"][1], 11);
  auto has = [](const nlohmann::ordered_json& list, const char* name) {
    return std::find(list.begin(), list.end(), name) != list.end();
  };
  for (const char* m : {"json", "re", "math", "collections", "datetime"}) {
    EXPECT_TRUE(has(j["preimported_modules"], m)) << m;
  }
  EXPECT_FALSE(has(j["preimported_modules"], "pkgutil"));  // the probe's own import
  EXPECT_TRUE(has(j["builtin_modules"], "sys"));
  EXPECT_TRUE(has(j["stdlib_modules"], "sqlite3") || has(j["stdlib_modules"], "argparse"));
  EXPECT_EQ(j["limits"]["fuel_budget"], 123'456'789u);
  EXPECT_EQ(j["limits"]["max_sessions"], 7u);
  EXPECT_EQ(j["limits"]["max_timeout_seconds"], 20.0);
  EXPECT_EQ(j["limits"]["default_timeout_seconds"], 20.0);
  EXPECT_EQ(j["guest_paths"]["workspace"], "/app");
  EXPECT_EQ(j["guest_paths"]["stdlib"], "/usr/local/lib/python3.11");
  EXPECT_EQ(j["guest_paths"]["dist_packages"], "/usr/local/lib/python3.11/dist-packages");
  EXPECT_EQ(j["guest_paths"]["zoneinfo"], "/usr/share/zoneinfo");
  // Shipped packages are listed with versions, and not as standard library.
  bool listed = false;
  for (const auto& p : j["packages"]) {
    if (p["name"] == "PyYAML") {
      listed = true;
      EXPECT_EQ(p["version"], "6.0");
      EXPECT_EQ(p["import_names"], nlohmann::ordered_json::array({"yaml"}));
    }
  }
  EXPECT_TRUE(listed) << j["packages"].dump();
  EXPECT_FALSE(has(j["stdlib_modules"], "yaml"));
  EXPECT_EQ(j["data"][0]["name"], "tzdata");
  // Cached: the second call answers the same without another probe session.
  auto again = s->GetCapabilities("c");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *caps);
  EXPECT_EQ(SessionDirs(root()), OneOffDirs(root()));
}

TEST(ServerLimitsTest, ValidateNamesTheField) {
  ServerLimits l;
  EXPECT_TRUE(l.Validate().ok());
  l.max_timeout_seconds = 0;
  EXPECT_EQ(l.Validate().message(),
            "max_timeout_seconds: must be > 0 and at most 1e9 seconds (got 0)");
  l = ServerLimits();
  l.policy = *ExecutionPolicyBuilder().timeout_seconds(60).Build();
  EXPECT_EQ(l.Validate().message(),
            "policy.timeout_seconds: must not exceed max_timeout_seconds (30) (got 60)");
  l = ServerLimits();
  l.max_sessions = 0;
  EXPECT_EQ(l.Validate().message(), "max_sessions: must be >= 1 (got 0)");
  l = ServerLimits();
  l.rate_limit_per_minute = -1;
  EXPECT_EQ(l.Validate().message(), "rate_limit_per_minute: must be >= 0 (0: unlimited) (got -1)");
  l = ServerLimits();
  l.max_code_bytes = 0;
  EXPECT_EQ(l.Validate().message(), "max_code_bytes: must be >= 1 (got 0)");
  ServiceOptions o;
  o.limits.max_sessions = 0;
  auto s = SandboxService::Create(std::move(o));
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace snakecage
