#include "base/workspace_usage.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "base/path_beneath.h"
#include "base/unique_fd.h"

namespace snakecage {
namespace {

// One directory on the way down: who it is, and the subdirectories of it
// still to visit.
struct Frame {
  dev_t dev = 0;
  ino_t ino = 0;
  std::vector<std::string> subdirs;
};

class Walk {
 public:
  // Reads the directory open at `fd` (at offset 0): charges its entries and
  // records its subdirectories in `frame`. 0 or an errno.
  int Scan(int fd, Frame& frame) {
    struct stat self{};
    if (::fstat(fd, &self) != 0) return errno;
    frame.dev = self.st_dev;
    frame.ino = self.st_ino;
    alignas(8) char buf[32 * 1024];
    for (;;) {
      const ssize_t n = ::getdents64(fd, buf, sizeof(buf));
      if (n < 0) {
        if (errno == EINTR) continue;
        return errno;
      }
      if (n == 0) return 0;
      for (ssize_t pos = 0; pos < n;) {
        const auto* d = reinterpret_cast<const struct dirent64*>(buf + pos);
        pos += d->d_reclen;
        const std::string name = d->d_name;
        if (name == "." || name == "..") continue;
        struct stat st{};
        if (::fstatat(fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
          if (errno == ENOENT) continue;  // gone since it was listed
          return errno;
        }
        bytes_ += Charge(st);
        if (S_ISDIR(st.st_mode)) frame.subdirs.push_back(name);
      }
    }
  }

  uint64_t bytes() const { return bytes_; }

 private:
  uint64_t Charge(const struct stat& st) {
    if (S_ISREG(st.st_mode) && st.st_nlink > 1 &&
        !linked_.insert({static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)})
             .second) {
      return kWorkspaceBlockBytes;  // a further name of a file already counted
    }
    return ChargeForEntry(st);
  }

  uint64_t bytes_ = 0;
  std::set<std::pair<uint64_t, uint64_t>> linked_;
};

}  // namespace

uint64_t ChargeForEntry(const struct stat& st) {
  if (S_ISREG(st.st_mode)) return ChargeForFileSize(static_cast<uint64_t>(st.st_size));
  return kWorkspaceBlockBytes;
}

uint64_t ChargeOfName(const struct stat& st) {
  if (S_ISREG(st.st_mode) && st.st_nlink > 1) return kWorkspaceBlockBytes;
  return ChargeForEntry(st);
}

WorkspaceUsage MeasureWorkspace(int dirfd) {
  Walk walk;
  UniqueFd current(OpenComponent(dirfd, ".", O_RDONLY | O_DIRECTORY));
  if (!current.valid()) return {0, -current.Release()};
  std::vector<Frame> stack(1);
  if (int err = walk.Scan(current.get(), stack.back()); err != 0) return {walk.bytes(), err};
  while (!stack.empty()) {
    Frame& top = stack.back();
    if (top.subdirs.empty()) {
      stack.pop_back();
      if (stack.empty()) break;
      // Climb back to the directory we came from, and make sure it is that one.
      UniqueFd up(OpenComponent(current.get(), "..", O_RDONLY | O_DIRECTORY));
      struct stat st{};
      if (!up.valid()) return {walk.bytes(), -up.Release()};
      if (::fstat(up.get(), &st) != 0) return {walk.bytes(), errno};
      if (st.st_dev != stack.back().dev || st.st_ino != stack.back().ino) {
        return {walk.bytes(), ESTALE};  // moved while we were inside it
      }
      current = std::move(up);
      continue;
    }
    const std::string name = std::move(top.subdirs.back());
    top.subdirs.pop_back();
    UniqueFd down(OpenComponent(current.get(), name, O_RDONLY | O_DIRECTORY));
    if (!down.valid()) {
      const int err = -down.Release();
      if (err == ENOENT) continue;  // removed since it was listed
      return {walk.bytes(), err};
    }
    Frame frame;
    if (int err = walk.Scan(down.get(), frame); err != 0) return {walk.bytes(), err};
    current = std::move(down);
    stack.push_back(std::move(frame));
  }
  return {walk.bytes(), 0};
}

}  // namespace snakecage
