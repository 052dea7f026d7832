// consumer CODE: runs CODE in a fresh snakecage session under a small policy
// and prints the result as JSON (the library's SandboxResultToJson). Exits 0
// when the guest succeeded, 1 when it did not, 2 when the host could not
// run it. Built against an installed snakecage (CMakeLists.txt here).
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <system_error>

#include <unistd.h>

#include <snakecage/policy.h>
#include <snakecage/sandbox.h>
#include <snakecage/version.h>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: consumer CODE\n";
    return 2;
  }
  if (snakecage::LibraryVersion() != snakecage::kVersion) {
    std::cerr << "consumer: built against snakecage " << snakecage::kVersion
              << " but runs with " << snakecage::LibraryVersion() << "\n";
    return 2;
  }
  std::error_code ec;
  const std::filesystem::path root = std::filesystem::temp_directory_path(ec) /
                                     ("snakecage-consumer-" + std::to_string(getpid()));

  snakecage::StatusOr<snakecage::ExecutionPolicy> policy =
      snakecage::ExecutionPolicyBuilder().fuel_budget(1'000'000'000).Build();
  if (!policy.ok()) {
    std::cerr << "consumer: " << policy.status().message() << "\n";
    return 2;
  }
  snakecage::SandboxOptions options;
  options.policy = *policy;
  options.workspace_root = root;
  auto sandbox = snakecage::CreateSandbox(options);
  if (!sandbox.ok()) {
    std::cerr << "consumer: " << sandbox.status().message() << "\n";
    return 2;
  }
  snakecage::StatusOr<snakecage::SandboxResult> result = (*sandbox)->Execute(argv[1]);
  std::filesystem::remove_all(root, ec);
  if (!result.ok()) {
    std::cerr << "consumer: " << result.status().message() << "\n";
    return 2;
  }
  std::cout << snakecage::SandboxResultToJson(*result).dump() << "\n";
  return result->success ? 0 : 1;
}
