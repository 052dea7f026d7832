// Policy JSON (PolicyFromJson): what the servers and the Python package
// accept. Invariants: no crash or sanitizer report for any bytes; a policy
// that builds survives PolicyToJson -> PolicyFromJson unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "snakecage/policy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using Json = nlohmann::ordered_json;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  Json json = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return 0;
  snakecage::StatusOr<snakecage::ExecutionPolicy> policy = snakecage::PolicyFromJson(json);
  if (!policy.ok()) {
    if (policy.status().message().empty()) std::abort();  // a refusal always says why
    return 0;
  }
  snakecage::StatusOr<snakecage::ExecutionPolicy> again =
      snakecage::PolicyFromJson(snakecage::PolicyToJson(*policy));
  if (!again.ok() || !(*again == *policy)) std::abort();
  return 0;
}
