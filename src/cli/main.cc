// snakecage: command-line front end of the library.
//
//   snakecage run [OPTIONS] (FILE | -c CODE | -) [-- ARG...]
//   snakecage session (list | files | read | write | rm | delete | prune) ...
//   snakecage bench [--json] [--executions N] [--threads T] ...
//   snakecage packages [--json]
//   snakecage mcp [--policy FILE] [--workspace-root DIR] [--max-sessions N] ...
//   snakecage serve [--listen HOST:PORT] [--token-file FILE] [server limits as mcp]
//
// Exit status: `run` with --json, 0 whenever a result was produced; without
// it, the guest's own exit status (124 on timeout, 134 on a trap). Every
// command: 2 for a usage, policy, session id or path error (one line on
// stderr naming the flag, field or path; nothing created on disk), 1 for a
// host failure.
#include <CLI/CLI.hpp>
#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/policy_flags.h"

namespace snakecage::cli {
namespace {

int Main(int argc, char** argv) {
  // Everything after the first standalone "--" is the guest's sys.argv[1:].
  std::vector<std::string> args(argv + 1, argv + argc);
  std::vector<std::string> guest_args;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--") {
      guest_args.assign(args.begin() + static_cast<long>(i) + 1, args.end());
      args.resize(i);
      break;
    }
  }

  CLI::App app{"snakecage: run untrusted Python in a WebAssembly sandbox"};
  app.require_subcommand(1);

  RunFlags f;
  CLI::App* run = app.add_subcommand("run", "Run Python code in a sandbox");
  run->add_option("source", f.source, "FILE with the code, or - for stdin");
  run->add_option("-c", f.code, "The code itself");
  run->add_flag("--json", f.json, "Print the result as one JSON object");
  run->add_option("--policy", f.policy, "Policy file (TOML); flags override its values");
  run->add_option("--session", f.session,
                  "Session id: create or reuse <workspace-root>/<ID> (kept afterwards)");
  run->add_option("--workspace-root", f.workspace_root,
                  "Directory holding session directories (default ./workspace)");
  run->add_option("--log-file", f.log_file, "Append telemetry events (JSON lines) to this file");
  run->add_flag("--keep-state", f.keep_state,
                "Keep the session's Python globals from one run to the next (needs --session)");
  AddPolicyFlags(*run, f.policy_fields);

  ReplFlags rp;
  CLI::App* repl = app.add_subcommand(
      "repl", "An interactive Python prompt over a session that keeps its state");
  repl->add_option("--session", rp.session,
                   "Session id: create or reuse <workspace-root>/<ID> (kept afterwards)")
      ->required();
  repl->add_option("--workspace-root", rp.workspace_root,
                   "Directory holding session directories (default ./workspace)");
  repl->add_option("--policy", rp.policy, "Policy file (TOML); flags override its values");
  repl->add_option("--log-file", rp.log_file, "Append telemetry events (JSON lines) to this file");
  AddPolicyFlags(*repl, rp.policy_fields);

  SessionFlags s;
  CLI::App* session = app.add_subcommand("session", "Inspect and manage sessions");
  session->require_subcommand(1);
  auto common = [&s](CLI::App* c) {
    c->add_option("--workspace-root", s.workspace_root,
                  "Directory holding session directories (default ./workspace)");
    c->add_option("--log-file", s.log_file, "Append telemetry events (JSON lines) to this file");
    c->add_flag("--json", s.json, "Print the result as JSON");
  };
  CLI::App* list = session->add_subcommand("list", "List sessions");
  common(list);
  CLI::App* files = session->add_subcommand("files", "List the files in a session's workspace");
  files->add_option("id", s.id, "Session id")->required();
  files->add_option("--glob", s.glob, "Only paths matching this fnmatch pattern");
  common(files);
  CLI::App* read = session->add_subcommand("read", "Print a file from a session's workspace");
  read->add_option("id", s.id, "Session id")->required();
  read->add_option("path", s.path, "Path relative to the workspace")->required();
  common(read);
  CLI::App* write = session->add_subcommand("write", "Write a file into a session's workspace");
  write->add_option("id", s.id, "Session id")->required();
  write->add_option("path", s.path, "Path relative to the workspace")->required();
  write->add_option("source", s.source, "Host FILE with the content, or - for stdin")
      ->required();
  write->add_flag("--no-overwrite", s.no_overwrite, "Refuse to replace an existing file");
  common(write);
  CLI::App* rm = session->add_subcommand("rm", "Delete a file or directory in a workspace");
  rm->add_option("id", s.id, "Session id")->required();
  rm->add_option("path", s.path, "Path relative to the workspace")->required();
  rm->add_flag("--recursive", s.recursive, "Delete a directory and everything in it");
  common(rm);
  CLI::App* reset = session->add_subcommand(
      "reset", "Empty a session's workspace and drop its kept Python state");
  reset->add_option("id", s.id, "Session id")->required();
  common(reset);
  CLI::App* del = session->add_subcommand("delete", "Delete a whole session (idempotent)");
  del->add_option("id", s.id, "Session id")->required();
  common(del);
  CLI::App* prune = session->add_subcommand("prune", "Delete sessions idle for a while");
  prune->add_option("--older-than", s.older_than_hours, "Idle hours (fractions allowed)")
      ->required();
  prune->add_flag("--dry-run", s.dry_run, "Report what would be deleted, delete nothing");
  common(prune);

  BenchFlags b;
  CLI::App* bench =
      app.add_subcommand("bench", "Measure the warm executor against native python3.11");
  bench->add_flag("--json", b.json, "Print the measurements as one JSON object");
  bench->add_option("--executions", b.executions,
                    "Timed executions per warm measure and for throughput (default 1000)")
      ->type_name("N");
  bench->add_option("--threads", b.threads,
                    "Concurrent callers for throughput (default 2 x hardware threads)")
      ->type_name("N");
  bench->add_option("--native-runs", b.native_runs, "Runs of native python3.11 (default 100)")
      ->type_name("N");
  bench->add_option("--cold-runs", b.cold_runs, "Runs of the cold in-process path (default 20)")
      ->type_name("N");
  bench->add_option("--memory-samples", b.memory_samples,
                    "Private-memory samples, 1 s each (default 5)")
      ->type_name("N");

  PackagesFlags pk;
  CLI::App* packages = app.add_subcommand(
      "packages", "List the third-party packages the guest can import, with versions");
  packages->add_flag("--json", pk.json, "Print the list as one JSON object");

  // The server limits `mcp` and `serve` share.
  auto server_options = [](CLI::App* c, ServerFlags& sf, const char* per_call) {
    c->add_option("--policy", sf.policy, "Policy file (TOML) every execution runs under");
    c->add_option("--workspace-root", sf.workspace_root,
                  "Directory holding session directories, kept on exit (default: a "
                  "temporary directory removed on exit)");
    c->add_option("--log-file", sf.log_file,
                  "Append telemetry events (JSON lines) to this file (default: stderr)");
    c->add_option("--max-sessions", sf.max_sessions, "Sessions that may exist at once (default 64)")
        ->type_name("N");
    c->add_option("--idle-expiry", sf.idle_expiry,
                  "Delete sessions idle this long; 0: never (default 3600)")
        ->type_name("SECONDS");
    c->add_option("--max-code-bytes", sf.max_code_bytes,
                  "Largest code an execution accepts: bytes or K/M/G (default 1000000)")
        ->type_name("N");
    c->add_option("--max-file-bytes", sf.max_file_bytes,
                  "Largest file written or read: bytes or K/M/G (default 10000000)")
        ->type_name("N");
    c->add_option("--rate-limit", sf.rate_limit, per_call)->type_name("PER_MINUTE");
    c->add_option("--max-timeout", sf.max_timeout,
                  "Largest timeout_seconds a call may ask for (default: the policy's "
                  "timeout, else 30)")
        ->type_name("SECONDS");
  };
  McpFlags m;
  CLI::App* mcp = app.add_subcommand(
      "mcp", "Serve the Model Context Protocol on stdio (newline-delimited JSON-RPC)");
  server_options(mcp, m, "Tool calls per minute per client; 0: unlimited (default 120)");
  ServeFlags sv;
  CLI::App* serve = app.add_subcommand(
      "serve", "Serve the HTTP API and MCP (Streamable HTTP at /mcp)");
  server_options(serve, sv, "Requests per minute per client address; 0: unlimited (default 120)");
  serve->add_option("--listen", sv.listen, "HOST:PORT to listen on (default 127.0.0.1:8080)");
  serve->add_option("--token-file", sv.token_file,
                    "File holding the bearer token every request but /healthz must carry");
  serve->add_option("--max-body-bytes", sv.max_body_bytes,
                    "Largest request body: bytes or K/M/G (default 2000000)")
      ->type_name("N");
  serve->add_option("--max-concurrency", sv.max_concurrency,
                    "Executions in flight at once; more get 503 (default 8)")
      ->type_name("N");

  std::vector<const char*> cargv{argv[0]};
  for (const auto& a : args) cargv.push_back(a.c_str());
  try {
    app.parse(static_cast<int>(cargv.size()), cargv.data());
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);  // prints the help, exit status 0
  } catch (const CLI::ParseError& e) {
    return UsageError(e.what());
  }
  if (run->parsed()) return RunCommand(f, guest_args);
  if (repl->parsed()) {
    if (!guest_args.empty()) return UsageError("repl: unexpected arguments after --");
    return ReplCommand(rp);
  }
  if (bench->parsed()) {
    if (!guest_args.empty()) return UsageError("bench: unexpected arguments after --");
    return BenchEntry(b, argv);
  }
  if (packages->parsed()) {
    if (!guest_args.empty()) return UsageError("packages: unexpected arguments after --");
    return PackagesCommand(pk);
  }
  if (mcp->parsed()) {
    if (!guest_args.empty()) return UsageError("mcp: unexpected arguments after --");
    return McpCommand(m);
  }
  if (serve->parsed()) {
    if (!guest_args.empty()) return UsageError("serve: unexpected arguments after --");
    return ServeEntry(sv, argv);
  }
  if (!guest_args.empty()) return UsageError("session: unexpected arguments after --");
  if (list->parsed()) return SessionCommand(SessionAction::kList, s);
  if (files->parsed()) return SessionCommand(SessionAction::kFiles, s);
  if (read->parsed()) return SessionCommand(SessionAction::kRead, s);
  if (write->parsed()) return SessionCommand(SessionAction::kWrite, s);
  if (rm->parsed()) return SessionCommand(SessionAction::kRm, s);
  if (reset->parsed()) return SessionCommand(SessionAction::kReset, s);
  if (del->parsed()) return SessionCommand(SessionAction::kDelete, s);
  if (prune->parsed()) return SessionCommand(SessionAction::kPrune, s);
  return UsageError("unknown command");
}

}  // namespace
}  // namespace snakecage::cli

int main(int argc, char** argv) { return snakecage::cli::Main(argc, argv); }
