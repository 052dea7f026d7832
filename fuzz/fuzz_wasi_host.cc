// The WASI host: sequences of host calls with arbitrary arguments over
// arbitrary guest memory, against a scratch workspace (read-write, /app),
// a read-only mount (/ro) and the virtual root "/" that holds both (fd 5),
// as a hostile guest would make them.
//
// The input is a program: memory pokes, memory growth and calls, each
// argument either taken raw from the input or chosen from a table of useful
// values (paths such as "../outside/secret.txt" and "esc" placed in guest
// memory, descriptors, flags). Invariants, checked after every input:
//   - every call returns a WASI errno (0..76) or kUnwind, and nothing is
//     called after kUnwind;
//   - nothing outside the workspace changed: the read-only mount, the
//     directory beside the workspace (which the workspace's own symlinks
//     point into), and the directory holding them are as they were;
//   - the workspace never costs more than its quota (writable_max_bytes,
//     counted by base/workspace_usage.h) once the calls are done;
//   - no crash, no sanitizer report, no leak (ASan, at exit).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/unique_fd.h"
#include "base/workspace_usage.h"
#include "wasi/guest_memory.h"
#include "wasi/wasi_abi.h"
#include "wasi/wasi_host.h"
#include "wasm-rt.h"

namespace fs = std::filesystem;
using snakecage::wasi::GuestMemory;
using snakecage::wasi::WasiHost;

namespace {

constexpr uint32_t kPage = 65536;
constexpr uint32_t kMaxPages = 8;
constexpr uint32_t kMaxCallsPerInput = 64;

// Strings placed in guest memory at fixed offsets (kStringBase + 64 * i).
const char* const kStrings[] = {
    "a.txt", "sub/b.txt", "sub", "new", "new/dir", "../outside/secret.txt", "esc", "escdir",
    "escdir/secret.txt", "/app", "..", ".", "w.txt", "up", "up/secret.txt", "ro-new",
    "x/../../outside", "a.txt/", "//w.txt", "sub/../../readonly/a.txt", "link", "\xff\xfe",
    "w.txt\0hidden", "", "app/../ro/a.txt", "app/esc/secret.txt", "ro/../app/w.txt",
};
constexpr uint32_t kStringBase = 0x1000;
constexpr uint32_t kIovBase = 0x3000;   // iovec arrays, filled by Reset()
constexpr uint32_t kBufBase = 0x4000;   // buffers the iovecs point into
constexpr uint32_t kOutBase = 0x8000;   // where results are written

// Values a call argument is often chosen from.
const uint64_t kInteresting[] = {
    0, 1, 2, 3, 4, 5, 6, 7, 8, 0xffffffffu, 0x7fffffff, kPage - 1, kPage, 2 * kPage - 4,
    0xffffffffffffffffull, 1ull << 63, 4096, 12, 0x1ff, 0x3f,
};

struct Tree {
  std::map<std::string, std::string> entries;  // relative path -> kind, mode, size, content
  bool operator==(const Tree&) const = default;
};

// Everything under `dir`, never following symlinks.
Tree Snapshot(const fs::path& dir) {
  Tree t;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    struct stat st;
    if (lstat(it->path().c_str(), &st) != 0) continue;
    std::string v = std::to_string(st.st_mode) + ":" + std::to_string(st.st_size) + ":" +
                    std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
    if (S_ISREG(st.st_mode)) {
      std::ifstream in(it->path(), std::ios::binary);
      v += ":" + std::string(std::istreambuf_iterator<char>(in), {});
    } else if (S_ISLNK(st.st_mode)) {
      v += ":" + fs::read_symlink(it->path(), ec).string();
    }
    t.entries[fs::relative(it->path(), dir).string()] = v;
  }
  return t;
}

void WriteFile(const fs::path& p, std::string_view s) {
  std::ofstream(p, std::ios::binary) << s;
}

// 16 blocks; the fresh workspace below costs 5.
constexpr uint64_t kQuotaBytes = 16 * snakecage::kWorkspaceBlockBytes;

struct World {
  fs::path base, workspace, readonly, outside;
  Tree readonly_before, outside_before;
  std::vector<std::string> base_entries;

  World() {
    char tmpl[] = "/tmp/snakecage-fuzz-wasi-XXXXXX";
    if (!mkdtemp(tmpl)) std::abort();
    base = tmpl;
    workspace = base / "workspace";
    readonly = base / "readonly";
    outside = base / "outside";
    fs::create_directories(readonly / "sub");
    WriteFile(readonly / "a.txt", "read-only a");
    WriteFile(readonly / "sub" / "b.txt", "read-only b");
    fs::create_directory_symlink("../outside", readonly / "up");
    fs::create_directory(outside);
    WriteFile(outside / "secret.txt", "host secret");
    readonly_before = Snapshot(readonly);
    outside_before = Snapshot(outside);
  }

  // A fresh workspace for each input.
  void ResetWorkspace() {
    std::error_code ec;
    fs::remove_all(workspace, ec);
    fs::create_directories(workspace / "sub");
    WriteFile(workspace / "w.txt", "workspace file");
    WriteFile(workspace / "sub" / "b.txt", "workspace b");
    fs::create_symlink("../outside/secret.txt", workspace / "esc");
    fs::create_directory_symlink(outside, workspace / "escdir");
  }

  void CheckWithinQuota() const {
    snakecage::UniqueFd fd(::open(workspace.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    const snakecage::WorkspaceUsage u = snakecage::MeasureWorkspace(fd.get());
    if (u.error != 0 || u.bytes > kQuotaBytes) {
      std::fprintf(stderr, "the workspace costs %llu bytes (error %d), over its quota of %llu\n",
                   static_cast<unsigned long long>(u.bytes), u.error,
                   static_cast<unsigned long long>(kQuotaBytes));
      std::abort();
    }
  }

  void CheckUntouched() const {
    if (Snapshot(readonly) != readonly_before) {
      std::fprintf(stderr, "the read-only mount changed\n");
      std::abort();
    }
    if (Snapshot(outside) != outside_before) {
      std::fprintf(stderr, "a directory outside the workspace changed\n");
      std::abort();
    }
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(base)) names.push_back(e.path().filename());
    std::sort(names.begin(), names.end());
    if (names != std::vector<std::string>{"outside", "readonly", "workspace"}) {
      std::fprintf(stderr, "something was created beside the workspace\n");
      std::abort();
    }
  }
};

World& TheWorld() {
  static World* world = [] {
    auto* w = new World();
    std::atexit([] {
      std::error_code ec;
      fs::remove_all(TheWorld().base, ec);
    });
    return w;
  }();
  return *world;
}

// Reads the input as a stream; past its end everything is 0.
class Input {
 public:
  Input(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool done() const { return pos_ >= size_; }
  uint8_t U8() { return pos_ < size_ ? data_[pos_++] : 0; }
  uint32_t U32() {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= uint32_t{U8()} << (8 * i);
    return v;
  }
  uint64_t U64() { return U32() | (uint64_t{U32()} << 32); }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

class Guest {
 public:
  Guest() : bytes_(2 * kPage) { Sync(); }
  GuestMemory mem() { return GuestMemory(&memory_); }
  uint8_t* data() { return bytes_.data(); }
  uint32_t size() const { return memory_.size; }
  void Grow() {
    if (memory_.pages >= kMaxPages) return;
    std::vector<uint8_t> bigger(bytes_.size() + kPage);  // moves, as memory.grow may
    std::memcpy(bigger.data(), bytes_.data(), bytes_.size());
    bytes_.swap(bigger);
    Sync();
  }

 private:
  void Sync() {
    memory_.data = bytes_.data();
    memory_.size = static_cast<uint32_t>(bytes_.size());
    memory_.pages = memory_.size / kPage;
    memory_.max_pages = kMaxPages;
  }
  std::vector<uint8_t> bytes_;
  wasm_rt_memory_t memory_{};
};

// Lays out the strings and a few iovec arrays in guest memory.
void Reset(Guest& g) {
  std::memset(g.data(), 0, g.size());
  for (size_t i = 0; i < std::size(kStrings); ++i) {
    const std::string_view s(kStrings[i], i == 22 ? 12 : std::strlen(kStrings[i]));
    std::memcpy(g.data() + kStringBase + 64 * i, s.data(), s.size());
  }
  // iovec arrays: {kBufBase, 16}, {kBufBase + 16, 4096}, {kBufBase, 0}, {overlapping}
  const uint32_t iovs[][2] = {{kBufBase, 16}, {kBufBase + 16, 4096}, {kBufBase, 0},
                              {kBufBase + 8, 32}, {kPage * 2 - 8, 16}, {0xfffffff0u, 32}};
  for (size_t i = 0; i < std::size(iovs); ++i) {
    std::memcpy(g.data() + kIovBase + 8 * i, iovs[i], 8);
  }
  std::memcpy(g.data() + kBufBase, "hello from the fuzzer", 21);
}

// An argument: a table value, a string's pointer or length, or raw input.
struct Args {
  Input& in;
  uint32_t Ptr() {
    const uint8_t k = in.U8();
    if (k < std::size(kStrings)) return kStringBase + 64 * k;
    if (k < 64) return kIovBase + 8 * (k % 6);
    if (k < 96) return kOutBase + 8 * (k - 64);
    if (k < 128) return kBufBase;
    return in.U32();
  }
  uint32_t Len() {
    const uint8_t k = in.U8();
    if (k < std::size(kStrings)) return k == 22 ? 12 : static_cast<uint32_t>(std::strlen(kStrings[k]));
    if (k < 64) return static_cast<uint32_t>(kInteresting[k % std::size(kInteresting)]);
    return in.U32();
  }
  uint32_t Fd() {
    const uint8_t k = in.U8();
    if (k < 16) return k;  // stdio, /app = 3, /ro = 4, / = 5, opened ones after
    return in.U32();
  }
  uint32_t U32() {
    const uint8_t k = in.U8();
    if (k < 64) return static_cast<uint32_t>(kInteresting[k % std::size(kInteresting)]);
    return in.U32();
  }
  uint64_t U64() {
    const uint8_t k = in.U8();
    if (k < 64) return kInteresting[k % std::size(kInteresting)];
    return in.U64();
  }
};

// One call chosen by `op`; its WASI result.
uint32_t Call(WasiHost& h, GuestMemory m, uint8_t op, Args& a) {
  switch (op % 46) {
    case 0: return h.ArgsGet(m, a.Ptr(), a.Ptr());
    case 1: return h.ArgsSizesGet(m, a.Ptr(), a.Ptr());
    case 2: return h.EnvironGet(m, a.Ptr(), a.Ptr());
    case 3: return h.EnvironSizesGet(m, a.Ptr(), a.Ptr());
    case 4: return h.ClockResGet(m, a.U32(), a.Ptr());
    case 5: return h.ClockTimeGet(m, a.U32(), a.U64(), a.Ptr());
    case 6: return h.FdAdvise(m, a.Fd(), a.U64(), a.U64(), a.U32());
    case 7: return h.FdAllocate(m, a.Fd(), a.U64(), a.U64() & 0xffff);
    case 8: return h.FdClose(m, a.Fd());
    case 9: return h.FdDatasync(m, a.Fd());
    case 10: return h.FdFdstatGet(m, a.Fd(), a.Ptr());
    case 11: return h.FdFdstatSetFlags(m, a.Fd(), a.U32());
    case 12: return h.FdFdstatSetRights(m, a.Fd(), a.U64(), a.U64());
    case 13: return h.FdFilestatGet(m, a.Fd(), a.Ptr());
    case 14: return h.FdFilestatSetSize(m, a.Fd(), a.U64() & 0xfffff);
    case 15: return h.FdFilestatSetTimes(m, a.Fd(), a.U64(), a.U64(), a.U32());
    case 16: return h.FdPread(m, a.Fd(), a.Ptr(), a.Len(), a.U64(), a.Ptr());
    case 17: return h.FdPrestatGet(m, a.Fd(), a.Ptr());
    case 18: return h.FdPrestatDirName(m, a.Fd(), a.Ptr(), a.Len());
    case 19: return h.FdPwrite(m, a.Fd(), a.Ptr(), a.Len(), a.U64() & 0xfffff, a.Ptr());
    case 20: return h.FdRead(m, a.Fd(), a.Ptr(), a.Len(), a.Ptr());
    case 21: return h.FdReaddir(m, a.Fd(), a.Ptr(), a.Len(), a.U64(), a.Ptr());
    case 22: return h.FdRenumber(m, a.Fd(), a.Fd());
    case 23: return h.FdSeek(m, a.Fd(), a.U64(), a.U32(), a.Ptr());
    case 24: return h.FdSync(m, a.Fd());
    case 25: return h.FdTell(m, a.Fd(), a.Ptr());
    case 26: return h.FdWrite(m, a.Fd(), a.Ptr(), a.Len(), a.Ptr());
    case 27: return h.PathCreateDirectory(m, a.Fd(), a.Ptr(), a.Len());
    case 28: return h.PathFilestatGet(m, a.Fd(), a.U32(), a.Ptr(), a.Len(), a.Ptr());
    case 29: return h.PathFilestatSetTimes(m, a.Fd(), a.U32(), a.Ptr(), a.Len(), a.U64(), a.U64(),
                                           a.U32());
    case 30: return h.PathLink(m, a.Fd(), a.U32(), a.Ptr(), a.Len(), a.Fd(), a.Ptr(), a.Len());
    case 31: return h.PathOpen(m, a.Fd(), a.U32(), a.Ptr(), a.Len(), a.U32(), a.U64(), a.U64(),
                               a.U32(), a.Ptr());
    case 32: return h.PathReadlink(m, a.Fd(), a.Ptr(), a.Len(), a.Ptr(), a.Len(), a.Ptr());
    case 33: return h.PathRemoveDirectory(m, a.Fd(), a.Ptr(), a.Len());
    case 34: return h.PathRename(m, a.Fd(), a.Ptr(), a.Len(), a.Fd(), a.Ptr(), a.Len());
    case 35: return h.PathSymlink(m, a.Ptr(), a.Len(), a.Fd(), a.Ptr(), a.Len());
    case 36: return h.PathUnlinkFile(m, a.Fd(), a.Ptr(), a.Len());
    case 37: return h.PollOneoff(m, a.Ptr(), a.Ptr(), a.U32() % 8, a.Ptr());
    case 38: return h.ProcRaise(m, a.U32());
    case 39: return h.SchedYield(m);
    case 40: return h.RandomGet(m, a.Ptr(), a.Len());
    case 41: return h.SockAccept(m, a.Fd(), a.U32(), a.Ptr());
    case 42: return h.SockRecv(m, a.Fd(), a.Ptr(), a.Len(), a.U32(), a.Ptr(), a.Ptr());
    case 43: return h.SockSend(m, a.Fd(), a.Ptr(), a.Len(), a.U32(), a.Ptr());
    case 44: return h.SockShutdown(m, a.Fd(), a.U32());
    default: return h.ProcExit(m, a.U32());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  World& world = TheWorld();
  world.ResetWorkspace();
  {
    snakecage::wasi::WasiConfig config;
    config.argv = {"python", "/app/user_code.py"};
    config.env = {{"PYTHONHASHSEED", "0"}};
    config.preopens = {{world.workspace, "/app", false}, {world.readonly, "/ro", true}};
    config.stdout_max_bytes = 64;
    config.stderr_max_bytes = 64;
    config.max_open_fds = 32;
    config.writable_max_bytes = kQuotaBytes;
    config.virtual_root = true;
    // A poll_oneoff sleep ends at the deadline (a timeout trap), never later.
    config.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(20);
    auto host = WasiHost::Create(config);
    if (!host.ok()) {
      std::fprintf(stderr, "WasiHost::Create: %s\n", host.status().message().c_str());
      std::abort();
    }
    Guest guest;
    Reset(guest);
    Input in(data, size);
    Args args{in};
    for (uint32_t n = 0; n < kMaxCallsPerInput && !in.done(); ++n) {
      const uint8_t op = in.U8();
      if (op >= 240) {  // poke: 1..16 bytes of input at an offset
        const uint32_t at = in.U32() % guest.size();
        for (uint32_t i = 0; i <= (op & 15u) && at + i < guest.size(); ++i) {
          guest.data()[at + i] = in.U8();
        }
        continue;
      }
      if (op >= 236) {
        guest.Grow();
        continue;
      }
      const uint32_t r = Call(**host, guest.mem(), op, args);
      if (r == WasiHost::kUnwind) {
        if (!(*host)->unwind().has_value()) std::abort();  // unwinding says why
        break;
      }
      if (r > snakecage::wasi::abi::kNotcapable) {
        std::fprintf(stderr, "call %u returned %u, not a WASI errno\n", op % 46, r);
        std::abort();
      }
    }
  }
  world.CheckUntouched();
  world.CheckWithinQuota();
  return 0;
}
