// `snakecage serve`'s HTTP server with real requests on loopback: every
// endpoint, the error statuses, authentication, limits, saturation, metrics,
// MCP over Streamable HTTP, and a bounded load test.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "common/temp_dir.h"
#include "server/http_server.h"

namespace snakecage::server {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using snakecage::testing::TempDir;

// A TCP connection to the server on loopback: its descriptor, or -1.
int Connect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    if (fd >= 0) close(fd);
    return -1;
  }
  return fd;
}

// One whole answer read from `fd` (its head and Content-Length bytes of
// body), or what came before the connection ended.
std::string ReadAnswer(int fd) {
  std::string answer;
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) {
    answer.append(buf, n);
    const size_t end = answer.find("\r\n\r\n");
    const size_t length = answer.find("Content-Length: ");
    if (end != std::string::npos && length != std::string::npos &&
        answer.size() >= end + 4 + std::stoul(answer.substr(length + 16))) {
      break;
    }
  }
  return answer;
}

class HttpServerTest : public ::testing::Test {
 protected:
  void StartServer(HttpServerOptions http = {}, ServerLimits limits = {}) {
    ServiceOptions o;
    o.limits = std::move(limits);
    o.workspace_root = dir_.path() / "sessions";
    metrics_ = std::make_shared<MetricsLogger>();
    o.logger = metrics_;
    auto service = SandboxService::Create(std::move(o));
    ASSERT_TRUE(service.ok()) << service.status().message();
    service_ = std::move(*service);
    mcp_ = std::make_unique<McpHandler>(*service_);
    http.port = 0;
    auto server = HttpServer::Start(http, *service_, *mcp_, metrics_);
    ASSERT_TRUE(server.ok()) << server.status().message();
    server_ = std::move(*server);
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    client_->set_read_timeout(30, 0);
  }
  void TearDown() override {
    if (server_) server_->Stop();
  }
  static Json Parse(const httplib::Result& r) {
    return r ? Json::parse(r->body, nullptr, false) : Json();
  }
  httplib::Result PostJson(const std::string& path, const Json& body,
                           httplib::Headers headers = {}) {
    return client_->Post(path.c_str(), headers, body.dump(), "application/json");
  }

  TempDir dir_;
  std::shared_ptr<MetricsLogger> metrics_;
  std::unique_ptr<SandboxService> service_;
  std::unique_ptr<McpHandler> mcp_;
  std::unique_ptr<HttpServer> server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(HttpServerTest, ExecuteReturnsTheResult) {
  StartServer();
  auto r = PostJson("/v1/execute", {{"code", "print(2 + 2)"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
  Json j = Parse(r);
  EXPECT_EQ(j["success"], true);
  EXPECT_EQ(j["stdout"], "4\n");
  EXPECT_TRUE(j["metadata"].contains("fuel_analysis"));
  Json failed = Parse(PostJson("/v1/execute", {{"code", "raise SystemExit(3)"}}));
  EXPECT_EQ(failed["success"], false);
  EXPECT_EQ(failed["exit_code"], 3);
}

TEST_F(HttpServerTest, TheGuestListsItsMountsAtTheRoot) {
  StartServer();
  Json j = Parse(PostJson(
      "/v1/execute",
      {{"code", "import os, pathlib\nprint(sorted(os.listdir('/')), "
                "pathlib.Path('/nope').exists(), os.path.ismount('/app'))"}}));
  EXPECT_EQ(j["success"], true) << j.dump();
  EXPECT_EQ(j["stdout"], "['app', 'usr'] False True\n");
  EXPECT_EQ(j["metadata"]["path_denials"], 0);
}

// keep_state: variables live on between a session's executions, a failed
// execution leaves them as they were, a reset drops them.
TEST_F(HttpServerTest, KeepStateKeepsVariablesAndRollsBackAFailure) {
  StartServer();
  const std::string id = Parse(client_->Post("/v1/sessions"))["session_id"];
  auto execute = [&](const std::string& code) {
    return Parse(PostJson("/v1/execute", {{"code", code}, {"session_id", id}, {"keep_state", true}}));
  };
  Json first = execute("rows = [1, 2, 3]");
  EXPECT_EQ(first["metadata"]["state"], "fresh") << first.dump();
  Json failed = execute("rows.append(4)\nraise KeyError('x')");
  EXPECT_EQ(failed["success"], false);
  EXPECT_EQ(failed["metadata"]["state"], "rolled_back");
  EXPECT_NE(failed["metadata"]["state_reason"].get<std::string>().find("as it was before"),
            std::string::npos);
  Json after = execute("print(sum(rows))");
  EXPECT_EQ(after["stdout"], "6\n");
  EXPECT_EQ(after["metadata"]["state"], "committed");
  // Without keep_state the session's executions start pristine, as before.
  Json plain = Parse(PostJson("/v1/execute", {{"code", "print('rows' in globals())"},
                                              {"session_id", id}}));
  EXPECT_EQ(plain["stdout"], "False\n");
  EXPECT_TRUE(plain["metadata"]["state"].is_null());
  EXPECT_EQ(client_->Post(("/v1/sessions/" + id + "/reset").c_str())->status, 200);
  Json reset = execute("print('rows' in globals())");
  EXPECT_EQ(reset["stdout"], "False\n");
  EXPECT_EQ(reset["metadata"]["state"], "fresh");
  auto no_session = PostJson("/v1/execute", {{"code", "x = 1"}, {"keep_state", true}});
  EXPECT_EQ(no_session->status, 400);
  EXPECT_NE(Parse(no_session)["error"]["message"].get<std::string>().find("keep_state: needs a "
                                                                          "session_id"),
            std::string::npos);
  auto not_bool = PostJson("/v1/execute", {{"code", "x = 1"}, {"keep_state", "yes"}});
  EXPECT_EQ(Parse(not_bool)["error"]["message"], "keep_state: must be a boolean");
}

TEST_F(HttpServerTest, BadRequestsAreRefusedByName) {
  StartServer();
  auto bad_json = client_->Post("/v1/execute", "{not json", "application/json");
  ASSERT_TRUE(bad_json);
  EXPECT_EQ(bad_json->status, 400);
  EXPECT_EQ(Parse(bad_json)["error"]["message"], "body: not valid JSON");
  auto not_object = PostJson("/v1/execute", Json::array({1}));
  EXPECT_EQ(not_object->status, 400);
  auto no_code = PostJson("/v1/execute", {{"cod", "print(1)"}});
  EXPECT_EQ(no_code->status, 400);
  EXPECT_EQ(Parse(no_code)["error"]["message"], "body: unknown key \"cod\"");
  auto wrong_type = PostJson("/v1/execute", {{"code", 5}});
  EXPECT_EQ(Parse(wrong_type)["error"]["message"], "code: must be a string");
  auto no_route = client_->Get("/v2/nothing");
  EXPECT_EQ(no_route->status, 404);
  EXPECT_EQ(Parse(no_route)["error"]["status"], 404);
}

TEST_F(HttpServerTest, AFileWritePastTheWorkspaceQuotaIs507AndWritesNothing) {
  ServerLimits limits;
  limits.policy = *ExecutionPolicyBuilder().workspace_max_bytes(5 * 4096).Build();
  StartServer({}, limits);
  const std::string id = Parse(client_->Post("/v1/sessions"))["session_id"];
  const std::string files = "/v1/sessions/" + id + "/files/";
  auto fits = client_->Put((files + "a.txt").c_str(),
                           Json{{"content", std::string(4 * 4096, 'a')}}.dump(),
                           "application/json");
  ASSERT_TRUE(fits);
  EXPECT_EQ(fits->status, 200);
  // Two more blocks for a new directory and its file: one too many.
  auto too_much = client_->Put((files + "sub/b.txt").c_str(),
                               Json{{"content", std::string(4096, 'b')}}.dump(),
                               "application/json");
  ASSERT_TRUE(too_much);
  EXPECT_EQ(too_much->status, 507);
  const Json error = Parse(too_much)["error"];
  EXPECT_EQ(error["status"], 507);
  EXPECT_NE(error["message"].get<std::string>().find("workspace_max_bytes (20480)"),
            std::string::npos)
      << error.dump();
  EXPECT_FALSE(fs::exists(dir_.path() / "sessions" / id / "workspace" / "sub"));
  // Replacing a file counts its new size, not both.
  auto replace = client_->Put((files + "a.txt").c_str(),
                              Json{{"content", std::string(5 * 4096, 'a')}}.dump(),
                              "application/json");
  EXPECT_EQ(replace->status, 200);
  // The guest meets the same bound from inside.
  Json run = Parse(PostJson("/v1/execute",
                            {{"code", "open('/app/c.txt', 'w').write('c' * 10000)"},
                             {"session_id", id}}));
  EXPECT_EQ(run["success"], false);
  EXPECT_EQ(run["metadata"]["workspace_writes_refused"], 1);
  EXPECT_EQ(run["metadata"]["workspace_max_bytes"], 5 * 4096);
}

TEST_F(HttpServerTest, OversizedBodiesAre413) {
  HttpServerOptions http;
  http.max_body_bytes = 1000;
  StartServer(http);
  auto r = PostJson("/v1/execute", {{"code", "x = '" + std::string(5000, 'a') + "'"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(Parse(r)["error"]["status"], 413);
  EXPECT_EQ(PostJson("/v1/execute", {{"code", "print(1)"}})->status, 200);
}

TEST_F(HttpServerTest, BearerTokenIsRequiredExceptForHealth) {
  HttpServerOptions http;
  http.bearer_token = "s3cret-token";
  StartServer(http);
  EXPECT_EQ(client_->Get("/healthz")->status, 200);
  EXPECT_EQ(Parse(client_->Get("/healthz"))["status"], "ok");
  auto missing = client_->Get("/v1/sessions");
  EXPECT_EQ(missing->status, 401);
  EXPECT_EQ(missing->get_header_value("WWW-Authenticate"), "Bearer");
  EXPECT_EQ(client_->Get("/v1/sessions", {{"Authorization", "Bearer wrong"}})->status, 401);
  EXPECT_EQ(client_->Get("/v1/sessions", {{"Authorization", "Bearer s3cret-token-x"}})->status,
            401);
  EXPECT_EQ(client_->Get("/metrics")->status, 401);
  EXPECT_EQ(client_->Get("/v1/sessions", {{"Authorization", "Bearer s3cret-token"}})->status,
            200);
}

// Found by fuzz/fuzz_http_server: a reply holding bytes that are not UTF-8
// (a request's path, a file name the guest made) threw in dump() and ended
// the server. Such bytes now come back as U+FFFD, and the server lives on.
TEST_F(HttpServerTest, BytesThatAreNotUtf8NeverEndTheServer) {
  StartServer();
  const std::string id = Parse(client_->Post("/v1/sessions"))["session_id"];
  const std::string base = "/v1/sessions/" + id;
  Json run = Parse(PostJson("/v1/execute",
                            {{"code", "open(b'/app/caf\\xff.txt', 'w').write('x')"},
                             {"session_id", id}}));
  EXPECT_EQ(run["success"], true) << run.dump();
  EXPECT_EQ(run["files_created"], Json::array({"caf\xEF\xBF\xBD.txt"}));
  auto files = client_->Get((base + "/files").c_str());
  ASSERT_TRUE(files);
  EXPECT_EQ(files->status, 200);
  EXPECT_EQ(Parse(files)["files"], Json::array({"caf\xEF\xBF\xBD.txt", "user_code.py"}));
  auto odd_path = client_->Delete((base + "/files/\xd1\xd1/a?recursive=true").c_str());
  ASSERT_TRUE(odd_path);
  EXPECT_EQ(odd_path->status, 404);
  EXPECT_TRUE(Json::accept(odd_path->body)) << odd_path->body;
  EXPECT_EQ(client_->Get("/healthz")->status, 200);
}

TEST_F(HttpServerTest, SessionsAndFiles) {
  StartServer();
  auto created = client_->Post("/v1/sessions");
  ASSERT_TRUE(created);
  EXPECT_EQ(created->status, 201);
  const std::string id = Parse(created)["session_id"];
  const std::string base = "/v1/sessions/" + id;
  auto put = client_->Put((base + "/files/data/in.txt").c_str(),
                          Json{{"content", "hello"}}.dump(), "application/json");
  ASSERT_TRUE(put);
  EXPECT_EQ(put->status, 200);
  EXPECT_EQ(Parse(put)["bytes"], 5);
  Json run = Parse(PostJson("/v1/execute",
                            {{"code", "print(open('/app/data/in.txt').read())\n"
                                      "open('/app/out.bin', 'wb').write(bytes([0, 255]))"},
                             {"session_id", id}}));
  EXPECT_EQ(run["stdout"], "hello\n");
  EXPECT_EQ(run["files_created"], Json::array({"out.bin"}));
  Json files = Parse(client_->Get((base + "/files").c_str()));
  EXPECT_EQ(files["files"], Json::array({"data/in.txt", "out.bin", "user_code.py"}));
  Json binary = Parse(client_->Get((base + "/files/out.bin").c_str()));
  EXPECT_EQ(binary["encoding"], "base64");
  EXPECT_EQ(binary["content"], "AP8=");
  auto no_clobber = client_->Put((base + "/files/data/in.txt").c_str(),
                                 Json{{"content", "x"}, {"overwrite", false}}.dump(),
                                 "application/json");
  EXPECT_EQ(no_clobber->status, 409);
  auto escape = client_->Get((base + "/files/../session.json").c_str());
  EXPECT_EQ(escape->status, 400);
  EXPECT_EQ(client_->Delete((base + "/files/out.bin").c_str())->status, 200);
  EXPECT_EQ(client_->Post((base + "/reset").c_str())->status, 200);
  EXPECT_EQ(Parse(client_->Get((base + "/files").c_str()))["files"], Json::array());
  EXPECT_EQ(client_->Delete(base.c_str())->status, 200);
  EXPECT_EQ(client_->Get((base + "/files").c_str())->status, 404);
  EXPECT_EQ(PostJson("/v1/execute", {{"code", "pass"}, {"session_id", id}})->status, 404);
  EXPECT_EQ(client_->Delete("/v1/sessions/no-such-session")->status, 404);
}

// The routes a proxy can route by session (README, "Several nodes"): a
// session with an id the client chose, and its execute route.
TEST_F(HttpServerTest, ASessionCanBeNamedByTheClientAndRunByItsPath) {
  StartServer();
  const std::string id = "client-chosen-1";
  auto made = client_->Put(("/v1/sessions/" + id).c_str(), "", "application/json");
  ASSERT_TRUE(made);
  EXPECT_EQ(made->status, 201) << made->body;
  EXPECT_EQ(Parse(made)["session_id"], id);
  auto again = client_->Put(("/v1/sessions/" + id).c_str(), "", "application/json");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200) << again->body;  // it exists: returned as it is
  // A PUT without Content-Length (curl -X PUT with no body) is told why.
  {
    const int fd = Connect(server_->port());
    ASSERT_GE(fd, 0);
    const std::string request = "PUT /v1/sessions/" + id + " HTTP/1.1\r\nHost: x\r\n\r\n";
    ASSERT_EQ(write(fd, request.data(), request.size()), static_cast<ssize_t>(request.size()));
    const std::string answer = ReadAnswer(fd);
    close(fd);
    EXPECT_EQ(answer.rfind("HTTP/1.1 400", 0), 0u) << answer;
    EXPECT_NE(answer.find("body: a PUT needs a Content-Length header"), std::string::npos)
        << answer;
  }
  auto bad = client_->Put("/v1/sessions/..", "", "application/json");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400) << bad->body;
  EXPECT_NE(bad->body.find("session_id: "), std::string::npos) << bad->body;

  auto ran = PostJson("/v1/sessions/" + id + "/execute",
                      {{"code", "open('/app/a.txt', 'w').write('x')\nprint(2 + 2)"}});
  ASSERT_TRUE(ran);
  EXPECT_EQ(ran->status, 200) << ran->body;
  EXPECT_EQ(Parse(ran)["stdout"], "4\n");
  EXPECT_EQ(Parse(ran)["files_created"], Json::array({"a.txt"}));
  // It ran in that session: its file is there.
  auto file = client_->Get(("/v1/sessions/" + id + "/files/a.txt").c_str());
  ASSERT_TRUE(file);
  EXPECT_EQ(file->status, 200) << file->body;
  // The path names the session; the body may not name another.
  auto two = PostJson("/v1/sessions/" + id + "/execute", {{"code", "1"}, {"session_id", "x"}});
  ASSERT_TRUE(two);
  EXPECT_EQ(two->status, 400) << two->body;
  EXPECT_NE(two->body.find("session_id"), std::string::npos) << two->body;
  auto missing = PostJson("/v1/sessions/nope/execute", {{"code", "1"}});
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404) << missing->body;
}

// An agent's client keeps one connection for its calls: the server does not
// close it after a few requests (httplib's default closed it every fifth).
TEST_F(HttpServerTest, AKeepAliveConnectionServesManyRequests) {
  StartServer();
  const int fd = Connect(server_->port());
  ASSERT_GE(fd, 0);
  const std::string request = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(write(fd, request.data(), request.size()), static_cast<ssize_t>(request.size()))
        << "request " << i;
    const std::string answer = ReadAnswer(fd);
    ASSERT_EQ(answer.rfind("HTTP/1.1 200", 0), 0u) << "request " << i << ": " << answer;
    ASSERT_EQ(answer.find("Connection: close"), std::string::npos)
        << "request " << i << ": " << answer;
  }
  close(fd);
}

TEST_F(HttpServerTest, SaturationIs503) {
  HttpServerOptions http;
  http.max_concurrency = 1;
  StartServer(http);
  std::thread slow([&] {
    httplib::Client c("127.0.0.1", server_->port());
    c.set_read_timeout(30, 0);
    auto r = c.Post("/v1/execute", Json{{"code", "import time\ntime.sleep(1)"}}.dump(),
                    "application/json");
    EXPECT_TRUE(r && r->status == 200);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto r = PostJson("/v1/execute", {{"code", "print(1)"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->get_header_value("Retry-After"), "1");
  slow.join();
  EXPECT_EQ(PostJson("/v1/execute", {{"code", "print(1)"}})->status, 200);
}

TEST_F(HttpServerTest, RateLimitIs429) {
  ServerLimits limits;
  limits.rate_limit_per_minute = 2;
  StartServer({}, limits);
  EXPECT_EQ(PostJson("/v1/execute", {{"code", "pass"}})->status, 200);
  EXPECT_EQ(PostJson("/v1/execute", {{"code", "pass"}})->status, 200);
  auto third = PostJson("/v1/execute", {{"code", "pass"}});
  EXPECT_EQ(third->status, 429);
}

TEST_F(HttpServerTest, MetricsCountExecutionsFailuresAndResponses) {
  StartServer();
  PostJson("/v1/execute", {{"code", "print(1)"}});
  PostJson("/v1/execute", {{"code", "raise SystemExit(2)"}});
  PostJson("/v1/execute", {{"code", "while True: pass"}, {"timeout_seconds", 0.2}});
  auto m = client_->Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status, 200);
  const std::string& text = m->body;
  EXPECT_NE(text.find("\nsnakecage_executions_total 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("snakecage_execution_failures_total{reason=\"exit_status\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("snakecage_execution_failures_total{reason=\"timeout\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("snakecage_execution_duration_seconds_count 3\n"), std::string::npos);
  EXPECT_NE(text.find("snakecage_execution_duration_seconds_bucket{le=\"+Inf\"} 3\n"),
            std::string::npos);
  EXPECT_NE(text.find("# TYPE snakecage_active_sessions gauge"), std::string::npos);
  EXPECT_NE(text.find("snakecage_http_requests_total{code=\"200\"} 3\n"), std::string::npos)
      << text;
}

TEST_F(HttpServerTest, McpOverStreamableHttp) {
  StartServer();
  Json init = {{"jsonrpc", "2.0"},
               {"id", 1},
               {"method", "initialize"},
               {"params",
                {{"protocolVersion", "2025-06-18"},
                 {"capabilities", Json::object()},
                 {"clientInfo", {{"name", "test"}, {"version", "1"}}}}}};
  auto r = PostJson("/mcp", init, {{"Accept", "application/json, text/event-stream"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  Json j = Parse(r);
  EXPECT_EQ(j["id"], 1);
  EXPECT_EQ(j["result"]["protocolVersion"], "2025-06-18");
  auto note = PostJson("/mcp", {{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}});
  EXPECT_EQ(note->status, 202);
  EXPECT_EQ(note->body, "");
  Json call = {{"jsonrpc", "2.0"},
               {"id", 2},
               {"method", "tools/call"},
               {"params", {{"name", "execute_code"}, {"arguments", {{"code", "print(6 * 7)"}}}}}};
  Json result = Parse(PostJson("/mcp", call, {{"MCP-Protocol-Version", "2025-06-18"}}));
  EXPECT_EQ(result["result"]["structuredContent"]["stdout"], "42\n") << result.dump();
  EXPECT_EQ(PostJson("/mcp", call, {{"MCP-Protocol-Version", "1999-01-01"}})->status, 400);
  EXPECT_EQ(PostJson("/mcp", call, {{"Origin", "http://evil.example"}})->status, 403);
  EXPECT_EQ(PostJson("/mcp", call, {{"Origin", "http://localhost:3000"}})->status, 200);
  EXPECT_EQ(client_->Get("/mcp")->status, 405);
  auto garbage = client_->Post("/mcp", "{", "application/json");
  EXPECT_EQ(Parse(garbage)["error"]["code"], -32700);
}

// Many concurrent executions for a bounded time: every answer is the right
// one, nothing fails, and the server holds no more descriptors afterwards.
TEST_F(HttpServerTest, LoadKeepsResultsApartAndLeaksNothing) {
  HttpServerOptions http;
  http.max_concurrency = 8;
  ServerLimits limits;
  limits.rate_limit_per_minute = 0;
  StartServer(http, limits);
  ASSERT_EQ(PostJson("/v1/execute", {{"code", "pass"}})->status, 200);  // warm
  const size_t fds = testing::OpenFdCount();
  std::atomic<int> ok{0}, wrong{0};
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      httplib::Client c("127.0.0.1", server_->port());
      c.set_read_timeout(30, 0);
      for (int i = 0; std::chrono::steady_clock::now() < until; ++i) {
        const std::string tag = std::to_string(t) + "-" + std::to_string(i);
        auto r = c.Post("/v1/execute", Json{{"code", "print('" + tag + "')"}}.dump(),
                        "application/json");
        Json j = r ? Json::parse(r->body, nullptr, false) : Json();
        if (r && r->status == 200 && j["stdout"] == tag + "\n") {
          ++ok;
        } else {
          ++wrong;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_GT(ok.load(), 50);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_LE(testing::OpenFdCount(), fds + 2);  // keep-alive sockets may linger briefly
}

}  // namespace
}  // namespace snakecage::server
