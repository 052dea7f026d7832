// WasiHost: the path_* calls. Every guest path goes through resolver_
// (path_resolver.h); nothing here builds a host path from guest text.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>

#include "base/workspace_usage.h"
#include "wasi/errno_map.h"
#include "wasi/wasi_host.h"
#include "wasi/wasi_host_internal.h"

namespace snakecage::wasi {

using internal::FdEntry;

namespace {

// Type of `name` in `dir` without following it: the st_mode, or -errno.
long ModeAt(int dir, const std::string& name) {
  struct stat st{};
  if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return -errno;
  }
  return static_cast<long>(st.st_mode);
}

// For a final component written with a trailing '/' on a call that cannot
// act on a directory: NOENT if absent, ISDIR if it is a directory, NOTDIR
// otherwise (what Linux answers for unlink("file/")).
abi::Errno TrailingSlashOnNonDirectory(int dir, const std::string& name) {
  const long mode = ModeAt(dir, name);
  if (mode < 0) return WasiErrnoFromHost(static_cast<int>(-mode));
  return S_ISDIR(static_cast<mode_t>(mode)) ? abi::kIsdir : abi::kNotdir;
}

// For a new name written with a trailing '/' on link/symlink: EXIST if
// something is there, NOENT otherwise.
abi::Errno TrailingSlashOnNewName(int dir, const std::string& name) {
  const long mode = ModeAt(dir, name);
  return mode >= 0 ? abi::kExist : abi::kNoent;
}

// One block charged for a name about to be made (mkdir, symlink, link, a
// created file), given back with Refund() when making it failed. ok() is
// false, with nothing charged, when the quota has no block left.
class NewNameCharge {
 public:
  explicit NewNameCharge(WorkspaceQuota* quota) : quota_(quota) {
    if (quota_ != nullptr) ok_ = quota_->Grow(0, kWorkspaceBlockBytes);
  }
  bool ok() const { return ok_; }
  uint32_t Refund(uint32_t error) {
    if (quota_ != nullptr && ok_) quota_->Shrink(kWorkspaceBlockBytes, 0);
    ok_ = false;
    return error;
  }

 private:
  WorkspaceQuota* quota_;
  bool ok_ = true;
};

// What a call that makes a name (mkdir, symlink, link, rename's target)
// answers in the virtual root, as Linux does on a read-only file system:
// EXIST for a name that is there, ROFS for one that is not.
abi::Errno MakeNameInVirtualRoot(const VirtualRoot::Place& place) {
  return place.kind == VirtualRoot::Place::Kind::kDirectory ? abi::kExist
                                                             : abi::kRofs;
}

// What a call that reads a name answers for an absent one: NOENT.
bool Absent(const VirtualRoot::Place& place) {
  return place.kind == VirtualRoot::Place::Kind::kAbsent;
}

}  // namespace

Resolved<std::string> WasiHost::ReadPath(Call& call, uint32_t ptr,
                                         uint32_t len) {
  // REQUIRES: call.Check(ptr, len) passed.
  if (len > kMaxPathBytes) return {abi::kNametoolong};
  std::string path(reinterpret_cast<const char*>(call.mem().At(ptr)), len);
  if (path.find('\0') != std::string::npos) return {abi::kInval};
  return {abi::kSuccess, std::move(path)};
}

Resolved<FdEntry*> WasiHost::LookupDir(uint32_t fd, abi::Rights rights,
                                       bool write_like) {
  FdEntry* e = Lookup(fd);
  if (e == nullptr) return {abi::kBadf};
  if (e->kind != FdEntry::Kind::kDirectory) return {abi::kNotdir};
  if (write_like && e->read_only) return {abi::kRofs};
  if ((e->base & rights) != rights) return {abi::kNotcapable};
  return {abi::kSuccess, e};
}

int WasiHost::Route::mount() const { return dir ? dir->mount : -1; }

Resolved<WasiHost::Route> WasiHost::RoutePath(const char* call, uint32_t fd,
                                              std::string path,
                                              abi::Rights rights,
                                              bool write_like) {
  FdEntry* e = Lookup(fd);
  if (e == nullptr) return {abi::kBadf};
  if (e->kind != FdEntry::Kind::kVirtualDirectory) {
    Resolved<FdEntry*> dir = LookupDir(fd, rights, write_like);
    if (!dir.ok()) return {dir.error};
    Route route;
    route.from = route.dir = dir.value;
    route.path = std::move(path);
    return {abi::kSuccess, std::move(route)};
  }
  if ((e->base & rights) != rights) return {abi::kNotcapable};
  Resolved<VirtualRoot::Place> place = root_->Walk(e->node, path);
  if (place.error == abi::kNotcapable) return {resolver_.Deny(call, path)};
  if (!place.ok()) return {place.error};
  Route route;
  route.from = e;
  if (place.value.kind == VirtualRoot::Place::Kind::kMount) {
    route.dir = mount_tops_[static_cast<size_t>(place.value.mount)].get();
    if (write_like && route.dir->read_only) return {abi::kRofs};
    route.path = std::move(place.value.rest);
  }
  route.place = std::move(place.value);
  return {abi::kSuccess, std::move(route)};
}

// ---- path_create_directory --------------------------------------------------

uint32_t WasiHost::PathCreateDirectory(GuestMemory mem, uint32_t fd,
                                       uint32_t path, uint32_t path_len) {
  Call call(*this, mem, "path_create_directory");
  if (!call.Begin() || !call.Check(path, path_len, "path")) return kUnwind;
  Resolved<std::string> p = ReadPath(call, path, path_len);
  if (!p.ok()) return p.error;
  Resolved<Route> dir = RoutePath(call.name(), fd, std::move(p.value),
                                  abi::kRightPathCreateDirectory,
                                  /*write_like=*/true);
  if (!dir.ok()) return dir.error;
  if (dir.value.dir == nullptr) return MakeNameInVirtualRoot(dir.value.place);
  auto parent = resolver_.OpenParent(call.name(), dir.value.dir->host.get(),
                                     dir.value.path);
  if (!parent.ok()) return parent.error;
  if (parent.value.is_dot) return abi::kExist;
  NewNameCharge charge(QuotaFor(*dir.value.dir));
  if (!charge.ok()) return abi::kNospc;
  if (::mkdirat(parent.value.dir.get(), parent.value.name.c_str(), 0777) !=
      0) {
    return charge.Refund(WasiErrnoFromHost(errno));
  }
  return abi::kSuccess;
}

// ---- path_filestat_get / path_filestat_set_times ----------------------------

uint32_t WasiHost::PathFilestatGet(GuestMemory mem, uint32_t fd,
                                   uint32_t flags, uint32_t path,
                                   uint32_t path_len, uint32_t stat_out) {
  Call call(*this, mem, "path_filestat_get");
  if (!call.Begin() || !call.Check(path, path_len, "path") ||
      !call.Check(stat_out, abi::kFilestatSize, "stat_out")) {
    return kUnwind;
  }
  Resolved<std::string> p = ReadPath(call, path, path_len);
  if (!p.ok()) return p.error;
  if ((flags & ~abi::kLookupSymlinkFollow) != 0) return abi::kInval;
  Resolved<Route> dir = RoutePath(call.name(), fd, std::move(p.value),
                                  abi::kRightPathFilestatGet,
                                  /*write_like=*/false);
  if (!dir.ok()) return dir.error;
  if (dir.value.dir == nullptr) {
    if (Absent(dir.value.place)) return abi::kNoent;
    StoreFilestat(mem, stat_out,
                  VirtualDirectoryStat(*root_, dir.value.place.node));
    return abi::kSuccess;
  }
  auto target =
      resolver_.OpenAtTarget(call.name(), dir.value.dir->host.get(),
                             dir.value.path,
                             (flags & abi::kLookupSymlinkFollow) != 0);
  if (!target.ok()) return target.error;
  struct stat st{};
  if (::fstatat(target.value.dir.get(), target.value.name.c_str(), &st,
                target.value.at_flags) != 0) {
    return WasiErrnoFromHost(errno);
  }
  StoreFilestat(mem, stat_out, st);
  return abi::kSuccess;
}

uint32_t WasiHost::PathFilestatSetTimes(GuestMemory mem, uint32_t fd,
                                        uint32_t flags, uint32_t path,
                                        uint32_t path_len, uint64_t atim,
                                        uint64_t mtim, uint32_t fst_flags) {
  Call call(*this, mem, "path_filestat_set_times");
  if (!call.Begin() || !call.Check(path, path_len, "path")) return kUnwind;
  Resolved<std::string> p = ReadPath(call, path, path_len);
  if (!p.ok()) return p.error;
  if ((flags & ~abi::kLookupSymlinkFollow) != 0) return abi::kInval;
  Resolved<Route> dir = RoutePath(call.name(), fd, std::move(p.value),
                                  abi::kRightPathFilestatSetTimes,
                                  /*write_like=*/true);
  if (!dir.ok()) return dir.error;
  const HostTimes t = TimesFromWasi(atim, mtim, fst_flags);
  if (t.error != abi::kSuccess) return t.error;
  if (dir.value.dir == nullptr) {
    return Absent(dir.value.place) ? abi::kNoent : abi::kRofs;
  }
  auto target =
      resolver_.OpenAtTarget(call.name(), dir.value.dir->host.get(),
                             dir.value.path,
                             (flags & abi::kLookupSymlinkFollow) != 0);
  if (!target.ok()) return target.error;
  if (::utimensat(target.value.dir.get(), target.value.name.c_str(),
                  t.ts.data(), target.value.at_flags) != 0) {
    return WasiErrnoFromHost(errno);
  }
  return abi::kSuccess;
}

// ---- path_link --------------------------------------------------------------

uint32_t WasiHost::PathLink(GuestMemory mem, uint32_t old_fd,
                            uint32_t old_flags, uint32_t old_path,
                            uint32_t old_path_len, uint32_t new_fd,
                            uint32_t new_path, uint32_t new_path_len) {
  Call call(*this, mem, "path_link");
  if (!call.Begin() || !call.Check(old_path, old_path_len, "old_path") ||
      !call.Check(new_path, new_path_len, "new_path")) {
    return kUnwind;
  }
  Resolved<std::string> op = ReadPath(call, old_path, old_path_len);
  if (!op.ok()) return op.error;
  Resolved<std::string> np = ReadPath(call, new_path, new_path_len);
  if (!np.ok()) return np.error;
  if ((old_flags & ~abi::kLookupSymlinkFollow) != 0) return abi::kInval;
  // A hard link changes the source inode too: both sides must be writable.
  Resolved<Route> src = RoutePath(call.name(), old_fd, std::move(op.value),
                                  abi::kRightPathLinkSource,
                                  /*write_like=*/true);
  if (!src.ok()) return src.error;
  Resolved<Route> dst = RoutePath(call.name(), new_fd, std::move(np.value),
                                  abi::kRightPathLinkTarget,
                                  /*write_like=*/true);
  if (!dst.ok()) return dst.error;
  if (src.value.dir == nullptr) {  // a directory of "/", or nothing
    return Absent(src.value.place) ? abi::kNoent : abi::kPerm;
  }
  if (dst.value.dir == nullptr) return MakeNameInVirtualRoot(dst.value.place);
  if (src.value.mount() != dst.value.mount()) return abi::kXdev;

  auto from = resolver_.OpenParent(call.name(), src.value.dir->host.get(),
                                   src.value.path);
  if (!from.ok()) return from.error;
  auto to = resolver_.OpenParent(call.name(), dst.value.dir->host.get(),
                                 dst.value.path);
  if (!to.ok()) return to.error;
  const int from_dir = from.value.dir.get();
  const int to_dir = to.value.dir.get();
  if (from.value.is_dot) return abi::kPerm;  // a directory
  if (to.value.is_dot) return abi::kExist;
  if (from.value.trailing_slash) {
    const abi::Errno e = TrailingSlashOnNonDirectory(from_dir, from.value.name);
    return e == abi::kIsdir ? abi::kPerm : e;
  }
  if (to.value.trailing_slash) {
    return TrailingSlashOnNewName(to_dir, to.value.name);
  }
  if (old_flags & abi::kLookupSymlinkFollow) {
    // Following a final symlink would need linkat(AT_SYMLINK_FOLLOW), which
    // the kernel resolves without RESOLVE_BENEATH. A non-symlink source is
    // the same either way; a symlink source is refused.
    const long mode = ModeAt(from_dir, from.value.name);
    if (mode < 0) return WasiErrnoFromHost(static_cast<int>(-mode));
    if (S_ISLNK(static_cast<mode_t>(mode))) return abi::kNotsup;
  }
  NewNameCharge charge(QuotaFor(*dst.value.dir));
  if (!charge.ok()) return abi::kNospc;
  if (::linkat(from_dir, from.value.name.c_str(), to_dir,
               to.value.name.c_str(), 0) != 0) {
    return charge.Refund(WasiErrnoFromHost(errno));
  }
  return abi::kSuccess;
}

// ---- path_open --------------------------------------------------------------

uint32_t WasiHost::PathOpen(GuestMemory mem, uint32_t dirfd,
                            uint32_t dirflags, uint32_t path,
                            uint32_t path_len, uint32_t oflags,
                            uint64_t fs_rights_base,
                            uint64_t fs_rights_inheriting, uint32_t fdflags,
                            uint32_t fd_out) {
  Call call(*this, mem, "path_open");
  if (!call.Begin() || !call.Check(path, path_len, "path") ||
      !call.Check(fd_out, 4, "fd_out")) {
    return kUnwind;
  }
  Resolved<std::string> p = ReadPath(call, path, path_len);
  if (!p.ok()) return p.error;
  constexpr uint32_t kKnownOflags = abi::kOflagCreat | abi::kOflagDirectory |
                                    abi::kOflagExcl | abi::kOflagTrunc;
  constexpr uint32_t kKnownFdflags = abi::kFdflagAppend | abi::kFdflagDsync |
                                     abi::kFdflagNonblock |
                                     abi::kFdflagRsync | abi::kFdflagSync;
  if ((dirflags & ~abi::kLookupSymlinkFollow) != 0 ||
      (oflags & ~kKnownOflags) != 0 || (fdflags & ~kKnownFdflags) != 0) {
    return abi::kInval;
  }
  Resolved<Route> route = RoutePath(call.name(), dirfd, std::move(p.value),
                                    abi::kRightPathOpen,
                                    /*write_like=*/false);
  if (!route.ok()) return route.error;
  const FdEntry& from = *route.value.from;

  // Rights the new handle may hold: what was asked, within what the
  // directory hands down.
  const abi::Rights base = fs_rights_base & from.inheriting;
  const abi::Rights inheriting = fs_rights_inheriting & from.inheriting;
  const bool want_write = (base & kWriteIntentRights) != 0 ||
                          (fdflags & abi::kFdflagAppend) != 0;
  const bool want_read = (base & kReadIntentRights) != 0;
  const bool write_like =
      want_write || (oflags & (abi::kOflagCreat | abi::kOflagExcl |
                               abi::kOflagTrunc)) != 0;
  if ((oflags & abi::kOflagCreat) &&
      (from.base & abi::kRightPathCreateFile) == 0) {
    return abi::kNotcapable;
  }
  if (route.value.dir == nullptr) {
    return OpenInVirtualRoot(mem, route.value.place, oflags, base, inheriting,
                             fdflags, want_write, fd_out);
  }
  FdEntry& dir = *route.value.dir;
  const std::string& path_beneath = route.value.path;
  if (write_like && dir.read_only) return abi::kRofs;
  if ((oflags & abi::kOflagDirectory) && want_write) return abi::kIsdir;
  const std::optional<uint32_t> new_fd = AllocateFd();
  if (!new_fd) return abi::kMfile;

  uint64_t flags = O_NONBLOCK | O_NOCTTY;
  flags |= want_write ? (want_read ? O_RDWR : O_WRONLY) : O_RDONLY;
  if (!(dirflags & abi::kLookupSymlinkFollow)) flags |= O_NOFOLLOW;
  if (oflags & abi::kOflagCreat) flags |= O_CREAT;
  if (oflags & abi::kOflagExcl) flags |= O_EXCL;
  if (oflags & abi::kOflagTrunc) flags |= O_TRUNC;
  if (oflags & abi::kOflagDirectory) flags |= O_DIRECTORY;
  if (fdflags & abi::kFdflagAppend) flags |= O_APPEND;
  if (fdflags & abi::kFdflagDsync) flags |= O_DSYNC;
  if (fdflags & abi::kFdflagSync) flags |= O_SYNC;
  if (fdflags & abi::kFdflagRsync) flags |= O_RSYNC;

  // Creating or truncating in a writable mount changes what it costs: look
  // at the target first (a new file costs a block before it is made; a
  // truncated one gives back its content once it is done).
  WorkspaceQuota* quota =
      (oflags & (abi::kOflagCreat | abi::kOflagTrunc)) ? QuotaFor(dir)
                                                       : nullptr;
  std::optional<struct stat> before;
  NewNameCharge charge(nullptr);
  if (quota != nullptr) {
    auto target =
        resolver_.OpenAtTarget(call.name(), dir.host.get(), path_beneath,
                               (dirflags & abi::kLookupSymlinkFollow) != 0);
    if (!target.ok() && target.error != abi::kNoent) return target.error;
    struct stat existing{};
    if (target.ok() &&
        ::fstatat(target.value.dir.get(), target.value.name.c_str(),
                  &existing, target.value.at_flags) == 0) {
      before = existing;
    } else if (oflags & abi::kOflagCreat) {
      charge = NewNameCharge(quota);
      if (!charge.ok()) return abi::kNospc;
    }
  }
  Resolved<UniqueFd> opened =
      resolver_.Open(call.name(), dir.host.get(), path_beneath, flags, 0666);
  if (!opened.ok()) return charge.Refund(opened.error);
  struct stat st{};
  if (::fstat(opened.value.get(), &st) != 0) return WasiErrnoFromHost(errno);
  if (before && (oflags & abi::kOflagTrunc) && S_ISREG(before->st_mode)) {
    quota->Shrink(ChargeForFileSize(static_cast<uint64_t>(before->st_size)),
                  ChargeForFileSize(static_cast<uint64_t>(st.st_size)));
  }

  auto entry = std::make_unique<FdEntry>();
  const bool is_dir = S_ISDIR(st.st_mode);
  entry->kind = is_dir ? FdEntry::Kind::kDirectory : FdEntry::Kind::kFile;
  entry->host = std::move(opened.value);
  entry->filetype = FiletypeFromMode(st.st_mode);
  entry->fdflags = static_cast<uint16_t>(fdflags);
  entry->base = base & (is_dir ? kDirectoryRights : kFileRights);
  entry->inheriting = inheriting;
  entry->mount = dir.mount;
  entry->read_only = dir.read_only;
  Install(*new_fd, std::move(entry));
  mem.Store<uint32_t>(fd_out, *new_fd);
  return abi::kSuccess;
}

uint32_t WasiHost::OpenInVirtualRoot(GuestMemory mem,
                                     const VirtualRoot::Place& place,
                                     uint32_t oflags, abi::Rights base,
                                     abi::Rights inheriting, uint32_t fdflags,
                                     bool want_write, uint32_t fd_out) {
  // What open(2) answers on a read-only file system of directories.
  if (Absent(place)) {
    return (oflags & abi::kOflagCreat) ? abi::kRofs : abi::kNoent;
  }
  if ((oflags & abi::kOflagCreat) && (oflags & abi::kOflagExcl)) {
    return abi::kExist;
  }
  if (want_write || (oflags & (abi::kOflagCreat | abi::kOflagTrunc))) {
    return abi::kIsdir;
  }
  const std::optional<uint32_t> new_fd = AllocateFd();
  if (!new_fd) return abi::kMfile;
  auto entry = std::make_unique<FdEntry>();
  entry->kind = FdEntry::Kind::kVirtualDirectory;
  entry->filetype = abi::kFiletypeDirectory;
  entry->fdflags = static_cast<uint16_t>(fdflags);
  entry->base = base & kDirectoryRights;
  entry->inheriting = inheriting;
  entry->read_only = true;
  entry->node = place.node;
  Install(*new_fd, std::move(entry));
  mem.Store<uint32_t>(fd_out, *new_fd);
  return abi::kSuccess;
}

// ---- path_readlink ----------------------------------------------------------

uint32_t WasiHost::PathReadlink(GuestMemory mem, uint32_t fd, uint32_t path,
                                uint32_t path_len, uint32_t buf,
                                uint32_t buf_len, uint32_t bufused_out) {
  Call call(*this, mem, "path_readlink");
  if (!call.Begin() || !call.Check(path, path_len, "path") ||
      !call.Check(buf, buf_len, "buf") ||
      !call.Check(bufused_out, 4, "bufused_out")) {
    return kUnwind;
  }
  Resolved<std::string> p = ReadPath(call, path, path_len);
  if (!p.ok()) return p.error;
  Resolved<Route> dir = RoutePath(call.name(), fd, std::move(p.value),
                                  abi::kRightPathReadlink,
                                  /*write_like=*/false);
  if (!dir.ok()) return dir.error;
  if (dir.value.dir == nullptr) {  // a directory, not a link
    return Absent(dir.value.place) ? abi::kNoent : abi::kInval;
  }
  const int dir_fd = dir.value.dir->host.get();
  auto parent = resolver_.OpenParent(call.name(), dir_fd, dir.value.path);
  if (!parent.ok()) return parent.error;
  if (parent.value.is_dot) return abi::kInval;  // a directory, not a link
  if (parent.value.trailing_slash) {
    // "link/" names what the link points to (a directory), not the link.
    auto self = resolver_.Open(call.name(), dir_fd, dir.value.path,
                               O_PATH | O_DIRECTORY);
    return self.ok() ? abi::kInval : self.error;
  }
  char target[kMaxPathBytes + 1];
  const ssize_t n = ::readlinkat(parent.value.dir.get(),
                                 parent.value.name.c_str(), target,
                                 sizeof(target));
  if (n < 0) return WasiErrnoFromHost(errno);
  // Like readlink(2): the contents are cut to the buffer, without a NUL.
  const uint32_t copy =
      static_cast<uint32_t>(std::min<uint64_t>(static_cast<uint64_t>(n),
                                               buf_len));
  std::memcpy(mem.At(buf), target, copy);
  mem.Store<uint32_t>(bufused_out, copy);
  return abi::kSuccess;
}

// ---- path_remove_directory / path_unlink_file -------------------------------

uint32_t WasiHost::PathRemoveDirectory(GuestMemory mem, uint32_t fd,
                                       uint32_t path, uint32_t path_len) {
  Call call(*this, mem, "path_remove_directory");
  if (!call.Begin() || !call.Check(path, path_len, "path")) return kUnwind;
  Resolved<std::string> p = ReadPath(call, path, path_len);
  if (!p.ok()) return p.error;
  Resolved<Route> dir = RoutePath(call.name(), fd, std::move(p.value),
                                  abi::kRightPathRemoveDirectory,
                                  /*write_like=*/true);
  if (!dir.ok()) return dir.error;
  // Linux asks for write access to the file system before looking.
  if (dir.value.dir == nullptr) return abi::kRofs;
  auto parent = resolver_.OpenParent(call.name(), dir.value.dir->host.get(),
                                     dir.value.path);
  if (!parent.ok()) return parent.error;
  if (parent.value.is_dot) {  // what rmdir(2) answers for "." and ".."
    return parent.value.name == "." ? abi::kInval : abi::kNotempty;
  }
  const uint64_t release =
      ChargeToRelease(parent.value.dir.get(), parent.value.name);
  if (::unlinkat(parent.value.dir.get(), parent.value.name.c_str(),
                 AT_REMOVEDIR) != 0) {
    return WasiErrnoFromHost(errno);
  }
  if (quota_) quota_->Shrink(release, 0);
  return abi::kSuccess;
}

uint32_t WasiHost::PathUnlinkFile(GuestMemory mem, uint32_t fd,
                                  uint32_t path, uint32_t path_len) {
  Call call(*this, mem, "path_unlink_file");
  if (!call.Begin() || !call.Check(path, path_len, "path")) return kUnwind;
  Resolved<std::string> p = ReadPath(call, path, path_len);
  if (!p.ok()) return p.error;
  Resolved<Route> dir = RoutePath(call.name(), fd, std::move(p.value),
                                  abi::kRightPathUnlinkFile,
                                  /*write_like=*/true);
  if (!dir.ok()) return dir.error;
  // Linux asks for write access to the file system before looking.
  if (dir.value.dir == nullptr) return abi::kRofs;
  auto parent = resolver_.OpenParent(call.name(), dir.value.dir->host.get(),
                                     dir.value.path);
  if (!parent.ok()) return parent.error;
  if (parent.value.is_dot) return abi::kIsdir;
  if (parent.value.trailing_slash) {
    return TrailingSlashOnNonDirectory(parent.value.dir.get(),
                                       parent.value.name);
  }
  const uint64_t release =
      ChargeToRelease(parent.value.dir.get(), parent.value.name);
  if (::unlinkat(parent.value.dir.get(), parent.value.name.c_str(), 0) != 0) {
    return WasiErrnoFromHost(errno);
  }
  if (quota_) quota_->Shrink(release, 0);
  return abi::kSuccess;
}

// ---- path_rename ------------------------------------------------------------

uint32_t WasiHost::PathRename(GuestMemory mem, uint32_t fd,
                              uint32_t old_path, uint32_t old_path_len,
                              uint32_t new_fd, uint32_t new_path,
                              uint32_t new_path_len) {
  Call call(*this, mem, "path_rename");
  if (!call.Begin() || !call.Check(old_path, old_path_len, "old_path") ||
      !call.Check(new_path, new_path_len, "new_path")) {
    return kUnwind;
  }
  Resolved<std::string> op = ReadPath(call, old_path, old_path_len);
  if (!op.ok()) return op.error;
  Resolved<std::string> np = ReadPath(call, new_path, new_path_len);
  if (!np.ok()) return np.error;
  Resolved<Route> src = RoutePath(call.name(), fd, std::move(op.value),
                                  abi::kRightPathRenameSource,
                                  /*write_like=*/true);
  if (!src.ok()) return src.error;
  Resolved<Route> dst = RoutePath(call.name(), new_fd, std::move(np.value),
                                  abi::kRightPathRenameTarget,
                                  /*write_like=*/true);
  if (!dst.ok()) return dst.error;
  // Linux checks the mounts, then write access to the file system.
  if (src.value.mount() != dst.value.mount()) return abi::kXdev;
  if (src.value.dir == nullptr) return abi::kRofs;

  auto from = resolver_.OpenParent(call.name(), src.value.dir->host.get(),
                                   src.value.path);
  if (!from.ok()) return from.error;
  auto to = resolver_.OpenParent(call.name(), dst.value.dir->host.get(),
                                 dst.value.path);
  if (!to.ok()) return to.error;
  // rename(2) refuses "." and ".." final components with EBUSY.
  if (from.value.is_dot || to.value.is_dot) return abi::kBusy;
  if (from.value.trailing_slash || to.value.trailing_slash) {
    // A trailing '/' asks for a directory: the source must be one.
    const long mode = ModeAt(from.value.dir.get(), from.value.name);
    if (mode < 0) return WasiErrnoFromHost(static_cast<int>(-mode));
    if (!S_ISDIR(static_cast<mode_t>(mode))) return abi::kNotdir;
  }
  // A name the rename replaces gives back what it cost (unless both names
  // are the same file, when rename does nothing).
  uint64_t release = 0;
  if (quota_) {
    struct stat src_st{}, dst_st{};
    if (::fstatat(to.value.dir.get(), to.value.name.c_str(), &dst_st,
                  AT_SYMLINK_NOFOLLOW) == 0 &&
        !(::fstatat(from.value.dir.get(), from.value.name.c_str(), &src_st,
                    AT_SYMLINK_NOFOLLOW) == 0 &&
          src_st.st_dev == dst_st.st_dev && src_st.st_ino == dst_st.st_ino)) {
      release = ChargeToRelease(to.value.dir.get(), to.value.name);
    }
  }
  if (::renameat(from.value.dir.get(), from.value.name.c_str(),
                 to.value.dir.get(), to.value.name.c_str()) != 0) {
    return WasiErrnoFromHost(errno);
  }
  if (quota_) quota_->Shrink(release, 0);
  return abi::kSuccess;
}

// ---- path_symlink -----------------------------------------------------------

uint32_t WasiHost::PathSymlink(GuestMemory mem, uint32_t old_path,
                               uint32_t old_path_len, uint32_t fd,
                               uint32_t new_path, uint32_t new_path_len) {
  Call call(*this, mem, "path_symlink");
  if (!call.Begin() || !call.Check(old_path, old_path_len, "old_path") ||
      !call.Check(new_path, new_path_len, "new_path")) {
    return kUnwind;
  }
  // The link's contents are stored, never resolved here; following the
  // link later goes through the resolver like any other path.
  Resolved<std::string> contents = ReadPath(call, old_path, old_path_len);
  if (!contents.ok()) return contents.error;
  Resolved<std::string> np = ReadPath(call, new_path, new_path_len);
  if (!np.ok()) return np.error;
  Resolved<Route> dir = RoutePath(call.name(), fd, std::move(np.value),
                                  abi::kRightPathSymlink,
                                  /*write_like=*/true);
  if (!dir.ok()) return dir.error;
  if (dir.value.dir == nullptr) return MakeNameInVirtualRoot(dir.value.place);
  auto parent = resolver_.OpenParent(call.name(), dir.value.dir->host.get(),
                                     dir.value.path);
  if (!parent.ok()) return parent.error;
  if (parent.value.is_dot) return abi::kExist;
  if (parent.value.trailing_slash) {
    return TrailingSlashOnNewName(parent.value.dir.get(), parent.value.name);
  }
  NewNameCharge charge(QuotaFor(*dir.value.dir));
  if (!charge.ok()) return abi::kNospc;
  if (::symlinkat(contents.value.c_str(), parent.value.dir.get(),
                  parent.value.name.c_str()) != 0) {
    return charge.Refund(WasiErrnoFromHost(errno));
  }
  return abi::kSuccess;
}

}  // namespace snakecage::wasi
