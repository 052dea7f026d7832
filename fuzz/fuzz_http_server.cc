// The HTTP server (`snakecage serve`: cpp-httplib's request parsing and our
// routes) from the socket in: each input is sent as the raw bytes of one
// connection (request line, headers, query, body), and the response is
// read until whole. Executions reach an executor whose zygote
// program does not exist (they fail fast as host errors); sessions and files
// are real, in a scratch root. A bearer token is set, so inputs exercise
// both the refusal and (seeds carry the token) the routes behind it.
//
// Invariants: no crash or sanitizer report in the server's threads; the
// server answers or closes within 10 s; what it sends is one response
// that starts "HTTP/1.1 NNN " with a whole header; a response with a JSON
// content type carries one JSON value that parses strictly (valid UTF-8;
// none for HEAD, and only the first of pipelined requests is checked);
// the server answers /healthz after every input.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "base/unique_fd.h"
#include "base/write_all.h"
#include "fuzz_service.h"
#include "server/http_server.h"
#include "server/metrics.h"
#include "snakecage/server.h"

namespace {

struct Server {
  std::unique_ptr<snakecage::SandboxService> service;
  std::unique_ptr<snakecage::McpHandler> mcp;
  std::unique_ptr<snakecage::server::HttpServer> http;
};

Server& TheServer() {
  static Server* s = [] {
    auto* server = new Server{snakecage::fuzzing::MakeFuzzService("http"), nullptr, nullptr};
    server->mcp = std::make_unique<snakecage::McpHandler>(*server->service);
    snakecage::server::HttpServerOptions http;
    http.port = 0;
    http.bearer_token = "fuzz-token";
    http.max_body_bytes = 65536;
    // An input that is not a whole request ends within this (the server
    // then closes); a whole one is answered at once, since it is written
    // in one go. Short, so that the target spends its time parsing rather
    // than waiting (at 100 ms it ran 50 inputs a second on one core, at
    // a few percent of it).
    http.read_timeout = std::chrono::milliseconds(10);
    auto started = snakecage::server::HttpServer::Start(
        http, *server->service, *server->mcp,
        std::make_shared<snakecage::server::MetricsLogger>());
    if (!started.ok()) std::abort();
    server->http = std::move(*started);
    return server;
  }();
  return *s;
}

// The length of the first response's body: its Content-Length (every
// response of the server has one), 0 for an answer to HEAD, which has none.
size_t BodyLength(const std::string& head, bool head_request) {
  const size_t at = head.find("Content-Length: ");
  if (head_request || at == std::string::npos) return 0;
  return std::strtoul(head.c_str() + at + 16, nullptr, 10);
}

// True once `response` holds the whole first response.
bool Complete(const std::string& response, bool head_request) {
  const size_t end = response.find("\r\n\r\n");
  if (end == std::string::npos) return false;
  return response.size() >= end + 4 + BodyLength(response.substr(0, end), head_request);
}

// Whether the server may take `request` for a HEAD, and so answer without
// a body: its first token, up to a space or the end of the line, is HEAD
// (the server reads the method so even from a request line it then
// refuses, such as "HEAD\r\n", and answers that 400 without a body).
bool IsHead(std::string_view request) {
  return request.substr(0, request.find_first_of(" \r\n")) == "HEAD";
}

// Sends `request` on a new connection and returns what the server sent
// until its response is whole or it closed the connection (aborts after
// 10 s: the server hung). The write side stays open: cpp-httplib answers
// nothing on a half-closed connection.
std::string Exchange(std::string_view request) {
  const bool head_request = IsHead(request);
  snakecage::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) std::abort();
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(TheServer().http->port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // Many connections a second leave many in TIME_WAIT; several processes
  // fuzzing at once can use up the local ports for a while (EADDRNOTAVAIL).
  // Wait for one to come free; anything else is the server's failure.
  const auto connect_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno != EADDRNOTAVAIL || std::chrono::steady_clock::now() > connect_deadline) {
      std::abort();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  (void)snakecage::WriteAll(fd.get(), request);  // the server may close early
  std::string response;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  char buf[65536];
  while (!Complete(response, head_request)) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) std::abort();  // the server hung on this input
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n <= 0) break;
    response.append(buf, static_cast<size_t>(n));
  }
  return response;
}

// Checks the first response the server sent on one connection (it may
// close without one: a request cut short by the end of the input).
void CheckResponse(const std::string& response, bool head_request) {
  if (response.empty()) return;
  if (response.rfind("HTTP/1.1 ", 0) != 0 || response.size() < 13) std::abort();
  const int status = std::atoi(response.substr(9, 3).c_str());
  if (status < 100 || status > 599) std::abort();
  const size_t end = response.find("\r\n\r\n");
  if (end == std::string::npos) std::abort();
  const std::string head = response.substr(0, end);
  const size_t length = BodyLength(head, head_request);
  if (length > 0 && head.find("Content-Type: application/json") != std::string::npos) {
    if (!nlohmann::json::accept(response.substr(end + 4, length))) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view request(reinterpret_cast<const char*>(data), size);
  CheckResponse(Exchange(request), IsHead(request));
  const std::string health = Exchange("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  if (health.rfind("HTTP/1.1 200 ", 0) != 0) std::abort();
  return 0;
}
