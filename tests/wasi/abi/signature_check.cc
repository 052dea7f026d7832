// Build-time check: wasm2c's own declarations of all 46 preview1 imports
// (gen/all_imports.h, generated from abi/all_imports.c) and ours
// (src/wasi/wasi_imports.h) in one translation unit. A different parameter
// list or return type for any Z_wasi_snapshot_preview1Z_* function is a
// "conflicting declaration of C function" error; a shim missing from
// wasi_imports.cc fails the link of wasi_guest_tests, which runs the module.
#include "all_imports.h"
#include "wasi/wasi_imports.h"

// The instance struct wasm2c forward-declares is the one we define.
static_assert(sizeof(Z_wasi_snapshot_preview1_instance_t) ==
              2 * sizeof(void*));
