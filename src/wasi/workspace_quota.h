// wasi/workspace_quota.h: the WASI host's bound on what the guest may store
// in its writable mounts (ExecutionPolicy::workspace_max_bytes), counted
// under the rule of base/workspace_usage.h.
//
// The mounts are measured once, at the first call that could make them
// grow (an execution that writes nothing pays nothing); from then on every
// growing call asks Grow() first and every shrinking one calls Shrink(), so
// the count follows the tree without walking it again. A call refused here
// fails with NOSPC, as a full disk would, and is counted in refusals().
//
// The count errs on the safe side: space of a file the guest removes while
// it still holds it open is not given back in this execution (the next one
// measures afresh).
//
// Thread-safety: used by the guest's thread only, like the WasiHost.
#pragma once

#include <cstdint>
#include <vector>

#include "base/unique_fd.h"

namespace snakecage::wasi {

class WorkspaceQuota {
 public:
  // `roots`: descriptors of the writable mounts' directories (owned).
  WorkspaceQuota(uint64_t max_bytes, std::vector<UniqueFd> roots);

  // Replaces a charge of `from` bytes by `to` bytes (to > from). True when
  // the total stays within max_bytes; false, changing nothing and counting a
  // refusal, otherwise.
  bool Grow(uint64_t from, uint64_t to);
  // Gives back `from - to` bytes (to <= from).
  void Shrink(uint64_t from, uint64_t to);
  // The largest apparent size a regular file of `size` bytes may reach
  // without going over (at least `size`).
  uint64_t LargestFileSize(uint64_t size);
  // Counts a call refused because LargestFileSize() left no room.
  void RecordRefusal() { ++refusals_; }

  // A new execution over the same mounts (a kept-state cell): a new bound,
  // no refusals, and the mounts measured again at the next growing call
  // (the files may have changed between executions).
  void StartOver(uint64_t max_bytes) {
    max_bytes_ = max_bytes;
    measured_ = false;
    used_ = 0;
    refusals_ = 0;
  }

  uint64_t max_bytes() const { return max_bytes_; }
  uint64_t refusals() const { return refusals_; }

 private:
  void MeasureOnce();

  uint64_t max_bytes_;
  std::vector<UniqueFd> roots_;
  bool measured_ = false;
  uint64_t used_ = 0;
  uint64_t refusals_ = 0;
};

}  // namespace snakecage::wasi
