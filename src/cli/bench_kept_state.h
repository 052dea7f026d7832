// cli/bench_kept_state.h: `snakecage bench`'s measures of a session that
// keeps its Python state (ExecutionPolicy::keep_state, issue 14):
//   - a committed execution of `x += 1`, a rolled-back one
//     (`x += 1; raise SystemExit(1)`) and a committed one of that same
//     code but for its status (`x += 1; raise SystemExit(0)`), each kind
//     in a block of its own and each execution timed around Executor::Run;
//   - the private memory (/proc/PID/smaps_rollup) of the idle live
//     interpreter holding an empty state (`x = 0`) and then a 10 MB list
//     (`[None] * 2_500_000`: 2.5 million 4-byte pointers);
//   - with a state of 100 small globals, the eviction (Executor::SaveState:
//     the save cell and writing the file) and the next execution, which
//     restores them into a new interpreter.
// Every answer is checked (state, exit status, and in the end that x counts
// exactly the commits); anything else is a host failure, never a number.
//
// Thread-safety: runs on the caller's thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "snakecage/executor.h"
#include "snakecage/status.h"

namespace snakecage::cli {

struct KeptStateMeasures {
  std::vector<double> commit_ms;
  std::vector<double> same_code_commit_ms;
  std::vector<double> rollback_ms;
  // ExecutionResult::duration_ms of each: from the live interpreter (or its
  // spare) taking the request to the end of the cell's guest run.
  std::vector<double> commit_in_child_ms;
  std::vector<double> same_code_commit_in_child_ms;
  std::vector<double> rollback_in_child_ms;
  uint64_t idle_private_bytes_empty = 0;
  uint64_t idle_private_bytes_10mb = 0;
  std::vector<double> evict_ms;    // SaveState with 100 small globals
  std::vector<double> restore_ms;  // the execution that restores them
};

// `workspace`: an empty directory, the session's; its state is dropped at
// the end. `warmup` untimed executions precede the `runs` timed ones of
// each kind; `restores` eviction and restore pairs are timed.
StatusOr<KeptStateMeasures> TimeKeptState(Executor& executor,
                                          const std::filesystem::path& workspace,
                                          uint64_t warmup, uint64_t runs, uint64_t restores);

}  // namespace snakecage::cli
