// The CLI as a user runs it: a subprocess with its stdout, stderr and exit
// status, with TMPDIR inside the test's own directory.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace snakecage::cli_test {

namespace fs = std::filesystem;

struct Outcome {
  int status = -1;
  std::string out, err;
};

class CliTest : public ::testing::Test {
 protected:
  CliTest() {
    char tmpl[] = "/tmp/snakecage-cli-test-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) std::abort();
    dir_ = tmpl;
    fs::create_directories(dir_ / "tmp");
  }
  ~CliTest() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Runs the CLI with TMPDIR inside this test's directory (so workspaces can
  // be counted), in cwd_ when set, and `input` on stdin. Safe to call from
  // several threads at once: the child only calls async-signal-safe
  // functions, and every pipe is close-on-exec.
  Outcome Cli(std::vector<std::string> args, const std::string& input = "") {
    int in[2], out[2], err[2];
    if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) std::abort();
    std::vector<std::string> env_strings{"TMPDIR=" + (dir_ / "tmp").string()};
    for (char** e = environ; *e != nullptr; ++e) {
      if (std::string_view(*e).rfind("TMPDIR=", 0) != 0) env_strings.emplace_back(*e);
    }
    std::vector<char*> envp;
    for (auto& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::vector<char*> argv{const_cast<char*>(SNAKECAGE_CLI)};
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const std::string cwd = cwd_.string();
    pid_t pid = fork();
    if (pid == 0) {
      dup2(in[0], 0);
      dup2(out[1], 1);
      dup2(err[1], 2);
      if (!cwd.empty() && chdir(cwd.c_str()) != 0) _exit(126);
      execve(SNAKECAGE_CLI, argv.data(), envp.data());
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    close(err[1]);
    if (!input.empty()) {
      ssize_t n = write(in[1], input.data(), input.size());
      (void)n;
    }
    close(in[1]);
    Outcome o;
    pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
    int open_fds = 2;
    char buf[65536];
    while (open_fds > 0) {
      poll(fds, 2, -1);
      for (int i = 0; i < 2; ++i) {
        if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
        ssize_t n = read(fds[i].fd, buf, sizeof buf);
        if (n <= 0) {
          close(fds[i].fd);
          fds[i].fd = -1;
          --open_fds;
        } else {
          (i == 0 ? o.out : o.err).append(buf, static_cast<size_t>(n));
        }
      }
    }
    int status = 0;
    waitpid(pid, &status, 0);
    o.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return o;
  }

  nlohmann::ordered_json Json(std::vector<std::string> args) {
    args.insert(args.begin(), {"run", "--json"});
    Outcome o = Cli(args);
    EXPECT_EQ(o.status, 0) << o.err;
    return nlohmann::ordered_json::parse(o.out);
  }

  void ExpectUsageError(std::vector<std::string> args, const std::string& names) {
    Outcome o = Cli(args);
    EXPECT_EQ(o.status, 2) << o.out << o.err;
    EXPECT_EQ(o.out, "");
    ASSERT_FALSE(o.err.empty());
    EXPECT_EQ(o.err.find('\n'), o.err.size() - 1) << "more than one line: " << o.err;
    EXPECT_NE(o.err.find(names), std::string::npos) << o.err;
    EXPECT_TRUE(fs::is_empty(dir_ / "tmp")) << "a usage error created a workspace";
  }

  fs::path dir_;
  fs::path cwd_;  // the CLI's working directory; empty: the test's own
};

}  // namespace snakecage::cli_test
