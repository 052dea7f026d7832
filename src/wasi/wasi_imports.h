// wasi/wasi_imports.h: the wasi_snapshot_preview1 imports as wasm2c calls
// them, and the import-instance struct the engine fills.
//
// wasm2c (WABT 1.0.32) turns each import `wasi_snapshot_preview1.<name>` into
// a call to the C function Z_wasi_snapshot_preview1Z_<name>, passing the
// module's `struct Z_wasi_snapshot_preview1_instance_t*` (the pointer given
// to the module's _instantiate function) first, then i32/i64 params as
// u32/u64, returning the errno as u32. The declarations below are exactly
// those; tests/wasi/abi/ compiles them next to a wasm2c-generated header that
// imports all 46 functions, so a mismatch fails the build.
//
// Engine usage (module name M):
//   Z_M_instance_t module;
//   Z_wasi_snapshot_preview1_instance_t wasi{host.get(),
//                                            Z_MZ_memory(&module)};
//   Z_M_init_module();                   // once per process
//   Z_M_instantiate(&module, &wasi);
//   if (wasm_rt_impl_try() == 0) Z_MZ__start(&module);  // or its equivalent
//   then host->unwind() says how the guest stopped (see wasi_host.h).
// Z_MZ_memory() only returns the address of the instance's memory field, so
// it may be taken before _instantiate (a start function may already call
// WASI). `memory` must stay valid for as long as the guest runs; its data and
// size may change with memory.grow, and every call re-reads them.
//
// Unwinding: a shim whose WasiHost call returns WasiHost::kUnwind calls
// wasm_rt_trap(WASM_RT_TRAP_UNREACHABLE) after every C++ frame has returned
// (the engine's runtime longjmps to its wasm_rt_impl_try()). A C++ exception
// escaping a call is caught in the shim and recorded as TrapReason::kHostError
// before the same unwind; no exception crosses the C frames of the guest.
//
// Thread-safety: as WasiHost: the guest's thread only.
#pragma once

#include <stdint.h>

#include "wasm-rt.h"

namespace snakecage::wasi {
class WasiHost;
}

extern "C" {

// Filled by the engine; both pointers are borrowed and must outlive the run.
struct Z_wasi_snapshot_preview1_instance_t {
  snakecage::wasi::WasiHost* host;
  wasm_rt_memory_t* memory;
};

// One line per import, as wasm2c prints them.
// clang-format off
uint32_t Z_wasi_snapshot_preview1Z_args_get(struct Z_wasi_snapshot_preview1_instance_t*, uint32_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_args_sizes_get(struct Z_wasi_snapshot_preview1_instance_t*, uint32_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_clock_res_get(struct Z_wasi_snapshot_preview1_instance_t*, uint32_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_clock_time_get(struct Z_wasi_snapshot_preview1_instance_t*, uint32_t, uint64_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_environ_get(struct Z_wasi_snapshot_preview1_instance_t*, uint32_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_environ_sizes_get(struct Z_wasi_snapshot_preview1_instance_t*, uint32_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_fd_advise(struct Z_wasi_snapshot_preview1_instance_t*, uint32_t, uint64_t, uint64_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_fd_allocate(struct Z_wasi_snapshot_preview1_instance_t*, uint32_t, uint64_t, uint64_t);
uint32_t Z_wasi_snapshot_preview1Z_fd_close(struct Z_wasi_snapshot_preview1_instance_t*, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_fd_datasync(struct Z_wasi_snapshot_preview1_instance_t*, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_fd_fdstat_get(struct Z_wasi_snapshot_preview1_instance_t*, uint32_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_fd_fdstat_set_flags(struct Z_wasi_snapshot_preview1_instance_t*, uint32_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_fd_fdstat_set_rights(struct Z_wasi_snapshot_preview1_instance_t*, uint32_t, uint64_t, uint64_t);
uint32_t Z_wasi_snapshot_preview1Z_fd_filestat_get(struct Z_wasi_snapshot_preview1_instance_t*, uint32_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_fd_filestat_set_size(struct Z_wasi_snapshot_preview1_instance_t*, uint32_t, uint64_t);
uint32_t Z_wasi_snapshot_preview1Z_fd_filestat_set_times(struct Z_wasi_snapshot_preview1_instance_t*, uint32_t, uint64_t, uint64_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_fd_pread(struct Z_wasi_snapshot_preview1_instance_t*, uint32_t, uint32_t, uint32_t, uint64_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_fd_prestat_dir_name(struct Z_wasi_snapshot_preview1_instance_t*, uint32_t, uint32_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_fd_prestat_get(struct Z_wasi_snapshot_preview1_instance_t*, uint32_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_fd_pwrite(struct Z_wasi_snapshot_preview1_instance_t*, uint32_t, uint32_t, uint32_t, uint64_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_fd_read(struct Z_wasi_snapshot_preview1_instance_t*, uint32_t, uint32_t, uint32_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_fd_readdir(struct Z_wasi_snapshot_preview1_instance_t*, uint32_t, uint32_t, uint32_t, uint64_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_fd_renumber(struct Z_wasi_snapshot_preview1_instance_t*, uint32_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_fd_seek(struct Z_wasi_snapshot_preview1_instance_t*, uint32_t, uint64_t, uint32_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_fd_sync(struct Z_wasi_snapshot_preview1_instance_t*, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_fd_tell(struct Z_wasi_snapshot_preview1_instance_t*, uint32_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_fd_write(struct Z_wasi_snapshot_preview1_instance_t*, uint32_t, uint32_t, uint32_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_path_create_directory(struct Z_wasi_snapshot_preview1_instance_t*, uint32_t, uint32_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_path_filestat_get(struct Z_wasi_snapshot_preview1_instance_t*, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_path_filestat_set_times(struct Z_wasi_snapshot_preview1_instance_t*, uint32_t, uint32_t, uint32_t, uint32_t, uint64_t, uint64_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_path_link(struct Z_wasi_snapshot_preview1_instance_t*, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_path_open(struct Z_wasi_snapshot_preview1_instance_t*, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, uint64_t, uint64_t, uint32_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_path_readlink(struct Z_wasi_snapshot_preview1_instance_t*, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_path_remove_directory(struct Z_wasi_snapshot_preview1_instance_t*, uint32_t, uint32_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_path_rename(struct Z_wasi_snapshot_preview1_instance_t*, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_path_symlink(struct Z_wasi_snapshot_preview1_instance_t*, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_path_unlink_file(struct Z_wasi_snapshot_preview1_instance_t*, uint32_t, uint32_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_poll_oneoff(struct Z_wasi_snapshot_preview1_instance_t*, uint32_t, uint32_t, uint32_t, uint32_t);
void Z_wasi_snapshot_preview1Z_proc_exit(struct Z_wasi_snapshot_preview1_instance_t*, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_proc_raise(struct Z_wasi_snapshot_preview1_instance_t*, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_random_get(struct Z_wasi_snapshot_preview1_instance_t*, uint32_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_sched_yield(struct Z_wasi_snapshot_preview1_instance_t*);
uint32_t Z_wasi_snapshot_preview1Z_sock_accept(struct Z_wasi_snapshot_preview1_instance_t*, uint32_t, uint32_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_sock_recv(struct Z_wasi_snapshot_preview1_instance_t*, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_sock_send(struct Z_wasi_snapshot_preview1_instance_t*, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t);
uint32_t Z_wasi_snapshot_preview1Z_sock_shutdown(struct Z_wasi_snapshot_preview1_instance_t*, uint32_t, uint32_t);
// clang-format on

}  // extern "C"
