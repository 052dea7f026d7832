// engine/startup_snapshot.h: the guest interpreter as it stands at
// user_code_begin, saved to a file, so that a process can resume there
// instead of starting the interpreter (about 30 ms) every time.
//
// What it holds: the guest's linear memory, its one mutable global (the
// wasm stack pointer), the entry the guest handed to user_code_begin (a
// function-table index; guest/snakecage_main.c). Nothing of the host is in it: what the host opened for
// start-up (its WASI host, its preopens) is built again from the policy,
// exactly as a zygote's child builds its own (executor/zygote_child.h).
//
// A snapshot is only valid for the guest that wrote it and for the start-up
// it was written under: its header names the guest (GuestIdentity(), a hash
// of the compiled module) and the start-up (an `identity` text, the
// executor's start-up key). OpenStartupSnapshot() refuses any other.
//
// RunGuest (guest_runner.h) writes one at user_code_begin when asked, and
// resumes from one: the user's code then runs in the same memory, from the
// same entry, at the same native stack depth (RunGuest starts it at a fixed
// depth either way), so its fuel and result are those of a start-up without
// the snapshot.
//
// File layout (all integers little-endian):
//   [0, 4096)  header: kSnapshotMagic, the guest identity, the fields of
//              StartupSnapshot, the start-up identity text
//   [4096, 4096 + memory_pages * 64 KiB)  the linear memory
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "base/unique_fd.h"
#include "engine/installation.h"
#include "engine/startup_key.h"
#include "snakecage/status.h"

namespace snakecage {

// What identifies the compiled guest this engine runs: the SHA-256 of its
// module, in hex (generated at build time).
std::string_view GuestIdentity();

struct StartupSnapshot {
  std::string identity;        // the start-up it was written under
  uint32_t stack_pointer = 0;  // the guest's __stack_pointer
  uint32_t entry = 0;          // the function-table index run_user_code has
  uint32_t memory_pages = 0;   // linear memory size, in 64 KiB pages
  // Open on the file; the memory starts at kSnapshotMemoryOffset.
  UniqueFd file;
  // How RunGuest puts the memory in place (not part of the file).
  enum class Load {
    // Read into the process's own anonymous memory: every page resident,
    // as after a start-up (a zygote that forks many children: fork copies
    // its huge-page entries, and no child faults a page in from the file).
    kCopy,
    // Mapped copy-on-write from the file: only the pages touched are read
    // (a zygote that serves one execution).
    kMap,
  };
  Load load = Load::kCopy;
};

inline constexpr uint64_t kSnapshotMemoryOffset = 4096;

// Writes `snapshot`'s fields and `memory_pages` pages from `memory` to
// `path`, through a temporary file renamed into place (a reader sees the
// old file or the whole new one).
Status WriteStartupSnapshot(const std::filesystem::path& path, const StartupSnapshot& snapshot,
                            const uint8_t* memory);

// Where the installation keeps the snapshot of `key`'s start-up.
std::filesystem::path StartupSnapshotPath(const Installation& installation,
                                          const StartupKey& key);

// OpenStartupSnapshot() of this process's installation's snapshot for
// `key`; the installation's own error when it cannot be located.
StatusOr<StartupSnapshot> OpenInstalledStartupSnapshot(const StartupKey& key);

// Opens the snapshot at `path` if it was written by this guest under
// `identity`. NotFound when there is no file; Internal naming what differs
// (another guest, another start-up) or what is broken (a truncated file).
StatusOr<StartupSnapshot> OpenStartupSnapshot(const std::filesystem::path& path,
                                              std::string_view identity);

}  // namespace snakecage
