// wasi/path_resolver.h: the one audited path resolver of the WASI host.
//
// Every guest path becomes a host file descriptor here, and only here. The
// kernel resolves it beneath the guest's directory handle (OpenBeneath,
// base/path_beneath.h, shared with the session store):
//   openat2(dirfd, path, {flags, mode, RESOLVE_BENEATH |
//   RESOLVE_NO_MAGICLINKS})
// so "..", absolute paths and symlinks that leave the directory (absolute or
// relative, at any depth) fail inside the kernel with EXDEV. Guest paths are
// never joined into strings; a path is only split at its last '/' so that the
// final component can be handed to an *at call on a parent opened beneath.
//
// Refusals: an absolute guest path or an EXDEV from openat2 is an escape. So
// is a path the kernel refused for another reason (ENOENT, ENOTDIR, ...)
// whose components, read as written, climb above the starting directory
// ("a/../../x" with no "a"): that cannot name anything beneath it either.
// An escape returns abi::kNotcapable and calls the `on_denied` callback with
// the WASI call name and the guest path exactly as the guest gave it (raw
// bytes, not necessarily UTF-8). Only the kernel ever grants a path.
//
// Preconditions for every `path` argument: at most kMaxPathBytes bytes, no
// NUL byte (WasiHost checks both when it copies the path out of guest
// memory; the resolver refuses violations with kInval/kNametoolong too).
//
// Ownership: returned descriptors are owned by the caller (UniqueFd).
// Thread-safety: const methods; safe to call concurrently if the callback is.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "base/unique_fd.h"
#include "wasi/wasi_abi.h"

namespace snakecage::wasi {

// Longest guest path accepted, in bytes (Linux PATH_MAX without the NUL).
inline constexpr size_t kMaxPathBytes = 4095;

// A value, or the WASI errno that says why there is none.
template <typename T>
struct [[nodiscard]] Resolved {
  abi::Errno error = abi::kSuccess;
  T value{};
  bool ok() const { return error == abi::kSuccess; }
};

class PathResolver {
 public:
  using DeniedCallback =
      std::function<void(std::string_view call, std::string_view guest_path)>;

  // `on_denied` may be empty.
  explicit PathResolver(DeniedCallback on_denied)
      : on_denied_(std::move(on_denied)) {}

  // Opens what `path` names beneath `dirfd` with open(2) `flags` (O_CLOEXEC
  // is always added). A final symlink is followed (beneath) unless `flags`
  // has O_NOFOLLOW. `mode` is used only with O_CREAT. Errors: kNoent for "",
  // kNotcapable (+ callback) for an escape, otherwise the mapped errno.
  Resolved<UniqueFd> Open(std::string_view call, int dirfd,
                          std::string_view path, uint64_t flags,
                          uint64_t mode = 0) const;

  // The directory that holds the final component of `path`, opened beneath
  // `dirfd` (O_PATH | O_DIRECTORY), and that component.
  struct Parent {
    UniqueFd dir;
    std::string name;     // one component: non-empty, no '/'
    bool trailing_slash;  // `path` ended in '/' (stripped from `name`)
    // `name` is "." or "..". The whole path was first resolved beneath
    // `dirfd` (so an escape such as ".." at the root is already refused);
    // callers refuse a dot final component with their own errno and never
    // pass it to an *at call.
    bool is_dot;
  };
  Resolved<Parent> OpenParent(std::string_view call, int dirfd,
                              std::string_view path) const;

  // A target for fstatat(2)/utimensat(2): (dir, name, at_flags).
  //  - follow == false, plain final component: the parent, the component,
  //    AT_SYMLINK_NOFOLLOW (the final symlink itself is the target).
  //  - follow == true, a "."/".." final component, or a trailing '/': the
  //    object itself opened O_PATH beneath `dirfd` (following symlinks
  //    beneath; O_DIRECTORY for a trailing '/'), name "", AT_EMPTY_PATH.
  struct AtTarget {
    UniqueFd dir;
    std::string name;
    int at_flags;
  };
  Resolved<AtTarget> OpenAtTarget(std::string_view call, int dirfd,
                                  std::string_view path, bool follow) const;

  // Reports a refused path through the callback (used by WasiHost for
  // escapes it detects itself). Returns abi::kNotcapable.
  abi::Errno Deny(std::string_view call, std::string_view path) const;

 private:
  // Open(), reporting an escape with `reported` (the guest's whole path)
  // rather than `path` (which may be just its parent part).
  Resolved<UniqueFd> OpenReporting(std::string_view call, int dirfd,
                                   std::string_view path,
                                   std::string_view reported, uint64_t flags,
                                   uint64_t mode) const;

  DeniedCallback on_denied_;
};

}  // namespace snakecage::wasi
