#include "cli/process_memory.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace snakecage::cli {

namespace fs = std::filesystem;

StatusOr<ProcessMemory> ReadSmapsRollup(pid_t pid) {
  const fs::path path = fs::path("/proc") / std::to_string(pid) / "smaps_rollup";
  std::ifstream in(path);
  if (!in) {
    return Internal("bench: memory: cannot read " + path.string() + ": " + std::strerror(errno));
  }
  ProcessMemory m;
  bool saw_rss = false;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string key;
    uint64_t kib = 0;
    if (!(fields >> key >> kib)) continue;
    const uint64_t bytes = kib * 1024;
    if (key == "Rss:") {
      m.rss = bytes;
      saw_rss = true;
    } else if (key == "Pss:") {
      m.pss = bytes;
    } else if (key == "Private_Clean:" || key == "Private_Dirty:") {
      m.private_bytes += bytes;
    }
  }
  if (!saw_rss) return Internal("bench: memory: " + path.string() + " has no Rss line");
  return m;
}

}  // namespace snakecage::cli
