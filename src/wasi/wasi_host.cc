// WasiHost: construction, the unwind state, and the calls that touch neither
// files nor paths (args, environ, clocks, random, proc, sched, sockets).
// fd_* calls: wasi_fd_calls.cc. path_* calls: wasi_path_calls.cc.
// poll_oneoff: wasi_poll.cc.
#include "wasi/wasi_host.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <string>

#include "base/workspace_usage.h"
#include "wasi/errno_map.h"
#include "wasi/wasi_host_internal.h"

namespace snakecage::wasi {
namespace {

std::string Hex(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

// Sum of the NUL-terminated strings (each string plus one byte).
uint64_t TotalBytes(const std::vector<std::string>& strings) {
  uint64_t total = 0;
  for (const std::string& s : strings) total += s.size() + 1;
  return total;
}

// The POSIX clock behind a preview1 clock id, or -1.
clockid_t HostClock(uint32_t id) {
  switch (id) {
    case abi::kClockRealtime:
      return CLOCK_REALTIME;
    case abi::kClockMonotonic:
      return CLOCK_MONOTONIC;
    case abi::kClockProcessCputime:
      return CLOCK_PROCESS_CPUTIME_ID;
    case abi::kClockThreadCputime:
      return CLOCK_THREAD_CPUTIME_ID;
    default:
      return -1;
  }
}

// Writes `strings` in the args_get/environ_get layout: `count` u32 pointers
// at `ptrs`, each pointing at its NUL-terminated string inside `buf`.
// REQUIRES: both ranges checked.
void StoreStringList(GuestMemory mem, uint32_t ptrs, uint32_t buf,
                     const std::vector<std::string>& strings) {
  uint64_t offset = buf;
  for (size_t i = 0; i < strings.size(); ++i) {
    mem.Store<uint32_t>(ptrs + 4 * static_cast<uint64_t>(i),
                        static_cast<uint32_t>(offset));
    std::memcpy(mem.At(offset), strings[i].data(), strings[i].size());
    mem.At(offset)[strings[i].size()] = 0;
    offset += strings[i].size() + 1;
  }
}

}  // namespace

// ---- helpers shared with the other .cc files --------------------------------

uint8_t FiletypeFromMode(mode_t mode) {
  if (S_ISREG(mode)) return abi::kFiletypeRegularFile;
  if (S_ISDIR(mode)) return abi::kFiletypeDirectory;
  if (S_ISLNK(mode)) return abi::kFiletypeSymbolicLink;
  if (S_ISCHR(mode)) return abi::kFiletypeCharacterDevice;
  if (S_ISBLK(mode)) return abi::kFiletypeBlockDevice;
  if (S_ISSOCK(mode)) return abi::kFiletypeSocketStream;
  return abi::kFiletypeUnknown;  // FIFOs have no preview1 type
}

uint64_t TimestampFromTimespec(const struct timespec& ts) {
  if (ts.tv_sec < 0) return 0;
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull +
         static_cast<uint64_t>(ts.tv_nsec);
}

void StoreFilestat(GuestMemory mem, uint32_t ptr, const struct stat& st) {
  std::memset(mem.At(ptr), 0, abi::kFilestatSize);
  mem.Store<uint64_t>(ptr + abi::kFilestatDev, st.st_dev);
  mem.Store<uint64_t>(ptr + abi::kFilestatIno, st.st_ino);
  mem.Store<uint8_t>(ptr + abi::kFilestatFiletype,
                     FiletypeFromMode(st.st_mode));
  mem.Store<uint64_t>(ptr + abi::kFilestatNlink, st.st_nlink);
  mem.Store<uint64_t>(ptr + abi::kFilestatSizeField,
                      static_cast<uint64_t>(std::max<off_t>(st.st_size, 0)));
  mem.Store<uint64_t>(ptr + abi::kFilestatAtim,
                      TimestampFromTimespec(st.st_atim));
  mem.Store<uint64_t>(ptr + abi::kFilestatMtim,
                      TimestampFromTimespec(st.st_mtim));
  mem.Store<uint64_t>(ptr + abi::kFilestatCtim,
                      TimestampFromTimespec(st.st_ctim));
}

struct stat VirtualDirectoryStat(const VirtualRoot& root, int node) {
  struct stat st{};
  st.st_dev = 0;
  st.st_ino = VirtualRoot::InodeOf(node);
  st.st_mode = S_IFDIR | 0555;
  st.st_nlink = 2 + root.node(node).children.size();
  return st;
}

// ---- Call -------------------------------------------------------------------

bool internal::HostCall::Begin() {
  if (host_.unwind_.has_value()) return false;
  if (host_.cancel_->cancelled()) return Timeout("execution cancelled");
  if (host_.config_.deadline.has_value() &&
      std::chrono::steady_clock::now() >= *host_.config_.deadline) {
    return Timeout("execution deadline passed");
  }
  return true;
}

bool internal::HostCall::Check(uint64_t ptr, uint64_t len, const char* what) {
  if (mem_.InBounds(ptr, len)) return true;
  host_.RecordTrap(TrapReason::kMemoryOutOfBounds,
                   std::string(name_) + ": " + what + " [" + Hex(ptr) + ", +" +
                       std::to_string(len) +
                       ") is outside guest memory (size " +
                       std::to_string(mem_.size()) + ")");
  return false;
}

bool internal::HostCall::Timeout(const char* why) {
  host_.RecordTrap(TrapReason::kTimeout, std::string(name_) + ": " + why);
  return false;
}

// ---- construction -----------------------------------------------------------

namespace {

// Create()'s and StartCell()'s checks of argv and the environment.
Status CheckArgvAndEnv(const std::vector<std::string>& argv,
                       const std::vector<std::pair<std::string, std::string>>& env) {
  for (size_t i = 0; i < argv.size(); ++i) {
    if (argv[i].find('\0') != std::string::npos) {
      return InvalidArgument("argv[" + std::to_string(i) +
                             "]: contains a NUL byte");
    }
  }
  for (size_t i = 0; i < env.size(); ++i) {
    const auto& [key, value] = env[i];
    const std::string field = "env[" + std::to_string(i) + "]";
    if (key.empty()) return InvalidArgument(field + ": empty key");
    if (key.find('=') != std::string::npos) {
      return InvalidArgument(field + ": key \"" + key + "\" contains '='");
    }
    if (key.find('\0') != std::string::npos ||
        value.find('\0') != std::string::npos) {
      return InvalidArgument(field + ": contains a NUL byte");
    }
  }
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  if (TotalBytes(argv) > UINT32_MAX || TotalBytes(env_strings) > UINT32_MAX ||
      argv.size() > UINT32_MAX / 4 || env.size() > UINT32_MAX / 4) {
    return InvalidArgument("argv/env: larger than a 32-bit guest can hold");
  }
  return Status::Ok();
}

}  // namespace

StatusOr<std::unique_ptr<WasiHost>> WasiHost::Create(WasiConfig config) {
  if (Status s = CheckArgvAndEnv(config.argv, config.env); !s.ok()) return s;
  std::set<std::string> guest_paths;
  for (size_t i = 0; i < config.preopens.size(); ++i) {
    const Preopen& p = config.preopens[i];
    const std::string field = "preopens[" + std::to_string(i) + "]";
    if (p.guest_path.empty()) {
      return InvalidArgument(field + ".guest_path: empty");
    }
    if (p.guest_path.find('\0') != std::string::npos) {
      return InvalidArgument(field + ".guest_path: contains a NUL byte");
    }
    if (!guest_paths.insert(p.guest_path).second) {
      return InvalidArgument(field + ".guest_path: \"" + p.guest_path +
                             "\" is used by an earlier preopen");
    }
  }
  const size_t preopen_fds =
      config.preopens.size() + (config.virtual_root ? 1 : 0);
  if (config.max_open_fds < 3 + preopen_fds) {
    return InvalidArgument(
        "max_open_fds: " + std::to_string(config.max_open_fds) +
        " leaves no room for stdio and " + std::to_string(preopen_fds) +
        " preopens");
  }
  std::optional<VirtualRoot> root;
  if (config.virtual_root) {
    std::vector<std::string> paths;
    for (const Preopen& p : config.preopens) paths.push_back(p.guest_path);
    StatusOr<VirtualRoot> made = VirtualRoot::Create(paths);
    if (!made.ok()) return made.status();
    root = std::move(*made);
  }

  std::unique_ptr<WasiHost> host(new WasiHost(std::move(config)));
  const WasiConfig& cfg = host->config_;

  auto stdio = [](FdEntry::Kind kind, abi::Rights rights) {
    auto e = std::make_unique<FdEntry>();
    e->kind = kind;
    e->filetype = abi::kFiletypeCharacterDevice;
    e->base = rights;
    return e;
  };
  host->fds_.push_back(stdio(FdEntry::Kind::kStdin, kStdinRights));
  host->fds_.push_back(stdio(FdEntry::Kind::kStdout, kStdoutRights));
  host->fds_.push_back(stdio(FdEntry::Kind::kStderr, kStdoutRights));

  for (size_t i = 0; i < cfg.preopens.size(); ++i) {
    const Preopen& p = cfg.preopens[i];
    const std::string field = "preopens[" + std::to_string(i) + "].host_dir";
    const int fd =
        ::open(p.host_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
      const int err = errno;
      std::string msg = field + ": cannot open " + p.host_dir.string() +
                        " as a directory: " + std::strerror(err);
      if (err == ENOENT) return NotFound(msg);
      return InvalidArgument(msg);
    }
    auto e = std::make_unique<FdEntry>();
    e->kind = FdEntry::Kind::kDirectory;
    e->host.Reset(fd);
    e->filetype = abi::kFiletypeDirectory;
    e->base = kDirectoryRights;
    e->inheriting = kDirectoryRights | kFileRights;
    e->mount = static_cast<int>(i);
    e->read_only = p.read_only;
    e->is_preopen = true;
    // The resolver fails closed without openat2: check it exists here.
    open_how how{};
    how.flags = O_PATH | O_CLOEXEC;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    const long probe = ::syscall(SYS_openat2, fd, ".", &how, sizeof(how));
    if (probe < 0) {
      return Internal(field + ": openat2(RESOLVE_BENEATH) unavailable: " +
                      std::strerror(errno));
    }
    ::close(static_cast<int>(probe));
    host->fds_.push_back(std::move(e));
  }
  if (root) {
    host->root_ = std::move(root);
    for (size_t i = 0; i < cfg.preopens.size(); ++i) {
      const FdEntry& preopen = *host->fds_[3 + i];
      auto top = std::make_unique<FdEntry>();
      top->kind = FdEntry::Kind::kDirectory;
      top->host.Reset(::fcntl(preopen.host.get(), F_DUPFD_CLOEXEC, 0));
      if (!top->host.valid()) {
        return Internal("preopens[" + std::to_string(i) + "].host_dir: dup: " +
                        std::strerror(errno));
      }
      top->filetype = abi::kFiletypeDirectory;
      top->base = preopen.base;
      top->inheriting = preopen.inheriting;
      top->mount = preopen.mount;
      top->read_only = preopen.read_only;
      host->mount_tops_.push_back(std::move(top));
    }
    auto e = std::make_unique<FdEntry>();
    e->kind = FdEntry::Kind::kVirtualDirectory;
    e->filetype = abi::kFiletypeDirectory;
    e->base = kDirectoryRights;
    e->inheriting = kDirectoryRights | kFileRights;
    e->read_only = true;
    e->is_preopen = true;
    e->node = VirtualRoot::kRootNode;
    host->fds_.push_back(std::move(e));
  }
  if (cfg.writable_max_bytes) {
    // The quota keeps its own descriptors: the guest may close its preopens.
    std::vector<UniqueFd> roots;
    for (size_t i = 0; i < cfg.preopens.size(); ++i) {
      if (cfg.preopens[i].read_only) continue;
      UniqueFd root(::fcntl(host->fds_[3 + i]->host.get(), F_DUPFD_CLOEXEC, 0));
      if (!root.valid()) {
        return Internal("preopens[" + std::to_string(i) + "].host_dir: dup: " +
                        std::strerror(errno));
      }
      roots.push_back(std::move(root));
    }
    host->quota_ = std::make_unique<WorkspaceQuota>(*cfg.writable_max_bytes, std::move(roots));
  }
  return host;
}

WasiHost::WasiHost(WasiConfig config)
    : config_(std::move(config)),
      resolver_(config_.on_path_denied),
      cancel_(config_.cancel ? config_.cancel
                             : std::make_shared<CancelToken>()),
      stdout_(config_.stdout_max_bytes),
      stderr_(config_.stderr_max_bytes) {}

WasiHost::~WasiHost() = default;

Status WasiHost::StartCell(CellConfig cell) {
  if (unwind_.has_value()) {
    return Internal("StartCell: the guest stopped (" + unwind_->message +
                              ") and must not be resumed");
  }
  if (Status s = CheckArgvAndEnv(cell.argv, cell.env); !s.ok()) return s;
  if (cell.writable_max_bytes && !quota_) {
    return Internal("StartCell: writable_max_bytes for a host made without a quota");
  }
  config_.argv = std::move(cell.argv);
  config_.env = std::move(cell.env);
  config_.stdout_max_bytes = cell.stdout_max_bytes;
  config_.stderr_max_bytes = cell.stderr_max_bytes;
  config_.deadline = cell.deadline;
  config_.on_path_denied = std::move(cell.on_path_denied);
  resolver_ = PathResolver(config_.on_path_denied);
  cancel_ = cell.cancel ? std::move(cell.cancel) : std::make_shared<CancelToken>();
  config_.cancel = cancel_;
  stdout_ = OutputSink(cell.stdout_max_bytes);
  stderr_ = OutputSink(cell.stderr_max_bytes);
  if (quota_) {
    if (cell.writable_max_bytes) {
      quota_->StartOver(*cell.writable_max_bytes);
    } else {
      quota_.reset();
    }
  }
  config_.writable_max_bytes = cell.writable_max_bytes;
  return Status::Ok();
}

// ---- unwind -----------------------------------------------------------------

bool WasiHost::RecordTrap(TrapReason reason, std::string message) {
  if (unwind_.has_value()) return false;
  Unwind u;
  u.kind = Unwind::Kind::kTrap;
  u.trap_reason = reason;
  u.message = std::move(message);
  unwind_ = std::move(u);
  return true;
}

bool WasiHost::RecordExit(uint32_t exit_code) {
  if (unwind_.has_value()) return false;
  Unwind u;
  u.kind = Unwind::Kind::kExit;
  u.exit_code = exit_code;
  unwind_ = std::move(u);
  return true;
}

// ---- fd table ---------------------------------------------------------------

WorkspaceQuota* WasiHost::QuotaFor(const FdEntry& e) {
  if (!quota_ || e.read_only || e.mount < 0) return nullptr;
  return quota_.get();
}

bool WasiHost::HoldsOpen(const struct stat& st) const {
  for (const auto& e : fds_) {
    if (!e || e->kind != FdEntry::Kind::kFile) continue;
    struct stat open_st{};
    if (::fstat(e->host.get(), &open_st) == 0 && open_st.st_dev == st.st_dev &&
        open_st.st_ino == st.st_ino) {
      return true;
    }
  }
  return false;
}

uint64_t WasiHost::ChargeToRelease(int dir, const std::string& name) const {
  if (!quota_) return 0;
  struct stat st{};
  if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return 0;
  // A file the guest still holds open keeps its space until the next
  // execution (unless another name keeps the content anyway).
  if (S_ISREG(st.st_mode) && st.st_nlink == 1 && HoldsOpen(st)) return 0;
  return ChargeOfName(st);
}

const std::string& WasiHost::PreopenName(const FdEntry& e) const {
  static const std::string kRootName = "/";
  if (e.kind == FdEntry::Kind::kVirtualDirectory) return kRootName;
  return config_.preopens[static_cast<size_t>(e.mount)].guest_path;
}

internal::FdEntry* WasiHost::Lookup(uint32_t fd) {
  if (fd >= fds_.size()) return nullptr;
  return fds_[fd].get();
}

std::optional<uint32_t> WasiHost::AllocateFd() {
  size_t open = 0;
  std::optional<uint32_t> lowest_free;
  for (size_t i = 0; i < fds_.size(); ++i) {
    if (fds_[i]) {
      ++open;
    } else if (!lowest_free) {
      lowest_free = static_cast<uint32_t>(i);
    }
  }
  if (open >= config_.max_open_fds) return std::nullopt;
  if (lowest_free) return lowest_free;
  return static_cast<uint32_t>(fds_.size());
}

void WasiHost::Install(uint32_t fd, std::unique_ptr<FdEntry> entry) {
  if (fd >= fds_.size()) fds_.resize(fd + 1);
  fds_[fd] = std::move(entry);
}

// ---- args / environ ---------------------------------------------------------

uint32_t WasiHost::ArgsSizesGet(GuestMemory mem, uint32_t argc_out,
                                uint32_t argv_buf_size_out) {
  Call call(*this, mem, "args_sizes_get");
  if (!call.Begin() || !call.Check(argc_out, 4, "argc_out") ||
      !call.Check(argv_buf_size_out, 4, "argv_buf_size_out")) {
    return kUnwind;
  }
  mem.Store<uint32_t>(argc_out, static_cast<uint32_t>(config_.argv.size()));
  mem.Store<uint32_t>(argv_buf_size_out,
                      static_cast<uint32_t>(TotalBytes(config_.argv)));
  return abi::kSuccess;
}

uint32_t WasiHost::ArgsGet(GuestMemory mem, uint32_t argv, uint32_t argv_buf) {
  Call call(*this, mem, "args_get");
  if (!call.Begin() ||
      !call.Check(argv, 4 * static_cast<uint64_t>(config_.argv.size()),
                  "argv") ||
      !call.Check(argv_buf, TotalBytes(config_.argv), "argv_buf")) {
    return kUnwind;
  }
  StoreStringList(mem, argv, argv_buf, config_.argv);
  return abi::kSuccess;
}

uint32_t WasiHost::EnvironSizesGet(GuestMemory mem, uint32_t count_out,
                                   uint32_t buf_size_out) {
  Call call(*this, mem, "environ_sizes_get");
  if (!call.Begin() || !call.Check(count_out, 4, "count_out") ||
      !call.Check(buf_size_out, 4, "buf_size_out")) {
    return kUnwind;
  }
  uint64_t total = 0;
  for (const auto& [k, v] : config_.env) total += k.size() + 1 + v.size() + 1;
  mem.Store<uint32_t>(count_out, static_cast<uint32_t>(config_.env.size()));
  mem.Store<uint32_t>(buf_size_out, static_cast<uint32_t>(total));
  return abi::kSuccess;
}

uint32_t WasiHost::EnvironGet(GuestMemory mem, uint32_t environ,
                              uint32_t environ_buf) {
  Call call(*this, mem, "environ_get");
  std::vector<std::string> strings;
  strings.reserve(config_.env.size());
  for (const auto& [k, v] : config_.env) strings.push_back(k + "=" + v);
  if (!call.Begin() ||
      !call.Check(environ, 4 * static_cast<uint64_t>(strings.size()),
                  "environ") ||
      !call.Check(environ_buf, TotalBytes(strings), "environ_buf")) {
    return kUnwind;
  }
  StoreStringList(mem, environ, environ_buf, strings);
  return abi::kSuccess;
}

// ---- clocks -----------------------------------------------------------------

uint32_t WasiHost::ClockResGet(GuestMemory mem, uint32_t id, uint32_t res_out) {
  Call call(*this, mem, "clock_res_get");
  if (!call.Begin() || !call.Check(res_out, 8, "res_out")) return kUnwind;
  const clockid_t clock = HostClock(id);
  if (clock < 0) return abi::kInval;
  struct timespec ts {};
  if (::clock_getres(clock, &ts) != 0) return WasiErrnoFromHost(errno);
  mem.Store<uint64_t>(res_out,
                      std::max<uint64_t>(TimestampFromTimespec(ts), 1));
  return abi::kSuccess;
}

uint32_t WasiHost::ClockTimeGet(GuestMemory mem, uint32_t id,
                                uint64_t precision, uint32_t time_out) {
  Call call(*this, mem, "clock_time_get");
  if (!call.Begin() || !call.Check(time_out, 8, "time_out")) return kUnwind;
  const clockid_t clock = HostClock(id);
  if (clock < 0) return abi::kInval;
  struct timespec ts {};
  if (::clock_gettime(clock, &ts) != 0) return WasiErrnoFromHost(errno);
  mem.Store<uint64_t>(time_out, TimestampFromTimespec(ts));
  return abi::kSuccess;
}

// ---- random / proc / sched / sockets ----------------------------------------

uint32_t WasiHost::RandomGet(GuestMemory mem, uint32_t buf, uint32_t buf_len) {
  Call call(*this, mem, "random_get");
  if (!call.Begin() || !call.Check(buf, buf_len, "buf")) return kUnwind;
  uint64_t done = 0;
  while (done < buf_len) {
    const size_t chunk =
        static_cast<size_t>(std::min<uint64_t>(buf_len - done, 1u << 20));
    const ssize_t n = ::getrandom(mem.At(buf + done), chunk, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return WasiErrnoFromHost(errno);
    }
    done += static_cast<uint64_t>(n);
  }
  return abi::kSuccess;
}

uint32_t WasiHost::ProcExit(GuestMemory mem, uint32_t rval) {
  Call call(*this, mem, "proc_exit");
  if (call.Begin()) RecordExit(rval);
  return kUnwind;
}

uint32_t WasiHost::ProcRaise(GuestMemory mem, uint32_t sig) {
  Call call(*this, mem, "proc_raise");
  if (!call.Begin()) return kUnwind;
  return abi::kNotsup;
}

uint32_t WasiHost::SchedYield(GuestMemory mem) {
  Call call(*this, mem, "sched_yield");
  if (!call.Begin()) return kUnwind;
  ::sched_yield();
  return abi::kSuccess;
}

uint32_t WasiHost::SockAccept(GuestMemory mem, uint32_t fd, uint32_t flags,
                              uint32_t fd_out) {
  Call call(*this, mem, "sock_accept");
  if (!call.Begin()) return kUnwind;
  return abi::kNotsup;
}

uint32_t WasiHost::SockRecv(GuestMemory mem, uint32_t fd, uint32_t ri_data,
                            uint32_t ri_data_len, uint32_t ri_flags,
                            uint32_t nread_out, uint32_t roflags_out) {
  Call call(*this, mem, "sock_recv");
  if (!call.Begin()) return kUnwind;
  return abi::kNotsup;
}

uint32_t WasiHost::SockSend(GuestMemory mem, uint32_t fd, uint32_t si_data,
                            uint32_t si_data_len, uint32_t si_flags,
                            uint32_t nwritten_out) {
  Call call(*this, mem, "sock_send");
  if (!call.Begin()) return kUnwind;
  return abi::kNotsup;
}

uint32_t WasiHost::SockShutdown(GuestMemory mem, uint32_t fd, uint32_t how) {
  Call call(*this, mem, "sock_shutdown");
  if (!call.Begin()) return kUnwind;
  return abi::kNotsup;
}

}  // namespace snakecage::wasi
