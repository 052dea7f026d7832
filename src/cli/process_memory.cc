#include "cli/process_memory.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <unordered_map>
#include <vector>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "base/unique_fd.h"

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

StatusOr<uint64_t> GroupPrivateBytes(const std::vector<pid_t>& group) {
  // Mappings larger than this are address-space reservations (such as
  // AddressSanitizer's shadow, terabytes of it): left out, as reading
  // their page map would take hours.
  constexpr uint64_t kMaxScannedMappingBytes = 64ull << 30;
  constexpr uint64_t kEntriesPerRead = 1 << 16;
  constexpr uint64_t kPresent = 1ull << 63;
  constexpr uint64_t kPfnMask = (1ull << 55) - 1;
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  std::unordered_map<uint64_t, uint64_t> mapped;  // page frame -> mappings in the group
  for (pid_t pid : group) {
    const fs::path dir = fs::path("/proc") / std::to_string(pid);
    std::ifstream maps(dir / "maps");
    UniqueFd pagemap(open((dir / "pagemap").c_str(), O_RDONLY | O_CLOEXEC));
    if (!maps || !pagemap.valid()) {
      return Internal("bench: memory: cannot read " + (dir / "pagemap").string() + ": " +
                      std::strerror(errno));
    }
    std::string line;
    std::vector<uint64_t> entries;
    while (std::getline(maps, line)) {
      uint64_t begin = 0, end = 0;
      char perms[5] = {};
      if (std::sscanf(line.c_str(), "%" SCNx64 "-%" SCNx64 " %4s", &begin, &end, perms) != 3 ||
          perms[0] != 'r' || end - begin > kMaxScannedMappingBytes) {
        continue;  // nothing readable is resident there, or a reservation
      }
      for (uint64_t at = begin; at < end;) {
        entries.resize(std::min<uint64_t>((end - at) / page, kEntriesPerRead));
        const ssize_t want = static_cast<ssize_t>(entries.size() * sizeof(uint64_t));
        if (pread(pagemap.get(), entries.data(), want, static_cast<off_t>(at / page * 8)) !=
            want) {
          break;  // [vsyscall] and the like
        }
        for (uint64_t e : entries) {
          if ((e & kPresent) == 0) continue;
          if ((e & kPfnMask) == 0) {
            return Internal("bench: memory: page frame numbers read as zero (this needs "
                            "CAP_SYS_ADMIN)");
          }
          ++mapped[e & kPfnMask];
        }
        at += entries.size() * page;
      }
    }
  }
  UniqueFd counts(open("/proc/kpagecount", O_RDONLY | O_CLOEXEC));
  if (!counts.valid()) {
    return Internal(std::string("bench: memory: cannot read /proc/kpagecount: ") +
                    std::strerror(errno));
  }
  uint64_t bytes = 0;
  for (const auto& [pfn, in_group] : mapped) {
    uint64_t count = 0;
    if (pread(counts.get(), &count, sizeof count, static_cast<off_t>(pfn * 8)) !=
        static_cast<ssize_t>(sizeof count)) {
      continue;
    }
    if (count <= in_group) bytes += page;
  }
  return bytes;
}

std::vector<pid_t> ChildrenOf(pid_t pid) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator("/proc", ec)) {
    const std::string name = e.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(e.path() / "stat");
    std::string stat;
    if (!std::getline(in, stat)) continue;  // gone meanwhile
    // "PID (COMM) STATE PPID ...": COMM may hold spaces and parentheses.
    const size_t paren = stat.rfind(')');
    if (paren == std::string::npos) continue;
    std::istringstream rest(stat.substr(paren + 1));
    std::string state;
    pid_t ppid = 0;
    if (rest >> state >> ppid && ppid == pid) out.push_back(std::stoi(name));
  }
  return out;
}

}  // namespace snakecage::cli
