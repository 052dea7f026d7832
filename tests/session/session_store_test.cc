// SessionStore: creation and retrieval, metadata, execution locks, session
// deletion and pruning.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <thread>
#include <vector>

#include "session_test_util.h"
#include "session/session_metadata.h"
#include "snakecage/session.h"

namespace snakecage {
namespace {

using namespace std::chrono_literals;
using testing::Slurp;
using testing::Spit;
using testing::StoreFixture;
namespace fs = std::filesystem;

using SessionStoreTest = StoreFixture;

std::vector<std::string> Names(const std::vector<RecordingLogger::Record>& records) {
  std::vector<std::string> out;
  for (const auto& r : records) out.emplace_back(TelemetryEventName(r.event));
  return out;
}

// Bytes of regular files beneath `dir`, counted independently of the store.
uint64_t RegularBytes(const fs::path& dir) {
  uint64_t total = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file() && !e.is_symlink()) total += e.file_size();
  }
  return total;
}

std::vector<std::string> Entries(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

TEST_F(SessionStoreTest, ConstructorTouchesNothingAndMakesRootAbsolute) {
  SessionStore relative("relative/sessions");
  EXPECT_TRUE(relative.root().is_absolute());
  EXPECT_EQ(relative.root(), fs::current_path() / "relative/sessions");
  EXPECT_FALSE(fs::exists(fs::current_path() / "relative"));
  EXPECT_FALSE(fs::exists(root));
  EXPECT_EQ(store.WorkspacePath("abc"), root / "abc" / "workspace");
}

// The root is made when a session needs it, and again if it went.
TEST_F(SessionStoreTest, ARootThatWentIsMadeAgain) {
  ASSERT_TRUE(store.OpenOrCreate("first").ok());
  fs::remove_all(root);
  auto again = store.OpenOrCreate("second");
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_TRUE(again->created);
  EXPECT_TRUE(fs::is_directory(root / "second" / "workspace"));
}

TEST_F(SessionStoreTest, BadIdIsRefusedAndNothingIsCreated) {
  for (const std::string& id : {std::string(""), std::string("."), std::string(".."),
                                std::string(129, 'a'), std::string("a/b"), std::string("a b"),
                                std::string("\xc3\xa9t\xc3\xa9"), std::string("../escape")}) {
    auto opened = store.OpenOrCreate(id);
    ASSERT_FALSE(opened.ok()) << id;
    EXPECT_EQ(opened.status().code(), StatusCode::kInvalidArgument) << id;
    EXPECT_EQ(opened.status().message().rfind("session id \"", 0), 0u) << opened.status().message();
  }
  auto not_uuid = store.OpenOrCreate("plain-name", /*allow_non_uuid=*/false);
  ASSERT_FALSE(not_uuid.ok());
  EXPECT_EQ(not_uuid.status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(fs::exists(root));
  EXPECT_EQ(Entries(tmp.path()), std::vector<std::string>{});
  EXPECT_TRUE(log->records().empty());
}

TEST_F(SessionStoreTest, CreateThenRetrieve) {
  auto first = store.OpenOrCreate("s1");
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_TRUE(first->created);
  EXPECT_EQ(first->workspace_path, root / "s1" / "workspace");
  EXPECT_TRUE(fs::is_directory(first->workspace_path));
  EXPECT_EQ(first->metadata.session_id, "s1");
  EXPECT_EQ(first->metadata.created_at, "2026-11-26T06:40:01.000000Z");
  EXPECT_EQ(first->metadata.updated_at, "2026-11-26T06:40:01.000000Z");
  EXPECT_EQ(first->metadata.execution_count, 0u);
  EXPECT_EQ(first->metadata.version, 1);
  // The layout, and nothing left over from staging.
  EXPECT_EQ(Entries(root), std::vector<std::string>{"s1"});
  EXPECT_EQ(Entries(root / "s1"),
            (std::vector<std::string>{"logs", "session.json", "session.lock", "workspace"}));
  EXPECT_EQ(fs::status(root / "s1").permissions() & fs::perms::all, fs::perms::owner_all);
  EXPECT_EQ(fs::status(root / "s1" / "session.json").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);

  clock.Advance(1h);
  auto second = store.OpenOrCreate("s1");
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_FALSE(second->created);
  EXPECT_EQ(second->metadata.created_at, "2026-11-26T06:40:01.000000Z");
  EXPECT_EQ(second->workspace_path, first->workspace_path);

  const auto records = log->records();
  EXPECT_EQ(Names(records), (std::vector<std::string>{"session.created", "session.metadata.created",
                                                      "session.retrieved"}));
  ASSERT_EQ(records.size(), 3u);
  for (const auto& r : records) {
    EXPECT_EQ(r.logger, "snakecage.session");
    EXPECT_EQ(r.level, LogLevel::kInfo);
  }
  EXPECT_EQ(records[0].fields.dump(), R"({"session_id":"s1","workspace_path":")" +
                                          (root / "s1" / "workspace").string() + "\"}");
  EXPECT_EQ(records[1].fields.dump(),
            R"({"session_id":"s1","created_at":"2026-11-26T06:40:01.000000Z","version":1})");
  EXPECT_EQ(records[2].fields.dump(), R"({"session_id":"s1","workspace_path":")" +
                                          (root / "s1" / "workspace").string() +
                                          R"(","execution_count":0})");
}

TEST_F(SessionStoreTest, MarkRetrievedRefreshesUpdatedAtOnly) {
  ASSERT_TRUE(store.OpenOrCreate("s1").ok());
  ASSERT_TRUE(store.RecordExecution("s1").ok());
  clock.Advance(1h);
  auto m = store.MarkRetrieved("s1");
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->updated_at, "2026-11-26T07:40:01.000000Z");
  EXPECT_EQ(m->created_at, "2026-11-26T06:40:01.000000Z");
  EXPECT_EQ(m->execution_count, 1u);  // not an execution
  auto read = store.ReadMetadata("s1");
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->updated_at, m->updated_at);
  const auto records = log->records();
  ASSERT_FALSE(records.empty());
  EXPECT_EQ(records.back().event, TelemetryEvent::kSessionMetadataUpdated);
  EXPECT_EQ(records.back().fields.dump(),
            R"({"session_id":"s1","updated_at":"2026-11-26T07:40:01.000000Z",)"
            R"("execution_count":1,"reason":"retrieval"})");
  auto missing = store.MarkRetrieved("nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

// What a crash leaves under the root (a staging directory never renamed
// into place, a renamed session whose removal did not finish) is swept once
// old enough; younger ones may be another process's work in progress.
TEST_F(SessionStoreTest, SweepLeftoversRemovesOldStagingAndDeletingDirectories) {
  EXPECT_EQ(store.SweepLeftovers().value(), 0u);  // no root yet
  ASSERT_TRUE(store.OpenOrCreate("kept").ok());
  for (const std::string name : {"+staging-old", "+deleting-old", "+staging-new"}) {
    fs::create_directories(root / name / "workspace" / "sub");
    std::ofstream(root / name / "workspace" / "sub" / "f.txt") << "x";
  }
  const timespec old_times[2] = {{0, UTIME_OMIT}, {time(nullptr) - 3600, 0}};
  for (const std::string name : {"+staging-old", "+deleting-old"}) {
    ASSERT_EQ(::utimensat(AT_FDCWD, (root / name).c_str(), old_times, 0), 0);
  }
  auto swept = store.SweepLeftovers(std::chrono::seconds(60));
  ASSERT_TRUE(swept.ok()) << swept.status().message();
  EXPECT_EQ(*swept, 2u);
  EXPECT_EQ(Entries(root), (std::vector<std::string>{"+staging-new", "kept"}));
  // Pruning sweeps too (with the default age: the young one stays).
  ASSERT_EQ(::utimensat(AT_FDCWD, (root / "+staging-new").c_str(), old_times, 0), 0);
  ASSERT_TRUE(store.PruneSessions(std::chrono::hours(1), /*dry_run=*/true).ok());
  EXPECT_EQ(Entries(root), std::vector<std::string>{"kept"});
}

// A write a kill cut short leaves its temporary file in the session
// directory (never in the workspace, which the user lists); the sweep
// removes it once old enough, and nothing else there.
TEST_F(SessionStoreTest, SweepLeftoversRemovesTemporaryFilesOfInterruptedWrites) {
  ASSERT_TRUE(store.OpenOrCreate("s").ok());
  ASSERT_TRUE(store.WriteFile("s", "data.txt", "whole").ok());
  std::ofstream(root / "s" / ".snakecage-tmp-old") << "half";
  std::ofstream(root / "s" / ".snakecage-tmp-new") << "in progress";
  const timespec old_times[2] = {{0, UTIME_OMIT}, {time(nullptr) - 3600, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (root / "s" / ".snakecage-tmp-old").c_str(), old_times, 0), 0);
  EXPECT_EQ(store.ListFiles("s").value(), std::vector<std::string>{"data.txt"});
  auto swept = store.SweepLeftovers(std::chrono::seconds(60));
  ASSERT_TRUE(swept.ok()) << swept.status().message();
  EXPECT_EQ(*swept, 1u);
  EXPECT_FALSE(fs::exists(root / "s" / ".snakecage-tmp-old"));
  EXPECT_TRUE(fs::exists(root / "s" / ".snakecage-tmp-new"));
  EXPECT_EQ(store.ReadFile("s", "data.txt").value(), "whole");
  EXPECT_TRUE(store.ReadMetadata("s").ok());
}

TEST_F(SessionStoreTest, UuidOnlyModeAcceptsUuids) {
  const std::string id = NewSessionId();
  auto opened = store.OpenOrCreate(id, /*allow_non_uuid=*/false);
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  EXPECT_TRUE(opened->created);
}

TEST_F(SessionStoreTest, MetadataJsonLivesOutsideTheWorkspace) {
  ASSERT_TRUE(store.OpenOrCreate("meta").ok());
  const std::string text = Slurp(root / "meta" / "session.json");
  EXPECT_EQ(text,
            "{\n"
            "  \"session_id\": \"meta\",\n"
            "  \"created_at\": \"2026-11-26T06:40:01.000000Z\",\n"
            "  \"updated_at\": \"2026-11-26T06:40:01.000000Z\",\n"
            "  \"version\": 1,\n"
            "  \"execution_count\": 0\n"
            "}\n");
  EXPECT_TRUE(fs::is_empty(root / "meta" / "workspace"));
  auto files = store.ListFiles("meta");
  ASSERT_TRUE(files.ok());
  EXPECT_TRUE(files->empty());
  auto read = store.ReadFile("meta", "session.json");
  EXPECT_EQ(read.status().code(), StatusCode::kNotFound);
}

TEST_F(SessionStoreTest, ReadMetadataOfMissingSessionIsNotFound) {
  auto m = store.ReadMetadata("ghost");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(m.status().message(), "session \"ghost\" not found");
  ASSERT_TRUE(store.OpenOrCreate("real").ok());
  EXPECT_EQ(store.ReadMetadata("ghost").status().code(), StatusCode::kNotFound);
}

TEST_F(SessionStoreTest, CorruptMetadataIsAnInternalErrorNamingTheFile) {
  ASSERT_TRUE(store.OpenOrCreate("bad").ok());
  Spit(root / "bad" / "session.json", "{\"session_id\": \"bad\"}");
  auto m = store.ReadMetadata("bad");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kInternal);
  EXPECT_NE(m.status().message().find((root / "bad" / "session.json").string()), std::string::npos)
      << m.status().message();
  Spit(
      root / "bad" / "session.json",
      R"({"session_id":"other","created_at":"2026-11-26T06:40:01Z","updated_at":"2026-11-26T06:40:01Z","version":1,"execution_count":0})");
  EXPECT_EQ(store.ReadMetadata("bad").status().code(), StatusCode::kInternal);
  Spit(
      root / "bad" / "session.json",
      R"({"session_id":"bad","created_at":"2026-11-26T06:40:01Z","updated_at":"2026-11-26T06:40:01Z","version":1,"execution_count":7})");
  auto ok = store.ReadMetadata("bad");
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->execution_count, 7u);
}

TEST_F(SessionStoreTest, TwoThreadsRacingOnOpenOrCreateExactlyOneCreates) {
  for (int round = 0; round < 30; ++round) {
    const std::string id = "race-" + std::to_string(round);
    std::atomic<int> ready{0};
    std::atomic<bool> go{false};
    bool created[2] = {false, false};
    bool ok[2] = {false, false};
    std::vector<std::thread> threads;
    for (int t = 0; t < 2; ++t) {
      threads.emplace_back([&, t] {
        ready.fetch_add(1);
        while (!go.load()) {
        }
        auto opened = store.OpenOrCreate(id);
        ok[t] = opened.ok();
        created[t] = opened.ok() && opened->created;
      });
    }
    while (ready.load() < 2) {
    }
    go.store(true);
    for (auto& th : threads) th.join();
    ASSERT_TRUE(ok[0] && ok[1]) << round;
    EXPECT_EQ(int(created[0]) + int(created[1]), 1) << round;
  }
  // No staging directories left behind; 30 created, 30 retrieved.
  const auto entries = Entries(root);
  EXPECT_EQ(entries.size(), 30u);
  for (const auto& e : entries) EXPECT_EQ(e.rfind("race-", 0), 0u) << e;
  EXPECT_EQ(log->records(TelemetryEvent::kSessionCreated).size(), 30u);
  EXPECT_EQ(log->records(TelemetryEvent::kSessionRetrieved).size(), 30u);
}

TEST_F(SessionStoreTest, RecordExecutionIncrementsAndUpdatesUpdatedAt) {
  ASSERT_TRUE(store.OpenOrCreate("run").ok());
  clock.Advance(5s);
  auto m1 = store.RecordExecution("run");
  ASSERT_TRUE(m1.ok()) << m1.status().message();
  EXPECT_EQ(m1->execution_count, 1u);
  EXPECT_EQ(m1->created_at, "2026-11-26T06:40:01.000000Z");
  EXPECT_EQ(m1->updated_at, "2026-11-26T06:40:06.000000Z");
  clock.Advance(250ms);
  auto m2 = store.RecordExecution("run");
  ASSERT_TRUE(m2.ok());
  EXPECT_EQ(m2->execution_count, 2u);
  EXPECT_EQ(m2->updated_at, "2026-11-26T06:40:06.250000Z");
  auto on_disk = store.ReadMetadata("run");
  ASSERT_TRUE(on_disk.ok());
  EXPECT_EQ(on_disk->execution_count, 2u);
  EXPECT_EQ(on_disk->updated_at, "2026-11-26T06:40:06.250000Z");
  // No temporary files left next to session.json; the updates are records
  // in session.activity, session.json as it was made.
  EXPECT_EQ(Entries(root / "run"),
            (std::vector<std::string>{"logs", "session.activity", "session.json", "session.lock",
                                      "workspace"}));
  EXPECT_EQ(fs::file_size(root / "run" / "session.activity"), 2u * 64u);
  EXPECT_NE(Slurp(root / "run" / "session.json").find("\"execution_count\": 0"),
            std::string::npos);

  const auto updates = log->records(TelemetryEvent::kSessionMetadataUpdated);
  ASSERT_EQ(updates.size(), 2u);
  EXPECT_EQ(
      updates[1].fields.dump(),
      R"({"session_id":"run","updated_at":"2026-11-26T06:40:06.250000Z","execution_count":2,"reason":"execution"})");
  EXPECT_EQ(store.RecordExecution("ghost").status().code(), StatusCode::kNotFound);
}

TEST_F(SessionStoreTest, ConcurrentRecordExecutionLosesNoIncrement) {
  ASSERT_TRUE(store.OpenOrCreate("busy").ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) ASSERT_TRUE(store.RecordExecution("busy").ok());
    });
  }
  for (auto& th : threads) th.join();
  auto m = store.ReadMetadata("busy");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->execution_count, 100u);
}

TEST_F(SessionStoreTest, ExistsSaysWhetherTheSessionIsThere) {
  EXPECT_FALSE(store.Exists("later"));
  ASSERT_TRUE(store.OpenOrCreate("later").ok());
  EXPECT_TRUE(store.Exists("later"));
  EXPECT_FALSE(store.Exists("../later"));
  fs::remove(root / "later" / "session.json");
  EXPECT_FALSE(store.Exists("later"));  // a directory without metadata is none
  ASSERT_TRUE(store.DeleteSession("later").ok());
  EXPECT_FALSE(store.Exists("later"));
}

// Every kActivityFoldRecords updates the records are folded into
// session.json; the count goes on across folds.
TEST_F(SessionStoreTest, ActivityRecordsAreFoldedIntoTheMetadataFile) {
  ASSERT_TRUE(store.OpenOrCreate("many").ok());
  for (size_t i = 0; i < session::kActivityFoldRecords + 10; ++i) {
    clock.Advance(1s);
    ASSERT_TRUE(store.RecordExecution("many").ok()) << i;
  }
  auto m = store.ReadMetadata("many");
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->execution_count, session::kActivityFoldRecords + 10);
  // The fold's update went into session.json, the 9 after it are records.
  EXPECT_EQ(fs::file_size(root / "many" / "session.activity"), 9u * 64u);
  EXPECT_NE(Slurp(root / "many" / "session.json")
                .find("\"execution_count\": " + std::to_string(session::kActivityFoldRecords + 1)),
            std::string::npos);
  EXPECT_EQ(m->updated_at, FormatIsoUtc(clock.now()));
}

// A record a crash cut short (or left as zeros) is ignored, then cut off by
// the next update, which goes on from the last whole one.
TEST_F(SessionStoreTest, ARecordCutShortIsIgnoredAndRepaired) {
  ASSERT_TRUE(store.OpenOrCreate("torn").ok());
  ASSERT_TRUE(store.RecordExecution("torn").ok());
  clock.Advance(1s);
  ASSERT_TRUE(store.RecordExecution("torn").ok());
  const fs::path activity = root / "torn" / "session.activity";
  {
    std::ofstream out(activity, std::ios::app | std::ios::binary);
    out << std::string(64, '\0') << "00000000000000000009 2026";  // zeros, then a torn one
  }
  auto m = store.ReadMetadata("torn");
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->execution_count, 2u);
  EXPECT_EQ(m->updated_at, "2026-11-26T06:40:02.000000Z");
  clock.Advance(1s);
  auto next = store.RecordExecution("torn");
  ASSERT_TRUE(next.ok()) << next.status().message();
  EXPECT_EQ(next->execution_count, 3u);
  EXPECT_EQ(fs::file_size(activity), 4u * 64u);  // two, the zeros, the new one
  EXPECT_EQ(store.ReadMetadata("torn")->execution_count, 3u);
}

TEST_F(SessionStoreTest, SaveExecutionLogs) {
  ASSERT_TRUE(store.OpenOrCreate("logs").ok());
  ASSERT_TRUE(store.SaveExecutionLogs("logs", 3, "out\n", "err\n").ok());
  EXPECT_EQ(Slurp(root / "logs" / "logs" / "3.stdout"), "out\n");
  EXPECT_EQ(Slurp(root / "logs" / "logs" / "3.stderr"), "err\n");
  EXPECT_EQ(Entries(root / "logs" / "logs"), (std::vector<std::string>{"3.stderr", "3.stdout"}));
  EXPECT_EQ(store.SaveExecutionLogs("logs", 0, "", "").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store.SaveExecutionLogs("ghost", 1, "", "").code(), StatusCode::kNotFound);
}

TEST_F(SessionStoreTest, ListSessionsSkipsWhatIsNotASession) {
  auto empty = store.ListSessions();
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  ASSERT_TRUE(store.OpenOrCreate("bbb").ok());
  ASSERT_TRUE(store.OpenOrCreate("aaa").ok());
  // A server's one-off session: a session on disk, but not one to list.
  ASSERT_TRUE(store.OpenOrCreate(std::string(kOneOffSessionPrefix) + "x").ok());
  fs::create_directory(root / "no-metadata");
  fs::create_directory(root / "+staging-0123");
  fs::create_directory(root / "not valid");
  Spit(root / "a-file", "x");
  fs::create_directory_symlink(root / "aaa", root / "link-to-aaa");
  auto list = store.ListSessions();
  ASSERT_TRUE(list.ok()) << list.status().message();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].metadata.session_id, "aaa");
  EXPECT_EQ((*list)[0].workspace_path, root / "aaa" / "workspace");
  EXPECT_EQ((*list)[1].metadata.session_id, "bbb");
}

// ---- locks --------------------------------------------------------------------

TEST_F(SessionStoreTest, LockExcludesASecondThreadUntilReleased) {
  ASSERT_TRUE(store.OpenOrCreate("locked").ok());
  auto held = store.LockForExecution("locked");
  ASSERT_TRUE(held.ok()) << held.status().message();
  std::atomic<bool> acquired{false};
  std::thread other([&] {
    auto second = store.LockForExecution("locked");
    EXPECT_TRUE(second.ok());
    acquired.store(true);
  });
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(acquired.load());
  { SessionLock release = std::move(*held); }
  other.join();
  EXPECT_TRUE(acquired.load());
}

TEST_F(SessionStoreTest, LockExcludesAForkedChild) {
  ASSERT_TRUE(store.OpenOrCreate("shared").ok());
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(ready[0]);
    auto lock = store.LockForExecution("shared");
    if (!lock.ok()) ::_exit(2);
    const char c = 'x';
    if (::write(ready[1], &c, 1) != 1) ::_exit(3);
    std::this_thread::sleep_for(500ms);
    ::_exit(0);  // exiting releases the lock
  }
  ::close(ready[1]);
  char c;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ::close(ready[0]);

  // While the child holds it: pruning sees the session in use ...
  clock.Advance(48h);
  auto report = store.PruneSessions(24h, /*dry_run=*/true);
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->skipped.size(), 1u);
  EXPECT_EQ(report->skipped[0].reason, "in use");
  EXPECT_TRUE(report->deleted.empty());
  // ... and our lock waits for the child to exit.
  const auto start = std::chrono::steady_clock::now();
  auto mine = store.LockForExecution("shared");
  const auto waited = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(mine.ok());
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_GE(waited, 300ms);
}

TEST_F(SessionStoreTest, LockOfMissingSessionIsNotFound) {
  EXPECT_EQ(store.LockForExecution("ghost").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store.LockForExecution("a/b").status().code(), StatusCode::kInvalidArgument);
}

// ---- deletion -------------------------------------------------------------------

TEST_F(SessionStoreTest, DeleteSessionIsIdempotent) {
  EXPECT_TRUE(store.DeleteSession("never").ok());  // no root at all
  EXPECT_FALSE(fs::exists(root));
  ASSERT_TRUE(store.OpenOrCreate("gone").ok());
  ASSERT_TRUE(store.WriteFile("gone", "dir/f.bin", std::string(1000, 'z')).ok());
  const uint64_t bytes = RegularBytes(root / "gone");
  ASSERT_TRUE(store.DeleteSession("gone").ok());
  EXPECT_FALSE(fs::exists(root / "gone"));
  EXPECT_TRUE(store.DeleteSession("gone").ok());
  EXPECT_TRUE(store.DeleteSession("never").ok());
  EXPECT_EQ(Entries(root), std::vector<std::string>{});  // no "+deleting-" leftovers
  const auto deleted = log->records(TelemetryEvent::kSessionDeleted);
  ASSERT_EQ(deleted.size(), 1u);
  EXPECT_EQ(deleted[0].fields.dump(),
            R"({"session_id":"gone","reclaimed_bytes":)" + std::to_string(bytes) + "}");
  EXPECT_EQ(store.DeleteSession("..").code(), StatusCode::kInvalidArgument);
}

TEST_F(SessionStoreTest, DeleteSessionWaitsForTheExecutionLock) {
  ASSERT_TRUE(store.OpenOrCreate("running").ok());
  auto held = store.LockForExecution("running");
  ASSERT_TRUE(held.ok());
  std::atomic<bool> done{false};
  std::thread deleter([&] {
    EXPECT_TRUE(store.DeleteSession("running").ok());
    done.store(true);
  });
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(done.load());
  EXPECT_TRUE(fs::exists(root / "running" / "workspace"));
  { SessionLock release = std::move(*held); }
  deleter.join();
  EXPECT_TRUE(done.load());
  EXPECT_FALSE(fs::exists(root / "running"));
}

// ---- pruning ----------------------------------------------------------------------

class PruneTest : public StoreFixture {
 protected:
  void SetUp() override {
    // Two old sessions (day 0) with files, one recent (day 9); now is day 10.
    ASSERT_TRUE(store.OpenOrCreate("old-a").ok());
    ASSERT_TRUE(store.WriteFile("old-a", "data/big.bin", std::string(100, 'a')).ok());
    ASSERT_TRUE(store.OpenOrCreate("old-b").ok());
    ASSERT_TRUE(store.WriteFile("old-b", "notes.txt", std::string(23, 'b')).ok());
    ASSERT_TRUE(::symlink("/etc/passwd", (store.WorkspacePath("old-b") / "link").c_str()) == 0);
    clock.Advance(24h * 9);
    ASSERT_TRUE(store.OpenOrCreate("recent").ok());
    clock.Advance(24h);
  }
  uint64_t Expected() {
    // Regular files only: the symlink (and /etc/passwd) do not count.
    const uint64_t json_a = fs::file_size(root / "old-a" / "session.json");
    const uint64_t json_b = fs::file_size(root / "old-b" / "session.json");
    // One metadata record each, for the file written.
    const uint64_t activity_a = fs::file_size(root / "old-a" / "session.activity");
    const uint64_t activity_b = fs::file_size(root / "old-b" / "session.activity");
    EXPECT_EQ(activity_a, 64u);
    EXPECT_EQ(activity_b, 64u);
    const uint64_t expected = 100 + 23 + json_a + json_b + activity_a + activity_b;
    EXPECT_EQ(expected, RegularBytes(root / "old-a") + RegularBytes(root / "old-b"));
    return expected;
  }
};

TEST_F(PruneTest, DryRunReportsButDeletesNothing) {
  const uint64_t expected = Expected();
  auto report = store.PruneSessions(24h, /*dry_run=*/true);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_TRUE(report->dry_run);
  EXPECT_EQ(report->deleted, (std::vector<std::string>{"old-a", "old-b"}));
  ASSERT_EQ(report->skipped.size(), 1u);
  EXPECT_EQ(report->skipped[0].session_id, "recent");
  EXPECT_EQ(report->skipped[0].reason, "recent");
  EXPECT_TRUE(report->errors.empty());
  EXPECT_EQ(report->reclaimed_bytes, expected);
  EXPECT_TRUE(fs::exists(root / "old-a" / "workspace" / "data" / "big.bin"));
  EXPECT_TRUE(fs::exists(root / "old-b"));
  EXPECT_TRUE(fs::exists(root / "recent"));

  const auto pruned = log->records(TelemetryEvent::kSessionPruneDeleted);
  ASSERT_EQ(pruned.size(), 2u);
  EXPECT_EQ(pruned[0].fields["dry_run"], true);
  const auto completed = log->records(TelemetryEvent::kSessionPruneCompleted);
  ASSERT_EQ(completed.size(), 1u);
  EXPECT_EQ(
      completed[0].fields.dump(),
      R"({"dry_run":true,"deleted_count":2,"skipped_count":1,"error_count":0,"reclaimed_bytes":)" +
          std::to_string(expected) + "}");
}

TEST_F(PruneTest, DeletesOldSessionsOnly) {
  const uint64_t expected = Expected();
  const size_t before = log->records().size();
  auto report = store.PruneSessions(24h, /*dry_run=*/false);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_FALSE(report->dry_run);
  EXPECT_EQ(report->deleted, (std::vector<std::string>{"old-a", "old-b"}));
  EXPECT_EQ(report->reclaimed_bytes, expected);
  EXPECT_EQ(Entries(root), std::vector<std::string>{"recent"});
  EXPECT_TRUE(fs::exists("/etc/passwd"));

  auto records = log->records();
  records.erase(records.begin(), records.begin() + static_cast<long>(before));
  EXPECT_EQ(Names(records),
            (std::vector<std::string>{"session.prune.started", "session.prune.candidate",
                                      "session.prune.deleted", "session.prune.candidate",
                                      "session.prune.deleted", "session.prune.skipped",
                                      "session.prune.completed"}));
  EXPECT_EQ(
      records[0].fields.dump(),
      R"({"older_than_seconds":86400.0,"dry_run":false,"cutoff":"2026-12-05T06:40:01.000000Z"})");
  EXPECT_EQ(
      records[1].fields.dump(),
      R"({"session_id":"old-a","updated_at":"2026-11-26T06:40:01.000000Z","age_seconds":864000.0})");
  EXPECT_EQ(records[5].fields.dump(), R"({"session_id":"recent","reason":"recent"})");

  // Running again finds nothing old.
  auto again = store.PruneSessions(24h, false);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->deleted.empty());
  EXPECT_EQ(again->reclaimed_bytes, 0u);
}

TEST_F(PruneTest, SessionInUseIsSkipped) {
  auto held = store.LockForExecution("old-a");
  ASSERT_TRUE(held.ok());
  const uint64_t json_b = fs::file_size(root / "old-b" / "session.json") +
                          fs::file_size(root / "old-b" / "session.activity");
  auto report = store.PruneSessions(24h, /*dry_run=*/false);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->deleted, std::vector<std::string>{"old-b"});
  EXPECT_EQ(report->reclaimed_bytes, 23 + json_b);
  ASSERT_EQ(report->skipped.size(), 2u);
  EXPECT_EQ(report->skipped[0].session_id, "old-a");
  EXPECT_EQ(report->skipped[0].reason, "in use");
  EXPECT_EQ(report->skipped[1].session_id, "recent");
  EXPECT_TRUE(fs::exists(root / "old-a" / "workspace" / "data" / "big.bin"));
}

TEST_F(PruneTest, UnreadableMetadataIsSkippedAndTheBoundaryIsRecent) {
  Spit(root / "old-b" / "session.json", "not json");
  // "recent" was updated exactly 24h ago: not older than 24h.
  auto report = store.PruneSessions(24h, /*dry_run=*/true);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->deleted, std::vector<std::string>{"old-a"});
  ASSERT_EQ(report->skipped.size(), 2u);
  EXPECT_EQ(report->skipped[0].session_id, "old-b");
  EXPECT_EQ(report->skipped[0].reason, "unreadable metadata");
  EXPECT_EQ(report->skipped[1].session_id, "recent");
  EXPECT_EQ(report->skipped[1].reason, "recent");
  // One microsecond shorter and "recent" is old enough.
  auto shorter = store.PruneSessions(24h - 1us, /*dry_run=*/true);
  ASSERT_TRUE(shorter.ok());
  EXPECT_EQ(shorter->deleted, (std::vector<std::string>{"old-a", "recent"}));
}

TEST(PruneMissingRootTest, NoRootIsAnEmptyReport) {
  testing::TempDir tmp;
  SessionStore store(tmp.path() / "nothing-here");
  auto report = store.PruneSessions(std::chrono::hours(1), false);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->deleted.empty());
  EXPECT_TRUE(report->skipped.empty());
  EXPECT_EQ(report->reclaimed_bytes, 0u);
  EXPECT_FALSE(fs::exists(tmp.path() / "nothing-here"));
}

}  // namespace
}  // namespace snakecage
