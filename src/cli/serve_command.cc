// `snakecage serve`: the HTTP server (src/server/http_server.h) over a
// SandboxService, until SIGINT or SIGTERM.
#include <signal.h>

#include <iostream>
#include <string>

#include "base/scoped_temp_dir.h"
#include "cli/cli_args.h"
#include "cli/commands.h"
#include "cli/server_flags.h"
#include "server/http_server.h"

namespace snakecage::cli {
namespace {

// "HOST:PORT", PORT 0..65535 (0: any free port).
Status ParseListen(const std::string& text, server::HttpServerOptions& out) {
  const size_t colon = text.rfind(':');
  const std::string bad = "--listen: expected HOST:PORT (got '" + text + "')";
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    return InvalidArgument(bad);
  }
  const std::string port = text.substr(colon + 1);
  if (port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5) {
    return InvalidArgument(bad);
  }
  const int n = std::stoi(port);
  if (n > 65535) return InvalidArgument(bad);
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);  // [::1]
  }
  out.host = host;
  out.port = n;
  return Status::Ok();
}

}  // namespace

int ServeCommand(const ServeFlags& flags) {
  // Everything is checked before anything is created on disk.
  StatusOr<ServerLimits> limits = ServerLimitsFrom(flags);
  if (!limits.ok()) return ExitFor(limits.status());
  server::HttpServerOptions http;
  if (Status s = ParseListen(flags.listen.value_or("127.0.0.1:8080"), http); !s.ok()) {
    return ExitFor(s);
  }
  if (flags.token_file) {
    StatusOr<std::string> token = server::ReadTokenFile(*flags.token_file);
    if (!token.ok()) return ExitFor(token.status());
    http.bearer_token = *token;
  }
  if (flags.max_body_bytes) {
    auto v = ParseSize("--max-body-bytes", *flags.max_body_bytes);
    if (!v.ok()) return ExitFor(v.status());
    if (*v == 0) return UsageError("--max-body-bytes: must be > 0 (got '0')");
    http.max_body_bytes = *v;
  }
  if (flags.max_concurrency) {
    auto v = ParsePositiveInteger("--max-concurrency", *flags.max_concurrency);
    if (!v.ok()) return ExitFor(v.status());
    http.max_concurrency = *v;
  }
  StatusOr<std::shared_ptr<TelemetryLogger>> logger = ServerLogger(flags);
  if (!logger.ok()) return ExitFor(logger.status());
  auto metrics = std::make_shared<server::MetricsLogger>(*logger);

  ScopedTempDir temp_root;
  StatusOr<std::unique_ptr<SandboxService>> service =
      CreateServerService(flags, *limits, metrics, temp_root, "snakecage-serve-");
  if (!service.ok()) return ExitFor(service.status());
  McpHandler mcp(**service);

  // The server's threads inherit a mask blocking these; this thread waits
  // for them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  StatusOr<std::unique_ptr<server::HttpServer>> server =
      server::HttpServer::Start(http, **service, mcp, metrics);
  if (!server.ok()) return ExitFor(server.status());
  std::cerr << "snakecage serve: listening on http://" << http.host << ":" << (*server)->port()
            << " (sessions in " << (*service)->workspace_root().string()
            << (flags.workspace_root ? "" : ", removed on exit") << ")" << std::endl;
  int signo = 0;
  sigwait(&stop_signals, &signo);
  (*server)->Stop();
  return 0;
}

}  // namespace snakecage::cli
