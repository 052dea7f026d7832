// The MCP JSON-RPC handler (McpHandler::HandleText): what `snakecage mcp`
// reads from stdin and `snakecage serve` from an HTTP body, from any client.
// Executions reach an executor whose zygote program does not exist, so a
// tools/call fails fast as a host error; everything before it (JSON-RPC,
// tool arguments, sessions, files, limits) runs for real against a scratch
// workspace root.
//
// Invariants: no crash or sanitizer report; a reply is a JSON-RPC 2.0
// response with either a result or an error whose code is an integer, and
// it serialises strictly (valid UTF-8, as the HTTP server writes it).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string_view>

#include "fuzz_service.h"
#include "snakecage/server.h"

namespace {

struct Handler {
  std::unique_ptr<snakecage::SandboxService> service;
  std::unique_ptr<snakecage::McpHandler> mcp;
};

Handler& TheHandler() {
  static Handler* h = [] {
    auto* handler = new Handler{snakecage::fuzzing::MakeFuzzService("mcp"), nullptr};
    handler->mcp = std::make_unique<snakecage::McpHandler>(*handler->service);
    return handler;
  }();
  return *h;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::optional<nlohmann::json> reply = TheHandler().mcp->HandleText(text, "fuzz-client");
  if (!reply) return 0;
  if (!reply->is_object() || reply->value("jsonrpc", "") != "2.0" || !reply->contains("id")) {
    std::abort();
  }
  const bool has_result = reply->contains("result");
  const bool has_error = reply->contains("error");
  if (has_result == has_error) std::abort();
  if (has_error && !(*reply)["error"].value("code", nlohmann::json()).is_number_integer()) {
    std::abort();
  }
  (void)reply->dump();  // throws (and so aborts) on invalid UTF-8
  return 0;
}
