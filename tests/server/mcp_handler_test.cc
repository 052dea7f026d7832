// McpHandler: JSON-RPC framing and errors, version negotiation,
// notifications, tools/list, and every tool through tools/call (real
// executions), including tool errors as isError results.
#include <gtest/gtest.h>

#include <filesystem>

#include "server/test_util.h"
#include "snakecage/server.h"

namespace snakecage {
namespace {

using json = nlohmann::json;
using testing::FakeClock;
using testing::MakeService;
using testing::RoomyLimits;
using testing::TempDir;

class McpHandlerTest : public ::testing::Test {
 protected:
  void Start(ServerLimits limits = RoomyLimits()) {
    service_ = MakeService(dir_, std::move(limits), &clock_);
    ASSERT_NE(service_, nullptr);
    handler_ = std::make_unique<McpHandler>(*service_);
  }
  void SetUp() override { Start(); }

  json Request(const std::string& method, json params = nullptr, json id = 1) {
    json m = {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}};
    if (!params.is_null()) m["params"] = std::move(params);
    auto r = handler_->Handle(m, "client-1");
    EXPECT_TRUE(r.has_value()) << m.dump();
    return r.value_or(json());
  }
  // The result of tools/call (asserting it is not a JSON-RPC error).
  json Call(const std::string& tool, json arguments = json::object()) {
    json r = Request("tools/call", {{"name", tool}, {"arguments", std::move(arguments)}});
    EXPECT_TRUE(r.contains("result")) << r.dump();
    return r.value("result", json());
  }
  static std::string Text(const json& result) { return result["content"][0]["text"]; }
  static bool IsError(const json& result) { return result.value("isError", false); }
  // A JSON-RPC error response's code.
  static int ErrorCode(const std::optional<json>& r) {
    EXPECT_TRUE(r.has_value());
    if (!r || !r->contains("error")) return 0;
    return (*r)["error"]["code"];
  }

  TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<SandboxService> service_;
  std::unique_ptr<McpHandler> handler_;
};

TEST_F(McpHandlerTest, InitializeAnswersWithTheClientsVersionWhenSupported) {
  for (const char* v : {"2025-06-18", "2025-03-26", "2024-11-05"}) {
    json r = Request("initialize", {{"protocolVersion", v},
                                    {"capabilities", json::object()},
                                    {"clientInfo", {{"name", "t"}, {"version", "1"}}}});
    EXPECT_EQ(r["jsonrpc"], "2.0");
    EXPECT_EQ(r["id"], 1);
    EXPECT_EQ(r["result"]["protocolVersion"], v);
    EXPECT_EQ(r["result"]["capabilities"], json::parse(R"({"tools":{"listChanged":false}})"));
    EXPECT_EQ(r["result"]["serverInfo"]["name"], "snakecage");
    EXPECT_EQ(r["result"]["serverInfo"]["version"], "0.1.0");
  }
}

TEST_F(McpHandlerTest, InitializeWithAnUnknownVersionAnswersTheNewest) {
  json r = Request("initialize", {{"protocolVersion", "2099-01-01"}, {"capabilities", json::object()}});
  EXPECT_EQ(r["result"]["protocolVersion"], "2025-06-18");
  json missing = Request("initialize", json::object());
  EXPECT_EQ(missing["error"]["code"], kJsonRpcInvalidParams);
  json wrong_type = Request("initialize", {{"protocolVersion", 20250618}});
  EXPECT_EQ(wrong_type["error"]["code"], kJsonRpcInvalidParams);
}

TEST_F(McpHandlerTest, NotificationsAndClientResponsesGetNoResponse) {
  EXPECT_EQ(handler_->Handle({{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}}, "c"),
            std::nullopt);
  EXPECT_EQ(handler_->Handle({{"jsonrpc", "2.0"},
                              {"method", "notifications/cancelled"},
                              {"params", {{"requestId", 3}}}},
                             "c"),
            std::nullopt);
  EXPECT_EQ(handler_->Handle({{"jsonrpc", "2.0"}, {"method", "no/such/notification"}}, "c"),
            std::nullopt);
  // Even a tools/call without an id is a notification: nothing runs, nothing answers.
  EXPECT_EQ(handler_->Handle({{"jsonrpc", "2.0"},
                              {"method", "tools/call"},
                              {"params", {{"name", "create_session"}}}},
                             "c"),
            std::nullopt);
  EXPECT_TRUE(service_->ListSessions("c")->empty());
  EXPECT_EQ(handler_->Handle({{"jsonrpc", "2.0"}, {"id", 9}, {"result", json::object()}}, "c"),
            std::nullopt);
  EXPECT_EQ(handler_->HandleText("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}", "c"),
            std::nullopt);
}

TEST_F(McpHandlerTest, PingAnswersAnEmptyResultWithTheSameId) {
  json r = Request("ping", nullptr, "abc");
  EXPECT_EQ(r, json::parse(R"({"jsonrpc":"2.0","id":"abc","result":{}})"));
}

TEST_F(McpHandlerTest, ParseErrorOfInvalidUtf8IsAValidUtf8Reply) {
  // Found by fuzz/fuzz_mcp_handler: the parser's message quoted the raw byte,
  // and the HTTP server's strict dump() of the reply threw.
  auto parse = handler_->HandleText("\x9a" "ontentn", "c");
  ASSERT_TRUE(parse.has_value());
  EXPECT_EQ(ErrorCode(parse), kJsonRpcParseError);
  std::string message = (*parse)["error"]["message"];
  EXPECT_EQ(message.rfind("Parse error: ", 0), 0u) << message;
  EXPECT_NE(message.find("\xEF\xBF\xBD"), std::string::npos) << message;  // U+FFFD
  EXPECT_NO_THROW((void)parse->dump());
}

TEST_F(McpHandlerTest, ANumberBeyondDoubleIsAParseErrorNotACrash) {
  // Found by fuzz/fuzz_mcp_handler: the parser's out_of_range (not a
  // parse_error) escaped HandleText and ended the server.
  auto reply = handler_->HandleText(R"({"jsonrpc":"2.0","id":1e400,"method":"ping"})", "c");
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(ErrorCode(reply), kJsonRpcParseError);
  EXPECT_EQ(std::string((*reply)["error"]["message"]).rfind("Parse error: ", 0), 0u);
}

TEST_F(McpHandlerTest, MalformedMessagesGetJsonRpcErrors) {
  auto parse = handler_->HandleText("{not json", "c");
  EXPECT_EQ(ErrorCode(parse), kJsonRpcParseError);
  EXPECT_TRUE((*parse)["id"].is_null());
  EXPECT_EQ((*parse)["jsonrpc"], "2.0");

  auto batch = handler_->HandleText(R"([{"jsonrpc":"2.0","id":1,"method":"ping"}])", "c");
  EXPECT_EQ(ErrorCode(batch), kJsonRpcInvalidRequest);
  EXPECT_NE((*batch)["error"]["message"].get<std::string>().find("batches are not supported"),
            std::string::npos);
  EXPECT_EQ(ErrorCode(handler_->HandleText("42", "c")), kJsonRpcInvalidRequest);
  EXPECT_EQ(ErrorCode(handler_->Handle({{"jsonrpc", "2.0"}, {"id", 1}}, "c")),
            kJsonRpcInvalidRequest);
  auto old = handler_->Handle({{"jsonrpc", "1.0"}, {"id", 4}, {"method", "ping"}}, "c");
  EXPECT_EQ(ErrorCode(old), kJsonRpcInvalidRequest);
  EXPECT_EQ((*old)["id"], 4);
  EXPECT_EQ(ErrorCode(handler_->Handle({{"jsonrpc", "2.0"}, {"id", nullptr}, {"method", "ping"}}, "c")),
            kJsonRpcInvalidRequest);
  EXPECT_EQ(ErrorCode(handler_->Handle({{"jsonrpc", "2.0"}, {"id", 1.5}, {"method", "ping"}}, "c")),
            kJsonRpcInvalidRequest);
  EXPECT_EQ(ErrorCode(handler_->Handle({{"jsonrpc", "2.0"}, {"id", 1}, {"method", 7}}, "c")),
            kJsonRpcInvalidRequest);
  auto unknown = handler_->Handle({{"jsonrpc", "2.0"}, {"id", 5}, {"method", "resources/list"}}, "c");
  EXPECT_EQ(ErrorCode(unknown), kJsonRpcMethodNotFound);
  EXPECT_EQ((*unknown)["id"], 5);
  EXPECT_EQ(ErrorCode(handler_->Handle(
                {{"jsonrpc", "2.0"}, {"id", 1}, {"method", "tools/list"}, {"params", json::array()}},
                "c")),
            kJsonRpcInvalidParams);
}

TEST_F(McpHandlerTest, ToolsCallProtocolErrors) {
  EXPECT_EQ(Request("tools/call", json::object())["error"]["code"], kJsonRpcInvalidParams);
  json unknown = Request("tools/call", {{"name", "rm_rf"}});
  EXPECT_EQ(unknown["error"]["code"], kJsonRpcInvalidParams);
  EXPECT_EQ(unknown["error"]["message"], "Invalid params: unknown tool 'rm_rf'");
  EXPECT_EQ(Request("tools/call", {{"name", "list_sessions"}, {"arguments", "x"}})["error"]["code"],
            kJsonRpcInvalidParams);
}

TEST_F(McpHandlerTest, ToolsListDescribesTenToolsWithStrictSchemas) {
  json r = Request("tools/list");
  const json& tools = r["result"]["tools"];
  std::vector<std::string> names;
  for (const json& t : tools) {
    names.push_back(t["name"]);
    EXPECT_GT(t["description"].get<std::string>().size(), 40u) << t["name"];
    EXPECT_EQ(t["inputSchema"]["type"], "object") << t["name"];
    EXPECT_EQ(t["inputSchema"]["additionalProperties"], false) << t["name"];
    EXPECT_TRUE(t["inputSchema"]["properties"].is_object()) << t["name"];
  }
  EXPECT_EQ(names, (std::vector<std::string>{"execute_code", "create_session", "destroy_session",
                                             "list_sessions", "reset_session", "list_files",
                                             "read_file", "write_file", "delete_file",
                                             "get_capabilities"}));
  EXPECT_EQ(tools[0]["inputSchema"]["required"], json::parse(R"(["code"])"));
}

TEST_F(McpHandlerTest, ExecuteCodeReturnsStructuredResultAndReadableText) {
  json r = Call("execute_code", {{"code", "import sys\nprint('hi')\nprint('warn', file=sys.stderr)"}});
  EXPECT_FALSE(IsError(r));
  EXPECT_EQ(r["structuredContent"]["stdout"], "hi\n");
  EXPECT_EQ(r["structuredContent"]["stderr"], "warn\n");
  EXPECT_EQ(r["structuredContent"]["success"], true);
  EXPECT_EQ(r["content"][0]["type"], "text");
  std::string text = Text(r);
  EXPECT_TRUE(text.starts_with("stdout:\nhi\nstderr:\nwarn\nresult: success (exit code 0); fuel "))
      << text;
  EXPECT_NE(text.find("workspace: fresh, emptied after this run"), std::string::npos) << text;
}

TEST_F(McpHandlerTest, KeepStateRunsCellsLikeANotebook) {
  const std::string id = Call("create_session", json::object())["structuredContent"]["session_id"];
  json first = Call("execute_code", {{"code", "import math\nr = 2"}, {"session_id", id},
                                     {"keep_state", true}});
  EXPECT_EQ(first["structuredContent"]["metadata"]["state"], "fresh");
  EXPECT_NE(Text(first).find("python state: fresh ("), std::string::npos) << Text(first);
  json failed = Call("execute_code", {{"code", "r = 100\n1 / 0"}, {"session_id", id},
                                      {"keep_state", true}});
  EXPECT_NE(Text(failed).find("python state: rolled_back (it exited with status 1; the "
                              "session's state is as it was before this execution)"),
            std::string::npos)
      << Text(failed);
  json area = Call("execute_code", {{"code", "print(round(math.pi * r * r, 2))"},
                                    {"session_id", id}, {"keep_state", true}});
  EXPECT_EQ(area["structuredContent"]["stdout"], "12.57\n");
  EXPECT_EQ(area["structuredContent"]["metadata"]["state"], "committed");
  json fresh = Call("execute_code", {{"code", "x = 1"}, {"keep_state", true}});
  EXPECT_TRUE(IsError(fresh));
  EXPECT_NE(Text(fresh).find("keep_state: needs a session_id"), std::string::npos) << Text(fresh);
}

TEST_F(McpHandlerTest, ExecuteCodeTextStatesFailureAndTruncation) {
  ServerLimits limits = RoomyLimits();
  limits.policy = *ExecutionPolicyBuilder().stdout_max_bytes(10).Build();
  Start(limits);
  json r = Call("execute_code", {{"code", "print('x' * 100)\nraise SystemExit(4)"}});
  EXPECT_FALSE(IsError(r));
  std::string text = Text(r);
  EXPECT_NE(text.find("result: failed, exit code 4;"), std::string::npos) << text;
  EXPECT_NE(text.find("stdout truncated: the program wrote 101 bytes, only the first 10 are shown"),
            std::string::npos)
      << text;
  EXPECT_EQ(r["structuredContent"]["metadata"]["stdout_truncated"], true);

  json t = Call("execute_code", {{"code", "while True: pass"}, {"timeout_seconds", 0.2}});
  EXPECT_NE(Text(t).find("result: failed, timeout after 0.200 s"), std::string::npos) << Text(t);
  EXPECT_EQ(t["structuredContent"]["metadata"]["trap_reason"], "timeout");
}

TEST_F(McpHandlerTest, BadToolArgumentsAreToolErrorsNotProtocolErrors) {
  json missing = Call("execute_code", json::object());
  EXPECT_TRUE(IsError(missing));
  EXPECT_EQ(Text(missing), "Error: execute_code: missing required argument 'code'");
  EXPECT_EQ(missing["structuredContent"]["error"]["code"], "invalid_argument");
  json extra = Call("execute_code", {{"code", "print(1)"}, {"lang", "py"}});
  EXPECT_TRUE(IsError(extra));
  EXPECT_EQ(Text(extra),
            "Error: execute_code: unknown argument 'lang' (allowed: code, keep_state, "
            "session_id, timeout_seconds)");
  json type = Call("execute_code", {{"code", 5}});
  EXPECT_EQ(Text(type), "Error: execute_code: argument 'code' must be a string (got 5)");
  json negative = Call("execute_code", {{"code", "1"}, {"timeout_seconds", -1}});
  EXPECT_EQ(Text(negative), "Error: execute_code: argument 'timeout_seconds' must be > 0 (got -1)");
  json too_long = Call("execute_code", {{"code", "1"}, {"timeout_seconds", 600}});
  EXPECT_TRUE(IsError(too_long));
  EXPECT_EQ(Text(too_long),
            "Error: timeout_seconds: 600 is more than the server's limit of 20 seconds "
            "(max_timeout_seconds)");
  json enc = Call("read_file", {{"session_id", "s"}, {"path", "p"}, {"encoding", "hex"}});
  EXPECT_EQ(Text(enc),
            "Error: read_file: argument 'encoding' must be one of [\"text\",\"base64\"] (got "
            "\"hex\")");
  json no_session = Call("list_files", {{"session_id", "ghost"}});
  EXPECT_TRUE(IsError(no_session));
  EXPECT_EQ(no_session["structuredContent"]["error"]["code"], "not_found");
  EXPECT_TRUE(Text(no_session).starts_with("Error: session_id: no session 'ghost'"));
  json nothing = Call("create_session", {{"x", 1}});
  EXPECT_EQ(Text(nothing), "Error: create_session: unknown argument 'x' (allowed: none)");
}

TEST_F(McpHandlerTest, SessionAndFileToolsEndToEnd) {
  json created = Call("create_session");
  ASSERT_FALSE(IsError(created)) << created.dump();
  std::string id = created["structuredContent"]["session_id"];
  EXPECT_EQ(created["structuredContent"]["execution_count"], 0);
  EXPECT_NE(Text(created).find(id), std::string::npos);

  json w = Call("write_file", {{"session_id", id}, {"path", "in/data.txt"}, {"content", "3 4"}});
  EXPECT_FALSE(IsError(w)) << w.dump();
  EXPECT_EQ(w["structuredContent"]["size_bytes"], 3);
  json w64 = Call("write_file", {{"session_id", id}, {"path", "raw.bin"}, {"content", "AP8="},
                                 {"encoding", "base64"}});
  EXPECT_FALSE(IsError(w64));
  json refused = Call("write_file", {{"session_id", id}, {"path", "raw.bin"}, {"content", "x"},
                                     {"overwrite", false}});
  EXPECT_TRUE(IsError(refused));
  EXPECT_EQ(refused["structuredContent"]["error"]["code"], "already_exists");

  json run = Call("execute_code",
                  {{"session_id", id},
                   {"code", "a, b = open('/app/in/data.txt').read().split()\n"
                            "open('/app/out.txt', 'w').write(str(int(a) * int(b)))"}});
  EXPECT_EQ(run["structuredContent"]["success"], true) << run.dump();
  EXPECT_NE(Text(run).find("session: " + id + "\nfiles created: out.txt\n"), std::string::npos)
      << Text(run);

  json read = Call("read_file", {{"session_id", id}, {"path", "out.txt"}});
  EXPECT_EQ(Text(read), "12");
  EXPECT_EQ(read["structuredContent"]["encoding"], "text");
  json read64 = Call("read_file", {{"session_id", id}, {"path", "raw.bin"}});
  EXPECT_EQ(read64["structuredContent"]["content"], "AP8=");
  EXPECT_EQ(Text(read64), "raw.bin (2 bytes, base64):\nAP8=");

  json files = Call("list_files", {{"session_id", id}});
  EXPECT_EQ(files["structuredContent"]["files"],
            json::parse(R"(["in/data.txt","out.txt","raw.bin","user_code.py"])"));
  json txt = Call("list_files", {{"session_id", id}, {"glob", "*.txt"}});
  EXPECT_EQ(txt["structuredContent"]["files"], json::parse(R"(["in/data.txt","out.txt"])"));

  json listed = Call("list_sessions");
  ASSERT_EQ(listed["structuredContent"]["sessions"].size(), 1u);
  EXPECT_EQ(listed["structuredContent"]["sessions"][0]["session_id"], id);
  EXPECT_EQ(listed["structuredContent"]["sessions"][0]["execution_count"], 1);
  EXPECT_TRUE(listed["structuredContent"]["sessions"][0]["idle_seconds"].is_number());

  json del = Call("delete_file", {{"session_id", id}, {"path", "raw.bin"}});
  EXPECT_FALSE(IsError(del));
  json del_dir = Call("delete_file", {{"session_id", id}, {"path", "in"}});
  EXPECT_TRUE(IsError(del_dir));
  json del_dir_r = Call("delete_file", {{"session_id", id}, {"path", "in"}, {"recursive", true}});
  EXPECT_FALSE(IsError(del_dir_r));
  json after = Call("list_files", {{"session_id", id}});
  EXPECT_EQ(after["structuredContent"]["files"], json::parse(R"(["out.txt","user_code.py"])"));

  json reset = Call("reset_session", {{"session_id", id}});
  EXPECT_FALSE(IsError(reset));
  EXPECT_EQ(Call("list_files", {{"session_id", id}})["structuredContent"]["files"], json::array());

  json destroyed = Call("destroy_session", {{"session_id", id}});
  EXPECT_FALSE(IsError(destroyed));
  EXPECT_FALSE(std::filesystem::exists(service_->workspace_root() / id));
  json again = Call("destroy_session", {{"session_id", id}});
  EXPECT_TRUE(IsError(again));
  EXPECT_EQ(Text(Call("list_sessions")), "No sessions.");
}

TEST_F(McpHandlerTest, GetCapabilitiesReturnsTheServiceAnswer) {
  json r = Call("get_capabilities");
  ASSERT_FALSE(IsError(r)) << r.dump();
  EXPECT_TRUE(r["structuredContent"]["python_version"].get<std::string>().starts_with("3.11"));
  EXPECT_EQ(r["structuredContent"]["limits"]["max_timeout_seconds"], 20.0);
  EXPECT_EQ(json::parse(Text(r)), r["structuredContent"]);
}

TEST_F(McpHandlerTest, LimitRefusalsAreToolErrors) {
  ServerLimits limits = RoomyLimits();
  limits.rate_limit_per_minute = 2;
  limits.max_sessions = 1;
  limits.max_code_bytes = 5;
  Start(limits);
  EXPECT_FALSE(IsError(Call("create_session")));
  json cap = Call("create_session");
  EXPECT_TRUE(IsError(cap));
  EXPECT_EQ(cap["structuredContent"]["error"]["code"], "resource_exhausted");
  json limited = Call("list_sessions");
  EXPECT_TRUE(IsError(limited));
  EXPECT_EQ(limited["structuredContent"]["error"]["code"], "rate_limited");
  EXPECT_TRUE(Text(limited).starts_with("Error: rate limit exceeded: client 'client-1'"));
  // Protocol methods are not charged.
  EXPECT_EQ(Request("ping")["result"], json::object());
  clock_.Advance(std::chrono::seconds(30));  // one token back
  json big = Call("execute_code", {{"code", "print(1)"}});
  EXPECT_TRUE(IsError(big));
  EXPECT_EQ(Text(big), "Error: code: 8 bytes is more than the server's limit of 5 bytes (max_code_bytes)");
}

}  // namespace
}  // namespace snakecage
