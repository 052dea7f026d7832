// The extern "C" functions wasm2c-generated guests call for every
// wasi_snapshot_preview1 import. Each one forwards to the WasiHost method of
// the same name and, when that returns WasiHost::kUnwind, calls
// wasm_rt_trap(WASM_RT_TRAP_UNREACHABLE) once every C++ frame of the call
// has returned. See wasi_imports.h for the contract.
#include "wasi/wasi_imports.h"

#include <exception>
#include <string>

#include "wasi/guest_memory.h"
#include "wasi/wasi_host.h"

namespace {

using snakecage::TrapReason;
using snakecage::wasi::GuestMemory;
using snakecage::wasi::WasiHost;
using Instance = Z_wasi_snapshot_preview1_instance_t;

// Runs one host call. Never throws: an exception is recorded as a host-error
// trap (first cause wins) and turned into kUnwind.
template <typename Fn>
uint32_t Dispatch(Instance* instance, const char* name, Fn&& fn) noexcept {
  WasiHost* host = instance->host;
  try {
    if (instance->memory == nullptr) {
      host->RecordTrap(TrapReason::kHostError,
                       std::string(name) + ": guest memory not attached");
      return WasiHost::kUnwind;
    }
    return fn(*host, GuestMemory(instance->memory));
  } catch (const std::exception& e) {
    try {
      host->RecordTrap(TrapReason::kHostError,
                       std::string(name) + ": host exception: " + e.what());
    } catch (...) {
    }
  } catch (...) {
    try {
      host->RecordTrap(TrapReason::kHostError,
                       std::string(name) + ": unknown host exception");
    } catch (...) {
    }
  }
  return WasiHost::kUnwind;
}

// Returns `r` to the guest, or unwinds. Called after Dispatch() has
// returned, so no C++ frame with a destructor is skipped by the longjmp.
uint32_t Finish(uint32_t r) {
  if (r == WasiHost::kUnwind) wasm_rt_trap(WASM_RT_TRAP_UNREACHABLE);
  return r;
}

}  // namespace

extern "C" {

uint32_t Z_wasi_snapshot_preview1Z_args_get(Instance* instance, uint32_t argv,
                                            uint32_t argv_buf) {
  const uint32_t r =
      Dispatch(instance, "args_get", [&](WasiHost& host, GuestMemory mem) {
        return host.ArgsGet(mem, argv, argv_buf);
      });
  return Finish(r);
}

uint32_t Z_wasi_snapshot_preview1Z_args_sizes_get(Instance* instance,
                                                  uint32_t argc_out,
                                                  uint32_t argv_buf_size_out) {
  const uint32_t r = Dispatch(
      instance, "args_sizes_get", [&](WasiHost& host, GuestMemory mem) {
        return host.ArgsSizesGet(mem, argc_out, argv_buf_size_out);
      });
  return Finish(r);
}

uint32_t Z_wasi_snapshot_preview1Z_clock_res_get(Instance* instance,
                                                 uint32_t id,
                                                 uint32_t res_out) {
  const uint32_t r =
      Dispatch(instance, "clock_res_get", [&](WasiHost& host, GuestMemory mem) {
        return host.ClockResGet(mem, id, res_out);
      });
  return Finish(r);
}

uint32_t Z_wasi_snapshot_preview1Z_clock_time_get(Instance* instance,
                                                  uint32_t id,
                                                  uint64_t precision,
                                                  uint32_t time_out) {
  const uint32_t r = Dispatch(
      instance, "clock_time_get", [&](WasiHost& host, GuestMemory mem) {
        return host.ClockTimeGet(mem, id, precision, time_out);
      });
  return Finish(r);
}

uint32_t Z_wasi_snapshot_preview1Z_environ_get(Instance* instance,
                                               uint32_t environ,
                                               uint32_t environ_buf) {
  const uint32_t r =
      Dispatch(instance, "environ_get", [&](WasiHost& host, GuestMemory mem) {
        return host.EnvironGet(mem, environ, environ_buf);
      });
  return Finish(r);
}

uint32_t Z_wasi_snapshot_preview1Z_environ_sizes_get(Instance* instance,
                                                     uint32_t count_out,
                                                     uint32_t buf_size_out) {
  const uint32_t r = Dispatch(
      instance, "environ_sizes_get", [&](WasiHost& host, GuestMemory mem) {
        return host.EnvironSizesGet(mem, count_out, buf_size_out);
      });
  return Finish(r);
}

uint32_t Z_wasi_snapshot_preview1Z_fd_advise(Instance* instance, uint32_t fd,
                                             uint64_t offset, uint64_t len,
                                             uint32_t advice) {
  const uint32_t r =
      Dispatch(instance, "fd_advise", [&](WasiHost& host, GuestMemory mem) {
        return host.FdAdvise(mem, fd, offset, len, advice);
      });
  return Finish(r);
}

uint32_t Z_wasi_snapshot_preview1Z_fd_allocate(Instance* instance, uint32_t fd,
                                               uint64_t offset, uint64_t len) {
  const uint32_t r =
      Dispatch(instance, "fd_allocate", [&](WasiHost& host, GuestMemory mem) {
        return host.FdAllocate(mem, fd, offset, len);
      });
  return Finish(r);
}

uint32_t Z_wasi_snapshot_preview1Z_fd_close(Instance* instance, uint32_t fd) {
  const uint32_t r = Dispatch(
      instance, "fd_close",
      [&](WasiHost& host, GuestMemory mem) { return host.FdClose(mem, fd); });
  return Finish(r);
}

uint32_t Z_wasi_snapshot_preview1Z_fd_datasync(Instance* instance,
                                               uint32_t fd) {
  const uint32_t r =
      Dispatch(instance, "fd_datasync", [&](WasiHost& host, GuestMemory mem) {
        return host.FdDatasync(mem, fd);
      });
  return Finish(r);
}

uint32_t Z_wasi_snapshot_preview1Z_fd_fdstat_get(Instance* instance,
                                                 uint32_t fd,
                                                 uint32_t stat_out) {
  const uint32_t r =
      Dispatch(instance, "fd_fdstat_get", [&](WasiHost& host, GuestMemory mem) {
        return host.FdFdstatGet(mem, fd, stat_out);
      });
  return Finish(r);
}

uint32_t Z_wasi_snapshot_preview1Z_fd_fdstat_set_flags(Instance* instance,
                                                       uint32_t fd,
                                                       uint32_t flags) {
  const uint32_t r = Dispatch(instance, "fd_fdstat_set_flags",
                              [&](WasiHost& host, GuestMemory mem) {
                                return host.FdFdstatSetFlags(mem, fd, flags);
                              });
  return Finish(r);
}

uint32_t Z_wasi_snapshot_preview1Z_fd_fdstat_set_rights(Instance* instance,
                                                        uint32_t fd,
                                                        uint64_t base,
                                                        uint64_t inheriting) {
  const uint32_t r = Dispatch(
      instance, "fd_fdstat_set_rights", [&](WasiHost& host, GuestMemory mem) {
        return host.FdFdstatSetRights(mem, fd, base, inheriting);
      });
  return Finish(r);
}

uint32_t Z_wasi_snapshot_preview1Z_fd_filestat_get(Instance* instance,
                                                   uint32_t fd,
                                                   uint32_t stat_out) {
  const uint32_t r = Dispatch(instance, "fd_filestat_get",
                              [&](WasiHost& host, GuestMemory mem) {
                                return host.FdFilestatGet(mem, fd, stat_out);
                              });
  return Finish(r);
}

uint32_t Z_wasi_snapshot_preview1Z_fd_filestat_set_size(Instance* instance,
                                                        uint32_t fd,
                                                        uint64_t size) {
  const uint32_t r = Dispatch(instance, "fd_filestat_set_size",
                              [&](WasiHost& host, GuestMemory mem) {
                                return host.FdFilestatSetSize(mem, fd, size);
                              });
  return Finish(r);
}

uint32_t Z_wasi_snapshot_preview1Z_fd_filestat_set_times(Instance* instance,
                                                         uint32_t fd,
                                                         uint64_t atim,
                                                         uint64_t mtim,
                                                         uint32_t fst_flags) {
  const uint32_t r = Dispatch(
      instance, "fd_filestat_set_times", [&](WasiHost& host, GuestMemory mem) {
        return host.FdFilestatSetTimes(mem, fd, atim, mtim, fst_flags);
      });
  return Finish(r);
}

uint32_t Z_wasi_snapshot_preview1Z_fd_pread(Instance* instance, uint32_t fd,
                                            uint32_t iovs, uint32_t iovs_len,
                                            uint64_t offset,
                                            uint32_t nread_out) {
  const uint32_t r =
      Dispatch(instance, "fd_pread", [&](WasiHost& host, GuestMemory mem) {
        return host.FdPread(mem, fd, iovs, iovs_len, offset, nread_out);
      });
  return Finish(r);
}

uint32_t Z_wasi_snapshot_preview1Z_fd_prestat_dir_name(Instance* instance,
                                                       uint32_t fd,
                                                       uint32_t path,
                                                       uint32_t path_len) {
  const uint32_t r = Dispatch(
      instance, "fd_prestat_dir_name", [&](WasiHost& host, GuestMemory mem) {
        return host.FdPrestatDirName(mem, fd, path, path_len);
      });
  return Finish(r);
}

uint32_t Z_wasi_snapshot_preview1Z_fd_prestat_get(Instance* instance,
                                                  uint32_t fd,
                                                  uint32_t prestat_out) {
  const uint32_t r = Dispatch(instance, "fd_prestat_get",
                              [&](WasiHost& host, GuestMemory mem) {
                                return host.FdPrestatGet(mem, fd, prestat_out);
                              });
  return Finish(r);
}

uint32_t Z_wasi_snapshot_preview1Z_fd_pwrite(Instance* instance, uint32_t fd,
                                             uint32_t iovs, uint32_t iovs_len,
                                             uint64_t offset,
                                             uint32_t nwritten_out) {
  const uint32_t r =
      Dispatch(instance, "fd_pwrite", [&](WasiHost& host, GuestMemory mem) {
        return host.FdPwrite(mem, fd, iovs, iovs_len, offset, nwritten_out);
      });
  return Finish(r);
}

uint32_t Z_wasi_snapshot_preview1Z_fd_read(Instance* instance, uint32_t fd,
                                           uint32_t iovs, uint32_t iovs_len,
                                           uint32_t nread_out) {
  const uint32_t r =
      Dispatch(instance, "fd_read", [&](WasiHost& host, GuestMemory mem) {
        return host.FdRead(mem, fd, iovs, iovs_len, nread_out);
      });
  return Finish(r);
}

uint32_t Z_wasi_snapshot_preview1Z_fd_readdir(Instance* instance, uint32_t fd,
                                              uint32_t buf, uint32_t buf_len,
                                              uint64_t cookie,
                                              uint32_t bufused_out) {
  const uint32_t r =
      Dispatch(instance, "fd_readdir", [&](WasiHost& host, GuestMemory mem) {
        return host.FdReaddir(mem, fd, buf, buf_len, cookie, bufused_out);
      });
  return Finish(r);
}

uint32_t Z_wasi_snapshot_preview1Z_fd_renumber(Instance* instance, uint32_t fd,
                                               uint32_t to) {
  const uint32_t r =
      Dispatch(instance, "fd_renumber", [&](WasiHost& host, GuestMemory mem) {
        return host.FdRenumber(mem, fd, to);
      });
  return Finish(r);
}

uint32_t Z_wasi_snapshot_preview1Z_fd_seek(Instance* instance, uint32_t fd,
                                           uint64_t offset, uint32_t whence,
                                           uint32_t newoffset_out) {
  const uint32_t r =
      Dispatch(instance, "fd_seek", [&](WasiHost& host, GuestMemory mem) {
        return host.FdSeek(mem, fd, offset, whence, newoffset_out);
      });
  return Finish(r);
}

uint32_t Z_wasi_snapshot_preview1Z_fd_sync(Instance* instance, uint32_t fd) {
  const uint32_t r = Dispatch(
      instance, "fd_sync",
      [&](WasiHost& host, GuestMemory mem) { return host.FdSync(mem, fd); });
  return Finish(r);
}

uint32_t Z_wasi_snapshot_preview1Z_fd_tell(Instance* instance, uint32_t fd,
                                           uint32_t offset_out) {
  const uint32_t r =
      Dispatch(instance, "fd_tell", [&](WasiHost& host, GuestMemory mem) {
        return host.FdTell(mem, fd, offset_out);
      });
  return Finish(r);
}

uint32_t Z_wasi_snapshot_preview1Z_fd_write(Instance* instance, uint32_t fd,
                                            uint32_t iovs, uint32_t iovs_len,
                                            uint32_t nwritten_out) {
  const uint32_t r =
      Dispatch(instance, "fd_write", [&](WasiHost& host, GuestMemory mem) {
        return host.FdWrite(mem, fd, iovs, iovs_len, nwritten_out);
      });
  return Finish(r);
}

uint32_t Z_wasi_snapshot_preview1Z_path_create_directory(Instance* instance,
                                                         uint32_t fd,
                                                         uint32_t path,
                                                         uint32_t path_len) {
  const uint32_t r = Dispatch(
      instance, "path_create_directory", [&](WasiHost& host, GuestMemory mem) {
        return host.PathCreateDirectory(mem, fd, path, path_len);
      });
  return Finish(r);
}

uint32_t Z_wasi_snapshot_preview1Z_path_filestat_get(
    Instance* instance, uint32_t fd, uint32_t flags, uint32_t path,
    uint32_t path_len, uint32_t stat_out) {
  const uint32_t r = Dispatch(
      instance, "path_filestat_get", [&](WasiHost& host, GuestMemory mem) {
        return host.PathFilestatGet(mem, fd, flags, path, path_len, stat_out);
      });
  return Finish(r);
}

uint32_t Z_wasi_snapshot_preview1Z_path_filestat_set_times(
    Instance* instance, uint32_t fd, uint32_t flags, uint32_t path,
    uint32_t path_len, uint64_t atim, uint64_t mtim, uint32_t fst_flags) {
  const uint32_t r =
      Dispatch(instance, "path_filestat_set_times",
               [&](WasiHost& host, GuestMemory mem) {
                 return host.PathFilestatSetTimes(
                     mem, fd, flags, path, path_len, atim, mtim, fst_flags);
               });
  return Finish(r);
}

uint32_t Z_wasi_snapshot_preview1Z_path_link(
    Instance* instance, uint32_t old_fd, uint32_t old_flags, uint32_t old_path,
    uint32_t old_path_len, uint32_t new_fd, uint32_t new_path,
    uint32_t new_path_len) {
  const uint32_t r =
      Dispatch(instance, "path_link", [&](WasiHost& host, GuestMemory mem) {
        return host.PathLink(mem, old_fd, old_flags, old_path, old_path_len,
                             new_fd, new_path, new_path_len);
      });
  return Finish(r);
}

uint32_t Z_wasi_snapshot_preview1Z_path_open(
    Instance* instance, uint32_t dirfd, uint32_t dirflags, uint32_t path,
    uint32_t path_len, uint32_t oflags, uint64_t rights_base,
    uint64_t rights_inheriting, uint32_t fdflags, uint32_t fd_out) {
  const uint32_t r =
      Dispatch(instance, "path_open", [&](WasiHost& host, GuestMemory mem) {
        return host.PathOpen(mem, dirfd, dirflags, path, path_len, oflags,
                             rights_base, rights_inheriting, fdflags, fd_out);
      });
  return Finish(r);
}

uint32_t Z_wasi_snapshot_preview1Z_path_readlink(Instance* instance,
                                                 uint32_t fd, uint32_t path,
                                                 uint32_t path_len,
                                                 uint32_t buf, uint32_t buf_len,
                                                 uint32_t bufused_out) {
  const uint32_t r =
      Dispatch(instance, "path_readlink", [&](WasiHost& host, GuestMemory mem) {
        return host.PathReadlink(mem, fd, path, path_len, buf, buf_len,
                                 bufused_out);
      });
  return Finish(r);
}

uint32_t Z_wasi_snapshot_preview1Z_path_remove_directory(Instance* instance,
                                                         uint32_t fd,
                                                         uint32_t path,
                                                         uint32_t path_len) {
  const uint32_t r = Dispatch(
      instance, "path_remove_directory", [&](WasiHost& host, GuestMemory mem) {
        return host.PathRemoveDirectory(mem, fd, path, path_len);
      });
  return Finish(r);
}

uint32_t Z_wasi_snapshot_preview1Z_path_rename(
    Instance* instance, uint32_t fd, uint32_t old_path, uint32_t old_path_len,
    uint32_t new_fd, uint32_t new_path, uint32_t new_path_len) {
  const uint32_t r =
      Dispatch(instance, "path_rename", [&](WasiHost& host, GuestMemory mem) {
        return host.PathRename(mem, fd, old_path, old_path_len, new_fd,
                               new_path, new_path_len);
      });
  return Finish(r);
}

uint32_t Z_wasi_snapshot_preview1Z_path_symlink(Instance* instance,
                                                uint32_t old_path,
                                                uint32_t old_path_len,
                                                uint32_t fd, uint32_t new_path,
                                                uint32_t new_path_len) {
  const uint32_t r =
      Dispatch(instance, "path_symlink", [&](WasiHost& host, GuestMemory mem) {
        return host.PathSymlink(mem, old_path, old_path_len, fd, new_path,
                                new_path_len);
      });
  return Finish(r);
}

uint32_t Z_wasi_snapshot_preview1Z_path_unlink_file(Instance* instance,
                                                    uint32_t fd, uint32_t path,
                                                    uint32_t path_len) {
  const uint32_t r = Dispatch(
      instance, "path_unlink_file", [&](WasiHost& host, GuestMemory mem) {
        return host.PathUnlinkFile(mem, fd, path, path_len);
      });
  return Finish(r);
}

uint32_t Z_wasi_snapshot_preview1Z_poll_oneoff(Instance* instance, uint32_t in,
                                               uint32_t out,
                                               uint32_t nsubscriptions,
                                               uint32_t nevents_out) {
  const uint32_t r =
      Dispatch(instance, "poll_oneoff", [&](WasiHost& host, GuestMemory mem) {
        return host.PollOneoff(mem, in, out, nsubscriptions, nevents_out);
      });
  return Finish(r);
}

void Z_wasi_snapshot_preview1Z_proc_exit(Instance* instance, uint32_t rval) {
  const uint32_t r =
      Dispatch(instance, "proc_exit", [&](WasiHost& host, GuestMemory mem) {
        return host.ProcExit(mem, rval);
      });
  Finish(r);
}

uint32_t Z_wasi_snapshot_preview1Z_proc_raise(Instance* instance,
                                              uint32_t sig) {
  const uint32_t r =
      Dispatch(instance, "proc_raise", [&](WasiHost& host, GuestMemory mem) {
        return host.ProcRaise(mem, sig);
      });
  return Finish(r);
}

uint32_t Z_wasi_snapshot_preview1Z_random_get(Instance* instance, uint32_t buf,
                                              uint32_t buf_len) {
  const uint32_t r =
      Dispatch(instance, "random_get", [&](WasiHost& host, GuestMemory mem) {
        return host.RandomGet(mem, buf, buf_len);
      });
  return Finish(r);
}

uint32_t Z_wasi_snapshot_preview1Z_sched_yield(Instance* instance) {
  const uint32_t r = Dispatch(
      instance, "sched_yield",
      [&](WasiHost& host, GuestMemory mem) { return host.SchedYield(mem); });
  return Finish(r);
}

uint32_t Z_wasi_snapshot_preview1Z_sock_accept(Instance* instance, uint32_t fd,
                                               uint32_t flags,
                                               uint32_t fd_out) {
  const uint32_t r =
      Dispatch(instance, "sock_accept", [&](WasiHost& host, GuestMemory mem) {
        return host.SockAccept(mem, fd, flags, fd_out);
      });
  return Finish(r);
}

uint32_t Z_wasi_snapshot_preview1Z_sock_recv(
    Instance* instance, uint32_t fd, uint32_t ri_data, uint32_t ri_data_len,
    uint32_t ri_flags, uint32_t nread_out, uint32_t roflags_out) {
  const uint32_t r =
      Dispatch(instance, "sock_recv", [&](WasiHost& host, GuestMemory mem) {
        return host.SockRecv(mem, fd, ri_data, ri_data_len, ri_flags, nread_out,
                             roflags_out);
      });
  return Finish(r);
}

uint32_t Z_wasi_snapshot_preview1Z_sock_send(Instance* instance, uint32_t fd,
                                             uint32_t si_data,
                                             uint32_t si_data_len,
                                             uint32_t si_flags,
                                             uint32_t nwritten_out) {
  const uint32_t r =
      Dispatch(instance, "sock_send", [&](WasiHost& host, GuestMemory mem) {
        return host.SockSend(mem, fd, si_data, si_data_len, si_flags,
                             nwritten_out);
      });
  return Finish(r);
}

uint32_t Z_wasi_snapshot_preview1Z_sock_shutdown(Instance* instance,
                                                 uint32_t fd, uint32_t how) {
  const uint32_t r =
      Dispatch(instance, "sock_shutdown", [&](WasiHost& host, GuestMemory mem) {
        return host.SockShutdown(mem, fd, how);
      });
  return Finish(r);
}

}  // extern "C"
