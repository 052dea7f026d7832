// base/write_all.h: write a whole buffer to a descriptor, through short
// writes and EINTR. Header only.
//
// Thread-safety: as write(2).
#pragma once

#include <unistd.h>

#include <cerrno>
#include <string_view>

namespace snakecage {

// False when the descriptor stopped taking bytes (an error, or a write of 0);
// errno then says why. A reader that went away is the usual cause.
inline bool WriteAll(int fd, std::string_view bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace snakecage
