// WasiHost: the fd_* calls.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

#include "base/workspace_usage.h"
#include "wasi/errno_map.h"
#include "wasi/wasi_host.h"
#include "wasi/wasi_host_internal.h"

namespace snakecage::wasi {

using internal::DirEntry;
using internal::FdEntry;
using internal::HostCall;

namespace {

constexpr uint64_t kMaxFileOffset = static_cast<uint64_t>(INT64_MAX);

bool IsFileOrDir(const FdEntry& e) {
  return e.kind == FdEntry::Kind::kFile ||
         e.kind == FdEntry::Kind::kDirectory;
}

// The guest's iovec array as host iovecs pointing into guest memory.
struct Iovecs {
  std::vector<struct iovec> host;
  uint64_t total = 0;  // bytes covered, at most kMaxBytesPerCall
};

// Reads `iovs_len` (c)iovecs at `iovs`. Returns kSuccess, kInval (too many
// iovecs), or WasiHost::kUnwind after a bad range was recorded. The total is
// cut at kMaxBytesPerCall (later iovecs are dropped, the last kept one is
// shortened): the I/O is then short, as Linux makes it.
uint32_t GatherIovecs(HostCall& call, uint32_t iovs, uint32_t iovs_len,
                      Iovecs& out) {
  GuestMemory mem = call.mem();
  if (!call.Check(iovs, static_cast<uint64_t>(iovs_len) * abi::kIovecSize,
                  "iovs")) {
    return WasiHost::kUnwind;
  }
  if (iovs_len > kMaxIovecs) return abi::kInval;
  out.host.reserve(iovs_len);
  for (uint32_t i = 0; i < iovs_len; ++i) {
    const uint64_t entry = iovs + static_cast<uint64_t>(i) * abi::kIovecSize;
    const uint32_t buf = mem.Load<uint32_t>(entry + abi::kIovecBuf);
    const uint32_t len = mem.Load<uint32_t>(entry + abi::kIovecBufLen);
    if (!call.Check(buf, len, "iovs[i].buf")) return WasiHost::kUnwind;
    const uint64_t room = kMaxBytesPerCall - out.total;
    const uint64_t take = std::min<uint64_t>(len, room);
    if (take == 0) continue;
    out.host.push_back({mem.At(buf), static_cast<size_t>(take)});
    out.total += take;
  }
  return abi::kSuccess;
}

// Shortens `v` to cover at most `limit` bytes (the I/O is then short).
void CutIovecs(Iovecs& v, uint64_t limit) {
  uint64_t kept = 0;
  size_t n = 0;
  for (; n < v.host.size() && kept < limit; ++n) {
    const uint64_t take = std::min<uint64_t>(v.host[n].iov_len, limit - kept);
    v.host[n].iov_len = static_cast<size_t>(take);
    kept += take;
  }
  v.host.resize(n);
  v.total = kept;
}

struct timespec TimespecFromTimestamp(uint64_t ns) {
  struct timespec ts{};
  ts.tv_sec = static_cast<time_t>(ns / 1'000'000'000ull);
  ts.tv_nsec = static_cast<long>(ns % 1'000'000'000ull);
  return ts;
}

}  // namespace

HostTimes TimesFromWasi(uint64_t atim, uint64_t mtim, uint32_t fst_flags) {
  HostTimes t;
  constexpr uint32_t kKnown = abi::kFstflagAtim | abi::kFstflagAtimNow |
                              abi::kFstflagMtim | abi::kFstflagMtimNow;
  if ((fst_flags & ~kKnown) != 0 ||
      ((fst_flags & abi::kFstflagAtim) && (fst_flags & abi::kFstflagAtimNow)) ||
      ((fst_flags & abi::kFstflagMtim) && (fst_flags & abi::kFstflagMtimNow))) {
    t.error = abi::kInval;
    return t;
  }
  auto one = [](uint64_t value, bool set, bool now) {
    struct timespec ts{};
    if (set) return TimespecFromTimestamp(value);
    ts.tv_nsec = now ? UTIME_NOW : UTIME_OMIT;
    return ts;
  };
  t.ts[0] = one(atim, fst_flags & abi::kFstflagAtim,
                fst_flags & abi::kFstflagAtimNow);
  t.ts[1] = one(mtim, fst_flags & abi::kFstflagMtim,
                fst_flags & abi::kFstflagMtimNow);
  return t;
}

// ---- fd_advise / fd_allocate / fd_close / sync ------------------------------

uint32_t WasiHost::FdAdvise(GuestMemory mem, uint32_t fd, uint64_t offset,
                            uint64_t len, uint32_t advice) {
  Call call(*this, mem, "fd_advise");
  if (!call.Begin()) return kUnwind;
  FdEntry* e = Lookup(fd);
  if (e == nullptr) return abi::kBadf;
  if ((e->base & abi::kRightFdAdvise) == 0) return abi::kNotcapable;
  int host_advice;
  switch (advice) {
    case abi::kAdviceNormal: host_advice = POSIX_FADV_NORMAL; break;
    case abi::kAdviceSequential: host_advice = POSIX_FADV_SEQUENTIAL; break;
    case abi::kAdviceRandom: host_advice = POSIX_FADV_RANDOM; break;
    case abi::kAdviceWillneed: host_advice = POSIX_FADV_WILLNEED; break;
    case abi::kAdviceDontneed: host_advice = POSIX_FADV_DONTNEED; break;
    case abi::kAdviceNoreuse: host_advice = POSIX_FADV_NOREUSE; break;
    default: return abi::kInval;
  }
  if (offset > kMaxFileOffset || len > kMaxFileOffset) return abi::kInval;
  if (!IsFileOrDir(*e)) return abi::kSuccess;
  const int rc = ::posix_fadvise(e->host.get(), static_cast<off_t>(offset),
                                 static_cast<off_t>(len), host_advice);
  return WasiErrnoFromHost(rc);
}

uint32_t WasiHost::FdAllocate(GuestMemory mem, uint32_t fd, uint64_t offset,
                              uint64_t len) {
  Call call(*this, mem, "fd_allocate");
  if (!call.Begin()) return kUnwind;
  FdEntry* e = Lookup(fd);
  if (e == nullptr) return abi::kBadf;
  if (e->read_only) return abi::kRofs;
  if ((e->base & abi::kRightFdAllocate) == 0) return abi::kNotcapable;
  if (e->kind != FdEntry::Kind::kFile) return abi::kBadf;
  if (offset > kMaxFileOffset || len > kMaxFileOffset - offset) {
    return abi::kFbig;
  }
  uint64_t size_before = 0;
  WorkspaceQuota* quota = QuotaFor(*e);
  if (quota != nullptr) {
    struct stat st{};
    if (::fstat(e->host.get(), &st) != 0) return WasiErrnoFromHost(errno);
    size_before = static_cast<uint64_t>(st.st_size);
    if (offset + len > size_before &&
        !quota->Grow(ChargeForFileSize(size_before), ChargeForFileSize(offset + len))) {
      return abi::kNospc;
    }
  }
  const int rc = ::posix_fallocate(e->host.get(), static_cast<off_t>(offset),
                                   static_cast<off_t>(len));
  if (rc != 0 && quota != nullptr && offset + len > size_before) {
    quota->Shrink(ChargeForFileSize(offset + len), ChargeForFileSize(size_before));
  }
  return WasiErrnoFromHost(rc);
}

uint32_t WasiHost::FdClose(GuestMemory mem, uint32_t fd) {
  Call call(*this, mem, "fd_close");
  if (!call.Begin()) return kUnwind;
  if (Lookup(fd) == nullptr) return abi::kBadf;
  fds_[fd].reset();
  return abi::kSuccess;
}

uint32_t WasiHost::FdDatasync(GuestMemory mem, uint32_t fd) {
  Call call(*this, mem, "fd_datasync");
  if (!call.Begin()) return kUnwind;
  FdEntry* e = Lookup(fd);
  if (e == nullptr) return abi::kBadf;
  if ((e->base & abi::kRightFdDatasync) == 0) return abi::kNotcapable;
  if (e->is_stdio()) return abi::kSuccess;  // nothing buffered in a sink
  if (::fdatasync(e->host.get()) != 0) return WasiErrnoFromHost(errno);
  return abi::kSuccess;
}

uint32_t WasiHost::FdSync(GuestMemory mem, uint32_t fd) {
  Call call(*this, mem, "fd_sync");
  if (!call.Begin()) return kUnwind;
  FdEntry* e = Lookup(fd);
  if (e == nullptr) return abi::kBadf;
  if ((e->base & abi::kRightFdSync) == 0) return abi::kNotcapable;
  if (e->is_stdio() || e->kind == FdEntry::Kind::kVirtualDirectory) {
    return abi::kSuccess;  // nothing to write back
  }
  if (::fsync(e->host.get()) != 0) return WasiErrnoFromHost(errno);
  return abi::kSuccess;
}

// ---- fdstat -----------------------------------------------------------------

uint32_t WasiHost::FdFdstatGet(GuestMemory mem, uint32_t fd,
                               uint32_t stat_out) {
  Call call(*this, mem, "fd_fdstat_get");
  if (!call.Begin() || !call.Check(stat_out, abi::kFdstatSize, "stat_out")) {
    return kUnwind;
  }
  FdEntry* e = Lookup(fd);
  if (e == nullptr) return abi::kBadf;
  std::memset(mem.At(stat_out), 0, abi::kFdstatSize);
  mem.Store<uint8_t>(stat_out + abi::kFdstatFiletype, e->filetype);
  mem.Store<uint16_t>(stat_out + abi::kFdstatFlags, e->fdflags);
  mem.Store<uint64_t>(stat_out + abi::kFdstatRightsBase, e->base);
  mem.Store<uint64_t>(stat_out + abi::kFdstatRightsInheriting, e->inheriting);
  return abi::kSuccess;
}

uint32_t WasiHost::FdFdstatSetFlags(GuestMemory mem, uint32_t fd,
                                    uint32_t flags) {
  Call call(*this, mem, "fd_fdstat_set_flags");
  if (!call.Begin()) return kUnwind;
  FdEntry* e = Lookup(fd);
  if (e == nullptr) return abi::kBadf;
  if ((e->base & abi::kRightFdFdstatSetFlags) == 0) return abi::kNotcapable;
  constexpr uint32_t kKnown = abi::kFdflagAppend | abi::kFdflagDsync |
                              abi::kFdflagNonblock | abi::kFdflagRsync |
                              abi::kFdflagSync;
  constexpr uint32_t kSyncFlags =
      abi::kFdflagDsync | abi::kFdflagRsync | abi::kFdflagSync;
  if ((flags & ~kKnown) != 0) return abi::kInval;
  // Linux cannot change O_DSYNC/O_SYNC on an open file (F_SETFL ignores them).
  if ((flags & kSyncFlags) != (e->fdflags & kSyncFlags)) return abi::kNotsup;
  if (IsFileOrDir(*e)) {
    const int cur = ::fcntl(e->host.get(), F_GETFL);
    if (cur < 0) return WasiErrnoFromHost(errno);
    // O_NONBLOCK stays on at the host whatever the guest asks: a FIFO must
    // never block the host. The guest's wish is kept in fdflags.
    int next = (cur & ~O_APPEND) | O_NONBLOCK;
    if (flags & abi::kFdflagAppend) next |= O_APPEND;
    if (::fcntl(e->host.get(), F_SETFL, next) != 0) {
      return WasiErrnoFromHost(errno);
    }
  }
  e->fdflags = static_cast<uint16_t>(flags);
  return abi::kSuccess;
}

uint32_t WasiHost::FdFdstatSetRights(GuestMemory mem, uint32_t fd,
                                     uint64_t base, uint64_t inheriting) {
  Call call(*this, mem, "fd_fdstat_set_rights");
  if (!call.Begin()) return kUnwind;
  FdEntry* e = Lookup(fd);
  if (e == nullptr) return abi::kBadf;
  // Rights can only be dropped.
  if ((base & ~e->base) != 0 || (inheriting & ~e->inheriting) != 0) {
    return abi::kNotcapable;
  }
  e->base = base;
  e->inheriting = inheriting;
  return abi::kSuccess;
}

// ---- filestat ---------------------------------------------------------------

uint32_t WasiHost::FdFilestatGet(GuestMemory mem, uint32_t fd,
                                 uint32_t stat_out) {
  Call call(*this, mem, "fd_filestat_get");
  if (!call.Begin() || !call.Check(stat_out, abi::kFilestatSize, "stat_out")) {
    return kUnwind;
  }
  FdEntry* e = Lookup(fd);
  if (e == nullptr) return abi::kBadf;
  if ((e->base & abi::kRightFdFilestatGet) == 0) return abi::kNotcapable;
  if (e->is_stdio()) {
    std::memset(mem.At(stat_out), 0, abi::kFilestatSize);
    mem.Store<uint8_t>(stat_out + abi::kFilestatFiletype,
                       abi::kFiletypeCharacterDevice);
    mem.Store<uint64_t>(stat_out + abi::kFilestatNlink, 1);
    return abi::kSuccess;
  }
  struct stat st{};
  if (e->kind == FdEntry::Kind::kVirtualDirectory) {
    st = VirtualDirectoryStat(*root_, e->node);
  } else if (::fstat(e->host.get(), &st) != 0) {
    return WasiErrnoFromHost(errno);
  }
  StoreFilestat(mem, stat_out, st);
  return abi::kSuccess;
}

uint32_t WasiHost::FdFilestatSetSize(GuestMemory mem, uint32_t fd,
                                     uint64_t size) {
  Call call(*this, mem, "fd_filestat_set_size");
  if (!call.Begin()) return kUnwind;
  FdEntry* e = Lookup(fd);
  if (e == nullptr) return abi::kBadf;
  if (e->read_only) return abi::kRofs;
  if ((e->base & abi::kRightFdFilestatSetSize) == 0) return abi::kNotcapable;
  if (e->kind != FdEntry::Kind::kFile) return abi::kBadf;
  if (size > kMaxFileOffset) return abi::kFbig;
  // The apparent size is what counts: growing by ftruncate is charged in
  // full, although the new part is a hole.
  WorkspaceQuota* quota = QuotaFor(*e);
  uint64_t size_before = 0;
  if (quota != nullptr) {
    struct stat st{};
    if (::fstat(e->host.get(), &st) != 0) return WasiErrnoFromHost(errno);
    size_before = static_cast<uint64_t>(st.st_size);
    if (!quota->Grow(ChargeForFileSize(size_before), ChargeForFileSize(size))) {
      return abi::kNospc;
    }
  }
  if (::ftruncate(e->host.get(), static_cast<off_t>(size)) != 0) {
    const int err = errno;
    if (quota != nullptr) {
      quota->Shrink(ChargeForFileSize(size), ChargeForFileSize(size_before));
    }
    return WasiErrnoFromHost(err);
  }
  if (quota != nullptr) {
    quota->Shrink(ChargeForFileSize(size_before), ChargeForFileSize(size));
  }
  return abi::kSuccess;
}

uint32_t WasiHost::FdFilestatSetTimes(GuestMemory mem, uint32_t fd,
                                      uint64_t atim, uint64_t mtim,
                                      uint32_t fst_flags) {
  Call call(*this, mem, "fd_filestat_set_times");
  if (!call.Begin()) return kUnwind;
  FdEntry* e = Lookup(fd);
  if (e == nullptr) return abi::kBadf;
  if (e->read_only) return abi::kRofs;
  if ((e->base & abi::kRightFdFilestatSetTimes) == 0) return abi::kNotcapable;
  if (!IsFileOrDir(*e)) return abi::kBadf;
  const HostTimes t = TimesFromWasi(atim, mtim, fst_flags);
  if (t.error != abi::kSuccess) return t.error;
  if (::futimens(e->host.get(), t.ts.data()) != 0) {
    return WasiErrnoFromHost(errno);
  }
  return abi::kSuccess;
}

// ---- read / write -----------------------------------------------------------

uint32_t WasiHost::ReadWriteFile(Call& call, uint32_t fd, uint32_t iovs,
                                 uint32_t iovs_len,
                                 std::optional<uint64_t> offset,
                                 uint32_t count_out, bool write) {
  GuestMemory mem = call.mem();
  if (!call.Check(count_out, 4, write ? "nwritten_out" : "nread_out")) {
    return kUnwind;
  }
  Iovecs v;
  if (const uint32_t r = GatherIovecs(call, iovs, iovs_len, v);
      r != abi::kSuccess) {
    return r;
  }
  FdEntry* e = Lookup(fd);
  if (e == nullptr) return abi::kBadf;
  if (write && e->read_only) return abi::kRofs;
  abi::Rights needed = write ? abi::kRightFdWrite : abi::kRightFdRead;
  if (offset.has_value()) needed |= abi::kRightFdSeek;
  if ((e->base & needed) != needed) return abi::kNotcapable;
  if (offset.has_value() && *offset > kMaxFileOffset) return abi::kInval;

  if (e->is_stdio()) {
    if (offset.has_value()) return abi::kSpipe;
    if (e->kind == FdEntry::Kind::kStdin) {  // always at end of input
      mem.Store<uint32_t>(count_out, 0);
      return abi::kSuccess;
    }
    OutputSink& sink = e->kind == FdEntry::Kind::kStdout ? stdout_ : stderr_;
    for (const struct iovec& io : v.host) {
      sink.Append(static_cast<const uint8_t*>(io.iov_base), io.iov_len);
    }
    mem.Store<uint32_t>(count_out, static_cast<uint32_t>(v.total));
    return abi::kSuccess;
  }

  const int host = e->host.get();
  // A write that makes a file in a writable mount longer asks the quota
  // first: cut short to what fits, NOSPC when nothing does.
  WorkspaceQuota* quota = write ? QuotaFor(*e) : nullptr;
  uint64_t size_before = 0;
  uint64_t position = 0;
  if (quota != nullptr && v.total > 0) {
    struct stat st{};
    if (::fstat(host, &st) != 0) return WasiErrnoFromHost(errno);
    if (S_ISREG(st.st_mode)) {
      size_before = static_cast<uint64_t>(st.st_size);
      if (e->fdflags & abi::kFdflagAppend) {
        position = size_before;  // O_APPEND writes at the end, pwrite too
      } else if (offset) {
        position = *offset;
      } else {
        const off_t at = ::lseek(host, 0, SEEK_CUR);
        if (at < 0) return WasiErrnoFromHost(errno);
        position = static_cast<uint64_t>(at);
      }
      if (position + v.total > size_before) {
        const uint64_t largest = quota->LargestFileSize(size_before);
        if (largest <= position) {
          quota->RecordRefusal();
          return abi::kNospc;
        }
        if (position + v.total > largest) CutIovecs(v, largest - position);
      }
    } else {
      quota = nullptr;  // not a regular file: nothing stored
    }
  }
  const int count = static_cast<int>(v.host.size());
  ssize_t n;
  do {
    if (write) {
      n = offset ? ::pwritev(host, v.host.data(), count,
                             static_cast<off_t>(*offset))
                 : ::writev(host, v.host.data(), count);
    } else {
      n = offset ? ::preadv(host, v.host.data(), count,
                            static_cast<off_t>(*offset))
                 : ::readv(host, v.host.data(), count);
    }
  } while (n < 0 && errno == EINTR);
  if (n < 0) return WasiErrnoFromHost(errno);
  if (quota != nullptr && position + static_cast<uint64_t>(n) > size_before) {
    quota->Grow(ChargeForFileSize(size_before),
                ChargeForFileSize(position + static_cast<uint64_t>(n)));
  }
  mem.Store<uint32_t>(count_out, static_cast<uint32_t>(n));
  return abi::kSuccess;
}

uint32_t WasiHost::FdRead(GuestMemory mem, uint32_t fd, uint32_t iovs,
                          uint32_t iovs_len, uint32_t nread_out) {
  Call call(*this, mem, "fd_read");
  if (!call.Begin()) return kUnwind;
  return ReadWriteFile(call, fd, iovs, iovs_len, std::nullopt, nread_out,
                       /*write=*/false);
}

uint32_t WasiHost::FdPread(GuestMemory mem, uint32_t fd, uint32_t iovs,
                           uint32_t iovs_len, uint64_t offset,
                           uint32_t nread_out) {
  Call call(*this, mem, "fd_pread");
  if (!call.Begin()) return kUnwind;
  return ReadWriteFile(call, fd, iovs, iovs_len, offset, nread_out,
                       /*write=*/false);
}

uint32_t WasiHost::FdWrite(GuestMemory mem, uint32_t fd, uint32_t iovs,
                           uint32_t iovs_len, uint32_t nwritten_out) {
  Call call(*this, mem, "fd_write");
  if (!call.Begin()) return kUnwind;
  return ReadWriteFile(call, fd, iovs, iovs_len, std::nullopt, nwritten_out,
                       /*write=*/true);
}

uint32_t WasiHost::FdPwrite(GuestMemory mem, uint32_t fd, uint32_t iovs,
                            uint32_t iovs_len, uint64_t offset,
                            uint32_t nwritten_out) {
  Call call(*this, mem, "fd_pwrite");
  if (!call.Begin()) return kUnwind;
  return ReadWriteFile(call, fd, iovs, iovs_len, offset, nwritten_out,
                       /*write=*/true);
}

// ---- prestat ----------------------------------------------------------------

uint32_t WasiHost::FdPrestatGet(GuestMemory mem, uint32_t fd,
                                uint32_t prestat_out) {
  Call call(*this, mem, "fd_prestat_get");
  if (!call.Begin() ||
      !call.Check(prestat_out, abi::kPrestatSize, "prestat_out")) {
    return kUnwind;
  }
  FdEntry* e = Lookup(fd);
  if (e == nullptr || !e->is_preopen) return abi::kBadf;
  const std::string& name = PreopenName(*e);
  std::memset(mem.At(prestat_out), 0, abi::kPrestatSize);
  mem.Store<uint8_t>(prestat_out + abi::kPrestatTag, abi::kPreopentypeDir);
  mem.Store<uint32_t>(prestat_out + abi::kPrestatDirNameLen,
                      static_cast<uint32_t>(name.size()));
  return abi::kSuccess;
}

uint32_t WasiHost::FdPrestatDirName(GuestMemory mem, uint32_t fd,
                                    uint32_t path, uint32_t path_len) {
  Call call(*this, mem, "fd_prestat_dir_name");
  if (!call.Begin() || !call.Check(path, path_len, "path")) return kUnwind;
  FdEntry* e = Lookup(fd);
  if (e == nullptr || !e->is_preopen) return abi::kBadf;
  const std::string& name = PreopenName(*e);
  if (path_len < name.size()) return abi::kNametoolong;
  std::memcpy(mem.At(path), name.data(), name.size());
  return abi::kSuccess;
}

// ---- readdir ----------------------------------------------------------------

abi::Errno WasiHost::ReadDirectory(FdEntry& dir) {
  if (dir.kind == FdEntry::Kind::kVirtualDirectory) {
    const VirtualRoot::Node& node = root_->node(dir.node);
    std::vector<DirEntry> entries = {
        {".", VirtualRoot::InodeOf(dir.node), abi::kFiletypeDirectory},
        {"..", VirtualRoot::InodeOf(node.parent), abi::kFiletypeDirectory}};
    for (const auto& [name, child] : node.children) {
      entries.push_back(
          {name, VirtualRoot::InodeOf(child), abi::kFiletypeDirectory});
    }
    dir.snapshot = std::move(entries);
    dir.has_snapshot = true;
    return abi::kSuccess;
  }
  const int fd = dir.host.get();
  if (::lseek(fd, 0, SEEK_SET) < 0) return WasiErrnoFromHost(errno);
  std::vector<DirEntry> entries;
  alignas(8) char buf[32 * 1024];
  for (;;) {
    const ssize_t n = ::getdents64(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return WasiErrnoFromHost(errno);
    }
    if (n == 0) break;
    for (ssize_t pos = 0; pos < n;) {
      const auto* d = reinterpret_cast<const struct dirent64*>(buf + pos);
      DirEntry entry;
      entry.name = d->d_name;
      entry.ino = d->d_ino;
      switch (d->d_type) {
        case DT_REG: entry.type = abi::kFiletypeRegularFile; break;
        case DT_DIR: entry.type = abi::kFiletypeDirectory; break;
        case DT_LNK: entry.type = abi::kFiletypeSymbolicLink; break;
        case DT_CHR: entry.type = abi::kFiletypeCharacterDevice; break;
        case DT_BLK: entry.type = abi::kFiletypeBlockDevice; break;
        case DT_SOCK: entry.type = abi::kFiletypeSocketStream; break;
        case DT_FIFO: entry.type = abi::kFiletypeUnknown; break;
        default: {
          // The file system did not say: ask without following. The name
          // is one component from the kernel, never containing '/'.
          struct stat st{};
          entry.type = ::fstatat(fd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0
                           ? FiletypeFromMode(st.st_mode)
                           : abi::kFiletypeUnknown;
        }
      }
      entries.push_back(std::move(entry));
      pos += d->d_reclen;
    }
  }
  dir.snapshot = std::move(entries);
  dir.has_snapshot = true;
  return abi::kSuccess;
}

uint32_t WasiHost::FdReaddir(GuestMemory mem, uint32_t fd, uint32_t buf,
                             uint32_t buf_len, uint64_t cookie,
                             uint32_t bufused_out) {
  Call call(*this, mem, "fd_readdir");
  if (!call.Begin() || !call.Check(buf, buf_len, "buf") ||
      !call.Check(bufused_out, 4, "bufused_out")) {
    return kUnwind;
  }
  FdEntry* e = Lookup(fd);
  if (e == nullptr) return abi::kBadf;
  if ((e->base & abi::kRightFdReaddir) == 0) return abi::kNotcapable;
  if (e->kind != FdEntry::Kind::kDirectory &&
      e->kind != FdEntry::Kind::kVirtualDirectory) {
    return abi::kNotdir;
  }
  // Cookie 0 rewinds and takes a fresh snapshot; any other cookie is the
  // index of the next entry in the current snapshot.
  if (cookie == abi::kDircookieStart || !e->has_snapshot) {
    if (const abi::Errno err = ReadDirectory(*e); err != abi::kSuccess) {
      return err;
    }
  }
  uint64_t used = 0;
  for (uint64_t i = cookie; i < e->snapshot.size() && used < buf_len; ++i) {
    const DirEntry& d = e->snapshot[i];
    uint8_t header[abi::kDirentSize] = {};
    const uint64_t next = i + 1;
    const uint64_t ino = d.ino;
    const uint32_t namlen = static_cast<uint32_t>(d.name.size());
    std::memcpy(header + abi::kDirentNext, &next, sizeof(next));
    std::memcpy(header + abi::kDirentIno, &ino, sizeof(ino));
    std::memcpy(header + abi::kDirentNamlen, &namlen, sizeof(namlen));
    header[abi::kDirentType] = d.type;
    // Fill the buffer as far as it goes; the last entry may be cut short
    // (the guest then retries with a larger buffer).
    const uint64_t header_bytes =
        std::min<uint64_t>(abi::kDirentSize, buf_len - used);
    std::memcpy(mem.At(buf + used), header, header_bytes);
    used += header_bytes;
    const uint64_t name_bytes = std::min<uint64_t>(namlen, buf_len - used);
    std::memcpy(mem.At(buf + used), d.name.data(), name_bytes);
    used += name_bytes;
  }
  mem.Store<uint32_t>(bufused_out, static_cast<uint32_t>(used));
  return abi::kSuccess;
}

// ---- renumber / seek / tell -------------------------------------------------

uint32_t WasiHost::FdRenumber(GuestMemory mem, uint32_t fd, uint32_t to) {
  Call call(*this, mem, "fd_renumber");
  if (!call.Begin()) return kUnwind;
  if (Lookup(fd) == nullptr || Lookup(to) == nullptr) return abi::kBadf;
  if (fd == to) return abi::kSuccess;
  fds_[to] = std::move(fds_[fd]);  // closes what `to` held
  return abi::kSuccess;
}

uint32_t WasiHost::FdSeek(GuestMemory mem, uint32_t fd, uint64_t offset,
                          uint32_t whence, uint32_t newoffset_out) {
  Call call(*this, mem, "fd_seek");
  if (!call.Begin() || !call.Check(newoffset_out, 8, "newoffset_out")) {
    return kUnwind;
  }
  FdEntry* e = Lookup(fd);
  if (e == nullptr) return abi::kBadf;
  if ((e->base & abi::kRightFdSeek) == 0) return abi::kNotcapable;
  int host_whence;
  switch (whence) {
    case abi::kWhenceSet: host_whence = SEEK_SET; break;
    case abi::kWhenceCur: host_whence = SEEK_CUR; break;
    case abi::kWhenceEnd: host_whence = SEEK_END; break;
    default: return abi::kInval;
  }
  if (e->is_stdio()) return abi::kSpipe;
  const off_t pos = ::lseek(e->host.get(), static_cast<off_t>(offset),
                            host_whence);
  if (pos < 0) return WasiErrnoFromHost(errno);
  mem.Store<uint64_t>(newoffset_out, static_cast<uint64_t>(pos));
  return abi::kSuccess;
}

uint32_t WasiHost::FdTell(GuestMemory mem, uint32_t fd, uint32_t offset_out) {
  Call call(*this, mem, "fd_tell");
  if (!call.Begin() || !call.Check(offset_out, 8, "offset_out")) {
    return kUnwind;
  }
  FdEntry* e = Lookup(fd);
  if (e == nullptr) return abi::kBadf;
  if ((e->base & abi::kRightFdTell) == 0) return abi::kNotcapable;
  if (e->is_stdio()) return abi::kSpipe;
  const off_t pos = ::lseek(e->host.get(), 0, SEEK_CUR);
  if (pos < 0) return WasiErrnoFromHost(errno);
  mem.Store<uint64_t>(offset_out, static_cast<uint64_t>(pos));
  return abi::kSuccess;
}

}  // namespace snakecage::wasi
