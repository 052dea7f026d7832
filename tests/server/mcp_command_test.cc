// `snakecage mcp` as a process: stdout carries only protocol lines, exit 0
// at end of input, the temporary workspace root is removed, bad flags exit 2.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/temp_dir.h"

namespace snakecage {
namespace {

using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

struct McpRun {
  int exit_code = -1;
  std::vector<std::string> stdout_lines;
  std::string stderr_text;
};

McpRun RunMcp(const TempDir& dir, const std::string& input, const std::string& flags) {
  WriteFile(dir.path() / "in", input);
  std::string cmd = std::string(SNAKECAGE_CLI) + " mcp " + flags + " < " +
                    (dir.path() / "in").string() + " > " + (dir.path() / "out").string() +
                    " 2> " + (dir.path() / "err").string();
  int status = std::system(cmd.c_str());
  McpRun r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::istringstream out(ReadFile(dir.path() / "out"));
  for (std::string line; std::getline(out, line);) r.stdout_lines.push_back(line);
  r.stderr_text = ReadFile(dir.path() / "err");
  return r;
}

TEST(McpCommandTest, AnswersRequestsOnlyOnStdoutAndExitsZeroAtEndOfInput) {
  TempDir dir;
  std::string input =
      R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-03-26","capabilities":{},"clientInfo":{"name":"t","version":"1"}}})"
      "\n"
      R"({"jsonrpc":"2.0","method":"notifications/initialized"})"
      "\n\n"
      R"J({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"execute_code","arguments":{"code":"import os\nprint('to stdout', flush=True)\nos.write(1, b'raw fd 1\\n')"}}})J"
      "\r\n"
      "not json\n";
  McpRun r = RunMcp(dir, input, "");
  EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
  ASSERT_EQ(r.stdout_lines.size(), 3u) << r.stderr_text;
  auto init = nlohmann::json::parse(r.stdout_lines[0]);
  EXPECT_EQ(init["result"]["protocolVersion"], "2025-03-26");
  auto call = nlohmann::json::parse(r.stdout_lines[1]);
  EXPECT_EQ(call["id"], 2);
  EXPECT_EQ(call["result"]["structuredContent"]["stdout"], "to stdout\nraw fd 1\n");
  auto bad = nlohmann::json::parse(r.stdout_lines[2]);
  EXPECT_EQ(bad["error"]["code"], -32700);
  // Telemetry went to stderr, and the temporary root it names is gone.
  EXPECT_NE(r.stderr_text.find("\"event\":\"execution.complete\""), std::string::npos);
  std::string marker = "sessions in ";
  size_t at = r.stderr_text.find(marker);
  ASSERT_NE(at, std::string::npos) << r.stderr_text;
  size_t end = r.stderr_text.find(' ', at + marker.size());
  std::string root = r.stderr_text.substr(at + marker.size(), end - at - marker.size());
  EXPECT_TRUE(root.starts_with("/")) << root;
  EXPECT_FALSE(std::filesystem::exists(root)) << root;
}

TEST(McpCommandTest, WorkspaceRootIsKeptAndLogFileGetsTelemetry) {
  TempDir dir;
  std::string input =
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"create_session"}})"
      "\n";
  McpRun r = RunMcp(dir, input,
                 "--workspace-root " + (dir.path() / "root").string() + " --log-file " +
                     (dir.path() / "log.jsonl").string());
  EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
  ASSERT_EQ(r.stdout_lines.size(), 1u);
  std::string id = nlohmann::json::parse(r.stdout_lines[0])["result"]["structuredContent"]["session_id"];
  EXPECT_TRUE(std::filesystem::is_directory(dir.path() / "root" / id / "workspace"));
  EXPECT_NE(ReadFile(dir.path() / "log.jsonl").find("\"event\":\"session.created\""),
            std::string::npos);
  EXPECT_EQ(r.stderr_text.find("session.created"), std::string::npos);
}

TEST(McpCommandTest, BadFlagsExitTwoNamingTheFlag) {
  TempDir dir;
  for (const auto& [flags, message] : std::vector<std::pair<std::string, std::string>>{
           {"--max-sessions 0", "--max-sessions"},
           {"--idle-expiry -5", "--idle-expiry"},
           {"--rate-limit fast", "--rate-limit"},
           {"--max-timeout 0", "--max-timeout"},
           {"--max-code-bytes 0", "--max-code-bytes"},
           {"--policy /nonexistent/policy.toml", "/nonexistent/policy.toml"}}) {
    McpRun r = RunMcp(dir, "", flags);
    EXPECT_EQ(r.exit_code, 2) << flags;
    EXPECT_NE(r.stderr_text.find(message), std::string::npos) << flags << ": " << r.stderr_text;
    EXPECT_TRUE(r.stdout_lines.empty()) << flags;
  }
}

}  // namespace
}  // namespace snakecage
