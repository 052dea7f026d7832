// Crash consistency: a process working on the store (creating and deleting
// sessions, writing and deleting files, updating metadata, pruning) is
// killed with SIGKILL at random points, many times over. After every kill a
// fresh store must find every session readable (metadata, file list, every
// file whole, never half written), and what the kill left half done must
// be the kind of leftover SweepLeftovers removes.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "session_test_util.h"
#include "snakecage/session.h"

namespace snakecage {
namespace {

namespace fs = std::filesystem;
using testing::Content;
using testing::IsWhole;
using testing::Slurp;
using testing::TempDir;

constexpr int kSessions = 6;

std::string SessionName(uint32_t n) { return "s" + std::to_string(n % kSessions); }

// The child: store operations in a random order until it is killed.
[[noreturn]] void Work(const fs::path& root, uint32_t seed) {
  SessionStore store(root);
  std::mt19937 rng(seed);
  for (;;) {
    const uint32_t r = rng();
    const std::string id = SessionName(r >> 8);
    const std::string dir = "d" + std::to_string((r >> 12) % 3);
    switch (r % 8) {
      case 0:
        (void)store.OpenOrCreate(id);
        break;
      case 1:
      case 2: {
        const size_t size = (r >> 16) % 3 == 0 ? 300'000 : (r >> 16) % 5000;
        (void)store.WriteFile(id, dir + "/f" + std::to_string((r >> 20) % 4), Content(r, size));
        break;
      }
      case 3:
        (void)store.DeletePath(id, dir, /*recursive=*/true);
        break;
      case 4:
        (void)store.RecordExecution(id);
        break;
      case 5:
        (void)store.MarkRetrieved(id);
        break;
      case 6:
        if ((r >> 16) % 4 == 0) (void)store.DeleteSession(id);
        break;
      case 7:
        if ((r >> 16) % 8 == 0) (void)store.PruneSessions(std::chrono::seconds(0), false);
        break;
    }
  }
}

// Everything a user of the store can read, read; failures named.
std::vector<std::string> Unreadable(const fs::path& root) {
  std::vector<std::string> problems;
  SessionStore store(root);
  if (!fs::exists(root)) return problems;
  for (const auto& entry : fs::directory_iterator(root)) {
    const std::string name = entry.path().filename();
    if (name[0] == '+') continue;  // a staging or deleting leftover: checked below
    auto meta = store.ReadMetadata(name);
    if (!meta.ok()) {
      problems.push_back(name + ": metadata: " + meta.status().message());
      continue;
    }
    auto files = store.ListFiles(name);
    if (!files.ok()) {
      problems.push_back(name + ": list: " + files.status().message());
      continue;
    }
    for (const std::string& f : *files) {
      if (f.find(".snakecage-tmp-") != std::string::npos) {
        problems.push_back(name + ": a half-written file is visible: " + f);
        continue;
      }
      auto data = store.ReadFile(name, f);
      if (!data.ok()) {
        problems.push_back(name + "/" + f + ": " + data.status().message());
      } else if (!IsWhole(*data)) {
        problems.push_back(name + "/" + f + ": torn (" + std::to_string(data->size()) +
                           " bytes)");
      }
    }
  }
  return problems;
}

TEST(CrashConsistencyTest, KillingAWriterAtRandomPointsLeavesEverySessionReadable) {
  TempDir dir;
  const fs::path root = dir.path() / "sessions";
  std::mt19937 rng(20261204);
  constexpr int kKills = 80;
  for (int i = 0; i < kKills; ++i) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) Work(root, rng());
    // Let it get going, then kill it wherever it is.
    std::this_thread::sleep_for(std::chrono::microseconds(500 + rng() % 20'000));
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "round " << i;
    const std::vector<std::string> problems = Unreadable(root);
    for (const std::string& p : problems) ADD_FAILURE() << "round " << i << ": " << p;
    if (!problems.empty()) break;
  }
  // What the kills left half done goes with one sweep.
  SessionStore store(root);
  auto swept = store.SweepLeftovers(std::chrono::seconds(0));
  ASSERT_TRUE(swept.ok()) << swept.status().message();
  std::printf("%d kills left %zu leftovers behind\n", kKills, *swept);
  for (const auto& entry : fs::directory_iterator(root)) {
    EXPECT_NE(entry.path().filename().string()[0], '+') << entry.path();
  }
  auto sessions = store.ListSessions();
  ASSERT_TRUE(sessions.ok());
  EXPECT_EQ(sessions->size(),
            static_cast<size_t>(std::distance(fs::directory_iterator(root),
                                              fs::directory_iterator())));
}

}  // namespace
}  // namespace snakecage
