// `snakecage repl` as a person uses it: through a pseudo-terminal, typing
// lines and reading what the terminal shows.
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "cli/cli_fixture.h"

namespace snakecage::cli_test {
namespace {

using Clock = std::chrono::steady_clock;

// The REPL on the far side of a pseudo-terminal.
class Terminal {
 public:
  Terminal(const fs::path& root, const std::string& session) {
    pid_ = forkpty(&master_, nullptr, nullptr, nullptr);
    if (pid_ == 0) {
      const std::string root_s = root.string();
      execl(SNAKECAGE_CLI, SNAKECAGE_CLI, "repl", "--session", session.c_str(),
            "--workspace-root", root_s.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
  }
  ~Terminal() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (master_ >= 0) close(master_);
  }
  bool started() const { return pid_ > 0 && master_ >= 0; }

  void Type(const std::string& text) {
    ASSERT_EQ(write(master_, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  }
  // Everything shown until `want` appears after what was read before (or
  // 20 s pass); the part after `want` is kept for the next call.
  std::string ReadUntil(const std::string& want) {
    const auto deadline = Clock::now() + std::chrono::seconds(20);
    size_t at;
    while ((at = buffer_.find(want)) == std::string::npos && Clock::now() < deadline) {
      pollfd p{master_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      char buf[4096];
      const ssize_t n = read(master_, buf, sizeof buf);
      if (n <= 0) break;
      buffer_.append(buf, static_cast<size_t>(n));
    }
    if (at == std::string::npos) {
      ADD_FAILURE() << "no \"" << want << "\" in:\n" << buffer_;
      return std::exchange(buffer_, "");
    }
    std::string shown = buffer_.substr(0, at + want.size());
    buffer_.erase(0, at + want.size());
    return shown;
  }
  int Wait() {
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

 private:
  pid_t pid_ = -1;
  int master_ = -1;
  std::string buffer_;
};

TEST_F(CliTest, ReplKeepsDefinitionsAndRollsBackAFailedInput) {
  Terminal t(dir_ / "ws", "repl-1");
  ASSERT_TRUE(t.started());
  EXPECT_NE(t.ReadUntil(">>> ").find("Ctrl-D leaves"), std::string::npos);
  // A definition over several lines: the prompt asks for more until the
  // block is closed by an empty line.
  t.Type("def area(r):\r");
  t.ReadUntil("... ");
  t.Type("    return round(3.14159 * r * r, 2)\r");
  t.ReadUntil("... ");
  t.Type("\r");
  EXPECT_NE(t.ReadUntil(">>> ").find("[fresh state: the session had no kept state"),
            std::string::npos);
  // An expression's value is shown, as at Python's own prompt.
  t.Type("area(2)\r");
  std::string shown = t.ReadUntil(">>> ");
  EXPECT_NE(shown.find("12.57"), std::string::npos) << shown;
  EXPECT_NE(shown.find("[state kept; fuel "), std::string::npos) << shown;
  // A failing input changes the state, then fails: rolled back.
  t.Type("area = None; 1 / 0\r");
  shown = t.ReadUntil(">>> ");
  EXPECT_NE(shown.find("ZeroDivisionError: division by zero"), std::string::npos) << shown;
  EXPECT_NE(shown.find("[rolled back: the state is as it was before; fuel "), std::string::npos)
      << shown;
  t.Type("area(1)\r");
  shown = t.ReadUntil(">>> ");
  EXPECT_NE(shown.find("3.14"), std::string::npos) << shown;
  EXPECT_EQ(shown.find("TypeError"), std::string::npos) << shown;
  // Ctrl-D leaves.
  t.Type("\x04");
  const int status = t.Wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

// A repl killed outright saves nothing: the next run of the session says
// its state was lost, rather than that there never was one.
TEST_F(CliTest, AStateLostInACrashIsReportedAsLost) {
  {
    Terminal t(dir_ / "ws", "crash");
    ASSERT_TRUE(t.started());
    t.ReadUntil(">>> ");
    t.Type("x = 1\r");
    EXPECT_NE(t.ReadUntil(">>> ").find("[fresh state"), std::string::npos);
  }  // SIGKILL: no save
  Outcome o = Cli({"run", "--json", "--keep-state", "--session", "crash", "--workspace-root",
                   (dir_ / "ws").string(), "-c", "print('x' in globals())"});
  ASSERT_EQ(o.status, 0) << o.err;
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(o.out);
  EXPECT_EQ(j["stdout"], "False\n");
  EXPECT_EQ(j["metadata"]["state"], "fresh");
  EXPECT_NE(j["metadata"]["state_reason"].get<std::string>().find("ended without saving it"),
            std::string::npos)
      << j["metadata"]["state_reason"];
}

TEST_F(CliTest, ReplNeedsASession) {
  Outcome o = Cli({"repl"});
  EXPECT_EQ(o.status, 2);
  EXPECT_NE(o.err.find("--session"), std::string::npos) << o.err;
  Outcome bad = Cli({"repl", "--session", "../x"}, "");
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.err.find("session"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace snakecage::cli_test
