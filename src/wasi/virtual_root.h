// wasi/virtual_root.h: the guest's "/", a read-only directory tree made of
// nothing but the guest paths of its preopens.
//
// wasi-libc maps an absolute path to the preopen with the longest matching
// prefix. Without a preopen named "/", a path under none of them ("/",
// "/usr", "/etc/passwd") never reaches the host and fails with NOTCAPABLE,
// so `os.listdir("/")` fails and `Path("/nope").exists()` raises. WasiHost
// (WasiConfig::virtual_root) therefore offers one more preopen, "/", backed
// by this tree and by no host directory: its directories are the
// components of the mount points ("/usr/local/lib/python3.11" gives "usr",
// "usr/local", ...), and a mount point hands the rest of the path to its
// mount. Everything else is absent (NOENT), and nothing in the tree can be
// written (what Linux answers on a read-only file system).
//
// A path walked here is split at '/' and read component by component:
// "" and "." stay, ".." goes up (and stays at the top, like "/.."), a name
// goes down. No host call is made. A ".." right after a mount point comes
// back into the tree ("app/../usr"); otherwise the rest of the path,
// exactly as written, is resolved beneath that mount by the kernel
// (path_resolver.h), so a ".." deeper in ("app/x/../../usr", where x may
// be a symlink) is refused there as an escape, as it is for any path.
//
// Thread-safety: immutable after construction.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "snakecage/status.h"
#include "wasi/path_resolver.h"

namespace snakecage::wasi {

class VirtualRoot {
 public:
  // Node 0 is the root.
  static constexpr int kRootNode = 0;

  // One directory of the tree, named by its parent; or a mount point.
  struct Node {
    int parent = kRootNode;             // the root is its own parent
    std::map<std::string, int> children;  // sorted, as fd_readdir lists them
    int mount = -1;                     // preopen index at a mount point
  };

  // Where a walked path ends.
  struct Place {
    enum class Kind {
      kDirectory,  // a directory of the tree: `node`
      kMount,      // beneath preopen `mount`, at `rest` ("." for its top)
      kAbsent,     // the last component is absent from directory `node`
    };
    Kind kind = Kind::kDirectory;
    int node = kRootNode;
    int mount = -1;
    std::string rest;
  };

  // `guest_paths[i]` is preopen i's guest path: absolute, no "." or ".."
  // component, not "/" itself. Errors name the preopen
  // ("preopens[2].guest_path: ...").
  static StatusOr<VirtualRoot> Create(const std::vector<std::string>& guest_paths);

  // Walks `path` from directory `from`. Errors: kNoent for "" or when a
  // component before the last is absent; kNotcapable for an absolute path
  // (the caller reports it as an escape, as the resolver does).
  Resolved<Place> Walk(int from, std::string_view path) const;

  const Node& node(int i) const { return nodes_[static_cast<size_t>(i)]; }
  // A stable inode number for node `i`, never 0.
  static uint64_t InodeOf(int i) { return static_cast<uint64_t>(i) + 1; }

 private:
  std::vector<Node> nodes_;
};

}  // namespace snakecage::wasi
