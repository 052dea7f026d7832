// wasi/wasi_host_internal.h: pieces of WasiHost shared by its .cc files
// (wasi_host.cc, wasi_fd_calls.cc, wasi_path_calls.cc, wasi_poll.cc).
// Not for use outside src/wasi/.
#pragma once

#include <sys/stat.h>

#include <array>
#include <cstdint>
#include <ctime>
#include <string>
#include <vector>

#include "wasi/wasi_host.h"

namespace snakecage::wasi {

// Rights a directory handle can hold (as base rights).
inline constexpr abi::Rights kDirectoryRights =
    abi::kRightFdFdstatSetFlags | abi::kRightFdSync | abi::kRightFdAdvise |
    abi::kRightPathCreateDirectory | abi::kRightPathCreateFile |
    abi::kRightPathLinkSource | abi::kRightPathLinkTarget |
    abi::kRightPathOpen | abi::kRightFdReaddir | abi::kRightPathReadlink |
    abi::kRightPathRenameSource | abi::kRightPathRenameTarget |
    abi::kRightPathFilestatGet | abi::kRightPathFilestatSetSize |
    abi::kRightPathFilestatSetTimes | abi::kRightFdFilestatGet |
    abi::kRightFdFilestatSetTimes | abi::kRightPathSymlink |
    abi::kRightPathRemoveDirectory | abi::kRightPathUnlinkFile |
    abi::kRightPollFdReadwrite;

// Rights a regular file (or other non-directory) handle can hold.
inline constexpr abi::Rights kFileRights =
    abi::kRightFdDatasync | abi::kRightFdRead | abi::kRightFdSeek |
    abi::kRightFdFdstatSetFlags | abi::kRightFdSync | abi::kRightFdTell |
    abi::kRightFdWrite | abi::kRightFdAdvise | abi::kRightFdAllocate |
    abi::kRightFdFilestatGet | abi::kRightFdFilestatSetSize |
    abi::kRightFdFilestatSetTimes | abi::kRightPollFdReadwrite;

// Base rights that make path_open open the host file for writing.
inline constexpr abi::Rights kWriteIntentRights =
    abi::kRightFdWrite | abi::kRightFdAllocate |
    abi::kRightFdFilestatSetSize;
// Base rights that make path_open open the host file for reading.
inline constexpr abi::Rights kReadIntentRights =
    abi::kRightFdRead | abi::kRightFdReaddir;

// Stdio: a character device without a tty's shape (it has SEEK/TELL rights,
// so wasi-libc's isatty() says no and Python buffers fully); seeking fails
// with SPIPE.
inline constexpr abi::Rights kStdioCommonRights =
    abi::kRightFdFdstatSetFlags | abi::kRightFdFilestatGet |
    abi::kRightPollFdReadwrite | abi::kRightFdSeek | abi::kRightFdTell |
    abi::kRightFdSync | abi::kRightFdDatasync;
inline constexpr abi::Rights kStdinRights =
    kStdioCommonRights | abi::kRightFdRead;
inline constexpr abi::Rights kStdoutRights =
    kStdioCommonRights | abi::kRightFdWrite;

namespace internal {

struct DirEntry {
  std::string name;
  uint64_t ino = 0;
  uint8_t type = abi::kFiletypeUnknown;
};

struct FdEntry {
  // kVirtualDirectory: a directory of the virtual root (no host fd).
  enum class Kind {
    kStdin, kStdout, kStderr, kFile, kDirectory, kVirtualDirectory
  };
  Kind kind = Kind::kFile;
  UniqueFd host;                 // invalid for stdio
  uint8_t filetype = abi::kFiletypeUnknown;
  uint16_t fdflags = 0;          // as the guest set them
  abi::Rights base = 0;
  abi::Rights inheriting = 0;
  int mount = -1;                // index into config_.preopens; -1 for stdio
  bool read_only = false;        // the mount's flag, copied onto the handle
  bool is_preopen = false;
  int node = -1;                 // kVirtualDirectory: its VirtualRoot node
  // fd_readdir: entries read at cookie 0, indexed by cookie.
  bool has_snapshot = false;
  std::vector<DirEntry> snapshot;

  bool is_stdio() const {
    return kind == Kind::kStdin || kind == Kind::kStdout ||
           kind == Kind::kStderr;
  }
};

// One guest call in progress: the call's name for messages, and the
// pointer checks that trap.
class HostCall {
 public:
  HostCall(WasiHost& host, GuestMemory mem, const char* name)
      : host_(host), mem_(mem), name_(name) {}

  // Start-of-call checks. False when the guest must unwind: an unwind is
  // already recorded, or the deadline passed / the token is cancelled (this
  // records kTimeout).
  bool Begin();
  // False, recording kMemoryOutOfBounds, when [ptr, ptr + len) is not inside
  // guest memory. `what` names the argument in the message.
  bool Check(uint64_t ptr, uint64_t len, const char* what);
  // Records kTimeout for this call ("poll_oneoff: ...") and returns false.
  bool Timeout(const char* why);

  GuestMemory mem() const { return mem_; }
  const char* name() const { return name_; }

 private:
  WasiHost& host_;
  GuestMemory mem_;
  const char* name_;
};

}  // namespace internal

// struct stat -> preview1 filetype.
uint8_t FiletypeFromMode(mode_t mode);
// Writes a __wasi_filestat_t for `st` at `ptr`. REQUIRES: range checked.
void StoreFilestat(GuestMemory mem, uint32_t ptr, const struct stat& st);
// What stat(2) would say of directory `node` of `root`: a read-only
// directory on device 0, times at the epoch.
struct stat VirtualDirectoryStat(const VirtualRoot& root, int node);
// preview1 timestamp (ns since the epoch) of a timespec; 0 if before it.
uint64_t TimestampFromTimespec(const struct timespec& ts);

// futimens/utimensat times for preview1 (atim, mtim, fst_flags): UTIME_OMIT
// for a time not set, UTIME_NOW for *_NOW. error is kInval for unknown flag
// bits or for both X and X_NOW.
struct HostTimes {
  abi::Errno error = abi::kSuccess;
  std::array<struct timespec, 2> ts{};
};
HostTimes TimesFromWasi(uint64_t atim, uint64_t mtim, uint32_t fst_flags);

}  // namespace snakecage::wasi
