#include "wasi/path_resolver.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "base/path_beneath.h"
#include "wasi/errno_map.h"

namespace snakecage::wasi {
namespace {

bool IsDot(std::string_view name) { return name == "." || name == ".."; }

// True when the components of `path`, read as written (each name one level
// down, ".." one up), climb above the starting directory at some point.
// Only used to classify a path the kernel already refused for another
// reason (e.g. ENOENT for the missing "a" in "a/../../x").
bool LexicallyEscapes(std::string_view path) {
  long depth = 0;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view part = path.substr(pos, end - pos);
    if (part == "..") {
      if (--depth < 0) return true;
    } else if (!part.empty() && part != ".") {
      ++depth;
    }
    pos = end + 1;
  }
  return false;
}

// Refuses what no resolution could accept; kSuccess otherwise.
abi::Errno CheckShape(std::string_view path) {
  if (path.size() > kMaxPathBytes) return abi::kNametoolong;
  if (path.find('\0') != std::string_view::npos) return abi::kInval;
  if (path.empty()) return abi::kNoent;
  return abi::kSuccess;
}

}  // namespace

abi::Errno PathResolver::Deny(std::string_view call,
                              std::string_view path) const {
  if (on_denied_) on_denied_(call, path);
  return abi::kNotcapable;
}

Resolved<UniqueFd> PathResolver::Open(std::string_view call, int dirfd,
                                      std::string_view path, uint64_t flags,
                                      uint64_t mode) const {
  return OpenReporting(call, dirfd, path, path, flags, mode);
}

Resolved<UniqueFd> PathResolver::OpenReporting(std::string_view call,
                                               int dirfd, std::string_view path,
                                               std::string_view reported,
                                               uint64_t flags,
                                               uint64_t mode) const {
  if (abi::Errno e = CheckShape(path); e != abi::kSuccess) return {e};
  if (path.front() == '/') return {Deny(call, reported)};
  const int fd = OpenBeneath(dirfd, std::string(path), flags, mode);
  if (fd == -EXDEV) return {Deny(call, reported)};
  if (fd < 0) {
    if (LexicallyEscapes(path)) return {Deny(call, reported)};
    return {WasiErrnoFromHost(-fd)};
  }
  return {abi::kSuccess, UniqueFd(fd)};
}

Resolved<PathResolver::Parent> PathResolver::OpenParent(
    std::string_view call, int dirfd, std::string_view path) const {
  if (abi::Errno e = CheckShape(path); e != abi::kSuccess) return {e};
  if (path.front() == '/') return {Deny(call, path)};

  // The path does not start with '/', so something non-empty is left after
  // stripping trailing slashes.
  SplitPath split = SplitLast(path);
  if (IsDot(split.name)) {
    // Resolve the whole path beneath first: ".." at the root is an escape
    // and is refused here, before any caller sees the dot.
    Resolved<UniqueFd> whole =
        Open(call, dirfd, path, O_PATH | O_DIRECTORY);
    if (!whole.ok()) return {whole.error};
  }
  // An escape in the parent is reported with the guest's whole path.
  Resolved<UniqueFd> dir = OpenReporting(call, dirfd, split.parent, path,
                                         O_PATH | O_DIRECTORY, 0);
  if (!dir.ok()) return {dir.error};
  const bool is_dot = IsDot(split.name);
  Parent result{std::move(dir.value), std::move(split.name), split.trailing_slash, is_dot};
  return {abi::kSuccess, std::move(result)};
}

Resolved<PathResolver::AtTarget> PathResolver::OpenAtTarget(
    std::string_view call, int dirfd, std::string_view path,
    bool follow) const {
  if (abi::Errno e = CheckShape(path); e != abi::kSuccess) return {e};
  if (path.front() == '/') return {Deny(call, path)};
  const bool trailing_slash = path.back() == '/';
  if (follow || trailing_slash || IsDot(SplitLast(path).name)) {
    const uint64_t flags = O_PATH | (follow ? 0 : O_NOFOLLOW) |
                           (trailing_slash ? O_DIRECTORY : 0);
    Resolved<UniqueFd> self = Open(call, dirfd, path, flags);
    if (!self.ok()) return {self.error};
    return {abi::kSuccess, AtTarget{std::move(self.value), "", AT_EMPTY_PATH}};
  }
  Resolved<Parent> parent = OpenParent(call, dirfd, path);
  if (!parent.ok()) return {parent.error};
  return {abi::kSuccess,
          AtTarget{std::move(parent.value.dir), std::move(parent.value.name),
                   AT_SYMLINK_NOFOLLOW}};
}

}  // namespace snakecage::wasi
