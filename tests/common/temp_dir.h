// tests/common/temp_dir.h: a temporary directory tree for one test, removed
// afterwards, and whole-file helpers. Shared by every test folder.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace snakecage::testing {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/snakecage-test-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) std::abort();
    // Canonical, so paths compare equal to what std::filesystem::absolute
    // and current_path() return.
    path_ = std::filesystem::canonical(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // Creates path()/name (and parents); returns it.
  std::filesystem::path Make(const std::string& name) const {
    std::filesystem::create_directories(path_ / name);
    return path_ / name;
  }

 private:
  std::filesystem::path path_;
};

inline void WriteFile(const std::filesystem::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

inline std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Descriptors this process has open now (to catch leaks).
inline size_t OpenFdCount() {
  size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    (void)e;
    ++n;
  }
  return n;
}

}  // namespace snakecage::testing
