// The `snakecage` import module: how the guest interpreter tells the host
// where the user's code starts and ends, and what it died of
// (guest/snakecage_main.c).
//
// user_code_begin(entry): the fuel budget starts here, so interpreter
// start-up is never charged; then the host runs the user's code by calling
// `entry` (a function-table index: the guest's run_user_code), which ends
// the process. A start-up snapshot (startup_snapshot.h) resumes at the same
// call. user_code_end(): the script and its atexit handlers are done; what
// follows (flushing, exit) is not charged either.
// missing_module(ptr, len): the user's code ended with an uncaught
// ModuleNotFoundError for the module named by the UTF-8 bytes at ptr.
// keeps_state(): 1 when the execution keeps its state (a session's cell,
// ExecutionPolicy::keep_state), else 0; asked once after user_code_begin.
// cell_end(status): a kept-state cell is done with exit status `status`
// (its files and std streams flushed); returns only when the next cell
// begins, as CellHooks says.
// cell_kind(): what the current kept-state cell is (CellKind).
// state_saved(ptr, len): a save cell's pickled globals.
// state_dropped(ptr, len): a JSON list of the global names a save or a
// restore could not keep.
//
// Thread-safety: used on the guest's thread only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "wasm-rt.h"

namespace snakecage {

struct FuelAccount {
  uint64_t* fuel = nullptr;  // the guest's exported `snakecage_fuel` global
  // Called at user_code_begin before the budget starts, with the guest's
  // entry; may set `budget`.
  void (*on_begin)(void* arg, uint32_t entry) = nullptr;
  // Called once the budget has started: runs the guest's entry.
  void (*run_user_code)(void* arg, uint32_t entry) = nullptr;
  void* on_begin_arg = nullptr;
  uint64_t budget = 0;
  bool begun = false;
  bool ended = false;
  int64_t remaining_at_end = 0;  // valid when ended
};

// What a kept-state cell does (guest/snakecage_main.c has the same values).
enum class CellKind : int32_t {
  kScript = 0,   // runs the script
  kSave = 1,     // hands the host the globals it can keep; never committed
  kRestore = 2,  // puts back the globals of an earlier save, then runs the script
};

// The cells of an execution that keeps its state (engine/guest_runner.h,
// CellEndHandler).
struct CellHooks {
  bool keeps_state = false;  // what keeps_state() answers; set at user_code_begin
  CellKind kind = CellKind::kScript;  // what cell_kind() answers; set per cell
  // Called at cell_end; returns when the next cell's budget has started.
  void (*on_cell_end)(void* arg, int32_t exit_code) = nullptr;
  void* arg = nullptr;
};

// What the guest reported about the user's code besides its fuel.
struct GuestReports {
  // Longest module name kept; a longer one is cut (a name is an identifier
  // path, so this only bounds what a hostile guest can make the host store).
  static constexpr size_t kMaxModuleNameBytes = 512;
  std::optional<std::string> missing_module;
  // A save cell's pickled globals, and the names a save or restore dropped
  // (a JSON list; longer than kMaxDroppedJsonBytes is ignored).
  static constexpr size_t kMaxDroppedJsonBytes = 1 << 20;
  std::optional<std::string> saved_state;
  std::optional<std::string> state_dropped_json;
};

}  // namespace snakecage

// The import-instance struct wasm2c passes to the `snakecage` imports.
struct Z_snakecage_instance_t {
  snakecage::FuelAccount* fuel;
  snakecage::GuestReports* reports;
  snakecage::CellHooks* cells;
  wasm_rt_memory_t* memory;  // the guest's, for reading what it reports
};
