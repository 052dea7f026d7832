// cli/bench_servers.h: `snakecage bench`'s end-to-end measures, through the
// servers a user talks to, not the executor alone.
//
//   - HTTP: `snakecage serve` on a loopback port (this same binary), one
//     keep-alive client: POST /v1/execute of print(2+2) without a session
//     (a fresh session made and deleted per call) and in a session made
//     once beforehand;
//   - MCP over stdio: `snakecage mcp` on a pair of pipes, after initialize:
//     tools/call execute_code of print(2+2).
// The clock runs from the request's first byte to the whole answer, which
// must say success with stdout "4\n" (anything else is a host failure,
// never a number). `warmup` untimed calls precede the `runs` timed ones of
// each measure.
//
// Thread-safety: runs on the caller's thread; starts and stops its own
// server processes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "snakecage/status.h"

namespace snakecage::cli {

struct ServerLatencies {
  std::vector<double> http_fresh_session_ms;
  std::vector<double> http_existing_session_ms;
  std::vector<double> mcp_stdio_ms;
};

// `self`: the snakecage binary to start (serve, mcp); `scratch`: a directory
// for the server's sessions and logs, which must exist.
StatusOr<ServerLatencies> TimeServers(const std::filesystem::path& self,
                                      const std::filesystem::path& scratch, uint64_t warmup,
                                      uint64_t runs);

}  // namespace snakecage::cli
