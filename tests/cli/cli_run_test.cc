// `snakecage run` as a user runs it: a subprocess, its stdout, stderr and
// exit status.
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

namespace {

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
  // be counted) and `input` on stdin.
  Outcome Cli(std::vector<std::string> args, const std::string& input = "") {
    int in[2], out[2], err[2];
    if (pipe(in) || pipe(out) || pipe(err)) std::abort();
    pid_t pid = fork();
    if (pid == 0) {
      dup2(in[0], 0);
      dup2(out[1], 1);
      dup2(err[1], 2);
      for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1]}) close(fd);
      setenv("TMPDIR", (dir_ / "tmp").c_str(), 1);
      std::vector<char*> argv{const_cast<char*>(SNAKECAGE_CLI)};
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(SNAKECAGE_CLI, argv.data());
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
};

TEST_F(CliTest, InlineCodePassesOutputThrough) {
  Outcome o = Cli({"run", "-c", "import sys\nprint(2 + 2)\nprint('err', file=sys.stderr)"});
  EXPECT_EQ(o.status, 0);
  EXPECT_EQ(o.out, "4\n");
  EXPECT_EQ(o.err, "err\n");
}

TEST_F(CliTest, FileAndStdinSources) {
  std::ofstream(dir_ / "prog.py") << "print('from file')\n";
  EXPECT_EQ(Cli({"run", (dir_ / "prog.py").string()}).out, "from file\n");
  EXPECT_EQ(Cli({"run", "-"}, "print('from stdin')\n").out, "from stdin\n");
}

TEST_F(CliTest, JsonHasExactlyTheContractedShape) {
  nlohmann::ordered_json j = Json({"-c", "print('hi')"});
  std::vector<std::string> keys;
  for (auto& [k, v] : j.items()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"success", "exit_code", "stdout", "stderr",
                                            "fuel_consumed", "memory_used_bytes", "duration_ms",
                                            "metadata"}));
  std::vector<std::string> meta;
  for (auto& [k, v] : j["metadata"].items()) meta.push_back(k);
  EXPECT_EQ(meta, (std::vector<std::string>{
                      "trapped", "trap_reason", "trap_message", "stdout_truncated",
                      "stderr_truncated", "stdout_bytes", "stderr_bytes", "memory_pages",
                      "fuel_budget", "memory_limit_bytes", "timeout_seconds"}));
  EXPECT_EQ(j["success"], true);
  EXPECT_EQ(j["exit_code"], 0);
  EXPECT_EQ(j["stdout"], "hi\n");
  EXPECT_TRUE(j["fuel_consumed"].is_number_unsigned());
  EXPECT_TRUE(j["duration_ms"].is_number());
  EXPECT_EQ(j["memory_used_bytes"], j["metadata"]["memory_pages"].get<uint64_t>() * 65536);
  EXPECT_TRUE(j["metadata"]["trap_reason"].is_null());
  EXPECT_TRUE(j["metadata"]["timeout_seconds"].is_null());
  EXPECT_EQ(j["metadata"]["fuel_budget"], 5000000000u);
  EXPECT_EQ(j["metadata"]["memory_limit_bytes"], 128000000u);
}

TEST_F(CliTest, GuestExitStatusWithoutJsonAndZeroWithJson) {
  EXPECT_EQ(Cli({"run", "-c", "import sys; sys.exit(3)"}).status, 3);
  nlohmann::ordered_json j = Json({"-c", "import sys; sys.exit(3)"});
  EXPECT_EQ(j["exit_code"], 3);
  EXPECT_EQ(j["success"], false);
  EXPECT_EQ(Cli({"run", "-c", "raise KeyError('k')"}).status, 1);
}

TEST_F(CliTest, TimeoutIs124AndFuelTrapIs134) {
  // 5e9 operators (the default budget) take well under a second here, so a
  // busy loop needs a larger budget to live until the deadline.
  Outcome t = Cli({"run", "--timeout", "0.5", "--fuel", "9000000000000000000", "-c",
                   "while True: pass"});
  EXPECT_EQ(t.status, 124);
  EXPECT_NE(t.err.find("Execution trapped: Timeout"), std::string::npos) << t.err;
  Outcome f = Cli({"run", "--fuel", "1000000", "-c", "while True: pass"});
  EXPECT_EQ(f.status, 134);
  EXPECT_EQ(f.err, "Execution trapped: OutOfFuel\n");
  nlohmann::ordered_json j = Json({"--fuel", "1000000", "-c", "while True: pass"});
  EXPECT_EQ(j["metadata"]["trap_reason"], "out_of_fuel");
  EXPECT_EQ(j["fuel_consumed"], 1000000u);
  EXPECT_EQ(j["metadata"]["fuel_budget"], 1000000u);
  nlohmann::ordered_json tj = Json({"--timeout", "0.5", "-c", "import time; time.sleep(30)"});
  EXPECT_EQ(tj["metadata"]["trap_reason"], "timeout");
  EXPECT_EQ(tj["metadata"]["timeout_seconds"], 0.5);
  EXPECT_EQ(tj["exit_code"], 124);
}

TEST_F(CliTest, ArgumentsAfterDoubleDashAreSysArgv) {
  Outcome o = Cli({"run", "-c", "import sys; print(sys.argv[1:])", "--", "a", "--json", "-c"});
  EXPECT_EQ(o.out, "['a', '--json', '-c']\n") << o.err;
}

TEST_F(CliTest, EnvIsMergedOverTheDefaults) {
  Outcome o = Cli({"run", "--env", "GREETING=hi", "--env", "PYTHONHASHSEED=1", "-c",
                   "import os; print(sorted(os.environ.items()))"});
  EXPECT_EQ(o.out,
            "[('GREETING', 'hi'), ('LC_ALL', 'C.UTF-8'), ('PYTHONHASHSEED', '1'), "
            "('PYTHONIOENCODING', 'utf-8'), ('PYTHONUTF8', '1')]\n")
      << o.err;
}

TEST_F(CliTest, MountsAndDataAreReadOnly) {
  fs::create_directories(dir_ / "ref");
  fs::create_directories(dir_ / "data");
  std::ofstream(dir_ / "ref" / "r.txt") << "ref";
  std::ofstream(dir_ / "data" / "d.txt") << "data";
  Outcome o = Cli({"run", "--mount", (dir_ / "ref").string() + ":/ref:ro", "--data",
                   (dir_ / "data").string(), "-c",
                   "import errno\nprint(open('/ref/r.txt').read(), open('/data/d.txt').read())\n"
                   "try:\n    open('/data/d.txt', 'a')\nexcept OSError as e:\n"
                   "    print(errno.errorcode[e.errno])\n"});
  EXPECT_EQ(o.out, "ref data\nEROFS\n") << o.err;
}

TEST_F(CliTest, SizesAndCapsReachThePolicy) {
  nlohmann::ordered_json j = Json({"--memory", "64M", "--stdout-max", "10", "-c", "print('x' * 100)"});
  EXPECT_EQ(j["metadata"]["memory_limit_bytes"], 67108864u);
  EXPECT_EQ(j["metadata"]["stdout_truncated"], true);
  EXPECT_EQ(j["metadata"]["stdout_bytes"], 101u);
  EXPECT_EQ(j["stdout"], "xxxxxxxxxx");
}

TEST_F(CliTest, EachRunGetsAFreshWorkspaceThatIsRemoved) {
  Outcome first = Cli({"run", "-c", "open('/app/a.txt', 'w').write('x')\nimport os\n"
                                    "print(sorted(os.listdir('/app')))"});
  EXPECT_EQ(first.out, "['a.txt', 'user_code.py']\n") << first.err;
  Outcome second = Cli({"run", "-c", "import os; print(sorted(os.listdir('/app')))"});
  EXPECT_EQ(second.out, "['user_code.py']\n");
  EXPECT_TRUE(fs::is_empty(dir_ / "tmp"));
}

TEST_F(CliTest, UsageErrorsAreOneLineAndStatus2) {
  ExpectUsageError({"run"}, "FILE");
  ExpectUsageError({"run", "--bogus", "-c", "1"}, "--bogus");
  ExpectUsageError({"run", "-c", "1", "file.py"}, "not both");
  ExpectUsageError({"run", (dir_ / "missing.py").string()}, "missing.py");
  ExpectUsageError({"run", "--fuel", "0", "-c", "1"}, "--fuel");
  ExpectUsageError({"run", "--memory", "12X", "-c", "1"}, "--memory");
  ExpectUsageError({"run", "--timeout", "-1", "-c", "1"}, "--timeout");
  ExpectUsageError({"run", "--env", "NOEQUALS", "-c", "1"}, "--env");
  ExpectUsageError({"run", "--mount", (dir_ / "nope").string() + ":/ref", "-c", "1"}, "nope");
  ExpectUsageError({"run", "--mount", dir_.string() + ":relative", "-c", "1"}, "relative");
  ExpectUsageError({"run", "--mount", dir_.string() + ":/ref:rw", "-c", "1"}, "--mount");
  ExpectUsageError({"run", "--memory", "1K", "-c", "1"}, "memory_bytes");
  ExpectUsageError({}, "subcommand");
}

}  // namespace
