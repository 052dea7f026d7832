#include "cli/bench_servers.h"

#include <fcntl.h>
#include <httplib.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "base/unique_fd.h"
#include "base/write_all.h"

namespace snakecage::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

constexpr char kCode[] = "print(2+2)";
constexpr auto kStartDeadline = std::chrono::seconds(30);

double MsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

std::string Slurp(const fs::path& p) {
  std::ifstream in(p);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

// A server process of ours: stopped (SIGTERM, then reaped) when it goes.
class Child {
 public:
  Child() = default;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }

  // Starts `self args...` with stderr to `err` and, when given, stdin and
  // stdout on the given descriptors.
  Status Spawn(const fs::path& self, std::vector<std::string> args, const fs::path& err,
               int stdin_fd = -1, int stdout_fd = -1) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    if (stdin_fd >= 0) posix_spawn_file_actions_adddup2(&actions, stdin_fd, 0);
    if (stdout_fd >= 0) posix_spawn_file_actions_adddup2(&actions, stdout_fd, 1);
    posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
    std::vector<char*> argv;
    std::string arg0 = self.string();
    argv.push_back(arg0.data());
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int rc = posix_spawn(&pid_, self.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
      pid_ = -1;
      return Internal("bench: cannot start " + self.string() + " " + args.front() + ": " +
                      std::strerror(rc));
    }
    return Status::Ok();
  }

  bool exited() {
    int status = 0;
    if (pid_ > 0 && ::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return true;
    }
    return pid_ <= 0;
  }

 private:
  pid_t pid_ = -1;
};

// OK when `answer` (an execution result as the HTTP API or MCP's
// structuredContent gives it) says success with stdout "4\n".
Status CheckAnswer(const Json& answer, const std::string& measure) {
  if (answer.is_object() && answer.value("success", false) &&
      answer.value("stdout", std::string()) == "4\n") {
    return Status::Ok();
  }
  return Internal("bench: " + measure + ": expected success with stdout \"4\\n\", got " +
                  answer.dump().substr(0, 300));
}

// --- HTTP ---------------------------------------------------------------------

StatusOr<int> StartServe(Child& server, const fs::path& self, const fs::path& scratch) {
  const fs::path err = scratch / "serve.stderr";
  fs::create_directories(scratch / "serve-sessions");
  if (Status s = server.Spawn(self,
                              {"serve", "--listen", "127.0.0.1:0", "--workspace-root",
                               (scratch / "serve-sessions").string(), "--log-file",
                               (scratch / "serve.log").string(), "--rate-limit", "0"},
                              err);
      !s.ok()) {
    return s;
  }
  const std::regex listening("listening on http://127\\.0\\.0\\.1:(\\d+)");
  const auto start = Clock::now();
  while (Clock::now() - start < kStartDeadline) {
    const std::string text = Slurp(err);
    std::smatch m;
    if (std::regex_search(text, m, listening)) return std::stoi(m[1]);
    if (server.exited()) return Internal("bench: snakecage serve exited: " + text);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return Internal("bench: snakecage serve did not start within 30 s");
}

StatusOr<std::vector<double>> TimeHttp(httplib::Client& client, const Json& body,
                                       const std::string& measure, uint64_t warmup,
                                       uint64_t runs) {
  const std::string text = body.dump();
  std::vector<double> ms;
  ms.reserve(runs);
  for (uint64_t i = 0; i < warmup + runs; ++i) {
    const auto start = Clock::now();
    auto res = client.Post("/v1/execute", text, "application/json");
    const double elapsed = MsSince(start);
    if (!res) {
      return Internal("bench: " + measure + ": no answer (" + httplib::to_string(res.error()) +
                      ")");
    }
    if (res->status != 200) {
      return Internal("bench: " + measure + ": HTTP " + std::to_string(res->status) + ": " +
                      res->body.substr(0, 300));
    }
    if (Status s = CheckAnswer(Json::parse(res->body, nullptr, false), measure); !s.ok()) {
      return s;
    }
    if (i >= warmup) ms.push_back(elapsed);
  }
  return ms;
}

// --- MCP over stdio -------------------------------------------------------------

// One newline-delimited JSON-RPC conversation over a pair of pipes.
class LineChannel {
 public:
  LineChannel(int to, int from) : to_(to), from_(from) {}

  Status Send(const Json& message) {
    const std::string line = message.dump() + "\n";
    if (!WriteAll(to_, line)) {
      return Internal(std::string("bench: mcp: cannot write to the server: ") +
                      std::strerror(errno));
    }
    return Status::Ok();
  }
  StatusOr<Json> Receive() {
    for (;;) {
      const size_t nl = buffer_.find('\n');
      if (nl != std::string::npos) {
        Json j = Json::parse(buffer_.substr(0, nl), nullptr, false);
        buffer_.erase(0, nl + 1);
        if (j.is_discarded()) return Internal("bench: mcp: the server sent a line that is not JSON");
        return j;
      }
      char chunk[65536];
      const ssize_t n = ::read(from_, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return Internal("bench: mcp: the server closed its stdout");
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }

 private:
  int to_, from_;
  std::string buffer_;
};

StatusOr<std::vector<double>> TimeMcp(const fs::path& self, const fs::path& scratch,
                                      uint64_t warmup, uint64_t runs) {
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) {
    return Internal(std::string("bench: mcp: pipe: ") + std::strerror(errno));
  }
  UniqueFd child_in(in[0]), to_server(in[1]), from_server(out[0]), child_out(out[1]);
  fs::create_directories(scratch / "mcp-sessions");
  Child server;
  if (Status s = server.Spawn(self,
                              {"mcp", "--workspace-root", (scratch / "mcp-sessions").string(),
                               "--log-file", (scratch / "mcp.log").string(), "--rate-limit",
                               "0"},
                              scratch / "mcp.stderr", child_in.get(), child_out.get());
      !s.ok()) {
    return s;
  }
  child_in.Reset();
  child_out.Reset();
  LineChannel channel(to_server.get(), from_server.get());
  const Json init = {{"jsonrpc", "2.0"},
                     {"id", 0},
                     {"method", "initialize"},
                     {"params",
                      {{"protocolVersion", "2025-06-18"},
                       {"capabilities", Json::object()},
                       {"clientInfo", {{"name", "snakecage-bench"}, {"version", "1"}}}}}};
  if (Status s = channel.Send(init); !s.ok()) return s;
  StatusOr<Json> hello = channel.Receive();
  if (!hello.ok()) return hello.status();
  if (!hello->contains("result")) {
    return Internal("bench: mcp: initialize failed: " + hello->dump().substr(0, 300));
  }
  if (Status s = channel.Send({{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}});
      !s.ok()) {
    return s;
  }
  std::vector<double> ms;
  ms.reserve(runs);
  for (uint64_t i = 0; i < warmup + runs; ++i) {
    const Json call = {{"jsonrpc", "2.0"},
                       {"id", i + 1},
                       {"method", "tools/call"},
                       {"params", {{"name", "execute_code"}, {"arguments", {{"code", kCode}}}}}};
    const auto start = Clock::now();
    if (Status s = channel.Send(call); !s.ok()) return s;
    StatusOr<Json> answer = channel.Receive();
    const double elapsed = MsSince(start);
    if (!answer.ok()) return answer.status();
    const Json* content = answer->contains("result") && (*answer)["result"].is_object()
                              ? &(*answer)["result"]["structuredContent"]
                              : nullptr;
    if (content == nullptr || (*answer)["id"] != i + 1) {
      return Internal("bench: mcp stdio: unexpected answer " + answer->dump().substr(0, 300));
    }
    if (Status s = CheckAnswer(*content, "mcp stdio"); !s.ok()) return s;
    if (i >= warmup) ms.push_back(elapsed);
  }
  return ms;
}

}  // namespace

StatusOr<ServerLatencies> TimeServers(const fs::path& self, const fs::path& scratch,
                                      uint64_t warmup, uint64_t runs) {
  ServerLatencies out;
  {
    Child server;
    StatusOr<int> port = StartServe(server, self, scratch);
    if (!port.ok()) return port.status();
    httplib::Client client("127.0.0.1", *port);
    client.set_keep_alive(true);
    client.set_tcp_nodelay(true);
    client.set_read_timeout(std::chrono::seconds(60));
    StatusOr<std::vector<double>> fresh =
        TimeHttp(client, {{"code", kCode}}, "http fresh session", warmup, runs);
    if (!fresh.ok()) return fresh.status();
    out.http_fresh_session_ms = std::move(*fresh);
    auto made = client.Post("/v1/sessions", "{}", "application/json");
    if (!made || made->status != 201) {
      return Internal("bench: http: cannot create a session: " +
                      (made ? made->body.substr(0, 300) : httplib::to_string(made.error())));
    }
    const Json session = Json::parse(made->body, nullptr, false);
    if (!session.is_object() || !session.contains("session_id")) {
      return Internal("bench: http: a session without an id: " + made->body.substr(0, 300));
    }
    StatusOr<std::vector<double>> existing =
        TimeHttp(client, {{"code", kCode}, {"session_id", session["session_id"]}},
                 "http existing session", warmup, runs);
    if (!existing.ok()) return existing.status();
    out.http_existing_session_ms = std::move(*existing);
  }
  StatusOr<std::vector<double>> mcp = TimeMcp(self, scratch, warmup, runs);
  if (!mcp.ok()) return mcp.status();
  out.mcp_stdio_ms = std::move(*mcp);
  return out;
}

}  // namespace snakecage::cli
