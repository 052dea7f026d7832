// `snakecage run` with policies, sessions and telemetry, and every
// `snakecage session` subcommand, as a user runs them.
#include <thread>

#include "cli_fixture.h"

namespace {

using namespace snakecage::cli_test;  // NOLINT
namespace fs = std::filesystem;
using JsonValue = nlohmann::ordered_json;

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

class CliSessionTest : public CliTest {
 protected:
  CliSessionTest() : root_(dir_ / "root") {}
  JsonValue RunJson(std::vector<std::string> args) {
    args.insert(args.begin(), {"run", "--json", "--workspace-root", root_.string()});
    Outcome o = Cli(args);
    EXPECT_EQ(o.status, 0) << o.err;
    return o.status == 0 ? JsonValue::parse(o.out) : JsonValue();
  }
  Outcome Session(std::vector<std::string> args, const std::string& input = "") {
    args.insert(args.begin(), "session");
    args.push_back("--workspace-root");
    args.push_back(root_.string());
    return Cli(args, input);
  }
  JsonValue SessionJson(std::vector<std::string> args, const std::string& input = "") {
    args.push_back("--json");
    Outcome o = Session(args, input);
    EXPECT_EQ(o.status, 0) << o.err;
    return o.status == 0 ? JsonValue::parse(o.out) : JsonValue();
  }
  void ExpectRefused(const Outcome& o, const std::string& names) {
    EXPECT_EQ(o.status, 2) << o.out << o.err;
    ASSERT_FALSE(o.err.empty());
    EXPECT_EQ(o.err.find('\n'), o.err.size() - 1) << "more than one line: " << o.err;
    EXPECT_NE(o.err.find(names), std::string::npos) << o.err;
  }
  static std::vector<std::string> Events(const std::string& log) {
    std::vector<std::string> out;
    std::istringstream in(log);
    for (std::string line; std::getline(in, line);) {
      out.push_back(JsonValue::parse(line)["event"].get<std::string>());
    }
    return out;
  }
  fs::path root_;
};

TEST_F(CliSessionTest, SessionKeepsItsWorkspaceAcrossRuns) {
  JsonValue first = RunJson({"--session", "s1", "-c", "open('/app/a.txt', 'w').write('x')"});
  EXPECT_EQ(first["session_id"], "s1");
  EXPECT_EQ(first["workspace_path"], (root_ / "s1" / "workspace").string());
  EXPECT_EQ(first["files_created"], JsonValue::array({"a.txt"}));
  JsonValue second =
      RunJson({"--session", "s1", "-c", "import os\nprint(open('/app/a.txt').read())\n"
                                        "os.remove('/app/a.txt')"});
  EXPECT_EQ(second["stdout"], "x\n");
  EXPECT_EQ(second["files_deleted"], JsonValue::array({"a.txt"}));
  EXPECT_TRUE(fs::is_directory(root_ / "s1" / "workspace"));
}

TEST_F(CliSessionTest, WorkspaceRootAloneKeepsANewUuidSession) {
  JsonValue j = RunJson({"-c", "print(1)"});
  const std::string id = j["session_id"];
  EXPECT_EQ(id.size(), 36u);
  EXPECT_TRUE(fs::is_directory(root_ / id / "workspace"));
  EXPECT_TRUE(fs::is_regular_file(root_ / id / "session.json"));
}

TEST_F(CliSessionTest, DefaultWorkspaceRootIsDotWorkspace) {
  cwd_ = dir_ / "cwd";
  fs::create_directories(cwd_);
  Outcome o = Cli({"run", "--session", "here", "-c", "print('ok')"});
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_TRUE(fs::is_directory(cwd_ / "workspace" / "here" / "workspace"));
  Outcome list = Cli({"session", "list"});
  EXPECT_EQ(list.status, 0) << list.err;
  EXPECT_EQ(list.out.rfind("here\t", 0), 0u) << list.out;
}

TEST_F(CliSessionTest, PolicyFileValuesAndFlagOverrides) {
  std::ofstream(dir_ / "policy.toml") << "fuel_budget = 3000000000\n"
                                         "memory_bytes = 67108864\n"
                                         "[env]\nFROM_FILE = \"yes\"\n";
  JsonValue j = RunJson({"--policy", (dir_ / "policy.toml").string(), "--fuel", "4000000000", "-c",
                    "import os\nprint(os.environ['FROM_FILE'], os.environ['PYTHONUTF8'])"});
  EXPECT_EQ(j["stdout"], "yes 1\n");
  EXPECT_EQ(j["metadata"]["fuel_budget"], 4000000000u);       // the flag wins
  EXPECT_EQ(j["metadata"]["memory_limit_bytes"], 67108864u);  // the file's value
}

TEST_F(CliSessionTest, BadPolicyFileSessionIdOrValueIsStatus2AndCreatesNothing) {
  std::ofstream(dir_ / "typo.toml") << "fuel_budgte = 5\n";
  std::ofstream(dir_ / "zero.toml") << "memory_bytes = 0\n";
  std::ofstream(dir_ / "broken.toml") << "fuel_budget = \n";
  const std::string log = (dir_ / "events.jsonl").string();
  auto run = [&](std::vector<std::string> extra) {
    std::vector<std::string> args{"run", "--workspace-root", root_.string(), "--log-file", log};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back("-c");
    args.push_back("print(1)");
    return Cli(args);
  };
  ExpectRefused(run({"--policy", (dir_ / "typo.toml").string()}), "fuel_budgte");
  ExpectRefused(run({"--policy", (dir_ / "zero.toml").string()}), "memory_bytes");
  ExpectRefused(run({"--policy", (dir_ / "broken.toml").string()}), "broken.toml:1");
  ExpectRefused(run({"--policy", (dir_ / "missing.toml").string()}), "missing.toml");
  ExpectRefused(run({"--session", "../escape"}), "../escape");
  ExpectRefused(run({"--session", std::string(129, 'x')}), "session");
  EXPECT_FALSE(fs::exists(root_));
  EXPECT_FALSE(fs::exists(log));
  EXPECT_TRUE(fs::is_empty(dir_ / "tmp"));
}

TEST_F(CliSessionTest, LogFileTellsACreatedSessionFromARetrievedOne) {
  const std::string log = (dir_ / "events.jsonl").string();
  RunJson({"--session", "logged", "--log-file", log, "-c", "print(1)"});
  std::vector<std::string> first = Events(Slurp(log));
  EXPECT_EQ(first, (std::vector<std::string>{"session.created", "session.metadata.created",
                                             "execution.start", "session.metadata.updated",
                                             "execution.complete"}));
  RunJson({"--session", "logged", "--log-file", log, "-c", "print(1)"});
  std::vector<std::string> all = Events(Slurp(log));
  std::vector<std::string> second(all.begin() + static_cast<long>(first.size()), all.end());
  EXPECT_EQ(second, (std::vector<std::string>{"session.retrieved", "execution.start",
                                              "session.metadata.updated",
                                              "execution.complete"}));
  JsonValue line = JsonValue::parse(Slurp(log).substr(0, Slurp(log).find('\n')));
  std::vector<std::string> keys;
  for (auto& [k, v] : line.items()) keys.push_back(k);
  ASSERT_GE(keys.size(), 5u);
  EXPECT_EQ(std::vector<std::string>(keys.begin(), keys.begin() + 4),
            (std::vector<std::string>{"ts", "level", "logger", "event"}));
  EXPECT_EQ(line["session_id"], "logged");
}

TEST_F(CliSessionTest, FileCommands) {
  RunJson({"--session", "f", "-c", "pass"});
  std::ofstream(dir_ / "in.txt") << "from a file";
  EXPECT_EQ(SessionJson({"write", "f", "docs/a.txt", (dir_ / "in.txt").string()})["bytes"], 11);
  EXPECT_EQ(Session({"write", "f", "docs/b.bin", "-"}, std::string("\xff\x00\x01", 3)).status,
            0);
  EXPECT_EQ(Session({"files", "f"}).out, "docs/a.txt\ndocs/b.bin\nuser_code.py\n");
  EXPECT_EQ(SessionJson({"files", "f", "--glob", "*.txt"})["files"],
            JsonValue::array({"docs/a.txt"}));
  EXPECT_EQ(Session({"read", "f", "docs/a.txt"}).out, "from a file");
  JsonValue text = SessionJson({"read", "f", "docs/a.txt"});
  EXPECT_EQ(text["encoding"], "utf-8");
  EXPECT_EQ(text["content"], "from a file");
  JsonValue binary = SessionJson({"read", "f", "docs/b.bin"});
  EXPECT_EQ(binary["encoding"], "base64");
  EXPECT_EQ(binary["content"], "/wAB");
  // The guest sees what was written.
  JsonValue seen = RunJson({"--session", "f", "-c", "print(open('/app/docs/a.txt').read())"});
  EXPECT_EQ(seen["stdout"], "from a file\n");

  ExpectRefused(Session({"write", "f", "docs/a.txt", "-", "--no-overwrite"}, "new"),
                "docs/a.txt");
  EXPECT_EQ(Slurp(root_ / "f" / "workspace" / "docs" / "a.txt"), "from a file");
  ExpectRefused(Session({"rm", "f", "docs"}), "docs");
  EXPECT_EQ(Session({"rm", "f", "docs/b.bin"}).status, 0);
  EXPECT_EQ(SessionJson({"rm", "f", "docs", "--recursive"})["deleted"], true);
  EXPECT_EQ(Session({"files", "f"}).out, "user_code.py\n");
  ExpectRefused(Session({"read", "f", "nothing.txt"}), "nothing.txt");
}

TEST_F(CliSessionTest, FilePathsAreConfinedToTheWorkspace) {
  RunJson({"--session", "c", "-c", "import os\nos.symlink('/etc/passwd', '/app/link')"});
  std::ofstream(dir_ / "outside.txt") << "outside";
  ExpectRefused(Session({"read", "c", "../session.json"}), "../session.json");
  ExpectRefused(Session({"read", "c", "/etc/passwd"}), "/etc/passwd");
  ExpectRefused(Session({"write", "c", "../../outside.txt", "-"}, "x"), "../../outside.txt");
  Outcome via_link = Session({"read", "c", "link"});
  EXPECT_NE(via_link.status, 0);
  EXPECT_EQ(via_link.out, "");
  EXPECT_EQ(Slurp(dir_ / "outside.txt"), "outside");
  ExpectRefused(Session({"files", "bad/id"}), "bad/id");
}

TEST_F(CliSessionTest, ListDeleteAndPrune) {
  RunJson({"--session", "one", "-c", "open('/app/f', 'w').write('x' * 1000)"});
  RunJson({"--session", "two", "-c", "pass"});
  JsonValue list = SessionJson({"list"});
  ASSERT_EQ(list["sessions"].size(), 2u);
  EXPECT_EQ(list["sessions"][0]["session_id"], "one");
  EXPECT_EQ(list["sessions"][0]["execution_count"], 1);
  EXPECT_EQ(list["sessions"][1]["session_id"], "two");

  JsonValue recent = SessionJson({"prune", "--older-than", "1"});
  EXPECT_EQ(recent["deleted"], JsonValue::array());
  EXPECT_EQ(recent["skipped"].size(), 2u);

  JsonValue dry = SessionJson({"prune", "--older-than", "0", "--dry-run"});
  EXPECT_EQ(dry["dry_run"], true);
  EXPECT_EQ(dry["deleted"], JsonValue::array({"one", "two"}));
  EXPECT_GE(dry["reclaimed_bytes"].get<uint64_t>(), 1000u);
  EXPECT_TRUE(fs::exists(root_ / "one"));

  EXPECT_EQ(SessionJson({"delete", "two"})["deleted"], true);
  EXPECT_EQ(Session({"delete", "two"}).status, 0);  // idempotent
  EXPECT_FALSE(fs::exists(root_ / "two"));

  JsonValue pruned = SessionJson({"prune", "--older-than", "0"});
  EXPECT_EQ(pruned["deleted"], JsonValue::array({"one"}));
  EXPECT_FALSE(fs::exists(root_ / "one"));
  EXPECT_EQ(SessionJson({"list"})["sessions"], JsonValue::array());
  ExpectRefused(Session({"prune", "--older-than", "soon"}), "--older-than");
}

// Two processes running in one session at once never interleave.
TEST_F(CliSessionTest, ConcurrentRunsInOneSessionAreSerialised) {
  RunJson({"--session", "busy", "-c", "pass"});
  const std::string code =
      "import time\n"
      "open('/app/trace', 'a').write('start\\n')\n"
      "time.sleep(0.3)\n"
      "open('/app/trace', 'a').write('end\\n')\n";
  Outcome a, b;
  std::thread t1([&] {
    a = Cli({"run", "--workspace-root", root_.string(), "--session", "busy", "-c", code});
  });
  std::thread t2([&] {
    b = Cli({"run", "--workspace-root", root_.string(), "--session", "busy", "-c", code});
  });
  t1.join();
  t2.join();
  EXPECT_EQ(a.status, 0) << a.err;
  EXPECT_EQ(b.status, 0) << b.err;
  EXPECT_EQ(Slurp(root_ / "busy" / "workspace" / "trace"), "start\nend\nstart\nend\n");
}

// The policy file shown in the README is accepted as it stands.
TEST_F(CliSessionTest, ReadmePolicyExampleWorks) {
  std::istringstream readme(Slurp(SNAKECAGE_README));
  std::string toml, line;
  bool in_block = false;
  while (std::getline(readme, line)) {
    if (!in_block && line == "```toml") {
      in_block = true;
    } else if (in_block && line == "```") {
      break;
    } else if (in_block) {
      toml += line + "\n";
    }
  }
  ASSERT_FALSE(toml.empty()) << "no ```toml block in the README";
  fs::create_directories(dir_ / "inputs");
  fs::create_directories(dir_ / "refs");
  std::ofstream(dir_ / "policy.toml") << toml;
  JsonValue j = RunJson({"--policy", (dir_ / "policy.toml").string(), "-c",
                         "import os, sys\nprint(os.environ['DATASET'], sys.argv[1:])"});
  EXPECT_EQ(j["stdout"], "sales ['--verbose']\n") << j["stderr"];
  EXPECT_EQ(j["metadata"]["fuel_budget"], 2000000000u);
  EXPECT_EQ(j["metadata"]["timeout_seconds"], 2.5);
}

}  // namespace
