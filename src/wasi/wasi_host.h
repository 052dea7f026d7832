// wasi/wasi_host.h: the WASI preview1 host, the only door between the guest
// and the host.
//
// A WasiHost implements every wasi_snapshot_preview1 function for one guest
// instance: argv and environment (exactly as configured; the host
// environment is never read), clocks, random bytes, capped in-memory
// stdout/stderr, an empty stdin, preopened directories (read-write or
// read-only), files and directories opened beneath them, poll_oneoff sleeps
// that honour a deadline and a cancel token, and proc_exit.
//
// Paths: every guest path is resolved by the kernel beneath a preopen (see
// path_resolver.h); an escape is refused with NOTCAPABLE and reported through
// WasiConfig::on_path_denied. Permissions live on the handle: every fd knows
// whether its mount is read-only, and every write-like call on such an fd is
// refused with ROFS. Rename and link between different preopens are refused
// with XDEV (a read-only side is refused with ROFS first).
//
// Call methods: one per preview1 function, named after it (fd_write ->
// FdWrite). Parameters are the raw guest values, exactly as wasm2c passes
// them (u32 for i32, u64 for i64; pointers are u32 offsets into `mem`).
// Each returns the WASI errno for the guest, or kUnwind.
//
// ---------------------------------------------------------------------------
// Unwinding contract (host <-> engine)
//
// Some calls must not return to the guest: proc_exit, a guest pointer or
// length outside linear memory, the execution deadline or the cancel token
// (checked at the start of every call, and while poll_oneoff sleeps). Such a
// call records the cause in unwind() and returns kUnwind. The extern "C"
// shims (wasi_imports.h) then call wasm_rt_trap(WASM_RT_TRAP_UNREACHABLE),
// which the engine's runtime implements with longjmp back to its entry point.
// No C++ frame with a non-trivial destructor is live when the shim calls
// wasm_rt_trap: every WasiHost method has returned by then.
//
//  - First cause wins: the first recorded cause is kept; later ones (e.g. a
//    timeout after proc_exit) are ignored. RecordTrap() lets the engine put
//    its own causes (out of fuel, stack overflow, ...) through the same rule.
//  - Once unwind() has a value, every later call returns kUnwind at once,
//    without touching the guest or the host.
//  - On any trap from wasm_rt_impl_try()/its equivalent, the engine asks
//    unwind() first: kExit means the guest exited with exit_code (a normal
//    end, not a trap); kTrap gives the TrapReason and a message naming the
//    call. No value means the trap came from the guest code itself (the
//    engine maps wasm_rt_trap_t to a TrapReason).
// ---------------------------------------------------------------------------
//
// Ownership: the host owns its stdout/stderr sinks, its host file
// descriptors (closed on destruction), and shares the cancel token. It does
// not own guest memory; memory is passed per call (GuestMemory view).
//
// Thread-safety: a WasiHost is used by one thread at a time (the guest's).
// Only the CancelToken may be touched from other threads. Read the sinks and
// unwind() after the guest has stopped.
#pragma once

#include <sys/stat.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "snakecage/status.h"
#include "snakecage/trap_reason.h"
#include "wasi/cancel_token.h"
#include "wasi/guest_memory.h"
#include "wasi/output_sink.h"
#include "wasi/path_resolver.h"
#include "base/unique_fd.h"
#include "wasi/virtual_root.h"
#include "wasi/wasi_abi.h"
#include "wasi/workspace_quota.h"

namespace snakecage::wasi {

namespace internal {
struct FdEntry;
class HostCall;
}  // namespace internal

// A host directory the guest sees as a preopened directory.
struct Preopen {
  std::filesystem::path host_dir;  // must exist and be a directory
  std::string guest_path;  // name fd_prestat_dir_name reports, e.g. "/app"
  bool read_only = false;  // refuse every write-like call with ROFS
};

struct WasiConfig {
  // The guest's argv, whole. Strings must not contain NUL.
  std::vector<std::string> argv;
  // The guest's environment, in order, as KEY=VALUE. Keys must be non-empty
  // and contain neither '=' nor NUL; values must not contain NUL.
  std::vector<std::pair<std::string, std::string>> env;
  // Preopened directories, guest fds 3, 4, ... in this order. Guest paths
  // must be distinct and non-empty.
  std::vector<Preopen> preopens;
  // When set, one more preopen follows the others: "/", read-only, made of
  // the preopens' guest paths and nothing else (virtual_root.h), so the
  // guest can list "/" and finds paths outside its mounts absent (NOENT)
  // instead of refused. Every guest path must then be absolute and normal.
  bool virtual_root = false;
  // Bytes of stdout / stderr kept; more is counted and dropped.
  uint64_t stdout_max_bytes = 2'000'000;  // bytes, default 2 MB
  uint64_t stderr_max_bytes = 1'000'000;  // bytes, default 1 MB
  // When set, a host call at or after this time, or a poll_oneoff sleep that
  // reaches it, traps with TrapReason::kTimeout. Default: no deadline.
  std::optional<std::chrono::steady_clock::time_point> deadline;
  // When set and cancelled, the same as reaching the deadline (kTimeout).
  std::shared_ptr<CancelToken> cancel;
  // Called when the guest is refused a path outside its grants, with the
  // WASI call name ("path_open") and the guest path as given (raw bytes).
  // Runs on the guest's thread inside the call; must not call the host.
  std::function<void(std::string_view call, std::string_view guest_path)>
      on_path_denied;
  // Most guest file descriptors open at once, stdio and preopens included.
  // More: path_open fails with MFILE. Default 1024.
  uint32_t max_open_fds = 1024;
  // When set, the most the writable preopens may hold together, counted as
  // base/workspace_usage.h says; a call that would grow them past it fails
  // with NOSPC (workspace_quota.h). Default: no bound.
  std::optional<uint64_t> writable_max_bytes;
};

// What changes from one cell of a kept-state execution to the next (see
// WasiHost::StartCell); the same meaning as WasiConfig's fields of the name.
struct CellConfig {
  std::vector<std::string> argv;
  std::vector<std::pair<std::string, std::string>> env;
  uint64_t stdout_max_bytes = 2'000'000;
  uint64_t stderr_max_bytes = 1'000'000;
  std::optional<std::chrono::steady_clock::time_point> deadline;
  std::shared_ptr<CancelToken> cancel;
  std::function<void(std::string_view call, std::string_view guest_path)>
      on_path_denied;
  std::optional<uint64_t> writable_max_bytes;
};

// Why the guest must not be resumed. See the unwinding contract above.
struct Unwind {
  enum class Kind { kExit, kTrap };
  Kind kind = Kind::kTrap;
  uint32_t exit_code = 0;                           // kExit only
  TrapReason trap_reason = TrapReason::kHostError;  // kTrap only
  std::string message;  // kTrap: names the call, e.g. "fd_write: iovs ..."
};

// Guest-visible bounds on one call's work.
inline constexpr uint32_t kMaxIovecs = 1024;  // like Linux IOV_MAX; more: INVAL
// Bytes one read/write moves at most; longer requests are short (like Linux
// MAX_RW_COUNT), so the count always fits the u32 result.
inline constexpr uint64_t kMaxBytesPerCall = 0x7ffff000;
inline constexpr uint32_t kMaxPollSubscriptions = 4096;  // more: INVAL

class WasiHost {
 public:
  // Returned by a call method instead of an errno when the guest must not be
  // resumed; unwind() then says why. Outside the u16 errno range.
  static constexpr uint32_t kUnwind = 0xffffffffu;

  // Validates `config` and opens every preopen. Errors name the field, e.g.
  // "preopens[1].host_dir: cannot open /x as a directory: No such file or
  // directory".
  static StatusOr<std::unique_ptr<WasiHost>> Create(WasiConfig config);

  ~WasiHost();
  WasiHost(const WasiHost&) = delete;
  WasiHost& operator=(const WasiHost&) = delete;

  // ---- results --------------------------------------------------------
  const std::optional<Unwind>& unwind() const { return unwind_; }
  const OutputSink& stdout_sink() const { return stdout_; }
  const OutputSink& stderr_sink() const { return stderr_; }
  OutputSink& mutable_stdout_sink() { return stdout_; }
  OutputSink& mutable_stderr_sink() { return stderr_; }
  // Calls refused with NOSPC because the writable preopens were full
  // (WasiConfig::writable_max_bytes); 0 without a bound.
  uint64_t quota_refusals() const { return quota_ ? quota_->refusals() : 0; }

  // Records a trap if nothing was recorded yet (first cause wins). Returns
  // true when this call's cause is the one kept.
  bool RecordTrap(TrapReason reason, std::string message);
  // Records proc_exit(code) under the same rule.
  bool RecordExit(uint32_t exit_code);

  // Replaces what args_get/environ_get answer from now on, under the same
  // rules as WasiConfig::argv/env (the engine shows the guest its start-up
  // argv and environment first, then the execution's: engine/startup.h).
  void SetArgvAndEnv(std::vector<std::string> argv,
                     std::vector<std::pair<std::string, std::string>> env) {
    config_.argv = std::move(argv);
    config_.env = std::move(env);
  }

  // Begins the next cell of an execution that keeps its state: the guest's
  // files stay as they are (every open descriptor, the preopens, the
  // virtual root), everything that belongs to one execution is replaced by
  // `cell` (argv and environment, empty output sinks with their caps, the
  // deadline and cancel token, the refusal callback, the quota's bound,
  // measured again). InvalidArgument for argv/env as Create() refuses them;
  // Internal when the guest must not be resumed (unwind() has a value) or a
  // quota is asked of a host made without one.
  Status StartCell(CellConfig cell);

  // ---- wasi_snapshot_preview1 -----------------------------------------
  uint32_t ArgsGet(GuestMemory mem, uint32_t argv, uint32_t argv_buf);
  uint32_t ArgsSizesGet(GuestMemory mem, uint32_t argc_out,
                        uint32_t argv_buf_size_out);
  uint32_t EnvironGet(GuestMemory mem, uint32_t environ, uint32_t environ_buf);
  uint32_t EnvironSizesGet(GuestMemory mem, uint32_t count_out,
                           uint32_t buf_size_out);
  uint32_t ClockResGet(GuestMemory mem, uint32_t id, uint32_t res_out);
  uint32_t ClockTimeGet(GuestMemory mem, uint32_t id, uint64_t precision,
                        uint32_t time_out);
  uint32_t FdAdvise(GuestMemory mem, uint32_t fd, uint64_t offset, uint64_t len,
                    uint32_t advice);
  uint32_t FdAllocate(GuestMemory mem, uint32_t fd, uint64_t offset,
                      uint64_t len);
  uint32_t FdClose(GuestMemory mem, uint32_t fd);
  uint32_t FdDatasync(GuestMemory mem, uint32_t fd);
  uint32_t FdFdstatGet(GuestMemory mem, uint32_t fd, uint32_t stat_out);
  uint32_t FdFdstatSetFlags(GuestMemory mem, uint32_t fd, uint32_t flags);
  uint32_t FdFdstatSetRights(GuestMemory mem, uint32_t fd, uint64_t base,
                             uint64_t inheriting);
  uint32_t FdFilestatGet(GuestMemory mem, uint32_t fd, uint32_t stat_out);
  uint32_t FdFilestatSetSize(GuestMemory mem, uint32_t fd, uint64_t size);
  uint32_t FdFilestatSetTimes(GuestMemory mem, uint32_t fd, uint64_t atim,
                              uint64_t mtim, uint32_t fst_flags);
  uint32_t FdPread(GuestMemory mem, uint32_t fd, uint32_t iovs,
                   uint32_t iovs_len, uint64_t offset, uint32_t nread_out);
  uint32_t FdPrestatGet(GuestMemory mem, uint32_t fd, uint32_t prestat_out);
  uint32_t FdPrestatDirName(GuestMemory mem, uint32_t fd, uint32_t path,
                            uint32_t path_len);
  uint32_t FdPwrite(GuestMemory mem, uint32_t fd, uint32_t iovs,
                    uint32_t iovs_len, uint64_t offset, uint32_t nwritten_out);
  uint32_t FdRead(GuestMemory mem, uint32_t fd, uint32_t iovs,
                  uint32_t iovs_len, uint32_t nread_out);
  uint32_t FdReaddir(GuestMemory mem, uint32_t fd, uint32_t buf,
                     uint32_t buf_len, uint64_t cookie, uint32_t bufused_out);
  uint32_t FdRenumber(GuestMemory mem, uint32_t fd, uint32_t to);
  uint32_t FdSeek(GuestMemory mem, uint32_t fd, uint64_t offset,
                  uint32_t whence, uint32_t newoffset_out);
  uint32_t FdSync(GuestMemory mem, uint32_t fd);
  uint32_t FdTell(GuestMemory mem, uint32_t fd, uint32_t offset_out);
  uint32_t FdWrite(GuestMemory mem, uint32_t fd, uint32_t iovs,
                   uint32_t iovs_len, uint32_t nwritten_out);
  uint32_t PathCreateDirectory(GuestMemory mem, uint32_t fd, uint32_t path,
                               uint32_t path_len);
  uint32_t PathFilestatGet(GuestMemory mem, uint32_t fd, uint32_t flags,
                           uint32_t path, uint32_t path_len, uint32_t stat_out);
  uint32_t PathFilestatSetTimes(GuestMemory mem, uint32_t fd, uint32_t flags,
                                uint32_t path, uint32_t path_len, uint64_t atim,
                                uint64_t mtim, uint32_t fst_flags);
  uint32_t PathLink(GuestMemory mem, uint32_t old_fd, uint32_t old_flags,
                    uint32_t old_path, uint32_t old_path_len, uint32_t new_fd,
                    uint32_t new_path, uint32_t new_path_len);
  uint32_t PathOpen(GuestMemory mem, uint32_t dirfd, uint32_t dirflags,
                    uint32_t path, uint32_t path_len, uint32_t oflags,
                    uint64_t fs_rights_base, uint64_t fs_rights_inheriting,
                    uint32_t fdflags, uint32_t fd_out);
  uint32_t PathReadlink(GuestMemory mem, uint32_t fd, uint32_t path,
                        uint32_t path_len, uint32_t buf, uint32_t buf_len,
                        uint32_t bufused_out);
  uint32_t PathRemoveDirectory(GuestMemory mem, uint32_t fd, uint32_t path,
                               uint32_t path_len);
  uint32_t PathRename(GuestMemory mem, uint32_t fd, uint32_t old_path,
                      uint32_t old_path_len, uint32_t new_fd, uint32_t new_path,
                      uint32_t new_path_len);
  uint32_t PathSymlink(GuestMemory mem, uint32_t old_path,
                       uint32_t old_path_len, uint32_t fd, uint32_t new_path,
                       uint32_t new_path_len);
  uint32_t PathUnlinkFile(GuestMemory mem, uint32_t fd, uint32_t path,
                          uint32_t path_len);
  uint32_t PollOneoff(GuestMemory mem, uint32_t in, uint32_t out,
                      uint32_t nsubscriptions, uint32_t nevents_out);
  // Always returns kUnwind (records kExit unless something came first).
  uint32_t ProcExit(GuestMemory mem, uint32_t rval);
  uint32_t ProcRaise(GuestMemory mem, uint32_t sig);  // refused: NOTSUP
  uint32_t SchedYield(GuestMemory mem);
  uint32_t RandomGet(GuestMemory mem, uint32_t buf, uint32_t buf_len);
  // Sockets are not offered: each returns NOTSUP.
  uint32_t SockAccept(GuestMemory mem, uint32_t fd, uint32_t flags,
                      uint32_t fd_out);
  uint32_t SockRecv(GuestMemory mem, uint32_t fd, uint32_t ri_data,
                    uint32_t ri_data_len, uint32_t ri_flags, uint32_t nread_out,
                    uint32_t roflags_out);
  uint32_t SockSend(GuestMemory mem, uint32_t fd, uint32_t si_data,
                    uint32_t si_data_len, uint32_t si_flags,
                    uint32_t nwritten_out);
  uint32_t SockShutdown(GuestMemory mem, uint32_t fd, uint32_t how);

 private:
  using FdEntry = internal::FdEntry;
  using Call = internal::HostCall;
  friend class internal::HostCall;

  explicit WasiHost(WasiConfig config);

  // Fd table. Lookup returns nullptr for a closed or out-of-range fd.
  FdEntry* Lookup(uint32_t fd);
  // Where a path call lands: a real directory handle and the path beneath
  // it, or (dir == nullptr) a directory or an absent name of the virtual
  // root. `from` is the guest's handle the call named.
  struct Route {
    FdEntry* from = nullptr;
    FdEntry* dir = nullptr;
    std::string path;
    VirtualRoot::Place place;
    // The mount the path is in; -1 in the virtual root.
    int mount() const;
  };
  // LookupDir's checks on `fd`; for a directory of the virtual root, the
  // walk through it first (an absolute path is refused as an escape), with
  // `write_like` checked against the mount the walk reaches.
  Resolved<Route> RoutePath(const char* call, uint32_t fd, std::string path,
                            abi::Rights rights, bool write_like);
  // The name fd_prestat_dir_name reports for a preopen.
  const std::string& PreopenName(const FdEntry& e) const;
  // Lowest free guest fd, or nullopt when max_open_fds are open.
  std::optional<uint32_t> AllocateFd();
  void Install(uint32_t fd, std::unique_ptr<FdEntry> entry);

  // Copies a guest path out of guest memory: NAMETOOLONG past
  // kMaxPathBytes, INVAL with a NUL byte inside.
  // REQUIRES: call.Check(ptr, len) passed.
  Resolved<std::string> ReadPath(Call& call, uint32_t ptr, uint32_t len);
  // The fd a path call starts from: open (else BADF), a directory (else
  // NOTDIR), writable when `write_like` (else ROFS), holding `rights` (else
  // NOTCAPABLE). The checks run in that order.
  Resolved<FdEntry*> LookupDir(uint32_t fd, abi::Rights rights,
                               bool write_like);
  // path_open of a place in the virtual root (RoutePath's dir == nullptr).
  uint32_t OpenInVirtualRoot(GuestMemory mem, const VirtualRoot::Place& place,
                             uint32_t oflags, abi::Rights base,
                             abi::Rights inheriting, uint32_t fdflags,
                             bool want_write, uint32_t fd_out);
  uint32_t ReadWriteFile(Call& call, uint32_t fd, uint32_t iovs,
                         uint32_t iovs_len, std::optional<uint64_t> offset,
                         uint32_t count_out, bool write);
  uint32_t StatToGuest(Call& call, int dirfd, const std::string& name,
                       int at_flags, uint32_t stat_out);
  abi::Errno ReadDirectory(FdEntry& dir);
  // The quota `e`'s mount counts against: nullptr for stdio, read-only
  // mounts, and without WasiConfig::writable_max_bytes.
  WorkspaceQuota* QuotaFor(const FdEntry& e);
  // Whether a guest descriptor has the file (dev, ino) open.
  bool HoldsOpen(const struct stat& st) const;
  // Gives back what the name `name` in `dir` costs, when it is about to go
  // (unlink, rmdir, replaced by rename). Call before removing it; returns
  // the charge to give back once the removal succeeded.
  uint64_t ChargeToRelease(int dir, const std::string& name) const;

  WasiConfig config_;
  PathResolver resolver_;
  std::shared_ptr<CancelToken> cancel_;
  OutputSink stdout_;
  OutputSink stderr_;
  std::vector<std::unique_ptr<FdEntry>> fds_;
  std::unique_ptr<WorkspaceQuota> quota_;
  // WasiConfig::virtual_root: the tree, and a handle on each preopen's
  // directory that walks through "/" continue from (the guest may have
  // closed its own).
  std::optional<VirtualRoot> root_;
  std::vector<std::unique_ptr<FdEntry>> mount_tops_;
  std::optional<Unwind> unwind_;
};

}  // namespace snakecage::wasi
