// Policy files (LoadPolicyBuilder, toml++): what `snakecage run --policy`,
// `serve` and the Python package's load_policy read. The input is the
// file's content, read through the public entry point from a memfd.
// Invariants: no crash or sanitizer report; every refusal names the file;
// a policy that builds survives PolicyToJson -> PolicyFromJson unchanged.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "snakecage/policy.h"

namespace {

// One memfd per process, rewritten for every input.
int PolicyFile() {
  static const int fd = memfd_create("policy.toml", MFD_CLOEXEC);
  if (fd < 0) std::abort();
  return fd;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const int fd = PolicyFile();
  if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != static_cast<ssize_t>(size)) {
    std::abort();
  }
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  snakecage::StatusOr<snakecage::ExecutionPolicy> policy = snakecage::LoadPolicy(path);
  if (!policy.ok()) {
    if (policy.status().message().find(path) == std::string::npos) std::abort();
    return 0;
  }
  snakecage::StatusOr<snakecage::ExecutionPolicy> again =
      snakecage::PolicyFromJson(snakecage::PolicyToJson(*policy));
  if (!again.ok() || !(*again == *policy)) std::abort();
  return 0;
}
