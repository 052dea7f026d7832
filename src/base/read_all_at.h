// base/read_all_at.h: read a whole buffer from a descriptor at an offset,
// through short reads and EINTR. Header only.
//
// Thread-safety: as pread(2).
#pragma once

#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>

namespace snakecage {

// False when the bytes could not all be read; errno then says why (EIO when
// the file ended first).
inline bool ReadAllAt(int fd, void* buf, size_t n, uint64_t offset) {
  auto* p = static_cast<uint8_t*>(buf);
  while (n > 0) {
    const ssize_t got = ::pread(fd, p, n, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got == 0) errno = EIO;
    if (got <= 0) return false;
    p += got;
    n -= static_cast<size_t>(got);
    offset += static_cast<uint64_t>(got);
  }
  return true;
}

}  // namespace snakecage
