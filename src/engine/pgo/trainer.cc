// snakecage-pgo-trainer: runs the PGO training programs through RunPython()
// in a build whose generated C is instrumented (-fprofile-instr-generate);
// the profile runtime writes the counts when the process exits.
//
// Usage: snakecage-pgo-trainer PROGRAM.py...
// Exits non-zero if a program does not succeed: a profile of failing runs
// would train the wrong paths.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "base/scoped_temp_dir.h"
#include "snakecage/execution.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: snakecage-pgo-trainer PROGRAM.py...\n";
    return 2;
  }
  snakecage::ScopedTempDir temp;
  if (snakecage::Status s = temp.Create("snakecage-pgo-"); !s.ok()) {
    std::cerr << s.message() << "\n";
    return 1;
  }
  const std::filesystem::path& workspace = temp.path();
  int status = 0;
  for (int i = 1; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    std::ostringstream code;
    code << in.rdbuf();
    // LC_CTYPE (a no-op beside the default LC_ALL) makes this a start-up
    // the build writes no snapshot for (engine/startup_key.h): the
    // interpreter's start-up runs, and is trained, every time, whatever
    // snapshot an earlier build left.
    auto policy = snakecage::ExecutionPolicyBuilder()
                      .mount_host_dir(workspace)
                      .fuel_budget(1'000'000'000'000)
                      .set_env("LC_CTYPE", "C.UTF-8")
                      .Build();
    if (!policy.ok()) {
      std::cerr << policy.status().message() << "\n";
      return 1;
    }
    auto result = snakecage::RunPython(code.str(), *policy);
    if (!result.ok()) {
      std::cerr << argv[i] << ": " << result.status().message() << "\n";
      status = 1;
    } else if (!result->success()) {
      std::cerr << argv[i] << ": did not succeed:\n" << result->stderr_text;
      status = 1;
    } else {
      std::cout << argv[i] << ": ok, " << result->fuel_consumed << " fuel\n";
    }
  }
  return status;
}
