// snakecage/server.h: the operations a server offers (SandboxService) and
// the Model Context Protocol handler on top of them (McpHandler). Both are
// transport-agnostic: `snakecage mcp` feeds the handler newline-delimited
// JSON-RPC from stdin; an HTTP server feeds it request bodies and calls the
// service for its JSON endpoints. Neither knows about sockets or streams.
//
//   ServiceOptions options;
//   options.limits.policy = *LoadPolicy("policy.toml");
//   options.workspace_root = "/var/lib/snakecage";
//   auto service = SandboxService::Create(std::move(options));
//   McpHandler mcp(*service);
//   std::optional<nlohmann::json> reply = mcp.HandleText(line, "stdio");
//
// Sessions are the library's (session.h): a directory under the workspace
// root with its metadata. The filesystem is the source of truth, so sessions
// already under the root (from `snakecage run --session`, or an earlier
// server) are listed and usable.
//
// Thread-safety: every SandboxService and McpHandler method may be called
// from several threads at once. Executions run concurrently (each in its own
// zygote child); executions in one session are serialised by the library.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "snakecage/executor.h"
#include "snakecage/policy.h"
#include "snakecage/sandbox.h"
#include "snakecage/session.h"
#include "snakecage/status.h"
#include "snakecage/telemetry.h"

namespace snakecage {

// What the server allows. Validate() checks it as a whole.
struct ServerLimits {
  // Every execution runs under this policy (its mount_host_dir is replaced
  // by the session's workspace; its timeout as described below).
  ExecutionPolicy policy;
  // Largest timeout_seconds a caller may ask for. Unit: seconds, > 0.
  // Default 30. An execution without timeout_seconds gets the policy's
  // timeout_seconds, or this value when the policy has none; a policy
  // timeout above this value is refused by Validate().
  double max_timeout_seconds = 30;
  // Sessions (made by CreateSession) that may exist at once under the root.
  // The fresh sessions of executions without a session id are not counted.
  // Default 64, >= 1.
  size_t max_sessions = 64;
  // A session untouched (no execution, file operation or listing of its
  // files) for this long is deleted, from disk too. Unit: seconds; 0 means
  // never. Default 3600.
  double idle_expiry_seconds = 3600;
  // Largest `code` ExecuteCode accepts. Unit: bytes, >= 1. Default 1,000,000.
  size_t max_code_bytes = 1'000'000;
  // Largest file WriteFile accepts and ReadFile returns (decoded size).
  // Unit: bytes, >= 1. Default 10,000,000.
  size_t max_file_bytes = 10'000'000;
  // Requests per minute per client (token bucket: bursts up to this many,
  // refilled evenly over the minute). 0 means unlimited. Default 120.
  double rate_limit_per_minute = 120;

  // InvalidArgument naming the field, e.g. "max_timeout_seconds: must be > 0
  // (got 0)".
  Status Validate() const;
};

struct ServiceOptions {
  ServerLimits limits;
  // Where sessions live; created when missing. Made absolute.
  std::filesystem::path workspace_root = "workspace";
  // Runs the executions; null means Executor::Default().
  std::shared_ptr<Executor> executor;
  // Telemetry of the library (executions, sessions); null means nowhere.
  std::shared_ptr<TelemetryLogger> logger;
  // The clock for idle times and rate limits (tests inject one);
  // null means system_clock::now. Session timestamps written by the library
  // during executions use the real clock, so an injected clock should not
  // run behind it (tests use now() + an offset they advance).
  SessionStore::Clock clock;
};

struct ExecuteRequest {
  std::string code;
  // Absent: a fresh session, deleted after the execution. Present: a
  // session that exists (made by CreateSession); it is not created here.
  std::optional<std::string> session_id;
  // Absent: the default timeout (see ServerLimits::max_timeout_seconds).
  std::optional<double> timeout_seconds;
  // Keep the Python state between this session's executions
  // (ExecutionPolicy::keep_state); needs session_id. The result's
  // metadata.state says what happened to it.
  bool keep_state = false;
};

struct SessionSummary {
  std::string session_id;
  std::string created_at;  // ISO-8601 UTC
  std::string updated_at;  // last execution or file write
  double idle_seconds = 0;  // since the last use seen by this server, or updated_at
  uint64_t execution_count = 0;
};
// {"session_id", "created_at", "updated_at", "idle_seconds", "execution_count"}
nlohmann::ordered_json SessionSummaryToJson(const SessionSummary& s);

enum class FileEncoding { kText, kBase64 };
// "text", "base64"
std::string_view FileEncodingName(FileEncoding e);

struct FileContent {
  std::string path;
  FileEncoding encoding = FileEncoding::kText;
  std::string content;  // UTF-8 text, or base64 of the bytes
  uint64_t size_bytes = 0;  // of the file itself
};
// {"path", "encoding", "content", "size_bytes"}
nlohmann::ordered_json FileContentToJson(const FileContent& f);

// The operations of the server. Every method takes the caller's client id
// (the rate limit is kept per client id) and first charges one request to
// that client's bucket: a refused request is RateLimited ("rate limit
// exceeded: ..."). Every method also
// deletes idle sessions when at least a second (of the clock) has passed
// since the last sweep.
//
// Errors: InvalidArgument for a bad argument (the message names it: "code",
// "session_id", "path", "timeout_seconds", "content", "encoding"), NotFound
// for an unknown session or file, AlreadyExists for a file written with
// overwrite=false, RateLimited and ResourceExhausted (the session cap) for
// the server's limits, Internal for host failures.
class SandboxService {
 public:
  // Validates the limits, creates the workspace root if missing.
  static StatusOr<std::unique_ptr<SandboxService>> Create(ServiceOptions options);
  ~SandboxService();
  SandboxService(const SandboxService&) = delete;
  SandboxService& operator=(const SandboxService&) = delete;

  const ServerLimits& limits() const { return limits_; }
  const std::filesystem::path& workspace_root() const { return store_.root(); }
  // The timeout of an execution that names none. Unit: seconds.
  double default_timeout_seconds() const;

  // A non-OK status means the code did not run (bad arguments, unknown
  // session, limits, host failure); what the guest did is the result.
  StatusOr<SandboxResult> ExecuteCode(std::string_view client_id, const ExecuteRequest& request);

  // A new session with a random id, or with `session_id` when given: an id
  // the client chose, so that a proxy in front of several servers can route
  // the session by it before it exists (README, "Several nodes"). An
  // existing session with that id is returned as it is; *created (if
  // given) says which. ResourceExhausted ("session limit reached: ...")
  // when max_sessions exist; InvalidArgument ("session_id: ...") for an id
  // CheckSessionId refuses.
  StatusOr<SessionSummary> CreateSession(std::string_view client_id,
                                         std::optional<std::string> session_id = std::nullopt,
                                         bool* created = nullptr);
  // Deletes the session and its files. NotFound when it does not exist.
  Status DestroySession(std::string_view client_id, std::string_view session_id);
  // Sessions under the root, sorted by id (fresh per-execution sessions
  // left out).
  StatusOr<std::vector<SessionSummary>> ListSessions(std::string_view client_id);
  // Empties the session's workspace (waits for a running execution in it);
  // the session, its id and its metadata stay.
  StatusOr<SessionSummary> ResetSession(std::string_view client_id, std::string_view session_id);

  // Files in the session's workspace, sorted relative paths; `glob` as in
  // SessionStore::ListFiles.
  StatusOr<std::vector<std::string>> ListFiles(std::string_view client_id,
                                               std::string_view session_id,
                                               std::optional<std::string> glob = std::nullopt);
  // The file; with no encoding asked for, text when it is valid UTF-8, else
  // base64. Asking for text of a file that is not UTF-8 is InvalidArgument.
  StatusOr<FileContent> ReadFile(std::string_view client_id, std::string_view session_id,
                                 std::string_view path,
                                 std::optional<FileEncoding> encoding = std::nullopt);
  // Writes `content` (decoded from base64 when so encoded), creating parent
  // directories. Returns the bytes written.
  StatusOr<uint64_t> WriteFile(std::string_view client_id, std::string_view session_id,
                               std::string_view path, std::string_view content,
                               FileEncoding encoding, bool overwrite = true);
  // Removes a file or symlink; a directory only with recursive.
  Status DeleteFile(std::string_view client_id, std::string_view session_id,
                    std::string_view path, bool recursive = false);

  // {"python_version", "python_version_info", "preimported_modules",
  //  "builtin_modules", "stdlib_modules", "packages", "data", "unavailable",
  //  "limits", "guest_paths"}; packages and data as GuestPackagesToJson().
  // The guest facts come from one probe execution, run on the first call
  // and cached (a failed probe is Internal and retried next time).
  StatusOr<nlohmann::ordered_json> GetCapabilities(std::string_view client_id);

  // Deletes every session idle for longer than idle_expiry_seconds (none
  // when that is 0) that has no execution running through this service.
  // Returns the ids deleted, sorted. Charges no rate limit.
  StatusOr<std::vector<std::string>> ExpireIdleSessions();

 private:
  explicit SandboxService(ServiceOptions options);
  std::chrono::system_clock::time_point Now() const;
  Status Admit(std::string_view client_id);
  void MaybeSweep();
  Status RequireSession(std::string_view session_id);
  void Touch(std::string_view session_id);
  StatusOr<SessionSummary> Summarise(const SessionMetadata& m);
  // `one_off`: the session exists for this execution only (see
  // SandboxOptions::one_off_session).
  StatusOr<SandboxResult> RunInSession(const std::string& session_id, std::string_view code,
                                       const ExecutionPolicy& policy, bool one_off = false);
  // Forgets the sandbox kept for the session (it was deleted). Under mu_.
  void ForgetSandboxLocked(std::string_view session_id);

  ServerLimits limits_;
  std::shared_ptr<Executor> executor_;
  std::shared_ptr<TelemetryLogger> logger_;
  SessionStore::Clock clock_;
  SessionStore store_;

  mutable std::mutex mu_;  // guards everything below
  struct Bucket {
    double tokens = 0;
    std::chrono::system_clock::time_point refilled;
  };
  std::map<std::string, Bucket, std::less<>> buckets_;
  std::map<std::string, std::chrono::system_clock::time_point, std::less<>> last_used_;
  std::map<std::string, int, std::less<>> running_;  // executions in flight per session
  std::set<std::string, std::less<>> ephemeral_;      // one-off sessions, running or pooled
  std::vector<std::string> one_off_pool_;             // one-off sessions emptied for reuse
  // The sandbox each session last ran in through this service, and the
  // policy it was made for: the next execution under the same policy runs
  // in it instead of opening the session again (sandbox_service.cc).
  struct KeptSandbox {
    ExecutionPolicy policy;
    std::shared_ptr<PythonSandbox> sandbox;
  };
  std::map<std::string, KeptSandbox, std::less<>> sandboxes_;
  std::optional<std::chrono::system_clock::time_point> last_sweep_;
  std::optional<nlohmann::ordered_json> guest_facts_;
  std::mutex create_mu_;  // serialises CreateSession's count-then-create
  std::mutex probe_mu_;   // one capabilities probe at a time
};

// The MCP protocol versions McpHandler speaks, newest first.
inline constexpr std::string_view kMcpProtocolVersions[] = {"2025-06-18", "2025-03-26",
                                                            "2024-11-05"};

// JSON-RPC 2.0 error codes used by McpHandler.
inline constexpr int kJsonRpcParseError = -32700;
inline constexpr int kJsonRpcInvalidRequest = -32600;
inline constexpr int kJsonRpcMethodNotFound = -32601;
inline constexpr int kJsonRpcInvalidParams = -32602;

// The Model Context Protocol over a SandboxService: JSON-RPC 2.0 messages
// in, responses out. Methods: initialize (version negotiation: the
// client's version when it is one of kMcpProtocolVersions, else the
// newest), ping, tools/list, tools/call; notifications (any message without
// an id, e.g. notifications/initialized) get no response. Responses a
// client sends (messages with result or error and no method) are ignored.
// Batches (JSON arrays, removed in 2025-06-18) are answered with one
// -32600 error.
//
// Tool failures (bad arguments, unknown session, limits, a host failure in
// a tool) are tool results with isError: true; JSON-RPC errors are only for
// malformed messages, unknown methods, an unknown tool name and params that
// are not an object.
//
// The handler keeps no per-connection state, so one handler serves any
// number of connections; it holds a reference to the service, which must
// outlive it.
class McpHandler {
 public:
  explicit McpHandler(SandboxService& service);

  // One parsed message. Returns the response, or nullopt when none is due.
  std::optional<nlohmann::json> Handle(const nlohmann::json& message, std::string_view client_id);
  // One message as text (a line of stdio, an HTTP body): a parse error is
  // answered with -32700 and id null.
  std::optional<nlohmann::json> HandleText(std::string_view text, std::string_view client_id);

  // The tool definitions tools/list returns (name, title, description,
  // inputSchema, annotations).
  static const nlohmann::json& Tools();

 private:
  nlohmann::json CallTool(const std::string& name, const nlohmann::json& arguments,
                          std::string_view client_id);

  SandboxService& service_;
};

}  // namespace snakecage
