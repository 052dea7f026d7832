#include "wasi/workspace_quota.h"

#include <algorithm>
#include <utility>

#include "base/workspace_usage.h"

namespace snakecage::wasi {

WorkspaceQuota::WorkspaceQuota(uint64_t max_bytes, std::vector<UniqueFd> roots)
    : max_bytes_(max_bytes), roots_(std::move(roots)) {}

void WorkspaceQuota::MeasureOnce() {
  if (measured_) return;
  measured_ = true;
  for (const UniqueFd& root : roots_) {
    // A tree that cannot be walked whole counts as full: refusing writes is
    // the safe answer, and the guest sees why (NOSPC).
    const WorkspaceUsage u = MeasureWorkspace(root.get());
    used_ += u.error == 0 ? u.bytes : max_bytes_ + 1;
  }
}

bool WorkspaceQuota::Grow(uint64_t from, uint64_t to) {
  MeasureOnce();
  if (to <= from) return true;
  const uint64_t more = to - from;
  if (used_ > max_bytes_ || more > max_bytes_ - used_) {
    ++refusals_;
    return false;
  }
  used_ += more;
  return true;
}

void WorkspaceQuota::Shrink(uint64_t from, uint64_t to) {
  MeasureOnce();
  if (to >= from) return;
  used_ -= std::min(used_, from - to);
}

uint64_t WorkspaceQuota::LargestFileSize(uint64_t size) {
  MeasureOnce();
  const uint64_t now = ChargeForFileSize(size);
  const uint64_t room = used_ >= max_bytes_ ? 0 : max_bytes_ - used_;
  return std::max(size, LargestFileSizeFor(now + room));
}

}  // namespace snakecage::wasi
