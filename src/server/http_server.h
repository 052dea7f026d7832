// server/http_server.h: `snakecage serve`, the HTTP face of a SandboxService
// (cpp-httplib).
//
// Endpoints (JSON in and out; errors are {"error": {"status", "message"}}):
//   POST   /v1/execute                        {code, session_id?, timeout_seconds?}
//                                             -> SandboxResultToJson
//   POST   /v1/sessions                       -> session summary (201)
//   GET    /v1/sessions                       -> {"sessions": [...]}
//   DELETE /v1/sessions/{id}                  -> {"session_id", "deleted": true}
//   POST   /v1/sessions/{id}/reset            -> session summary
//   GET    /v1/sessions/{id}/files[?glob=G]   -> {"session_id", "files": [...]}
//   GET    /v1/sessions/{id}/files/{path}[?encoding=text|base64] -> FileContentToJson
//   PUT    /v1/sessions/{id}/files/{path}     {content, encoding?, overwrite?} -> {"bytes"}
//   DELETE /v1/sessions/{id}/files/{path}[?recursive=true]
//   GET    /v1/capabilities
//   POST   /mcp      MCP Streamable HTTP: one JSON-RPC message per POST, answered
//                    with application/json (202 without a body for notifications);
//                    GET and DELETE /mcp are 405 (no server-initiated stream, no
//                    MCP sessions)
//   GET    /healthz  {"status": "ok"} (never needs the token)
//   GET    /metrics  Prometheus text (metrics.h)
//
// Statuses: 400 bad JSON or arguments, 401 missing or wrong bearer token,
// 403 a browser Origin that is not loopback (DNS rebinding), 404 unknown
// session, file or route, 409 file exists (overwrite false), 413 body over
// the limit, 429 rate limited or session limit, 503 saturated (more
// executions in flight than max_concurrency), 500 host failure.
//
// Thread-safety: one server object; requests are handled on a pool of
// max_concurrency + 4 threads.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "server/metrics.h"
#include "snakecage/server.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}

namespace snakecage::server {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port (see HttpServer::port())
  // When set, every request but /healthz needs "Authorization: Bearer <token>".
  std::optional<std::string> bearer_token;
  size_t max_body_bytes = 2'000'000;
  // Executions (/v1/execute, /mcp) in flight at once; more get 503.
  size_t max_concurrency = 8;
  // How long a connection may take to send the rest of a request (and how
  // long an idle kept-alive connection is held): a client that stalls holds
  // one of the server's threads for at most this long.
  std::chrono::milliseconds read_timeout{5000};
};

class HttpServer {
 public:
  // Binds and starts serving on a thread of its own. The service, handler
  // and metrics must outlive the server. Errors name the address.
  static StatusOr<std::unique_ptr<HttpServer>> Start(HttpServerOptions options,
                                                     SandboxService& service,
                                                     McpHandler& mcp,
                                                     std::shared_ptr<MetricsLogger> metrics);
  ~HttpServer();  // Stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const { return port_; }
  // Stops accepting, finishes the requests in flight, joins. Idempotent.
  void Stop();
  // Blocks until Stop() (from another thread or a signal handler's thread).
  void Wait();

 private:
  HttpServer() = default;
  void Routes();
  // POST /v1/execute (`path_session` none: the body may name the session)
  // and POST /v1/sessions/ID/execute (the path names it; the body may not).
  void Execute(const httplib::Request& req, httplib::Response& res,
               std::optional<std::string> path_session);

  HttpServerOptions options_;
  SandboxService* service_ = nullptr;
  McpHandler* mcp_ = nullptr;
  std::shared_ptr<MetricsLogger> metrics_;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<size_t> in_flight_{0};
};

// Reads a bearer token file: its content without surrounding whitespace;
// InvalidArgument naming the file when it is empty or unreadable.
StatusOr<std::string> ReadTokenFile(const std::filesystem::path& path);

}  // namespace snakecage::server
