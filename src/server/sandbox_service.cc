// SandboxService: sessions, files, executions and limits over the library.
//
// Bookkeeping kept in memory (under mu_): token buckets per client, the
// last time this server used each session (so reading files counts as use),
// executions in flight per session (the idle sweep and DestroySession never
// delete a session while one runs here), the fresh per-execution
// sessions (left out of listings and of the session cap), and the sandbox
// each session last ran in (so its next execution does not open it again,
// nor log session.retrieved again). Everything else is on disk, read
// through SessionStore.
#include <algorithm>
#include <cmath>
#include <sstream>
#include <thread>
#include <utility>

#include "base/utf8.h"
#include "base/base64.h"
#include "snakecage/packages.h"
#include "snakecage/server.h"

namespace snakecage {
namespace {

// One-off sessions (executions that name none) are the server's own: their
// ids start with kOneOffSessionPrefix, which CreateSession refuses, and a
// server deletes those it finds under the root when it starts (an earlier
// one crashed). This many are kept, emptied, for the next one-off
// executions.
constexpr size_t kMaxPooledOneOffSessions = 16;

using Seconds = std::chrono::duration<double>;

std::string FormatNumber(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

// Prints the guest facts as one JSON line.
constexpr std::string_view kProbeCode = R"PY(import sys
loaded = sorted(m for m in sys.modules if "." not in m and not m.startswith("_"))
import json, pkgutil
print(json.dumps({
    "version": sys.version,
    "version_info": list(sys.version_info[:3]),
    "builtin": sorted(sys.builtin_module_names),
    "loaded": loaded,
    "stdlib": sorted({m.name for m in pkgutil.iter_modules()
                      if not m.name.startswith("_")
                      and not getattr(m.module_finder, "path", "").endswith("dist-packages")}),
}))
)PY";

}  // namespace

Status ServerLimits::Validate() const {
  auto bad = [](const char* field, const std::string& value, const char* reason) {
    return InvalidArgument(std::string(field) + ": " + reason + " (got " + value + ")");
  };
  if (!(max_timeout_seconds > 0) || !std::isfinite(max_timeout_seconds) ||
      max_timeout_seconds > 1e9) {
    return bad("max_timeout_seconds", FormatNumber(max_timeout_seconds),
               "must be > 0 and at most 1e9 seconds");
  }
  if (policy.timeout_seconds() && *policy.timeout_seconds() > max_timeout_seconds) {
    return bad("policy.timeout_seconds", FormatNumber(*policy.timeout_seconds()),
               ("must not exceed max_timeout_seconds (" + FormatNumber(max_timeout_seconds) + ")")
                   .c_str());
  }
  if (policy.timeout_seconds() && *policy.timeout_seconds() <= 0) {
    return bad("policy.timeout_seconds", FormatNumber(*policy.timeout_seconds()),
               "must be > 0 for a server");
  }
  if (max_sessions < 1) return bad("max_sessions", "0", "must be >= 1");
  if (!(idle_expiry_seconds >= 0) || !std::isfinite(idle_expiry_seconds)) {
    return bad("idle_expiry_seconds", FormatNumber(idle_expiry_seconds),
               "must be >= 0 seconds (0: never)");
  }
  if (max_code_bytes < 1) return bad("max_code_bytes", "0", "must be >= 1");
  if (max_file_bytes < 1) return bad("max_file_bytes", "0", "must be >= 1");
  if (!(rate_limit_per_minute >= 0) || !std::isfinite(rate_limit_per_minute)) {
    return bad("rate_limit_per_minute", FormatNumber(rate_limit_per_minute),
               "must be >= 0 (0: unlimited)");
  }
  return Status::Ok();
}

nlohmann::ordered_json SessionSummaryToJson(const SessionSummary& s) {
  nlohmann::ordered_json j;
  j["session_id"] = s.session_id;
  j["created_at"] = s.created_at;
  j["updated_at"] = s.updated_at;
  j["idle_seconds"] = s.idle_seconds;
  j["execution_count"] = s.execution_count;
  return j;
}

std::string_view FileEncodingName(FileEncoding e) {
  switch (e) {
    case FileEncoding::kText:
      return "text";
    case FileEncoding::kBase64:
      return "base64";
  }
  return "text";
}

nlohmann::ordered_json FileContentToJson(const FileContent& f) {
  nlohmann::ordered_json j;
  j["path"] = f.path;
  j["encoding"] = std::string(FileEncodingName(f.encoding));
  j["content"] = f.content;
  j["size_bytes"] = f.size_bytes;
  return j;
}

StatusOr<std::unique_ptr<SandboxService>> SandboxService::Create(ServiceOptions options) {
  if (Status s = options.limits.Validate(); !s.ok()) return s;
  if (options.workspace_root.empty()) return InvalidArgument("workspace_root: must not be empty");
  std::error_code ec;
  std::filesystem::create_directories(options.workspace_root, ec);
  if (ec) {
    return Internal("workspace_root: cannot create " + options.workspace_root.string() + ": " +
                    ec.message());
  }
  if (!std::filesystem::is_directory(options.workspace_root, ec)) {
    return InvalidArgument("workspace_root: " + options.workspace_root.string() +
                           " is not a directory");
  }
  std::unique_ptr<SandboxService> service(new SandboxService(std::move(options)));
  // What a crash of an earlier server left under the root: half-made or
  // half-deleted sessions, and its one-off sessions.
  if (StatusOr<size_t> swept = service->store_.SweepLeftovers(); !swept.ok()) {
    return swept.status();
  }
  // By name: its metadata may be anything a crash left.
  std::vector<std::string> one_off;
  for (const auto& entry : std::filesystem::directory_iterator(service->store_.root(), ec)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with(kOneOffSessionPrefix)) one_off.push_back(name);
  }
  for (const std::string& name : one_off) {
    if (Status s = service->store_.DeleteSession(name); !s.ok()) return s;
  }
  return service;
}

SandboxService::SandboxService(ServiceOptions options)
    : limits_(std::move(options.limits)),
      executor_(options.executor ? std::move(options.executor) : Executor::Default()),
      logger_(options.logger ? std::move(options.logger) : std::make_shared<NullLogger>()),
      clock_(options.clock ? std::move(options.clock)
                           : SessionStore::Clock([] { return std::chrono::system_clock::now(); })),
      store_(std::filesystem::absolute(options.workspace_root), logger_, clock_) {}

SandboxService::~SandboxService() {
  for (const std::string& id : one_off_pool_) (void)store_.DeleteSession(id);
}

double SandboxService::default_timeout_seconds() const {
  return limits_.policy.timeout_seconds().value_or(limits_.max_timeout_seconds);
}

std::chrono::system_clock::time_point SandboxService::Now() const { return clock_(); }

Status SandboxService::Admit(std::string_view client_id) {
  double rate = limits_.rate_limit_per_minute;
  if (rate <= 0) return Status::Ok();
  double capacity = std::max(1.0, rate);
  auto now = Now();
  std::lock_guard lock(mu_);
  auto it = buckets_.find(client_id);
  if (it == buckets_.end()) {
    it = buckets_.emplace(std::string(client_id), Bucket{capacity, now}).first;
  }
  Bucket& b = it->second;
  double elapsed = std::max(0.0, Seconds(now - b.refilled).count());
  b.tokens = std::min(capacity, b.tokens + elapsed * rate / 60.0);
  b.refilled = now;
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return Status::Ok();
  }
  double wait = (1.0 - b.tokens) * 60.0 / rate;
  std::ostringstream m;
  m.precision(3);
  m << "rate limit exceeded: client '" << client_id << "' may make " << rate
    << " requests per minute; retry in " << wait << " s";
  return Status(StatusCode::kRateLimited, m.str());
}

void SandboxService::MaybeSweep() {
  auto now = Now();
  {
    std::lock_guard lock(mu_);
    if (last_sweep_ && now - *last_sweep_ < std::chrono::seconds(1) &&
        now >= *last_sweep_) {
      return;
    }
    last_sweep_ = now;
    // Buckets that have refilled completely are the same as no bucket.
    double rate = limits_.rate_limit_per_minute;
    if (rate > 0) {
      double capacity = std::max(1.0, rate);
      std::erase_if(buckets_, [&](const auto& kv) {
        double elapsed = std::max(0.0, Seconds(now - kv.second.refilled).count());
        return kv.second.tokens + elapsed * rate / 60.0 >= capacity;
      });
    }
  }
  // A failed sweep is retried at the next one; the caller's request goes on.
  (void)ExpireIdleSessions();
}

StatusOr<std::vector<std::string>> SandboxService::ExpireIdleSessions() {
  std::vector<std::string> deleted;
  if (limits_.idle_expiry_seconds <= 0) return deleted;
  StatusOr<std::vector<SessionInfo>> sessions = store_.ListSessions();
  if (!sessions.ok()) return sessions.status();
  auto now = Now();
  std::lock_guard lock(mu_);
  for (const SessionInfo& info : *sessions) {
    const std::string& id = info.metadata.session_id;
    if (ephemeral_.contains(id)) continue;
    if (auto r = running_.find(id); r != running_.end() && r->second > 0) continue;
    auto last = ParseIsoUtc(info.metadata.updated_at);
    if (auto u = last_used_.find(id); u != last_used_.end() && (!last || u->second > *last)) {
      last = u->second;
    }
    if (!last) continue;  // unreadable timestamp: never guess
    if (Seconds(now - *last).count() <= limits_.idle_expiry_seconds) continue;
    // Under mu_, so no execution here can start in it meanwhile.
    if (Status s = store_.DeleteSession(id); !s.ok()) continue;
    executor_->DropState(store_.WorkspacePath(id));
    last_used_.erase(id);
    ForgetSandboxLocked(id);
    deleted.push_back(id);
  }
  return deleted;
}

void SandboxService::Touch(std::string_view session_id) {
  auto now = Now();
  std::lock_guard lock(mu_);
  last_used_.insert_or_assign(std::string(session_id), now);
}

Status SandboxService::RequireSession(std::string_view session_id) {
  if (Status s = CheckSessionId(session_id); !s.ok()) {
    return InvalidArgument("session_id: " + s.message());
  }
  {
    std::lock_guard lock(mu_);
    if (ephemeral_.contains(session_id)) {
      return NotFound("session_id: no session '" + std::string(session_id) + "'");
    }
  }
  StatusOr<SessionMetadata> m = store_.ReadMetadata(session_id);
  if (!m.ok()) {
    if (m.status().code() == StatusCode::kNotFound) {
      std::string message = "session_id: no session '" + std::string(session_id) +
                            "' (create one with create_session";
      if (limits_.idle_expiry_seconds > 0) {
        message += "; sessions idle for more than " + FormatNumber(limits_.idle_expiry_seconds) +
                   " s are deleted";
      }
      return NotFound(message + ")");
    }
    return m.status();
  }
  return Status::Ok();
}

StatusOr<SessionSummary> SandboxService::Summarise(const SessionMetadata& m) {
  SessionSummary s;
  s.session_id = m.session_id;
  s.created_at = m.created_at;
  s.updated_at = m.updated_at;
  s.execution_count = m.execution_count;
  auto last = ParseIsoUtc(m.updated_at);
  {
    std::lock_guard lock(mu_);
    if (auto u = last_used_.find(m.session_id);
        u != last_used_.end() && (!last || u->second > *last)) {
      last = u->second;
    }
  }
  s.idle_seconds = last ? std::max(0.0, Seconds(Now() - *last).count()) : 0.0;
  return s;
}

StatusOr<SandboxResult> SandboxService::RunInSession(const std::string& session_id,
                                                     std::string_view code,
                                                     const ExecutionPolicy& policy,
                                                     bool one_off) {
  // Opening a session (its directories, its metadata read whole, and
  // session.retrieved logged) cost about 50 us of a short execution's
  // 0.75 ms HTTP call. The sandbox is kept for the session's next execution under the
  // same policy instead: a PythonSandbox holds paths, not descriptors, and
  // reads nothing of the session ahead of an execution, which takes the
  // session's lock and fails with NotFound when the session is gone. It is
  // forgotten when this service deletes the session, and when an execution
  // in it fails (the session may have been deleted by another process).
  std::shared_ptr<PythonSandbox> sandbox;
  {
    std::lock_guard lock(mu_);
    if (auto it = sandboxes_.find(session_id);
        it != sandboxes_.end() && it->second.policy == policy) {
      sandbox = it->second.sandbox;
    }
  }
  if (sandbox == nullptr) {
    SandboxOptions options;
    options.one_off_session = one_off;
    options.policy = policy;
    options.session_id = session_id;
    options.workspace_root = store_.root();
    options.logger = logger_;
    options.executor = executor_;
    StatusOr<std::unique_ptr<PythonSandbox>> created = CreateSandbox(std::move(options));
    if (!created.ok()) return created.status();
    sandbox = std::move(*created);
    std::lock_guard lock(mu_);
    sandboxes_.insert_or_assign(session_id, KeptSandbox{policy, sandbox});
  }
  StatusOr<SandboxResult> result = sandbox->Execute(code);
  if (!result.ok()) {
    std::lock_guard lock(mu_);
    if (auto it = sandboxes_.find(session_id);
        it != sandboxes_.end() && it->second.sandbox == sandbox) {
      sandboxes_.erase(it);
    }
  }
  return result;
}

void SandboxService::ForgetSandboxLocked(std::string_view session_id) {
  if (auto it = sandboxes_.find(session_id); it != sandboxes_.end()) sandboxes_.erase(it);
}

StatusOr<SandboxResult> SandboxService::ExecuteCode(std::string_view client_id,
                                                    const ExecuteRequest& request) {
  if (Status s = Admit(client_id); !s.ok()) return s;
  MaybeSweep();
  if (request.code.size() > limits_.max_code_bytes) {
    return InvalidArgument("code: " + std::to_string(request.code.size()) +
                           " bytes is more than the server's limit of " +
                           std::to_string(limits_.max_code_bytes) + " bytes (max_code_bytes)");
  }
  double timeout = default_timeout_seconds();
  if (request.timeout_seconds) {
    double t = *request.timeout_seconds;
    if (!std::isfinite(t) || t <= 0) {
      return InvalidArgument("timeout_seconds: must be > 0 (got " + FormatNumber(t) + ")");
    }
    if (t > limits_.max_timeout_seconds) {
      return InvalidArgument("timeout_seconds: " + FormatNumber(t) +
                             " is more than the server's limit of " +
                             FormatNumber(limits_.max_timeout_seconds) +
                             " seconds (max_timeout_seconds)");
    }
    timeout = t;
  }
  if (request.keep_state && !request.session_id) {
    return InvalidArgument(
        "keep_state: needs a session_id (state is kept in a session; create one with "
        "create_session)");
  }
  StatusOr<ExecutionPolicy> policy = ExecutionPolicyBuilder(limits_.policy)
                                         .timeout_seconds(timeout)
                                         .keep_state(request.keep_state)
                                         .Build();
  if (!policy.ok()) return policy.status();

  std::string id;
  bool fresh = !request.session_id.has_value();
  if (fresh) {
    std::lock_guard lock(mu_);
    if (!one_off_pool_.empty()) {
      id = std::move(one_off_pool_.back());  // emptied after its last use
      one_off_pool_.pop_back();
    } else {
      id = std::string(kOneOffSessionPrefix) + NewSessionId();
      ephemeral_.insert(id);
    }
    ++running_[id];
  } else {
    id = *request.session_id;
    // Checked and marked running under mu_, so the idle sweep and
    // DestroySession cannot delete it before the execution holds it.
    std::lock_guard lock(mu_);
    if (Status s = CheckSessionId(id); !s.ok()) {
      return InvalidArgument("session_id: " + s.message());
    }
    if (ephemeral_.contains(id) || !store_.Exists(id)) {
      std::string message = "session_id: no session '" + id + "' (create one with create_session";
      if (limits_.idle_expiry_seconds > 0) {
        message += "; sessions idle for more than " + FormatNumber(limits_.idle_expiry_seconds) +
                   " s are deleted";
      }
      return NotFound(message + ")");
    }
    ++running_[id];
    last_used_.insert_or_assign(id, Now());
  }
  StatusOr<SandboxResult> result = RunInSession(id, request.code, *policy, /*one_off=*/fresh);
  // A one-off session is emptied and kept for the next one-off execution
  // (the guest sees only its workspace, now empty): making and deleting
  // its directories and files for each execution was most of what a fresh
  // execution cost beyond a session's (on ext4 without a journal each new
  // inode is a search past those deleted lately). With its logs kept, or
  // the pool full, or anything left in it, it is deleted.
  Status cleanup;
  bool pooled = false;
  if (fresh) {
    bool room = false;
    {
      std::lock_guard lock(mu_);
      room = one_off_pool_.size() < kMaxPooledOneOffSessions;
    }
    // Its user_code.py stays: the next execution writes over it first.
    pooled = room && !policy->preserve_logs() &&
             store_.EmptyWorkspace(id, kUserCodeFileName).ok();
    if (!pooled) cleanup = store_.DeleteSession(id);
  }
  {
    std::lock_guard lock(mu_);
    if (--running_[id] == 0) running_.erase(id);
    if (pooled) {
      one_off_pool_.push_back(id);
    } else if (fresh) {
      ephemeral_.erase(id);
      ForgetSandboxLocked(id);
    } else {
      last_used_.insert_or_assign(id, Now());
    }
  }
  if (!result.ok()) return result.status();
  if (!cleanup.ok()) return cleanup;
  if (fresh) {  // deleted above: nothing to point at
    result->workspace_path.clear();
    result->session_id.clear();
  }
  return result;
}

StatusOr<SessionSummary> SandboxService::CreateSession(std::string_view client_id,
                                                       std::optional<std::string> session_id,
                                                       bool* created) {
  if (created != nullptr) *created = false;
  if (Status s = Admit(client_id); !s.ok()) return s;
  if (session_id) {
    if (Status s = CheckSessionId(*session_id); !s.ok()) {
      return InvalidArgument("session_id: " + s.message());
    }
    if (session_id->starts_with(kOneOffSessionPrefix)) {
      return InvalidArgument("session_id: ids that start with '" +
                             std::string(kOneOffSessionPrefix) +
                             "' are the server's own (its one-off sessions)");
    }
  }
  MaybeSweep();
  std::lock_guard create_lock(create_mu_);
  if (session_id) {
    StatusOr<SessionMetadata> existing = store_.ReadMetadata(*session_id);
    if (existing.ok()) {
      Touch(*session_id);
      return Summarise(*existing);
    }
    if (existing.status().code() != StatusCode::kNotFound) return existing.status();
  }
  StatusOr<std::vector<SessionInfo>> sessions = store_.ListSessions();
  if (!sessions.ok()) return sessions.status();
  size_t count = 0;
  {
    std::lock_guard lock(mu_);
    for (const SessionInfo& info : *sessions) {
      if (!ephemeral_.contains(info.metadata.session_id)) ++count;
    }
  }
  if (count >= limits_.max_sessions) {
    return Status(StatusCode::kResourceExhausted,
                  "session limit reached: " + std::to_string(count) +
                      " sessions exist and the server allows " +
                      std::to_string(limits_.max_sessions) +
                      " (max_sessions); destroy one with destroy_session");
  }
  StatusOr<OpenedSession> opened = store_.OpenOrCreate(session_id ? *session_id : NewSessionId());
  if (!opened.ok()) return opened.status();
  if (created != nullptr) *created = opened->created;
  Touch(opened->metadata.session_id);
  return Summarise(opened->metadata);
}

Status SandboxService::DestroySession(std::string_view client_id, std::string_view session_id) {
  if (Status s = Admit(client_id); !s.ok()) return s;
  MaybeSweep();
  if (Status s = RequireSession(session_id); !s.ok()) return s;
  // Waits for this server's executions in the session to finish, then
  // deletes under mu_ so none can start in between.
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (!running_.contains(session_id)) {
        executor_->DropState(store_.WorkspacePath(session_id));
        Status s = store_.DeleteSession(session_id);
        last_used_.erase(std::string(session_id));
        ForgetSandboxLocked(session_id);
        return s;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

StatusOr<std::vector<SessionSummary>> SandboxService::ListSessions(std::string_view client_id) {
  if (Status s = Admit(client_id); !s.ok()) return s;
  MaybeSweep();
  StatusOr<std::vector<SessionInfo>> sessions = store_.ListSessions();
  if (!sessions.ok()) return sessions.status();
  std::vector<SessionSummary> out;
  for (const SessionInfo& info : *sessions) {
    {
      std::lock_guard lock(mu_);
      if (ephemeral_.contains(info.metadata.session_id)) continue;
    }
    StatusOr<SessionSummary> s = Summarise(info.metadata);
    if (!s.ok()) return s.status();
    out.push_back(std::move(*s));
  }
  return out;
}

StatusOr<SessionSummary> SandboxService::ResetSession(std::string_view client_id,
                                                      std::string_view session_id) {
  if (Status s = Admit(client_id); !s.ok()) return s;
  MaybeSweep();
  if (Status s = RequireSession(session_id); !s.ok()) return s;
  Touch(session_id);
  StatusOr<SessionLock> lock = store_.LockForExecution(session_id);
  if (!lock.ok()) return lock.status();
  // A reset session has no Python state either.
  executor_->DropState(store_.WorkspacePath(session_id));
  if (Status s = store_.EmptyWorkspace(session_id); !s.ok()) return s;
  StatusOr<SessionMetadata> m = store_.ReadMetadata(session_id);
  if (!m.ok()) return m.status();
  return Summarise(*m);
}

StatusOr<std::vector<std::string>> SandboxService::ListFiles(std::string_view client_id,
                                                             std::string_view session_id,
                                                             std::optional<std::string> glob) {
  if (Status s = Admit(client_id); !s.ok()) return s;
  MaybeSweep();
  if (Status s = RequireSession(session_id); !s.ok()) return s;
  Touch(session_id);
  return store_.ListFiles(session_id, std::move(glob));
}

StatusOr<FileContent> SandboxService::ReadFile(std::string_view client_id,
                                               std::string_view session_id, std::string_view path,
                                               std::optional<FileEncoding> encoding) {
  if (Status s = Admit(client_id); !s.ok()) return s;
  MaybeSweep();
  if (Status s = RequireSession(session_id); !s.ok()) return s;
  Touch(session_id);
  StatusOr<std::string> data = store_.ReadFile(session_id, path);
  if (!data.ok()) return data.status();
  if (data->size() > limits_.max_file_bytes) {
    return InvalidArgument("path: '" + std::string(path) + "' is " +
                           std::to_string(data->size()) + " bytes, more than the server's limit of " +
                           std::to_string(limits_.max_file_bytes) + " bytes (max_file_bytes)");
  }
  FileContent f;
  f.path = std::string(path);
  f.size_bytes = data->size();
  bool utf8 = IsValidUtf8(*data);
  FileEncoding chosen = encoding.value_or(utf8 ? FileEncoding::kText : FileEncoding::kBase64);
  if (chosen == FileEncoding::kText && !utf8) {
    return InvalidArgument("encoding: '" + std::string(path) +
                           "' is not valid UTF-8 text; read it with encoding \"base64\"");
  }
  f.encoding = chosen;
  f.content = chosen == FileEncoding::kText ? std::move(*data) : Base64Encode(*data);
  return f;
}

StatusOr<uint64_t> SandboxService::WriteFile(std::string_view client_id,
                                             std::string_view session_id, std::string_view path,
                                             std::string_view content, FileEncoding encoding,
                                             bool overwrite) {
  if (Status s = Admit(client_id); !s.ok()) return s;
  MaybeSweep();
  if (Status s = RequireSession(session_id); !s.ok()) return s;
  Touch(session_id);
  std::string decoded;
  if (encoding == FileEncoding::kBase64) {
    std::optional<std::string> d = Base64Decode(content);
    if (!d) return InvalidArgument("content: not valid base64 (RFC 4648, with '=' padding)");
    decoded = std::move(*d);
    content = decoded;
  }
  if (content.size() > limits_.max_file_bytes) {
    return InvalidArgument("content: " + std::to_string(content.size()) +
                           " bytes is more than the server's limit of " +
                           std::to_string(limits_.max_file_bytes) + " bytes (max_file_bytes)");
  }
  if (Status s = store_.WriteFile(session_id, path, content, overwrite,
                                  limits_.policy.workspace_max_bytes());
      !s.ok()) {
    return s;
  }
  return static_cast<uint64_t>(content.size());
}

Status SandboxService::DeleteFile(std::string_view client_id, std::string_view session_id,
                                  std::string_view path, bool recursive) {
  if (Status s = Admit(client_id); !s.ok()) return s;
  MaybeSweep();
  if (Status s = RequireSession(session_id); !s.ok()) return s;
  Touch(session_id);
  return store_.DeletePath(session_id, path, recursive);
}

StatusOr<nlohmann::ordered_json> SandboxService::GetCapabilities(std::string_view client_id) {
  if (Status s = Admit(client_id); !s.ok()) return s;
  MaybeSweep();
  nlohmann::ordered_json facts;
  {
    std::lock_guard probe_lock(probe_mu_);
    {
      std::lock_guard lock(mu_);
      if (guest_facts_) facts = *guest_facts_;
    }
    if (facts.is_null()) {
      ExecuteRequest probe;
      probe.code = std::string(kProbeCode);
      StatusOr<SandboxResult> r = ExecuteCode("snakecage.capabilities-probe", probe);
      if (!r.ok()) return Internal("capabilities probe: " + r.status().message());
      if (!r->success) {
        return Internal("capabilities probe failed (exit code " + std::to_string(r->exit_code) +
                        "): " + r->stderr_text);
      }
      try {
        facts = nlohmann::ordered_json::parse(r->stdout_text);
      } catch (const nlohmann::json::exception& e) {
        return Internal(std::string("capabilities probe printed no JSON: ") + e.what());
      }
      std::lock_guard lock(mu_);
      guest_facts_ = facts;
    }
  }
  const ExecutionPolicy& p = limits_.policy;
  nlohmann::ordered_json j;
  j["python_version"] = facts["version"];
  j["python_version_info"] = facts["version_info"];
  j["preimported_modules"] = facts["loaded"];
  j["builtin_modules"] = facts["builtin"];
  j["stdlib_modules"] = facts["stdlib"];
  StatusOr<GuestPackages> shipped = LoadGuestPackages();
  if (!shipped.ok()) return shipped.status();
  nlohmann::ordered_json packages = GuestPackagesToJson(*shipped);
  j["packages"] = std::move(packages["packages"]);
  j["data"] = std::move(packages["data"]);
  j["unavailable"] = {
      "network access (no sockets)",
      "subprocesses, fork and exec",
      "threads",
      "host files outside the guest paths below",
      "installing packages (pip)",
  };
  nlohmann::ordered_json limits;
  limits["fuel_budget"] = p.fuel_budget();
  limits["memory_bytes"] = p.memory_bytes();
  limits["stdout_max_bytes"] = p.stdout_max_bytes();
  limits["stderr_max_bytes"] = p.stderr_max_bytes();
  limits["workspace_max_bytes"] = p.workspace_max_bytes();
  limits["default_timeout_seconds"] = default_timeout_seconds();
  limits["max_timeout_seconds"] = limits_.max_timeout_seconds;
  limits["max_code_bytes"] = limits_.max_code_bytes;
  limits["max_file_bytes"] = limits_.max_file_bytes;
  limits["max_sessions"] = limits_.max_sessions;
  limits["idle_expiry_seconds"] = limits_.idle_expiry_seconds;
  limits["rate_limit_per_minute"] = limits_.rate_limit_per_minute;
  j["limits"] = limits;
  nlohmann::ordered_json paths;
  paths["workspace"] = p.guest_mount_path();
  paths["data"] = p.guest_data_path() ? nlohmann::ordered_json(*p.guest_data_path()) : nullptr;
  nlohmann::ordered_json mounts = nlohmann::ordered_json::array();
  for (const ReadOnlyMount& m : p.additional_readonly_mounts()) mounts.push_back(m.guest);
  paths["readonly_mounts"] = mounts;
  paths["stdlib"] = std::string(kGuestStdlibPath);
  paths["dist_packages"] = std::string(kGuestDistPackagesPath);
  paths["zoneinfo"] = std::string(kGuestZoneinfoPath);
  paths["argv"] = p.argv();
  j["guest_paths"] = paths;
  return j;
}

}  // namespace snakecage
