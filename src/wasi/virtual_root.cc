#include "wasi/virtual_root.h"

#include <utility>

namespace snakecage::wasi {
namespace {

// The components of an absolute, normal guest path ("/a/b" -> {"a", "b"}),
// or an error saying what is wrong with it.
StatusOr<std::vector<std::string>> MountComponents(const std::string& path,
                                                   const std::string& field) {
  if (path.empty() || path.front() != '/') {
    return InvalidArgument(field + ": \"" + path + "\" is not absolute");
  }
  std::vector<std::string> parts;
  size_t pos = 1;
  while (pos <= path.size()) {
    size_t end = path.find('/', pos);
    if (end == std::string::npos) end = path.size();
    std::string part = path.substr(pos, end - pos);
    if (part == "." || part == "..") {
      return InvalidArgument(field + ": \"" + path + "\" has a \"" + part +
                             "\" component");
    }
    if (!part.empty()) parts.push_back(std::move(part));
    pos = end + 1;
  }
  if (parts.empty()) {
    return InvalidArgument(field + ": \"/\" is the virtual root itself");
  }
  return parts;
}

}  // namespace

StatusOr<VirtualRoot> VirtualRoot::Create(
    const std::vector<std::string>& guest_paths) {
  VirtualRoot root;
  root.nodes_.emplace_back();  // kRootNode
  for (size_t i = 0; i < guest_paths.size(); ++i) {
    const std::string field = "preopens[" + std::to_string(i) + "].guest_path";
    StatusOr<std::vector<std::string>> parts =
        MountComponents(guest_paths[i], field);
    if (!parts.ok()) return parts.status();
    int at = kRootNode;
    for (const std::string& part : *parts) {
      if (root.nodes_[static_cast<size_t>(at)].mount >= 0) break;  // nested
      auto found = root.nodes_[static_cast<size_t>(at)].children.find(part);
      if (found != root.nodes_[static_cast<size_t>(at)].children.end()) {
        at = found->second;
        continue;
      }
      const int next = static_cast<int>(root.nodes_.size());
      root.nodes_.push_back(Node{at, {}, -1});
      root.nodes_[static_cast<size_t>(at)].children.emplace(part, next);
      at = next;
    }
    // A mount nested in another is reached through wasi-libc's longest
    // prefix, never through the tree; one that holds others hides them.
    Node& n = root.nodes_[static_cast<size_t>(at)];
    if (n.mount < 0) {
      n.mount = static_cast<int>(i);
      n.children.clear();
    }
  }
  return root;
}

Resolved<VirtualRoot::Place> VirtualRoot::Walk(int from,
                                               std::string_view path) const {
  if (path.empty()) return {abi::kNoent};
  if (path.front() == '/') return {abi::kNotcapable};
  int at = from;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view part = path.substr(pos, end - pos);
    const bool last = path.find_first_not_of('/', end) == std::string_view::npos;
    pos = end + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      at = nodes_[static_cast<size_t>(at)].parent;
      continue;
    }
    const Node& n = nodes_[static_cast<size_t>(at)];
    auto found = n.children.find(std::string(part));
    if (found == n.children.end()) {
      if (!last) return {abi::kNoent};
      Place absent;
      absent.kind = Place::Kind::kAbsent;
      absent.node = at;
      return {abi::kSuccess, std::move(absent)};
    }
    const Node& child = nodes_[static_cast<size_t>(found->second)];
    if (child.mount >= 0) {
      // ".." right at a mount's top is the tree again ("app/../usr").
      size_t next = pos;
      while (next < path.size()) {
        size_t stop = path.find('/', next);
        if (stop == std::string_view::npos) stop = path.size();
        const std::string_view ahead = path.substr(next, stop - next);
        if (!ahead.empty() && ahead != ".") {
          if (ahead == "..") pos = stop + 1;
          break;
        }
        next = stop + 1;
      }
      if (pos > next) continue;  // consumed the "..": still at `at`

      Place mount;
      mount.kind = Place::Kind::kMount;
      mount.mount = child.mount;
      // The rest as written, without the separators that led to it.
      const size_t rest = pos < path.size() ? path.find_first_not_of('/', pos)
                                            : std::string_view::npos;
      mount.rest = rest == std::string_view::npos
                       ? std::string(".")
                       : std::string(path.substr(rest));
      return {abi::kSuccess, std::move(mount)};
    }
    at = found->second;
  }
  Place dir;
  dir.node = at;
  return {abi::kSuccess, std::move(dir)};
}

}  // namespace snakecage::wasi
