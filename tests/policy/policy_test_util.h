// Helpers for the policy tests: a temporary directory removed afterwards,
// writing a file, and switching the working directory for one scope.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <string>

#include "common/temp_dir.h"
#include "snakecage/policy.h"

namespace snakecage {

// So GoogleTest prints a refusal readably when an expectation fails.
inline void PrintTo(const PolicyValidationError& e, std::ostream* os) { *os << e.message(); }

}  // namespace snakecage

namespace snakecage::policy_testing {

using snakecage::testing::TempDir;

inline void WriteFile(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) std::abort();
}

// Changes the working directory for the life of the object.
class ScopedCwd {
 public:
  explicit ScopedCwd(const std::filesystem::path& dir) : saved_(std::filesystem::current_path()) {
    std::filesystem::current_path(dir);
  }
  ~ScopedCwd() {
    std::error_code ec;
    std::filesystem::current_path(saved_, ec);
  }
  ScopedCwd(const ScopedCwd&) = delete;
  ScopedCwd& operator=(const ScopedCwd&) = delete;

 private:
  std::filesystem::path saved_;
};

}  // namespace snakecage::policy_testing
