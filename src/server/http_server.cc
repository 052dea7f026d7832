#include "server/http_server.h"

#include <httplib.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace snakecage::server {
namespace {

using Json = nlohmann::ordered_json;

// Requests served on one keep-alive connection before it is closed.
constexpr size_t kKeepAliveMaxRequests = 1000;

int HttpStatusFor(const Status& s) {
  switch (s.code()) {
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kAlreadyExists:
      return 409;
    case StatusCode::kPermissionDenied:
      return 403;
    case StatusCode::kResourceExhausted:
    case StatusCode::kRateLimited:
      return 429;
    case StatusCode::kQuotaExceeded:
      return 507;  // Insufficient Storage
    case StatusCode::kOk:
    case StatusCode::kInternal:
      return 500;
  }
  return 500;
}

// A reply's text. Invalid UTF-8 (a file name the guest made, a path in a
// request) becomes U+FFFD: strict dump() throws, which ended the server
// (found by fuzz/fuzz_http_server).
template <typename J>
std::string JsonText(const J& j) {
  return j.dump(-1, ' ', false, J::error_handler_t::replace);
}

void Reply(httplib::Response& res, int status, const Json& body) {
  res.status = status;
  res.set_content(JsonText(body), "application/json");
}

void ReplyError(httplib::Response& res, int status, const std::string& message) {
  Reply(res, status, {{"error", {{"status", status}, {"message", message}}}});
}

void ReplyStatus(httplib::Response& res, const Status& s) {
  ReplyError(res, HttpStatusFor(s), s.message());
}

// Compares without an early exit, so the time taken says nothing of where
// a guessed token first differs.
bool SameSecret(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
  }
  return diff == 0;
}

// A browser page must not reach the server through DNS rebinding: an Origin
// header, when present, must be a loopback origin.
bool OriginAllowed(const httplib::Request& req) {
  if (!req.has_header("Origin")) return true;
  const std::string origin = req.get_header_value("Origin");
  for (const char* host : {"http://127.0.0.1", "http://localhost", "http://[::1]"}) {
    const std::string h(host);
    if (origin == h || origin.rfind(h + ":", 0) == 0) return true;
  }
  return false;
}

// The request body as a JSON object, or an error reply.
std::optional<Json> BodyObject(const httplib::Request& req, httplib::Response& res) {
  Json body = Json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) {
    ReplyError(res, 400, "body: not valid JSON");
    return std::nullopt;
  }
  if (!body.is_object()) {
    ReplyError(res, 400, "body: must be a JSON object");
    return std::nullopt;
  }
  return body;
}

// Refuses keys outside `allowed`, naming the first unknown one.
bool OnlyKeys(const Json& body, std::initializer_list<const char*> allowed,
              httplib::Response& res) {
  for (const auto& [key, value] : body.items()) {
    bool known = false;
    for (const char* a : allowed) known = known || key == a;
    if (!known) {
      ReplyError(res, 400, "body: unknown key \"" + key + "\"");
      return false;
    }
  }
  return true;
}

// Holds one of max_concurrency execution slots.
class Slot {
 public:
  Slot(std::atomic<size_t>& in_flight, size_t max) : in_flight_(in_flight) {
    held_ = in_flight_.fetch_add(1) < max;
    if (!held_) in_flight_.fetch_sub(1);
  }
  ~Slot() {
    if (held_) in_flight_.fetch_sub(1);
  }
  bool held() const { return held_; }

 private:
  std::atomic<size_t>& in_flight_;
  bool held_ = false;
};

}  // namespace

StatusOr<std::string> ReadTokenFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgument("--token-file: cannot read " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  std::string token = text.str();
  const auto not_space = [](unsigned char c) { return !std::isspace(c); };
  token.erase(token.begin(), std::find_if(token.begin(), token.end(), not_space));
  token.erase(std::find_if(token.rbegin(), token.rend(), not_space).base(), token.end());
  if (token.empty()) return InvalidArgument("--token-file: " + path.string() + " is empty");
  return token;
}

StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(HttpServerOptions options,
                                                        SandboxService& service, McpHandler& mcp,
                                                        std::shared_ptr<MetricsLogger> metrics) {
  std::unique_ptr<HttpServer> s(new HttpServer());
  s->options_ = std::move(options);
  s->service_ = &service;
  s->mcp_ = &mcp;
  s->metrics_ = metrics ? std::move(metrics) : std::make_shared<MetricsLogger>();
  s->http_ = std::make_unique<httplib::Server>();
  const size_t threads = s->options_.max_concurrency + 4;
  s->http_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  s->http_->set_payload_max_length(s->options_.max_body_bytes);
  s->http_->set_read_timeout(s->options_.read_timeout);
  // An answer goes out in two writes (head, then body): with Nagle's
  // algorithm the body waits for the client's delayed ACK, 40 ms on Linux,
  // on every request of a keep-alive connection.
  s->http_->set_tcp_nodelay(true);
  // httplib 0.11 closes a keep-alive connection after 5 requests (later
  // versions after 100): an agent's client reconnected every fifth call,
  // and that call paid for a new connection and a pool thread's hand-over.
  // A connection still holds a pool thread only while it is used or for
  // the keep-alive timeout below.
  s->http_->set_keep_alive_max_count(kKeepAliveMaxRequests);
  s->http_->set_keep_alive_timeout(std::max<time_t>(
      1, std::chrono::duration_cast<std::chrono::seconds>(s->options_.read_timeout).count()));
  s->Routes();
  const std::string address = s->options_.host + ":" + std::to_string(s->options_.port);
  if (s->options_.port == 0) {
    s->port_ = s->http_->bind_to_any_port(s->options_.host);
    if (s->port_ <= 0) return InvalidArgument("--listen: cannot listen on " + address);
  } else {
    if (!s->http_->bind_to_port(s->options_.host, s->options_.port)) {
      return InvalidArgument("--listen: cannot listen on " + address);
    }
    s->port_ = s->options_.port;
  }
  HttpServer* raw = s.get();
  s->thread_ = std::thread([raw] { raw->http_->listen_after_bind(); });
  return s;
}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Stop() {
  if (http_) http_->stop();
  if (thread_.joinable()) thread_.join();
}

void HttpServer::Wait() {
  if (thread_.joinable()) thread_.join();
}

void HttpServer::Execute(const httplib::Request& req, httplib::Response& res,
                         std::optional<std::string> path_session) {
  Slot slot(in_flight_, options_.max_concurrency);
  if (!slot.held()) {
    res.set_header("Retry-After", "1");
    ReplyError(res, 503, "saturated: " + std::to_string(options_.max_concurrency) +
                             " executions in flight");
    return;
  }
  auto body = BodyObject(req, res);
  if (!body) return;
  const bool known_keys =
      path_session ? OnlyKeys(*body, {"code", "timeout_seconds", "keep_state"}, res)
                   : OnlyKeys(*body, {"code", "session_id", "timeout_seconds", "keep_state"}, res);
  if (!known_keys) return;
  ExecuteRequest request;
  if (!body->contains("code") || !(*body)["code"].is_string()) {
    ReplyError(res, 400, "code: must be a string");
    return;
  }
  request.code = (*body)["code"].get<std::string>();
  request.session_id = path_session;
  if (body->contains("session_id") && !(*body)["session_id"].is_null()) {
    if (!(*body)["session_id"].is_string()) {
      ReplyError(res, 400, "session_id: must be a string");
      return;
    }
    request.session_id = (*body)["session_id"].get<std::string>();
  }
  if (body->contains("timeout_seconds") && !(*body)["timeout_seconds"].is_null()) {
    if (!(*body)["timeout_seconds"].is_number()) {
      ReplyError(res, 400, "timeout_seconds: must be a number");
      return;
    }
    request.timeout_seconds = (*body)["timeout_seconds"].get<double>();
  }
  if (body->contains("keep_state") && !(*body)["keep_state"].is_null()) {
    if (!(*body)["keep_state"].is_boolean()) {
      ReplyError(res, 400, "keep_state: must be a boolean");
      return;
    }
    request.keep_state = (*body)["keep_state"].get<bool>();
  }
  StatusOr<SandboxResult> result = service_->ExecuteCode(req.remote_addr, request);
  if (!result.ok()) return ReplyStatus(res, result.status());
  Reply(res, 200, SandboxResultToJson(*result));
}

void HttpServer::Routes() {
  httplib::Server& http = *http_;

  http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (req.path == "/healthz") return httplib::Server::HandlerResponse::Unhandled;
    if (options_.bearer_token) {
      const std::string header = req.get_header_value("Authorization");
      const std::string prefix = "Bearer ";
      if (header.rfind(prefix, 0) != 0 ||
          !SameSecret(header.substr(prefix.size()), *options_.bearer_token)) {
        res.set_header("WWW-Authenticate", "Bearer");
        ReplyError(res, 401, "missing or wrong bearer token");
        return httplib::Server::HandlerResponse::Handled;
      }
    }
    if (!OriginAllowed(req)) {
      ReplyError(res, 403, "Origin " + req.get_header_value("Origin") + " is not allowed");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  http.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 404) {
      ReplyError(res, 404, "no route " + req.method + " " + req.path);
    } else if (res.status == 413) {
      ReplyError(res, 413, "body: larger than the server's limit");
    } else if (res.status == 400 && (req.method == "POST" || req.method == "PUT") &&
               !req.has_header("Content-Length") && !req.has_header("Transfer-Encoding")) {
      ReplyError(res, 400, "body: a " + req.method +
                               " needs a Content-Length header (0 for an empty body)");
    } else {
      ReplyError(res, res.status, "HTTP " + std::to_string(res.status));
    }
  });
  // Counted once the status is final but before the response is written
  // (the logger runs after it is sent): a client that reads /metrics right
  // after its response must see that response counted.
  http.set_post_routing_handler([this](const httplib::Request&, httplib::Response& res) {
    metrics_->CountHttpResponse(res.status);
  });

  http.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    Reply(res, 200, {{"status", "ok"}});
  });
  http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    StatusOr<std::vector<SessionInfo>> sessions = SessionStore(service_->workspace_root()).ListSessions();
    res.set_content(metrics_->Render(sessions.ok() ? sessions->size() : 0),
                    "text/plain; version=0.0.4");
  });

  http.Post("/v1/execute", [this](const httplib::Request& req, httplib::Response& res) {
    Execute(req, res, std::nullopt);
  });
  // The same, for the session in the path: a proxy in front of several
  // nodes routes by it (README, "Several nodes").
  http.Post(R"(/v1/sessions/([^/]+)/execute)", [this](const httplib::Request& req,
                                                      httplib::Response& res) {
    Execute(req, res, req.matches[1].str());
  });

  http.Post("/v1/sessions", [this](const httplib::Request& req, httplib::Response& res) {
    StatusOr<SessionSummary> s = service_->CreateSession(req.remote_addr);
    if (!s.ok()) return ReplyStatus(res, s.status());
    Reply(res, 201, SessionSummaryToJson(*s));
  });
  // A session with the id the client chose (so that a proxy can route it
  // before it exists): 201 when made, 200 when it existed.
  http.Put(R"(/v1/sessions/([^/]+))", [this](const httplib::Request& req,
                                             httplib::Response& res) {
    bool created = false;
    StatusOr<SessionSummary> s =
        service_->CreateSession(req.remote_addr, req.matches[1].str(), &created);
    if (!s.ok()) return ReplyStatus(res, s.status());
    Reply(res, created ? 201 : 200, SessionSummaryToJson(*s));
  });
  http.Get("/v1/sessions", [this](const httplib::Request& req, httplib::Response& res) {
    auto sessions = service_->ListSessions(req.remote_addr);
    if (!sessions.ok()) return ReplyStatus(res, sessions.status());
    Json list = Json::array();
    for (const SessionSummary& s : *sessions) list.push_back(SessionSummaryToJson(s));
    Reply(res, 200, {{"sessions", list}});
  });
  http.Delete(R"(/v1/sessions/([^/]+))", [this](const httplib::Request& req,
                                                httplib::Response& res) {
    const std::string id = req.matches[1];
    if (Status s = service_->DestroySession(req.remote_addr, id); !s.ok()) {
      return ReplyStatus(res, s);
    }
    Reply(res, 200, {{"session_id", id}, {"deleted", true}});
  });
  http.Post(R"(/v1/sessions/([^/]+)/reset)", [this](const httplib::Request& req,
                                                    httplib::Response& res) {
    StatusOr<SessionSummary> s = service_->ResetSession(req.remote_addr, req.matches[1].str());
    if (!s.ok()) return ReplyStatus(res, s.status());
    Reply(res, 200, SessionSummaryToJson(*s));
  });
  http.Get(R"(/v1/sessions/([^/]+)/files)", [this](const httplib::Request& req,
                                                   httplib::Response& res) {
    const std::string id = req.matches[1];
    std::optional<std::string> glob;
    if (req.has_param("glob")) glob = req.get_param_value("glob");
    auto files = service_->ListFiles(req.remote_addr, id, glob);
    if (!files.ok()) return ReplyStatus(res, files.status());
    Reply(res, 200, {{"session_id", id}, {"files", *files}});
  });
  http.Get(R"(/v1/sessions/([^/]+)/files/(.+))", [this](const httplib::Request& req,
                                                        httplib::Response& res) {
    std::optional<FileEncoding> encoding;
    if (req.has_param("encoding")) {
      const std::string e = req.get_param_value("encoding");
      if (e == "text") {
        encoding = FileEncoding::kText;
      } else if (e == "base64") {
        encoding = FileEncoding::kBase64;
      } else {
        return ReplyError(res, 400, "encoding: must be text or base64 (got \"" + e + "\")");
      }
    }
    auto file = service_->ReadFile(req.remote_addr, req.matches[1].str(), req.matches[2].str(),
                                   encoding);
    if (!file.ok()) return ReplyStatus(res, file.status());
    Reply(res, 200, FileContentToJson(*file));
  });
  http.Put(R"(/v1/sessions/([^/]+)/files/(.+))", [this](const httplib::Request& req,
                                                        httplib::Response& res) {
    auto body = BodyObject(req, res);
    if (!body || !OnlyKeys(*body, {"content", "encoding", "overwrite"}, res)) return;
    if (!body->contains("content") || !(*body)["content"].is_string()) {
      return ReplyError(res, 400, "content: must be a string");
    }
    FileEncoding encoding = FileEncoding::kText;
    if (body->contains("encoding")) {
      const Json& e = (*body)["encoding"];
      if (e == "base64") {
        encoding = FileEncoding::kBase64;
      } else if (e != "text") {
        return ReplyError(res, 400, "encoding: must be \"text\" or \"base64\"");
      }
    }
    bool overwrite = true;
    if (body->contains("overwrite")) {
      if (!(*body)["overwrite"].is_boolean()) {
        return ReplyError(res, 400, "overwrite: must be a boolean");
      }
      overwrite = (*body)["overwrite"].get<bool>();
    }
    auto bytes = service_->WriteFile(req.remote_addr, req.matches[1].str(), req.matches[2].str(),
                                     (*body)["content"].get<std::string>(), encoding, overwrite);
    if (!bytes.ok()) return ReplyStatus(res, bytes.status());
    Reply(res, 200, {{"path", req.matches[2].str()}, {"bytes", *bytes}});
  });
  http.Delete(R"(/v1/sessions/([^/]+)/files/(.+))", [this](const httplib::Request& req,
                                                           httplib::Response& res) {
    const bool recursive = req.get_param_value("recursive") == "true";
    if (Status s = service_->DeleteFile(req.remote_addr, req.matches[1].str(),
                                        req.matches[2].str(), recursive);
        !s.ok()) {
      return ReplyStatus(res, s);
    }
    Reply(res, 200, {{"path", req.matches[2].str()}, {"deleted", true}});
  });
  http.Get("/v1/capabilities", [this](const httplib::Request& req, httplib::Response& res) {
    auto caps = service_->GetCapabilities(req.remote_addr);
    if (!caps.ok()) return ReplyStatus(res, caps.status());
    Reply(res, 200, *caps);
  });

  // MCP Streamable HTTP: the client POSTs each message; we answer with
  // JSON. No server-initiated stream and no MCP sessions.
  http.Post("/mcp", [this](const httplib::Request& req, httplib::Response& res) {
    if (req.has_header("MCP-Protocol-Version")) {
      const std::string v = req.get_header_value("MCP-Protocol-Version");
      bool known = false;
      for (std::string_view k : kMcpProtocolVersions) known = known || v == k;
      if (!known) return ReplyError(res, 400, "MCP-Protocol-Version: unsupported " + v);
    }
    Slot slot(in_flight_, options_.max_concurrency);
    if (!slot.held()) {
      res.set_header("Retry-After", "1");
      return ReplyError(res, 503, "saturated: " + std::to_string(options_.max_concurrency) +
                                      " requests in flight");
    }
    std::optional<nlohmann::json> reply = mcp_->HandleText(req.body, req.remote_addr);
    if (!reply) {
      res.status = 202;
      return;
    }
    res.status = 200;
    res.set_content(JsonText(*reply), "application/json");
  });
  for (const char* method : {"GET", "DELETE"}) {
    auto not_allowed = [](const httplib::Request&, httplib::Response& res) {
      res.set_header("Allow", "POST");
      ReplyError(res, 405, "/mcp: only POST (no server-initiated stream, no MCP sessions)");
    };
    if (std::string(method) == "GET") {
      http.Get("/mcp", not_allowed);
    } else {
      http.Delete("/mcp", not_allowed);
    }
  }
}

}  // namespace snakecage::server
