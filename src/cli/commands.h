// The `snakecage` subcommands, each returning the process exit status.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/policy_flags.h"
#include "snakecage/status.h"
#include "snakecage/telemetry.h"

namespace snakecage::cli {

inline constexpr int kExitHostFailure = 1;
inline constexpr int kExitUsage = 2;

// Prints "snakecage: error: MESSAGE" and returns kExitUsage.
int UsageError(const std::string& message);
// Prints the status's message; kExitUsage for InvalidArgument, NotFound and
// AlreadyExists (the caller named something wrong), else kExitHostFailure.
int ExitFor(const Status& s);

// --log-file: the JSON-lines logger appending to `path`, or null without one.
StatusOr<std::shared_ptr<TelemetryLogger>> OpenLogFile(const std::optional<std::string>& path);

struct RunFlags {
  bool json = false;
  bool keep_state = false;
  std::optional<std::string> code, policy, session, workspace_root, log_file;
  PolicyFlags policy_fields;  // --fuel, --memory, --env, ...
  std::string source;
};

// `snakecage run`. Without --session and --workspace-root the run gets a
// fresh session in a temporary root, removed afterwards; with
// --workspace-root alone, a new session there that is kept (its id is in
// the JSON); with --session, that session, created on first use. With
// --keep-state (needs --session) the session's Python state is restored
// from the last such run and saved again when this one ends.
int RunCommand(const RunFlags& flags, const std::vector<std::string>& guest_args);

struct ReplFlags {
  std::optional<std::string> policy, workspace_root, log_file;
  std::string session;
  PolicyFlags policy_fields;
};

// `snakecage repl --session ID`: an interactive prompt over a session that
// keeps its Python state. Each complete statement (or block) read from
// stdin is one execution: its value is echoed as Python's own prompt does,
// its output printed, then a line on stderr with what happened to the
// state, the fuel and the time; a failed one is rolled back. Ctrl-D (end
// of input) leaves with 0, saving the globals for the session's next repl
// or run --keep-state.
int ReplCommand(const ReplFlags& flags);

struct SessionFlags {
  bool json = false;
  std::optional<std::string> workspace_root, log_file, glob;
  std::string id, path, source;
  bool no_overwrite = false, recursive = false, dry_run = false;
  std::string older_than_hours;
};

enum class SessionAction { kList, kFiles, kRead, kWrite, kRm, kReset, kDelete, kPrune };

// `snakecage session ACTION ...`
int SessionCommand(SessionAction action, const SessionFlags& flags);

// Counts as given on the command line (validated by BenchCommand: positive
// integers); unset means the default.
struct BenchFlags {
  bool json = false;
  std::optional<std::string> executions;      // default 1000
  std::optional<std::string> threads;         // default 2 x hardware threads
  std::optional<std::string> native_runs;     // default 100
  std::optional<std::string> cold_runs;       // default 20
  std::optional<std::string> memory_samples;  // default 5
};

// `snakecage bench`: a warm Executor (latency of print(2+2) and of an
// import, executions per second from concurrent callers, private memory of
// one running execution), the cold in-process RunPython() and native
// python3.11 as a subprocess, all in one run (bench/README.md). Prints a
// table, or with --json one JSON object. 0 when measured, kExitUsage for a
// bad flag (before anything is created on disk), kExitHostFailure when an
// execution failed or printed the wrong output.
int BenchCommand(const BenchFlags& flags);

struct PackagesFlags {
  bool json = false;
};

// `snakecage packages`: every third-party package the guest can import
// (name, version, import names, the Debian package it came from) and the
// data it can read (the time-zone database). A table, or with --json
// GuestPackagesToJson(). kExitHostFailure when the installation's
// packages.json is missing or broken.
int PackagesCommand(const PackagesFlags& flags);

// The server limits `snakecage mcp` and `snakecage serve` share, as given
// (validated by server_flags.cc).
struct ServerFlags {
  std::optional<std::string> policy, workspace_root, log_file;
  std::optional<std::string> max_sessions, idle_expiry, max_code_bytes, max_file_bytes;
  std::optional<std::string> rate_limit, max_timeout;
};

// `snakecage mcp` flags.
struct McpFlags : ServerFlags {};

// `snakecage mcp`: an MCP server on stdio (src/server's McpHandler) until
// stdin ends (exit 0) or a signal (128 + signal). Without --workspace-root
// sessions live in a temporary root removed on exit. kExitUsage for a bad
// flag or policy, before anything is created on disk.
int McpCommand(const McpFlags& flags);

// `snakecage serve` flags: the server limits plus the HTTP listener's.
struct ServeFlags : ServerFlags {
  std::optional<std::string> listen, token_file, max_body_bytes, max_concurrency;
};

// `snakecage serve`: the HTTP server (src/server/http_server.h) until
// SIGINT/SIGTERM (exit 0). Prints "snakecage serve: listening on
// http://HOST:PORT" on stderr once it accepts connections (PORT is the real
// one when --listen asks for port 0). kExitUsage for a bad flag, policy,
// token file or address, before anything is created on disk.
int ServeCommand(const ServeFlags& flags);

// `bench` and `serve` need cpp-httplib, which loads OpenSSL and reads its
// configuration when a program starts: about 4 ms of every command's start.
// So `snakecage` is built without them, and hands these two over to
// PREFIX/libexec/snakecage/snakecage-http, the same command line built with
// them (http_commands.cc there, http_handover.cc here): it replaces its own
// process with that program and the same arguments (the pid stays).
// `argv` is main()'s. In snakecage-http these run BenchCommand and
// ServeCommand. A failed hand-over is kExitHostFailure, naming the program.
int BenchEntry(const BenchFlags& flags, char** argv);
int ServeEntry(const ServeFlags& flags, char** argv);

}  // namespace snakecage::cli
