// wasi/errno_map.h: host errno -> WASI errno, in one table.
//
// Every place in the WASI host that turns a failed host call into the value
// the guest sees goes through WasiErrnoFromHost(). There is no second table.
//
// Thread-safety: pure function.
#pragma once

#include "wasi/wasi_abi.h"

namespace snakecage::wasi {

// Maps a Linux errno value (e.g. ENOENT) to the preview1 errno the guest sees
// (abi::kNoent). 0 maps to abi::kSuccess. An errno value preview1 has no name
// for maps to abi::kIo. EXDEV maps to abi::kXdev: an openat2 escape (also
// EXDEV) is classified by the path resolver before this table is consulted.
abi::Errno WasiErrnoFromHost(int host_errno);

}  // namespace snakecage::wasi
