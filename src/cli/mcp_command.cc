// `snakecage mcp`: the Model Context Protocol over stdio. Newline-delimited
// JSON-RPC 2.0 messages on stdin, one response per request on stdout,
// messages handled one at a time in arrival order. Stdout carries protocol
// messages only: the descriptor is duplicated for the protocol and fd 1
// then points at stderr, so nothing else in this process or its children
// can write to the protocol channel. Telemetry (JSON lines) goes to
// --log-file, else stderr.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>

#include "base/scoped_temp_dir.h"
#include "base/write_all.h"
#include "cli/commands.h"
#include "cli/server_flags.h"
#include "snakecage/policy.h"
#include "snakecage/server.h"
#include "snakecage/telemetry.h"

namespace snakecage::cli {
namespace {

volatile std::sig_atomic_t g_signal = 0;

void OnSignal(int signo) { g_signal = signo; }

}  // namespace

int McpCommand(const McpFlags& flags) {
  // Everything is checked before anything is created on disk.
  StatusOr<ServerLimits> limits = ServerLimitsFrom(flags);
  if (!limits.ok()) return ExitFor(limits.status());
  StatusOr<std::shared_ptr<TelemetryLogger>> logger = ServerLogger(flags);
  if (!logger.ok()) return ExitFor(logger.status());

  // The protocol channel: a private copy of stdout; fd 1 becomes stderr.
  int protocol_fd = ::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
  if (protocol_fd < 0 || ::dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
    return ExitFor(Internal(std::string("cannot set up the stdout protocol channel: ") +
                            std::strerror(errno)));
  }

  ScopedTempDir temp_root;
  StatusOr<std::unique_ptr<SandboxService>> service =
      CreateServerService(flags, *limits, *logger, temp_root, "snakecage-mcp-");
  if (!service.ok()) return ExitFor(service.status());
  McpHandler handler(**service);

  // SIGINT/SIGTERM/SIGHUP interrupt the read (no SA_RESTART), so the loop
  // ends and the temporary workspace root is removed. A client that goes
  // away must not kill us with SIGPIPE.
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaction(s, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  std::cerr << "snakecage mcp: serving MCP on stdio; sessions in "
            << (*service)->workspace_root().string()
            << (flags.workspace_root ? "" : " (removed on exit)") << std::endl;
  std::string line;
  while (g_signal == 0 && std::getline(std::cin, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    std::optional<nlohmann::json> reply = handler.HandleText(line, "stdio");
    if (!reply) continue;
    std::string out = reply->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    if (!WriteAll(protocol_fd, out)) break;  // the client is gone
  }
  ::close(protocol_fd);
  if (g_signal != 0) return 128 + g_signal;
  return 0;
}

}  // namespace snakecage::cli
