// Crash consistency of `snakecage serve` itself: the real binary serves two
// clients that create, reset and delete sessions, write and delete files
// and run code in sessions (each run updates the session's metadata), and
// is killed with SIGKILL at a random moment, many times over. After every
// kill a new server on the same --workspace-root must list every session
// directory it finds, list each one's files, and read every file the
// clients wrote whole (never torn). What a kill left half made is hidden
// from every session (a "+staging-"/"+deleting-" directory, a temporary
// file beside a workspace) and is what SweepLeftovers removes: the server
// does at start-up once it is a minute old (younger, it may belong to
// another server at work on the same root), the test at the end at once.
// (tests/session/crash_consistency_test.cc does the same to the store
// alone, at many more points.)
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "session/session_test_util.h"
#include "snakecage/session.h"

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr int kKills = 12;

using snakecage::testing::Content;
using snakecage::testing::IsWhole;

class ServeCrashTest : public ::testing::Test {
 protected:
  ServeCrashTest() { fs::create_directories(dir_.path() / "root"); }
  ~ServeCrashTest() override { Kill(); }

  // Starts the server on a free loopback port; returns it, or 0.
  int Start() {
    const fs::path err = dir_.path() / "stderr.txt";
    fs::remove(err);
    const std::string root = (dir_.path() / "root").string();
    const std::string log = (dir_.path() / "log.jsonl").string();
    pid_ = fork();
    if (pid_ == 0) {
      const int fd = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (fd < 0 || dup2(fd, 2) < 0) _exit(126);
      execl(SNAKECAGE_CLI, SNAKECAGE_CLI, "serve", "--listen", "127.0.0.1:0", "--workspace-root",
            root.c_str(), "--log-file", log.c_str(), "--rate-limit", "0", "--idle-expiry", "0",
            static_cast<char*>(nullptr));
      _exit(127);
    }
    const std::regex listening("listening on http://127\\.0\\.0\\.1:(\\d+)");
    for (int i = 0; i < 300; ++i) {
      std::ifstream in(err);
      const std::string text((std::istreambuf_iterator<char>(in)), {});
      std::smatch m;
      if (std::regex_search(text, m, listening)) return std::stoi(m[1]);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ADD_FAILURE() << "the server did not start";
    return 0;
  }
  void Kill(int sig = SIGKILL) {
    if (pid_ <= 0) return;
    ::kill(pid_, sig);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  snakecage::testing::TempDir dir_;
  pid_t pid_ = -1;
};

// One client's requests in a random order until the server stops answering.
void Drive(int port, uint32_t seed, const std::atomic<bool>& stop) {
  httplib::Client c("127.0.0.1", port);
  c.set_connection_timeout(std::chrono::seconds(2));
  c.set_read_timeout(std::chrono::seconds(10));
  std::mt19937 rng(seed);
  std::vector<std::string> ids;
  while (!stop.load()) {
    const uint32_t r = rng();
    if (ids.empty() || r % 10 == 0) {
      auto res = c.Post("/v1/sessions", "{}", "application/json");
      if (!res) return;
      if (res->status == 201) ids.push_back(Json::parse(res->body)["session_id"]);
      continue;
    }
    const std::string id = ids[(r >> 4) % ids.size()];
    const std::string name = "d" + std::to_string((r >> 8) % 3) + "/f" +
                             std::to_string((r >> 12) % 4) + ".txt";
    auto send = [&]() -> httplib::Result {
      switch (r % 10) {
        case 1: case 2: case 3:
          return c.Put("/v1/sessions/" + id + "/files/" + name,
                       Json{{"content", Content(r, 100 + (r >> 16) % 40000)}}.dump(),
                       "application/json");
        case 4:
          return c.Delete("/v1/sessions/" + id + "/files/" + name);
        case 5: case 6: case 7:
          return c.Post("/v1/execute",
                        Json{{"session_id", id},
                             {"code", "open('/app/g" + std::to_string(r % 5) + ".txt', 'w')"
                                      ".write('x' * " + std::to_string(r % 5000) + ")"}}
                            .dump(),
                        "application/json");
        case 8:
          return c.Post("/v1/sessions/" + id + "/reset", "{}", "application/json");
        default:
          ids.erase(std::find(ids.begin(), ids.end(), id));
          return c.Delete("/v1/sessions/" + id);
      }
    };
    const httplib::Result res = send();
    if (!res) return;  // killed
  }
}

TEST_F(ServeCrashTest, EverySessionReadsWholeAfterTheServerIsKilled) {
  std::mt19937 rng(20261204);
  size_t files_checked = 0, sessions_checked = 0;
  for (int round = 0; round < kKills; ++round) {
    const int port = Start();
    ASSERT_GT(port, 0);
    std::atomic<bool> stop{false};
    std::thread a(Drive, port, rng(), std::cref(stop));
    std::thread b(Drive, port, rng(), std::cref(stop));
    std::this_thread::sleep_for(std::chrono::milliseconds(100 + rng() % 900));
    Kill();
    stop = true;
    a.join();
    b.join();

    // A new server on the same root finds every session whole.
    const int again = Start();
    ASSERT_GT(again, 0);
    httplib::Client c("127.0.0.1", again);
    auto list = c.Get("/v1/sessions");
    ASSERT_TRUE(list);
    ASSERT_EQ(list->status, 200) << list->body;
    std::set<std::string> listed;
    const Json sessions = Json::parse(list->body);
    for (const Json& s : sessions["sessions"]) listed.insert(s["session_id"]);
    std::set<std::string> on_disk;
    for (const auto& entry : fs::directory_iterator(dir_.path() / "root")) {
      const std::string name = entry.path().filename().string();
      if (name.front() != '.' && name.front() != '+') on_disk.insert(name);
    }
    EXPECT_EQ(listed, on_disk) << "round " << round;
    for (const std::string& id : listed) {
      auto files = c.Get("/v1/sessions/" + id + "/files");
      ASSERT_TRUE(files);
      ASSERT_EQ(files->status, 200) << "round " << round << ", " << id << ": " << files->body;
      const Json names = Json::parse(files->body);
      for (const Json& f : names["files"]) {
        const std::string path = f.is_string() ? f.get<std::string>() : f["path"].get<std::string>();
        EXPECT_EQ(path.find(".snakecage-tmp-"), std::string::npos) << path;
        if (path.rfind("d", 0) != 0 || path.find('/') == std::string::npos) continue;
        auto read = c.Get("/v1/sessions/" + id + "/files/" + path);
        ASSERT_TRUE(read);
        ASSERT_EQ(read->status, 200) << path << ": " << read->body;
        EXPECT_TRUE(IsWhole(Json::parse(read->body)["content"].get<std::string>()))
            << "round " << round << ", " << id << "/" << path << " is torn";
        ++files_checked;
      }
      ++sessions_checked;
    }
    Kill();
  }
  // Every leftover is of the kinds the sweep knows, and it removes them all.
  ASSERT_TRUE(snakecage::SessionStore(dir_.path() / "root").SweepLeftovers(std::chrono::seconds(0)).ok());
  for (const auto& entry : fs::recursive_directory_iterator(dir_.path() / "root")) {
    const std::string name = entry.path().filename().string();
    EXPECT_FALSE(name.starts_with("+") || name.starts_with(".snakecage-tmp-")) << entry.path();
  }
  // The kills must have landed among real work, not before any.
  EXPECT_GT(sessions_checked, static_cast<size_t>(kKills));
  EXPECT_GT(files_checked, static_cast<size_t>(kKills));
  std::printf("checked %zu sessions and %zu files over %d kills\n", sessions_checked,
              files_checked, kKills);
}

// A server stopped with SIGTERM saves its sessions' kept Python state; the
// next server on the same root restores it. One stopped with SIGKILL saves
// nothing, and the next says the state was lost.
TEST_F(ServeCrashTest, KeptStateOutlivesAStopButNotAKill) {
  auto execute = [](int port, const std::string& id, const std::string& code) {
    httplib::Client c("127.0.0.1", port);
    auto res = c.Post("/v1/execute",
                      Json{{"session_id", id}, {"code", code}, {"keep_state", true}}.dump(),
                      "application/json");
    EXPECT_TRUE(res && res->status == 200) << (res ? res->body : "no answer");
    return res ? Json::parse(res->body) : Json();
  };
  int port = Start();
  ASSERT_NE(port, 0);
  httplib::Client c("127.0.0.1", port);
  const std::string id = Json::parse(c.Post("/v1/sessions", "{}", "application/json")->body)["session_id"];
  EXPECT_EQ(execute(port, id, "total = 40")["metadata"]["state"], "fresh");
  Kill(SIGTERM);
  port = Start();
  Json restored = execute(port, id, "total += 2\nprint(total)");
  EXPECT_EQ(restored["stdout"], "42\n");
  EXPECT_EQ(restored["metadata"]["state"], "restored") << restored.dump();
  Kill(SIGKILL);
  port = Start();
  Json lost = execute(port, id, "print('total' in globals())");
  EXPECT_EQ(lost["stdout"], "False\n");
  EXPECT_EQ(lost["metadata"]["state"], "fresh");
  EXPECT_NE(lost["metadata"]["state_reason"].get<std::string>().find("ended without saving it"),
            std::string::npos)
      << lost.dump();
}

}  // namespace
