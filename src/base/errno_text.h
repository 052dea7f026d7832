// base/errno_text.h: an errno value as error messages show it. Header only.
//
// Thread-safety: glibc's strerror and strerrorname_np are (their texts are
// static).
#pragma once

#include <cstring>
#include <string>

namespace snakecage {

// "No such file or directory".
inline std::string ErrnoText(int err) { return std::strerror(err); }

// "ENOENT (No such file or directory)": for messages an operator reads to
// find a kernel feature or a limit (confinement, start-up).
inline std::string ErrnoNameAndText(int err) {
  const char* name = strerrorname_np(err);
  return std::string(name != nullptr ? name : "errno " + std::to_string(err)) + " (" +
         std::strerror(err) + ")";
}

}  // namespace snakecage
