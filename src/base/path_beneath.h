// base/path_beneath.h: the one way a path given by someone else (the guest,
// a server's caller) is opened on the host: the kernel resolves it beneath a
// directory descriptor with
//   openat2(dirfd, path, {flags, mode, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS})
// so "..", absolute paths and symlinks that leave the directory fail inside
// the kernel (EXDEV). Paths are never joined into strings; they are only
// split at their last '/' so that the final component can go to an *at call
// on a parent opened beneath. The WASI host's PathResolver and the session
// store's file operations are built on these.
//
// Thread-safety: pure functions (they only issue system calls).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace snakecage {

// openat2(dirfd, path, {flags | O_CLOEXEC, mode, resolve}): a descriptor, or
// -errno. Retries EINTR, and the EAGAIN the kernel returns when a concurrent
// rename raced with RESOLVE_BENEATH. `mode` is used only when `flags`
// creates (O_CREAT, O_TMPFILE). `resolve` 0 means RESOLVE_BENEATH |
// RESOLVE_NO_MAGICLINKS.
int OpenBeneath(int dirfd, const std::string& path, uint64_t flags, mode_t mode = 0,
                uint64_t resolve = 0);

// openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC): one component, never
// following a symlink. A descriptor, or -errno (EINTR retried).
int OpenComponent(int dirfd, const std::string& name, int flags, mode_t mode = 0);

// `path` split at its last '/', trailing slashes stripped first:
// "a/b/c" -> {"a/b/", "c"}, "c" -> {".", "c"}, "a/b/" -> {"a/", "b", true}.
// REQUIRES: `path` is not empty and does not start with '/'.
struct SplitPath {
  std::string parent;  // "." when there is no '/'; else ends in '/'
  std::string name;    // one component; may be "." or ".." (e.g. for "a/.")
  bool trailing_slash = false;
};
SplitPath SplitLast(std::string_view path);

}  // namespace snakecage
