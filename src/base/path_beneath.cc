#include "base/path_beneath.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace snakecage {
namespace {

// How often an EAGAIN from RESOLVE_BENEATH (a concurrent rename) is retried.
constexpr int kMaxEagainRetries = 16;

}  // namespace

int OpenBeneath(int dirfd, const std::string& path, uint64_t flags, mode_t mode,
                uint64_t resolve) {
  open_how how{};
  how.flags = flags | O_CLOEXEC;
  // O_TMPFILE includes the O_DIRECTORY bit: test it whole.
  const bool creates = (flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE;
  how.mode = creates ? mode : 0;
  how.resolve = resolve != 0 ? resolve : (RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
  for (int attempt = 0;; ++attempt) {
    const long fd = ::syscall(SYS_openat2, dirfd, path.c_str(), &how, sizeof(how));
    if (fd >= 0) return static_cast<int>(fd);
    const int err = errno;
    if (err == EINTR) continue;
    if (err == EAGAIN && attempt < kMaxEagainRetries) continue;
    return -err;
  }
}

int OpenComponent(int dirfd, const std::string& name, int flags, mode_t mode) {
  for (;;) {
    const int fd = ::openat(dirfd, name.c_str(), flags | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd >= 0) return fd;
    if (errno != EINTR) return -errno;
  }
}

SplitPath SplitLast(std::string_view path) {
  SplitPath out;
  std::string_view trimmed = path;
  while (trimmed.size() > 1 && trimmed.back() == '/') {
    trimmed.remove_suffix(1);
    out.trailing_slash = true;
  }
  const size_t slash = trimmed.rfind('/');
  if (slash == std::string_view::npos) {
    out.parent = ".";
    out.name = std::string(trimmed);
  } else {
    out.parent = std::string(trimmed.substr(0, slash + 1));
    out.name = std::string(trimmed.substr(slash + 1));
  }
  return out;
}

}  // namespace snakecage
