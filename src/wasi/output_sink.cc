#include "wasi/output_sink.h"

#include <algorithm>
#include <utility>

namespace snakecage::wasi {

void OutputSink::Append(const uint8_t* bytes, size_t n) {
  // Space left under the cap counts bytes already written, kept or taken.
  const uint64_t kept_so_far = std::min<uint64_t>(total_, cap_);
  const uint64_t room = cap_ - kept_so_far;
  const uint64_t keep = std::min<uint64_t>(room, n);
  if (keep > 0) data_.append(reinterpret_cast<const char*>(bytes), keep);
  total_ += n;
}

std::string OutputSink::TakeData() { return std::exchange(data_, {}); }

}  // namespace snakecage::wasi
