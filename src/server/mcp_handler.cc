// McpHandler: JSON-RPC 2.0 framing, MCP lifecycle methods, and the tools.
//
// Tool arguments are checked against the very inputSchema tools/list
// publishes (CheckArguments reads the schema), so the two never disagree.
#include <cinttypes>
#include <cstdio>
#include <sstream>

#include "base/utf8.h"
#include "snakecage/server.h"
#include "snakecage/trap_reason.h"
#include "snakecage/version.h"

namespace snakecage {
namespace {

using json = nlohmann::json;

json Property(const char* type, const char* description) {
  return json{{"type", type}, {"description", description}};
}

const char kSessionIdDescription[] =
    "The session's id, as returned by create_session.";
const char kPathDescription[] =
    "Path relative to the session's workspace (the guest sees the workspace at /app), "
    "e.g. \"data/input.csv\". Absolute paths and \"..\" are refused.";

json Schema(json properties, std::vector<std::string> required) {
  json s = {{"type", "object"}, {"properties", std::move(properties)},
            {"additionalProperties", false}};
  if (!required.empty()) s["required"] = std::move(required);
  return s;
}

json Annotations(bool read_only, bool destructive, bool idempotent) {
  return json{{"readOnlyHint", read_only},
              {"destructiveHint", destructive},
              {"idempotentHint", idempotent},
              {"openWorldHint", false}};
}

json BuildTools() {
  json tools = json::array();
  auto add = [&tools](const char* name, const char* title, const char* description, json schema,
                      json annotations) {
    tools.push_back(json{{"name", name},
                         {"title", title},
                         {"description", description},
                         {"inputSchema", std::move(schema)},
                         {"annotations", std::move(annotations)}});
  };
  json timeout = Property(
      "number",
      "Wall-clock limit for this run in seconds (fractions allowed). Defaults to the server's "
      "default; values above the server's maximum (see get_capabilities) are refused.");
  timeout["exclusiveMinimum"] = 0;
  add("execute_code", "Execute Python code",
      "Run Python 3.11 code in an isolated WebAssembly sandbox and return its stdout, stderr, "
      "exit code and resource use. Print what you want to see: only stdout and stderr come "
      "back. There is no network, no subprocess and no pip; the standard library is available "
      "(see get_capabilities). Runs are limited in CPU work (fuel), memory, output size and "
      "wall-clock time. Without session_id the code runs in a fresh, empty workspace that is "
      "deleted afterwards, so nothing persists between calls. With session_id (from "
      "create_session) it runs in that session's workspace, which the code sees at /app, so "
      "files written there are kept for later calls. Python variables are kept between calls "
      "only with keep_state true (and a session_id): then each call runs in the session's "
      "live interpreter like a notebook cell, and a call that fails leaves the variables as "
      "they were before it (files are never rolled back). The working directory is /, so use absolute paths such as "
      "/app/data.csv (or call os.chdir('/app') first).",
      Schema({{"code", Property("string", "The Python source to run, as a whole program.")},
              {"session_id", Property("string",
                                      "Run in this session's workspace (from create_session). "
                                      "Omit for a fresh throw-away workspace.")},
              {"timeout_seconds", timeout},
              {"keep_state",
               Property("boolean",
                        "Keep Python variables, imports and objects between this session's "
                        "calls (needs session_id). The result says whether the state was "
                        "fresh, committed or rolled back.")}},
             {"code"}),
      Annotations(false, false, false));
  add("create_session", "Create a session",
      "Create a persistent workspace (a session) and return its session_id. Pass the id to "
      "execute_code and the file tools to keep files across calls. Sessions left idle too "
      "long are deleted, and the server caps how many exist; destroy sessions you no longer "
      "need.",
      Schema(json::object(), {}), Annotations(false, false, false));
  add("destroy_session", "Destroy a session",
      "Delete a session and every file in its workspace. The session_id is invalid afterwards.",
      Schema({{"session_id", Property("string", kSessionIdDescription)}}, {"session_id"}),
      Annotations(false, true, false));
  add("list_sessions", "List sessions",
      "List the existing sessions with their creation and last-update times, seconds idle and "
      "number of executions.",
      Schema(json::object(), {}), Annotations(true, false, true));
  add("reset_session", "Reset a session",
      "Delete every file in a session's workspace and its kept Python variables (keep_state), "
      "but keep the session and its id.",
      Schema({{"session_id", Property("string", kSessionIdDescription)}}, {"session_id"}),
      Annotations(false, true, true));
  add("list_files", "List files",
      "List the files in a session's workspace as paths relative to it (directories are not "
      "listed on their own).",
      Schema({{"session_id", Property("string", kSessionIdDescription)},
              {"glob", Property("string",
                                "Only paths matching this shell pattern, e.g. \"*.csv\" ('*' "
                                "also matches '/').")}},
             {"session_id"}),
      Annotations(true, false, true));
  json read_encoding = Property(
      "string",
      "\"text\" (UTF-8) or \"base64\". Omitted: text when the file is valid UTF-8, else base64.");
  read_encoding["enum"] = {"text", "base64"};
  add("read_file", "Read a file",
      "Read a file from a session's workspace, e.g. one your code wrote.",
      Schema({{"session_id", Property("string", kSessionIdDescription)},
              {"path", Property("string", kPathDescription)},
              {"encoding", read_encoding}},
             {"session_id", "path"}),
      Annotations(true, false, true));
  json write_encoding = Property(
      "string", "How content is encoded: \"text\" (default) or \"base64\" for binary data.");
  write_encoding["enum"] = {"text", "base64"};
  add("write_file", "Write a file",
      "Write a file into a session's workspace (parent directories are created), so code run "
      "with execute_code in that session can read it: path \"input.csv\" is "
      "open(\"/app/input.csv\") in the code.",
      Schema({{"session_id", Property("string", kSessionIdDescription)},
              {"path", Property("string", kPathDescription)},
              {"content", Property("string", "The file's content.")},
              {"encoding", write_encoding},
              {"overwrite",
               Property("boolean", "Replace an existing file (default true). false refuses.")}},
             {"session_id", "path", "content"}),
      Annotations(false, true, true));
  add("delete_file", "Delete a file",
      "Delete a file (or, with recursive, a directory and its contents) from a session's "
      "workspace.",
      Schema({{"session_id", Property("string", kSessionIdDescription)},
              {"path", Property("string", kPathDescription)},
              {"recursive",
               Property("boolean", "Also delete a directory and everything in it (default "
                                   "false).")}},
             {"session_id", "path"}),
      Annotations(false, true, true));
  add("get_capabilities", "Get sandbox capabilities",
      "Describe the sandbox: the Python version, the modules available (pre-imported, "
      "built-in and standard library), what is unavailable, the limits in force (fuel, "
      "memory, output, timeouts, code size, sessions, rate limit) and the paths the code sees.",
      Schema(json::object(), {}), Annotations(true, false, true));
  return tools;
}

const json* FindTool(const std::string& name) {
  for (const json& t : McpHandler::Tools()) {
    if (t["name"] == name) return &t;
  }
  return nullptr;
}

// The first way `args` breaks `schema` (the subset the tool schemas use),
// or an empty string.
std::string CheckArguments(const json& schema, const json& args) {
  const json& props = schema["properties"];
  for (auto it = args.begin(); it != args.end(); ++it) {
    if (!props.contains(it.key())) {
      return "unknown argument '" + it.key() + "' (allowed: " +
             [&props] {
               std::string names;
               for (auto p = props.begin(); p != props.end(); ++p) {
                 names += (names.empty() ? "" : ", ") + p.key();
               }
               return names.empty() ? std::string("none") : names;
             }() + ")";
    }
    const json& p = props[it.key()];
    const std::string type = p["type"];
    const json& v = it.value();
    bool ok = (type == "string" && v.is_string()) || (type == "boolean" && v.is_boolean()) ||
              (type == "number" && v.is_number()) || (type == "integer" && v.is_number_integer());
    if (!ok) return "argument '" + it.key() + "' must be a " + type + " (got " + v.dump() + ")";
    if (p.contains("enum")) {
      bool found = false;
      for (const json& e : p["enum"]) found = found || e == v;
      if (!found) return "argument '" + it.key() + "' must be one of " + p["enum"].dump() +
                         " (got " + v.dump() + ")";
    }
    if (p.contains("exclusiveMinimum") && v.is_number() &&
        !(v.get<double>() > p["exclusiveMinimum"].get<double>())) {
      return "argument '" + it.key() + "' must be > " + p["exclusiveMinimum"].dump() +
             " (got " + v.dump() + ")";
    }
  }
  if (schema.contains("required")) {
    for (const json& r : schema["required"]) {
      if (!args.contains(r.get<std::string>())) {
        return "missing required argument '" + r.get<std::string>() + "'";
      }
    }
  }
  return "";
}

json TextResult(std::string text, json structured, bool is_error = false) {
  json r = {{"content", json::array({json{{"type", "text"}, {"text", std::move(text)}}})}};
  if (!structured.is_null()) r["structuredContent"] = std::move(structured);
  if (is_error) r["isError"] = true;
  return r;
}

json ToolError(const std::string& message, const std::string& code) {
  return TextResult("Error: " + message,
                    json{{"error", json{{"code", code}, {"message", message}}}}, true);
}

json ToolError(const Status& s) {
  return ToolError(s.message(), std::string(StatusCodeName(s.code())));
}

std::string WithThousands(uint64_t v) {
  std::string digits = std::to_string(v);
  std::string out;
  int n = 0;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    if (n > 0 && n % 3 == 0) out += ',';
    out += *it;
    ++n;
  }
  return std::string(out.rbegin(), out.rend());
}

std::string Fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string JoinList(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

std::string ExecutionSummary(const SandboxResult& r, bool fresh) {
  std::string t;
  t += "stdout:\n";
  t += r.stdout_text.empty() ? "(empty)\n" : r.stdout_text;
  if (!t.ends_with('\n')) t += '\n';
  t += "stderr:\n";
  t += r.stderr_text.empty() ? "(empty)\n" : r.stderr_text;
  if (!t.ends_with('\n')) t += '\n';
  const ExecutionMetadata& m = r.metadata;
  if (r.success) {
    t += "result: success (exit code 0)";
  } else if (m.trap_reason) {
    t += "result: failed, " + std::string(TrapReasonWireName(*m.trap_reason));
    if (*m.trap_reason == TrapReason::kTimeout && m.timeout_seconds) {
      t += " after " + Fixed(*m.timeout_seconds, 3) + " s";
    }
    t += " (exit code " + std::to_string(r.exit_code) + ")";
  } else {
    t += "result: failed, exit code " + std::to_string(r.exit_code);
  }
  t += "; fuel " + WithThousands(r.fuel_consumed) + " of " + WithThousands(m.fuel_budget) + " (" +
       Fixed(m.fuel_analysis.utilization_percent, 1) + "%); " + Fixed(r.duration_ms, 1) + " ms\n";
  if (m.stdout_truncated) {
    t += "stdout truncated: the program wrote " + std::to_string(m.stdout_bytes) +
         " bytes, only the first " + std::to_string(r.stdout_text.size()) + " are shown\n";
  }
  if (m.stderr_truncated) {
    t += "stderr truncated: the program wrote " + std::to_string(m.stderr_bytes) +
         " bytes, only the first " + std::to_string(r.stderr_text.size()) + " are shown\n";
  }
  if (m.error_guidance) t += "hint: " + *m.error_guidance + "\n";
  if (m.state) {
    t += "python state: " + std::string(StateOutcomeName(*m.state)) + " (" + m.state_reason + ")\n";
    if (!m.state_dropped.empty()) t += "names not kept: " + JoinList(m.state_dropped) + "\n";
  }
  if (fresh) {
    t += "workspace: fresh, emptied after this run\n";
  } else {
    t += "session: " + r.session_id + "\n";
    if (!r.files_created.empty()) t += "files created: " + JoinList(r.files_created) + "\n";
    if (!r.files_modified.empty()) t += "files modified: " + JoinList(r.files_modified) + "\n";
    if (!r.files_deleted.empty()) t += "files deleted: " + JoinList(r.files_deleted) + "\n";
  }
  return t;
}

json JsonRpcError(json id, int code, std::string message) {
  return json{{"jsonrpc", "2.0"},
              {"id", std::move(id)},
              {"error", json{{"code", code}, {"message", std::move(message)}}}};
}

json JsonRpcResult(json id, json result) {
  return json{{"jsonrpc", "2.0"}, {"id", std::move(id)}, {"result", std::move(result)}};
}

std::optional<std::string> OptionalString(const json& args, const char* key) {
  if (!args.contains(key)) return std::nullopt;
  return args[key].get<std::string>();
}

FileEncoding EncodingArg(const json& args) {
  return args.contains("encoding") && args["encoding"] == "base64" ? FileEncoding::kBase64
                                                                   : FileEncoding::kText;
}

}  // namespace

McpHandler::McpHandler(SandboxService& service) : service_(service) {}

const json& McpHandler::Tools() {
  static const json tools = BuildTools();
  return tools;
}

std::optional<json> McpHandler::HandleText(std::string_view text, std::string_view client_id) {
  json message;
  try {
    message = json::parse(text);
  } catch (const json::exception& e) {
    // Not only parse_error: a number beyond double's range is out_of_range
    // (found by fuzz/fuzz_mcp_handler: it ended the server). The parser's
    // message quotes the bytes it stopped at, which need not be UTF-8; a
    // reply must be (found by fuzz/fuzz_mcp_handler too).
    return JsonRpcError(nullptr, kJsonRpcParseError,
                        DecodeUtf8Lossy(std::string("Parse error: ") + e.what()));
  }
  return Handle(message, client_id);
}

std::optional<json> McpHandler::Handle(const json& message, std::string_view client_id) {
  if (message.is_array()) {
    return JsonRpcError(nullptr, kJsonRpcInvalidRequest,
                        "Invalid Request: batches are not supported (MCP 2025-06-18 removed "
                        "them); send one message at a time");
  }
  if (!message.is_object()) {
    return JsonRpcError(nullptr, kJsonRpcInvalidRequest,
                        "Invalid Request: a message must be a JSON object");
  }
  bool has_id = message.contains("id");
  json id = has_id ? message["id"] : json(nullptr);
  bool id_ok = id.is_string() || id.is_number_integer();
  if (!message.contains("method")) {
    // A response from the client (this server sends no requests): ignored.
    if (has_id && (message.contains("result") || message.contains("error"))) return std::nullopt;
    return JsonRpcError(id_ok ? id : json(nullptr), kJsonRpcInvalidRequest,
                        "Invalid Request: missing \"method\"");
  }
  if (message.value("jsonrpc", json()) != "2.0") {
    if (!has_id) return std::nullopt;
    return JsonRpcError(id_ok ? id : json(nullptr), kJsonRpcInvalidRequest,
                        "Invalid Request: \"jsonrpc\" must be \"2.0\"");
  }
  if (has_id && !id_ok) {
    return JsonRpcError(nullptr, kJsonRpcInvalidRequest,
                        "Invalid Request: \"id\" must be a string or an integer");
  }
  if (!message["method"].is_string()) {
    if (!has_id) return std::nullopt;
    return JsonRpcError(id, kJsonRpcInvalidRequest,
                        "Invalid Request: \"method\" must be a string");
  }
  const std::string method = message["method"];
  if (!has_id) {
    // Notifications (notifications/initialized, notifications/cancelled,
    // ...) need no answer, and unknown ones are ignored.
    return std::nullopt;
  }
  json params = message.contains("params") ? message["params"] : json::object();
  if (!params.is_object()) {
    return JsonRpcError(id, kJsonRpcInvalidParams, "Invalid params: \"params\" must be an object");
  }

  if (method == "initialize") {
    if (!params.contains("protocolVersion") || !params["protocolVersion"].is_string()) {
      return JsonRpcError(id, kJsonRpcInvalidParams,
                          "Invalid params: initialize needs \"protocolVersion\" (a string)");
    }
    std::string asked = params["protocolVersion"];
    std::string chosen(kMcpProtocolVersions[0]);
    for (std::string_view v : kMcpProtocolVersions) {
      if (v == asked) chosen = asked;
    }
    json result = {
        {"protocolVersion", chosen},
        {"capabilities", json{{"tools", json{{"listChanged", false}}}}},
        {"serverInfo", json{{"name", "snakecage"}, {"version", std::string(kVersion)}}},
        {"instructions",
         "snakecage runs Python 3.11 in a WebAssembly sandbox. Use execute_code for one-off "
         "runs; create_session when files must persist between runs (write_file, read_file, "
         "list_files). Call get_capabilities for the limits and available modules."}};
    return JsonRpcResult(id, std::move(result));
  }
  if (method == "ping") return JsonRpcResult(id, json::object());
  if (method == "tools/list") return JsonRpcResult(id, json{{"tools", Tools()}});
  if (method == "tools/call") {
    if (!params.contains("name") || !params["name"].is_string()) {
      return JsonRpcError(id, kJsonRpcInvalidParams,
                          "Invalid params: tools/call needs \"name\" (a string)");
    }
    std::string name = params["name"];
    if (FindTool(name) == nullptr) {
      return JsonRpcError(id, kJsonRpcInvalidParams, "Invalid params: unknown tool '" + name + "'");
    }
    json arguments = params.contains("arguments") ? params["arguments"] : json::object();
    if (arguments.is_null()) arguments = json::object();
    if (!arguments.is_object()) {
      return JsonRpcError(id, kJsonRpcInvalidParams,
                          "Invalid params: \"arguments\" must be an object");
    }
    return JsonRpcResult(id, CallTool(name, arguments, client_id));
  }
  return JsonRpcError(id, kJsonRpcMethodNotFound, "Method not found: " + method);
}

json McpHandler::CallTool(const std::string& name, const json& args, std::string_view client_id) {
  const json* tool = FindTool(name);
  if (std::string problem = CheckArguments((*tool)["inputSchema"], args); !problem.empty()) {
    return ToolError(name + ": " + problem, "invalid_argument");
  }
  try {
    if (name == "execute_code") {
      ExecuteRequest request;
      request.code = args["code"].get<std::string>();
      request.session_id = OptionalString(args, "session_id");
      if (args.contains("timeout_seconds")) request.timeout_seconds = args["timeout_seconds"].get<double>();
      if (args.contains("keep_state")) request.keep_state = args["keep_state"].get<bool>();
      StatusOr<SandboxResult> r = service_.ExecuteCode(client_id, request);
      if (!r.ok()) return ToolError(r.status());
      return TextResult(ExecutionSummary(*r, !request.session_id.has_value()),
                        json(SandboxResultToJson(*r)));
    }
    if (name == "create_session") {
      StatusOr<SessionSummary> s = service_.CreateSession(client_id);
      if (!s.ok()) return ToolError(s.status());
      std::string text = "Created session " + s->session_id + ". Pass session_id \"" +
                         s->session_id + "\" to execute_code and the file tools.";
      if (service_.limits().idle_expiry_seconds > 0) {
        text += " It is deleted after " + Fixed(service_.limits().idle_expiry_seconds, 0) +
                " s without use.";
      }
      return TextResult(text, json(SessionSummaryToJson(*s)));
    }
    if (name == "destroy_session") {
      std::string id = args["session_id"];
      if (Status s = service_.DestroySession(client_id, id); !s.ok()) return ToolError(s);
      return TextResult("Destroyed session " + id + " and its files.",
                        json{{"session_id", id}, {"destroyed", true}});
    }
    if (name == "list_sessions") {
      StatusOr<std::vector<SessionSummary>> list = service_.ListSessions(client_id);
      if (!list.ok()) return ToolError(list.status());
      json sessions = json::array();
      std::string text = list->empty() ? "No sessions." : std::to_string(list->size()) + " session(s):";
      for (const SessionSummary& s : *list) {
        sessions.push_back(json(SessionSummaryToJson(s)));
        text += "\n" + s.session_id + ": " + std::to_string(s.execution_count) +
                " execution(s), idle " + Fixed(s.idle_seconds, 1) + " s, created " + s.created_at;
      }
      return TextResult(text, json{{"sessions", sessions}});
    }
    if (name == "reset_session") {
      std::string id = args["session_id"];
      StatusOr<SessionSummary> s = service_.ResetSession(client_id, id);
      if (!s.ok()) return ToolError(s.status());
      return TextResult("Session " + id + " reset: its workspace is empty.",
                        json(SessionSummaryToJson(*s)));
    }
    if (name == "list_files") {
      std::string id = args["session_id"];
      StatusOr<std::vector<std::string>> files =
          service_.ListFiles(client_id, id, OptionalString(args, "glob"));
      if (!files.ok()) return ToolError(files.status());
      std::string text = files->empty() ? "No files in session " + id + "."
                                        : std::to_string(files->size()) + " file(s):";
      for (const std::string& f : *files) text += "\n" + f;
      return TextResult(text, json{{"session_id", id}, {"files", *files}});
    }
    if (name == "read_file") {
      std::string id = args["session_id"];
      std::string path = args["path"];
      std::optional<FileEncoding> encoding;
      if (args.contains("encoding")) encoding = EncodingArg(args);
      StatusOr<FileContent> f = service_.ReadFile(client_id, id, path, encoding);
      if (!f.ok()) return ToolError(f.status());
      std::string text = f->encoding == FileEncoding::kText
                             ? f->content
                             : path + " (" + std::to_string(f->size_bytes) +
                                   " bytes, base64):\n" + f->content;
      json structured = json(FileContentToJson(*f));
      structured["session_id"] = id;
      return TextResult(std::move(text), std::move(structured));
    }
    if (name == "write_file") {
      std::string id = args["session_id"];
      std::string path = args["path"];
      bool overwrite = args.value("overwrite", true);
      StatusOr<uint64_t> n = service_.WriteFile(client_id, id, path, args["content"].get<std::string>(),
                                                EncodingArg(args), overwrite);
      if (!n.ok()) return ToolError(n.status());
      return TextResult("Wrote " + std::to_string(*n) + " bytes to " + path + " in session " + id +
                            ".",
                        json{{"session_id", id}, {"path", path}, {"size_bytes", *n}});
    }
    if (name == "delete_file") {
      std::string id = args["session_id"];
      std::string path = args["path"];
      if (Status s = service_.DeleteFile(client_id, id, path, args.value("recursive", false));
          !s.ok()) {
        return ToolError(s);
      }
      return TextResult("Deleted " + path + " from session " + id + ".",
                        json{{"session_id", id}, {"path", path}, {"deleted", true}});
    }
    if (name == "get_capabilities") {
      StatusOr<nlohmann::ordered_json> caps = service_.GetCapabilities(client_id);
      if (!caps.ok()) return ToolError(caps.status());
      return TextResult(caps->dump(2), json(*caps));
    }
  } catch (const std::exception& e) {
    // Never a crashed server: anything unexpected is this tool's error.
    return ToolError(name + ": internal error: " + e.what(), "internal");
  }
  return ToolError("unknown tool '" + name + "'", "invalid_argument");
}

}  // namespace snakecage
