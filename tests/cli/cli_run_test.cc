// `snakecage run` as a user runs it: a subprocess, its stdout, stderr and
// exit status.
#include <sys/prctl.h>

#include <cerrno>
#include <chrono>
#include <thread>

#include "cli_fixture.h"

namespace {

using namespace snakecage::cli_test;  // NOLINT
namespace fs = std::filesystem;

TEST_F(CliTest, InlineCodePassesOutputThrough) {
  Outcome o = Cli({"run", "-c", "import sys\nprint(2 + 2)\nprint('err', file=sys.stderr)"});
  EXPECT_EQ(o.status, 0);
  EXPECT_EQ(o.out, "4\n");
  EXPECT_EQ(o.err, "err\n");
}

// `snakecage run` exits as soon as its result is out; its zygote ends by
// itself when the run's process is gone (its control socket closes). With
// this process as subreaper, whatever the run left behind becomes its child:
// nothing may still be running a moment later.
TEST_F(CliTest, ARunLeavesNoProcessBehind) {
  ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  Outcome o = Cli({"run", "-c", "print(6 * 7)"});
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out, "42\n");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    const pid_t reaped = waitpid(-1, nullptr, WNOHANG);
    if (reaped > 0) continue;
    if (reaped < 0 && errno == ECHILD) break;  // nothing left
    ASSERT_LT(std::chrono::steady_clock::now(), deadline)
        << "a process the run started is still running 10 s after it";
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  prctl(PR_SET_CHILD_SUBREAPER, 0);
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
  EXPECT_EQ(keys, (std::vector<std::string>{
                      "success", "exit_code", "stdout", "stderr", "fuel_consumed",
                      "memory_used_bytes", "duration_ms", "files_created", "files_modified",
                      "files_deleted", "workspace_path", "session_id", "metadata"}));
  std::vector<std::string> meta;
  for (auto& [k, v] : j["metadata"].items()) meta.push_back(k);
  EXPECT_EQ(meta, (std::vector<std::string>{
                      "trapped", "trap_reason", "trap_message", "stdout_truncated",
                      "stderr_truncated", "stdout_bytes", "stderr_bytes", "memory_pages",
                      "fuel_budget", "memory_limit_bytes", "timeout_seconds", "path_denials",
                      "workspace_max_bytes", "workspace_writes_refused", "missing_module", "fuel_analysis", "error_guidance", "state", "state_reason", "state_dropped"}));
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
  // A run without --session has a session of its own, gone when it ends.
  EXPECT_TRUE(j["workspace_path"].is_null()) << j["workspace_path"];
  EXPECT_TRUE(j["session_id"].is_null()) << j["session_id"];
}

// Each `run` is a process of its own: with --keep-state the session's
// globals are saved when one ends and restored when the next begins.
TEST_F(CliTest, KeepStateCarriesGlobalsFromOneRunToTheNext) {
  const std::string root = (dir_ / "ws").string();
  auto run = [&](const std::string& code) {
    Outcome o = Cli({"run", "--json", "--keep-state", "--session", "nb", "--workspace-root", root,
                     "-c", code});
    EXPECT_EQ(o.status, 0) << o.err;
    return nlohmann::ordered_json::parse(o.out);
  };
  nlohmann::ordered_json first = run("import statistics as st\nrows = [3, 1, 2]\ndef f(): pass");
  EXPECT_EQ(first["metadata"]["state"], "fresh");
  nlohmann::ordered_json second = run("rows.append(6)\nprint(st.mean(rows))");
  EXPECT_EQ(second["stdout"], "3\n");
  EXPECT_EQ(second["metadata"]["state"], "restored");
  EXPECT_EQ(second["metadata"]["state_dropped"], nlohmann::ordered_json::array({"f"}));
  nlohmann::ordered_json third = run("print(rows)");
  EXPECT_EQ(third["stdout"], "[3, 1, 2, 6]\n");
  // Saved beside the workspace, never in it.
  EXPECT_TRUE(fs::exists(dir_ / "ws" / "nb" / "workspace.snakecage-state"));
  EXPECT_EQ(third["files_created"], nlohmann::ordered_json::array());
  // session reset: an empty workspace and no state.
  Outcome reset = Cli({"session", "reset", "nb", "--workspace-root", root, "--json"});
  EXPECT_EQ(reset.status, 0) << reset.err;
  EXPECT_FALSE(fs::exists(dir_ / "ws" / "nb" / "workspace.snakecage-state"));
  nlohmann::ordered_json after = run("print('rows' in globals())");
  EXPECT_EQ(after["stdout"], "False\n");
  EXPECT_EQ(after["metadata"]["state"], "fresh");
  Outcome alone = Cli({"run", "--keep-state", "-c", "x = 1"});
  EXPECT_EQ(alone.status, 2);
  EXPECT_NE(alone.err.find("--keep-state needs --session"), std::string::npos) << alone.err;
}

TEST_F(CliTest, JsonStaysValidWhenTheGuestNamesAFileInBytesThatAreNotUtf8) {
  nlohmann::ordered_json j = Json({"-c", "open(b'/app/caf\\xff.txt', 'w').write('x')"});
  EXPECT_EQ(j["success"], true) << j.dump();
  EXPECT_EQ(j["files_created"], nlohmann::ordered_json::array({"caf\xEF\xBF\xBD.txt"}));
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

// What the code printed before a trap is in the result, through the flag's
// budget and a policy file's alike, with and without --json.
TEST_F(CliTest, OutputBeforeATrapIsKept) {
  const std::string code = "print('progress')\nprint('partial', end='')\nwhile True: pass";
  Outcome plain = Cli({"run", "--fuel", "1000000", "-c", code});
  EXPECT_EQ(plain.status, 134);
  EXPECT_EQ(plain.out, "progress\npartial");
  nlohmann::ordered_json j = Json({"--fuel", "1000000", "-c", code});
  EXPECT_EQ(j["stdout"], "progress\npartial");
  EXPECT_EQ(j["metadata"]["stdout_bytes"], 16u);
  EXPECT_EQ(j["metadata"]["trap_reason"], "out_of_fuel");
  std::ofstream(dir_ / "policy.toml") << "fuel_budget = 1_000_000\n";
  nlohmann::ordered_json p = Json({"--policy", (dir_ / "policy.toml").string(), "-c", code});
  EXPECT_EQ(p["stdout"], "progress\npartial");
  EXPECT_EQ(p["metadata"]["fuel_budget"], 1000000u);
  nlohmann::ordered_json t = Json({"--timeout", "0.5", "--fuel", "9000000000000000000", "-c",
                                   "print('started')\nwhile True: pass"});
  EXPECT_EQ(t["stdout"], "started\n");
  EXPECT_EQ(t["metadata"]["trap_reason"], "timeout");
}

// Code with a NUL byte, from a file or stdin, is refused with CPython's own
// SyntaxError and runs not at all.
TEST_F(CliTest, CodeWithANulByteIsASyntaxError) {
  const std::string code("print(1)\0print(2)\n", 19);
  std::ofstream(dir_ / "nul.py", std::ios::binary) << code;
  const std::string expected_err =
      "  File \"/app/user_code.py\", line 1\n    print(1)\n"
      "SyntaxError: source code cannot contain null bytes\n";
  Outcome file = Cli({"run", (dir_ / "nul.py").string()});
  EXPECT_EQ(file.status, 1);
  EXPECT_EQ(file.out, "");
  EXPECT_EQ(file.err, expected_err);
  Outcome in = Cli({"run", "--json", "-"}, code);
  ASSERT_EQ(in.status, 0) << in.err;
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(in.out);
  EXPECT_EQ(j["success"], false);
  EXPECT_EQ(j["exit_code"], 1);
  EXPECT_EQ(j["stdout"], "");
  EXPECT_EQ(j["stderr"], expected_err);
}

TEST_F(CliTest, AMissingModuleIsNamedWithWhatIsAvailable) {
  nlohmann::ordered_json j = Json({"-c", "import numpyy"});
  EXPECT_EQ(j["exit_code"], 1);
  EXPECT_EQ(j["metadata"]["missing_module"], "numpyy");
  const std::string guidance = j["metadata"]["error_guidance"];
  EXPECT_NE(guidance.find("'numpyy' is not available"), std::string::npos) << guidance;
  EXPECT_NE(guidance.find("openpyxl 3.0.9 (openpyxl)"), std::string::npos) << guidance;
  EXPECT_NE(guidance.find("beautifulsoup4 4.11.2 (bs4)"), std::string::npos) << guidance;
  nlohmann::ordered_json ok = Json({"-c", "import yaml"});
  EXPECT_TRUE(ok["metadata"]["missing_module"].is_null());
  EXPECT_TRUE(ok["metadata"]["error_guidance"].is_null());
}

TEST_F(CliTest, PackagesListsWhatTheGuestCanImport) {
  Outcome o = Cli({"packages", "--json"});
  ASSERT_EQ(o.status, 0) << o.err;
  nlohmann::json j = nlohmann::json::parse(o.out);
  bool found = false;
  for (const auto& p : j["packages"]) {
    if (p["name"] != "openpyxl") continue;
    found = true;
    EXPECT_EQ(p["version"], "3.0.9");
    EXPECT_EQ(p["import_names"], nlohmann::json::array({"openpyxl"}));
    EXPECT_EQ(p["source"], "debian");
    EXPECT_EQ(p["debian_package"], "python3-openpyxl");
    EXPECT_EQ(p["debian_version"], "3.0.9-1");
  }
  EXPECT_TRUE(found) << o.out;
  ASSERT_EQ(j["data"].size(), 1u);
  EXPECT_EQ(j["data"][0]["name"], "tzdata");
  EXPECT_EQ(j["data"][0]["guest_path"], "/usr/share/zoneinfo");
  // Each listed package imports in the sandbox under the version listed.
  Outcome run = Cli({"run", "-c",
                     "import openpyxl, bs4, yaml\n"
                     "print(openpyxl.__version__, bs4.__version__, yaml.__version__)"});
  EXPECT_EQ(run.out, "3.0.9 4.11.2 6.0\n") << run.err;
  Outcome table = Cli({"packages"});
  ASSERT_EQ(table.status, 0) << table.err;
  EXPECT_NE(table.out.find("beautifulsoup4"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("bs4  (debian python3-bs4 4.11.2-2)"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("data: tzdata"), std::string::npos) << table.out;
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
            "('PYTHONIOENCODING', 'utf-8'), ('PYTHONUTF8', '1'), ('TMPDIR', '/app')]\n")
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

TEST_F(CliTest, TheWorkspaceQuotaReachesTheGuestAsEnospc) {
  nlohmann::ordered_json j =
      Json({"--workspace-max", "16K", "-c", "open('/app/big', 'wb').write(b'x' * 100000)"});
  EXPECT_EQ(j["success"], false);
  EXPECT_EQ(j["exit_code"], 1);
  EXPECT_EQ(j["metadata"]["workspace_max_bytes"], 16384u);
  EXPECT_GE(j["metadata"]["workspace_writes_refused"], 1u);
  EXPECT_NE(j["stderr"].get<std::string>().find("No space left on device"), std::string::npos);
  EXPECT_NE(j["metadata"]["error_guidance"].get<std::string>().find("--workspace-max"),
            std::string::npos);
}

// "/" is the guest's own: its mounts, read-only; nothing else exists.
TEST_F(CliTest, TheGuestSeesItsMountsAtTheRootAndNothingElse) {
  Outcome o = Cli({"run", "-c",
                   "import os, pathlib\n"
                   "print(sorted(os.listdir('/')), pathlib.Path('/').resolve())\n"
                   "print(pathlib.Path('/etc/passwd').exists(), os.path.isdir('/usr/local'))\n"
                   "open('/x', 'w')"});
  EXPECT_EQ(o.out, "['app', 'usr'] /\nFalse True\n") << o.err;
  EXPECT_NE(o.err.find("OSError: [Errno 69] Read-only file system: '/x'"), std::string::npos)
      << o.err;
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
  ExpectUsageError({"serve", "--listen", "nohostport"}, "--listen");
  ExpectUsageError({"serve", "--listen", "127.0.0.1:70000"}, "--listen");
  ExpectUsageError({"serve", "--token-file", (dir_ / "missing-token").string()}, "--token-file");
  ExpectUsageError({"serve", "--max-concurrency", "0"}, "--max-concurrency");
  ExpectUsageError({"serve", "--max-body-bytes", "12X"}, "--max-body-bytes");
}

}  // namespace
