// Test helpers: a fake guest linear memory, temp directories, and a WasiHost
// factory for the WASI host tests.
#pragma once

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "wasi/guest_memory.h"
#include "wasi/wasi_host.h"
#include "wasm-rt.h"

namespace snakecage::wasi::testing {

// A guest linear memory backed by a std::vector, with a bump allocator.
// Allocation starts at 1024 so that pointer 0 stays unused.
class FakeGuest {
 public:
  explicit FakeGuest(uint32_t pages = 2);
  FakeGuest(const FakeGuest&) = delete;
  FakeGuest& operator=(const FakeGuest&) = delete;

  GuestMemory mem() { return GuestMemory(&memory_); }
  wasm_rt_memory_t* raw() { return &memory_; }
  uint32_t size() const { return memory_.size; }
  // memory.grow: the data may move, as with a real guest.
  void Grow(uint32_t extra_pages);

  // Reserves n bytes (zeroed), aligned to `align`; returns the guest pointer.
  uint32_t Alloc(uint32_t n, uint32_t align = 8);
  // Copies `s` into guest memory (no NUL added); returns the pointer.
  uint32_t Put(std::string_view s);
  // Writes iovecs {ptr, len} to a fresh array; returns the array pointer.
  uint32_t PutIovecs(const std::vector<std::pair<uint32_t, uint32_t>>& iovs);
  // One iovec covering a fresh buffer of `len` bytes; sets *buf to it.
  uint32_t OneIovec(uint32_t len, uint32_t* buf);

  template <typename T>
  T Load(uint32_t ptr) const {
    T v;
    std::memcpy(&v, bytes_.data() + ptr, sizeof(T));
    return v;
  }
  template <typename T>
  void Store(uint32_t ptr, T v) {
    std::memcpy(bytes_.data() + ptr, &v, sizeof(T));
  }
  std::string Read(uint32_t ptr, uint32_t len) const {
    return std::string(reinterpret_cast<const char*>(bytes_.data() + ptr),
                       len);
  }
  uint8_t* data() { return bytes_.data(); }

 private:
  std::vector<uint8_t> bytes_;
  wasm_rt_memory_t memory_{};
  uint32_t next_ = 1024;
};

// A fresh directory under the system temp dir, removed (without following
// symlinks) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(std::string_view rel) const {
    return path_ / rel;
  }

 private:
  std::filesystem::path path_;
};

void WriteFile(const std::filesystem::path& p, std::string_view contents);
std::string ReadFile(const std::filesystem::path& p);

// A denied path as the callback saw it.
struct Denial {
  std::string call;
  std::string path;
  bool operator==(const Denial&) const = default;
};

// Creates a host from `config`, recording path denials into *denials (when
// non-null). Fails the current test (and returns nullptr) on error.
std::unique_ptr<WasiHost> MakeHost(WasiConfig config,
                                   std::vector<Denial>* denials = nullptr);

// WASI right sets wasi-libc asks for.
inline constexpr uint64_t kReadRights =
    abi::kRightFdRead | abi::kRightFdSeek | abi::kRightFdTell |
    abi::kRightFdFilestatGet | abi::kRightFdReaddir |
    abi::kRightFdFdstatSetFlags | abi::kRightFdAdvise |
    abi::kRightFdFilestatSetTimes | abi::kRightPathOpen;
inline constexpr uint64_t kWriteRights =
    abi::kRightFdWrite | abi::kRightFdSeek | abi::kRightFdTell |
    abi::kRightFdFilestatGet | abi::kRightFdFilestatSetSize |
    abi::kRightFdAllocate | abi::kRightFdDatasync | abi::kRightFdSync |
    abi::kRightFdFdstatSetFlags | abi::kRightFdFilestatSetTimes;

// Result of a path_open through a FakeGuest.
struct Opened {
  uint32_t error;
  uint32_t fd;
};
Opened OpenPath(WasiHost& host, FakeGuest& g, uint32_t dirfd,
                std::string_view path, uint32_t oflags = 0,
                uint64_t rights = kReadRights, uint32_t fdflags = 0,
                uint32_t lookup = abi::kLookupSymlinkFollow);

// fd_write / fd_read of one buffer. Returns {errno, bytes}.
std::pair<uint32_t, uint32_t> WriteFd(WasiHost& host, FakeGuest& g,
                                      uint32_t fd, std::string_view data);
std::pair<uint32_t, std::string> ReadFd(WasiHost& host, FakeGuest& g,
                                        uint32_t fd, uint32_t max);

}  // namespace snakecage::wasi::testing
