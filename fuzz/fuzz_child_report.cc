// The executor's result-pipe decoder (executor::DecodeChildReport): a
// confined child is not trusted, so the parent must survive any bytes it
// writes. Invariants: no crash or sanitizer report; at most one of a result
// and an error; an error is never OK and says why; a decoded result is
// encoded again as strict JSON (what the servers send) and decodes to the
// same result.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "executor/wire.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using snakecage::executor::ChildReport;
  using snakecage::executor::DecodeChildReport;
  using snakecage::executor::ExecutionResultToJson;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const ChildReport report = DecodeChildReport(bytes);
  if (report.result && report.error) std::abort();
  if (report.error && (report.error->ok() || report.error->message().empty())) std::abort();
  if (!report.result) return 0;
  const std::string encoded = ExecutionResultToJson(*report.result).dump();  // throws on bad UTF-8
  const ChildReport again = DecodeChildReport("{\"result\":" + encoded + "}");
  if (!again.result || ExecutionResultToJson(*again.result).dump() != encoded) std::abort();
  return 0;
}
