#include "executor/page_warming.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <string_view>

namespace snakecage::executor {
namespace {

constexpr uintptr_t kPageSize = 4096;
constexpr uint64_t kPresent = uint64_t{1} << 63;    // pagemap: page present
constexpr uint64_t kExclusive = uint64_t{1} << 56;  // pagemap: mapped only here

// One line of /proc/<pid>/maps, as much of it as this file needs.
struct Mapping {
  uintptr_t start = 0;
  uintptr_t end = 0;
  bool readable = false;
  bool writable = false;
  bool is_private = false;
  bool special = false;  // [vvar], [vdso], [vsyscall], ...: not ordinary memory
};

// The whole of a /proc file through `fd`, read with pread from offset 0
// (so the same descriptor can be read again).
StatusOr<std::string> ReadProcFile(int fd, const char* what) {
  std::string text;
  char buf[16384];
  for (;;) {
    const ssize_t n = pread(fd, buf, sizeof buf, static_cast<off_t>(text.size()));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Internal(std::string("reading ") + what + ": " + std::strerror(errno));
    }
    if (n == 0) return text;
    text.append(buf, static_cast<size_t>(n));
  }
}

// Parses /proc/<pid>/maps. Lines it cannot read are skipped (the kernel's
// format is fixed; this is only defensive).
std::vector<Mapping> ParseMaps(std::string_view text) {
  std::vector<Mapping> maps;
  while (!text.empty()) {
    const size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    // start-end perms offset dev inode [path]
    unsigned long start = 0, end = 0;
    char perms[5] = {};
    int path_at = 0;
    const std::string copy(line);
    if (sscanf(copy.c_str(), "%lx-%lx %4s %*s %*s %*s %n", &start, &end, perms, &path_at) < 3) {
      continue;
    }
    Mapping m;
    m.start = start;
    m.end = end;
    m.readable = perms[0] == 'r';
    m.writable = perms[1] == 'w';
    m.is_private = perms[3] == 'p';
    const std::string_view path =
        path_at > 0 && static_cast<size_t>(path_at) <= line.size() ? line.substr(path_at)
                                                                    : std::string_view();
    m.special = !path.empty() && path.front() == '[' && path != "[heap]" &&
                path.substr(0, 6) != "[stack" && path.substr(0, 5) != "[anon";
    maps.push_back(m);
  }
  return maps;
}

StatusOr<std::vector<Mapping>> OwnMaps() {
  UniqueFd fd(open("/proc/self/maps", O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Internal(std::string("/proc/self/maps: ") + std::strerror(errno));
  StatusOr<std::string> text = ReadProcFile(fd.get(), "/proc/self/maps");
  if (!text.ok()) return text.status();
  return ParseMaps(*text);
}

// The mapping holding `addr` in `maps` (sorted by start), or null.
const Mapping* Find(const std::vector<Mapping>& maps, uintptr_t addr) {
  auto it = std::upper_bound(maps.begin(), maps.end(), addr,
                             [](uintptr_t a, const Mapping& m) { return a < m.start; });
  if (it == maps.begin()) return nullptr;
  --it;
  return addr < it->end ? &*it : nullptr;
}

std::vector<uintptr_t> IntersectSorted(const std::vector<uintptr_t>& a,
                                       const std::vector<uintptr_t>& b) {
  std::vector<uintptr_t> out;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

}  // namespace

StatusOr<FaultRecorder> FaultRecorder::Open() {
  UniqueFd maps(open("/proc/self/maps", O_RDONLY | O_CLOEXEC));
  if (!maps.valid()) return Internal(std::string("/proc/self/maps: ") + std::strerror(errno));
  UniqueFd pagemap(open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC));
  if (!pagemap.valid()) {
    return Internal(std::string("/proc/self/pagemap: ") + std::strerror(errno));
  }
  return FaultRecorder(std::move(maps), std::move(pagemap));
}

StatusOr<PageSet> FaultRecorder::Read() const {
  StatusOr<std::string> text = ReadProcFile(maps_.get(), "/proc/self/maps");
  if (!text.ok()) return text.status();
  PageSet pages;
  uint64_t entries[512];
  for (const Mapping& m : ParseMaps(*text)) {
    if (!m.readable || m.special) continue;
    const bool write = m.writable && m.is_private;
    for (uintptr_t page = m.start; page < m.end;) {
      const size_t count =
          std::min<size_t>(std::size(entries), static_cast<size_t>((m.end - page) / kPageSize));
      const ssize_t n = pread(pagemap_.get(), entries, count * sizeof(uint64_t),
                              static_cast<off_t>(page / kPageSize * sizeof(uint64_t)));
      if (n < 0) {
        if (errno == EINTR) continue;
        return Internal(std::string("reading /proc/self/pagemap: ") + std::strerror(errno));
      }
      if (n == 0) break;
      const size_t got = static_cast<size_t>(n) / sizeof(uint64_t);
      for (size_t i = 0; i < got; ++i) {
        const uint64_t e = entries[i];
        if (!(e & kPresent)) continue;
        const uintptr_t addr = page + i * kPageSize;
        if (write) {
          if (e & kExclusive) pages.writable.push_back(addr);
        } else {
          pages.readable.push_back(addr);
        }
      }
      page += got * kPageSize;
    }
  }
  // Mappings come in address order, so both lists are sorted already.
  return pages;
}

PageSet Intersect(const PageSet& a, const PageSet& b) {
  return PageSet{IntersectSorted(a.writable, b.writable), IntersectSorted(a.readable, b.readable)};
}

std::string EncodePages(const PageSet& pages) {
  std::string out;
  out.reserve(pages.size() * 8);
  auto put = [&out](uint64_t v) {
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  };
  for (uintptr_t p : pages.writable) put(uint64_t{p} | 1);
  for (uintptr_t p : pages.readable) put(uint64_t{p});
  return out;
}

StatusOr<PageSet> DecodePages(const std::string& bytes) {
  if (bytes.size() % 8 != 0) {
    return InvalidArgument("page list: " + std::to_string(bytes.size()) +
                           " bytes is not a whole number of 8-byte entries");
  }
  PageSet pages;
  for (size_t at = 0; at < bytes.size(); at += 8) {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) {
      v |= uint64_t{static_cast<unsigned char>(bytes[at + static_cast<size_t>(i)])} << (8 * i);
    }
    const uintptr_t addr = static_cast<uintptr_t>(v & ~uint64_t{1});
    if (addr % kPageSize != 0) {
      return InvalidArgument("page list: entry " + std::to_string(at / 8) +
                             " is not a page address");
    }
    (v & 1 ? pages.writable : pages.readable).push_back(addr);
  }
  for (auto* list : {&pages.writable, &pages.readable}) {
    std::sort(list->begin(), list->end());
    list->erase(std::unique(list->begin(), list->end()), list->end());
  }
  return pages;
}

size_t TouchPages(const PageSet& pages) {
  StatusOr<std::vector<Mapping>> maps = OwnMaps();
  if (!maps.ok()) return 0;
  size_t touched = 0;
  for (uintptr_t addr : pages.writable) {
    const Mapping* m = Find(*maps, addr);
    if (m == nullptr || m->special || !m->readable || !m->writable || !m->is_private) continue;
    volatile uint8_t* p = reinterpret_cast<volatile uint8_t*>(addr);
    *p = *p;
    ++touched;
  }
  for (uintptr_t addr : pages.readable) {
    const Mapping* m = Find(*maps, addr);
    if (m == nullptr || m->special || !m->readable) continue;
    (void)*reinterpret_cast<volatile const uint8_t*>(addr);
    ++touched;
  }
  return touched;
}

}  // namespace snakecage::executor
