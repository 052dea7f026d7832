// The WASI host's path resolver (wasi/path_resolver.h) on its own: any guest
// path, any open flags, against a tree whose symlinks point out of it (up,
// absolute, in a loop) as well as within it.
//
// The input is a list of calls: one byte choosing the method and flags, one
// byte of length, then that many bytes of path. Invariants after each call:
//   - a descriptor it returns names something beneath the root (checked
//     through /proc/self/fd: the kernel's own answer);
//   - a Parent's name is one component (non-empty, no '/'), and a dot name
//     is flagged; an AtTarget with AT_EMPTY_PATH has an empty name;
//   - the denial callback runs exactly when the result is kNotcapable;
//   - the error is a WASI errno of the closed table (1..76).
#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "base/unique_fd.h"
#include "wasi/path_resolver.h"

namespace fs = std::filesystem;
using snakecage::UniqueFd;
using snakecage::wasi::PathResolver;
namespace abi = snakecage::wasi::abi;

namespace {

struct Tree {
  fs::path base;  // holds root/ and outside/
  fs::path root;
  UniqueFd root_fd;
};

const Tree& TheTree() {
  static const Tree* tree = [] {
    auto* t = new Tree;
    char pattern[] = "/tmp/snakecage-fuzz-resolver-XXXXXX";
    if (mkdtemp(pattern) == nullptr) std::abort();
    t->base = fs::canonical(pattern);
    t->root = t->base / "root";
    fs::create_directories(t->root / "a" / "b");
    fs::create_directories(t->base / "outside");
    std::ofstream(t->root / "a" / "b" / "file.txt") << "in";
    std::ofstream(t->base / "outside" / "secret.txt") << "out";
    fs::create_symlink("../outside", t->root / "up");
    fs::create_symlink("/etc", t->root / "abs");
    fs::create_symlink("a/b", t->root / "in");
    fs::create_symlink("loop", t->root / "loop");
    fs::create_symlink("../../outside/secret.txt", t->root / "a" / "deep");
    t->root_fd.Reset(::open(t->root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!t->root_fd.valid()) std::abort();
    return t;
  }();
  return *tree;
}

// Aborts unless `fd` names the root or something beneath it.
void CheckBeneath(int fd) {
  std::error_code ec;
  const fs::path target = fs::read_symlink("/proc/self/fd/" + std::to_string(fd), ec);
  if (ec) std::abort();
  const std::string root = TheTree().root.string();
  const std::string t = target.string();
  if (t != root && t.rfind(root + "/", 0) != 0) std::abort();
}

void CheckError(abi::Errno e, bool denied) {
  if (e == abi::kSuccess || e > 76) std::abort();
  if ((e == abi::kNotcapable) != denied) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Tree& tree = TheTree();
  bool denied = false;
  const PathResolver resolver([&denied](std::string_view, std::string_view) { denied = true; });
  size_t pos = 0;
  for (int calls = 0; calls < 32 && pos + 2 <= size; ++calls) {
    const uint8_t op = data[pos];
    const size_t len = std::min<size_t>(data[pos + 1], size - pos - 2);
    const std::string_view path(reinterpret_cast<const char*>(data + pos + 2), len);
    pos += 2 + len;
    denied = false;
    switch (op % 3) {
      case 0: {
        uint64_t flags = O_RDONLY;
        if (op & 0x04) flags = O_PATH;
        if (op & 0x08) flags |= O_DIRECTORY;
        if (op & 0x10) flags |= O_NOFOLLOW;
        auto r = resolver.Open("fuzz", tree.root_fd.get(), path, flags);
        if (r.ok()) {
          if (denied) std::abort();
          CheckBeneath(r.value.get());
        } else {
          CheckError(r.error, denied);
        }
        break;
      }
      case 1: {
        auto r = resolver.OpenParent("fuzz", tree.root_fd.get(), path);
        if (r.ok()) {
          if (denied) std::abort();
          CheckBeneath(r.value.dir.get());
          const std::string& name = r.value.name;
          if (name.empty() || name.find('/') != std::string::npos) std::abort();
          if (r.value.is_dot != (name == "." || name == "..")) std::abort();
        } else {
          CheckError(r.error, denied);
        }
        break;
      }
      case 2: {
        auto r = resolver.OpenAtTarget("fuzz", tree.root_fd.get(), path, (op & 0x04) != 0);
        if (r.ok()) {
          if (denied) std::abort();
          CheckBeneath(r.value.dir.get());
          if ((r.value.at_flags == AT_EMPTY_PATH) != r.value.name.empty()) std::abort();
          if (r.value.name.find('/') != std::string::npos) std::abort();
        } else {
          CheckError(r.error, denied);
        }
        break;
      }
    }
  }
  return 0;
}
