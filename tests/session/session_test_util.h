// Helpers shared by the session tests (and the server crash test): a
// temporary directory, a clock the test sets, self-checking file contents.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "common/temp_dir.h"
#include "snakecage/session.h"
#include "snakecage/telemetry.h"

namespace snakecage::testing {

namespace fs = std::filesystem;

using snakecage::testing::TempDir;

// File contents that say how long they must be, so a torn file shows
// (the crash tests). A size shorter than the header gives the header alone.
inline std::string Content(uint32_t seed, size_t size) {
  std::string body = "len=" + std::to_string(size) + ";";
  while (body.size() < size) body += static_cast<char>('a' + (seed + body.size()) % 26);
  return body;
}
inline bool IsWhole(const std::string& data) {
  const size_t semi = data.find(';');
  if (data.rfind("len=", 0) != 0 || semi == std::string::npos) return false;
  const size_t declared = std::stoul(data.substr(4, semi - 4));
  return declared == data.size() || (declared < semi + 1 && data.size() == semi + 1);
}

// 2026-11-26T06:40:01Z plus whatever the test adds.
class FakeClock {
 public:
  FakeClock() {
    using namespace std::chrono;
    now_ = system_clock::time_point{sys_days{year{2026} / 11 / 26}.time_since_epoch()} + hours{6} +
           minutes{40} + seconds{1};
  }
  void Advance(std::chrono::system_clock::duration d) { now_ += d; }
  std::chrono::system_clock::time_point now() const { return now_; }
  SessionStore::Clock AsClock() {
    return [this] { return now_; };
  }

 private:
  std::chrono::system_clock::time_point now_;
};

inline std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void Spit(const fs::path& p, const std::string& data) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << data;
}

// A store under <tmp>/sessions with a recording logger and a fake clock.
struct StoreFixture : public ::testing::Test {
  TempDir tmp;
  fs::path root = tmp.path() / "sessions";
  std::shared_ptr<RecordingLogger> log = std::make_shared<RecordingLogger>();
  FakeClock clock;
  SessionStore store{root, log, clock.AsClock()};
};

}  // namespace snakecage::testing
