// base/scoped_temp_dir.h: a fresh directory under the temporary directory,
// removed with everything in it when its owner goes out of scope.
//
// Header only. Thread-safety: like any value; one owner.
#pragma once

#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>

#include "snakecage/status.h"

namespace snakecage {

class ScopedTempDir {
 public:
  ScopedTempDir() = default;
  ScopedTempDir(const ScopedTempDir&) = delete;
  ScopedTempDir& operator=(const ScopedTempDir&) = delete;
  ~ScopedTempDir() { Remove(); }

  // Removes the directory and everything in it now (best effort); path()
  // is empty after.
  void Remove() {
    if (!path_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(path_, ec);
      path_.clear();
    }
  }

  // Creates <$TMPDIR or /tmp>/<prefix>XXXXXX (mode 0700). The error names
  // the directory it could not create in. REQUIRES: not created yet.
  Status Create(std::string_view prefix) {
    std::error_code ec;
    std::filesystem::path base = std::filesystem::temp_directory_path(ec);
    if (ec) base = "/tmp";
    std::string pattern = (base / (std::string(prefix) + "XXXXXX")).string();
    if (mkdtemp(pattern.data()) == nullptr) {
      return Internal("cannot create a directory in " + base.string() + ": " +
                      std::strerror(errno));
    }
    path_ = pattern;
    return Status::Ok();
  }

  // Empty until Create() succeeded.
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace snakecage
