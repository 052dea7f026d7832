// session/workspace_fs.h: descriptor-based file operations confined to a
// session workspace, for SessionStore.
//
// A caller's path is first checked by its text alone (CheckRelativePath):
// empty, absolute, NUL-containing, over-long paths and any ".." component
// are refused before the disk is touched. What passes is resolved by the
// kernel beneath a workspace descriptor (base/path_beneath.h, the same
// openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS) the WASI host uses), so a
// symlink cannot lead out of the workspace either (the kernel answers
// EXDEV). Paths are never joined onto host paths; only the caller's own
// path is split at its last '/'.
//
// Functions that return `int` give a descriptor (or 0) on success and
// -errno on failure.
//
// Ownership: returned descriptors belong to the caller (UniqueFd).
// Thread-safety: stateless functions; safe to call concurrently.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/path_beneath.h"
#include "base/unique_fd.h"
#include "snakecage/status.h"

namespace snakecage::session {

// Longest relative path accepted, in bytes (PATH_MAX without the NUL).
inline constexpr size_t kMaxRelativePathBytes = 4095;

// Why a path was refused by its text, or "" when it is acceptable:
// "empty", "absolute", "dot_dot" (a ".." component), "nul_byte",
// "too_long".
std::string_view RelativePathProblem(std::string_view path);

// InvalidArgument naming the path (quoted) when RelativePathProblem() is
// not "", OK otherwise.
Status CheckRelativePath(std::string_view path);

// Opens `parent` (a relative directory path) beneath `dirfd` as O_PATH |
// O_DIRECTORY, creating missing directories (mode `dir_mode`) one
// component at a time, each created directory resolved beneath `dirfd`
// again before it is used.
int OpenOrCreateDirsBeneath(int dirfd, std::string_view parent, mode_t dir_mode);

// Random lower-case hex from getrandom(2), `bytes` bytes of entropy.
std::string RandomHex(size_t bytes);

// Temporary files AtomicWriteAt makes start with this; one that a kill left
// behind is removed by SessionStore::SweepLeftovers.
inline constexpr std::string_view kTempFilePrefix = ".snakecage-tmp-";

// Writes `data` to a new temporary file in `staging_dirfd` (mode `mode`;
// `dirfd` itself when -1) and renames it to `name` in `dirfd` (renameat2;
// RENAME_NOREPLACE unless `overwrite`). The two must be on one filesystem.
// A staging directory outside the workspace keeps a write that a kill cut
// short out of the user's (and the guest's) sight. `name` is replaced
// itself, never followed. -EEXIST when !overwrite and `name` exists. With
// `sync`, the data is fsync'ed before the rename.
int AtomicWriteAt(int dirfd, const std::string& name, std::string_view data, bool overwrite,
                  mode_t mode, bool sync, int staging_dirfd = -1);

// Reads all of a regular file open at `fd`. -errno on failure.
int ReadAll(int fd, std::string* out);

// The names in the directory `dirfd` (readable or O_PATH), without "." and
// "..", sorted bytewise. -errno on failure.
int ListDirectory(int dirfd, std::vector<std::string>* names);

// Calls `visit(relative_path, stat)` for every entry beneath the directory
// `dirfd` (readable or O_PATH), directories included
// (`stat` tells them apart), parents before children, each directory's
// entries in name order. Symlinks are reported, never followed; a
// directory is descended into through O_NOFOLLOW descriptors. Entries that
// vanish while walking are skipped. Errors name the relative path.
using WalkVisitor = std::function<void(const std::string& relative_path, const struct stat& st)>;
Status WalkTree(int dirfd, const WalkVisitor& visit);

// Sum of st_size of the regular files beneath `dirfd` (see WalkTree).
StatusOr<uint64_t> RegularFileBytes(int dirfd);

// Removes `name` in `parent_fd` and, if it is a directory, everything
// beneath it (depth first, through descriptors, never following a
// symlink). Returns the number of entries removed, `name` included.
// Errors name `display` (the caller's path for `name`).
StatusOr<uint64_t> RemoveTree(int parent_fd, const std::string& name, std::string_view display);

}  // namespace snakecage::session
