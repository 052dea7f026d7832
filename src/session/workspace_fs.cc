#include "session/workspace_fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/random.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "base/errno_text.h"
#include "base/text.h"

namespace snakecage::session {
int ListDirectory(int dirfd, std::vector<std::string>* names) {
  const int fd = ::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -errno;
  DIR* dir = ::fdopendir(fd);
  if (dir == nullptr) {
    const int err = errno;
    ::close(fd);
    return -err;
  }
  errno = 0;
  while (struct dirent* entry = ::readdir(dir)) {
    const std::string_view name = entry->d_name;
    if (name != "." && name != "..") names->emplace_back(name);
    errno = 0;
  }
  const int err = errno;
  ::closedir(dir);
  if (err != 0) return -err;
  std::sort(names->begin(), names->end());
  return 0;
}

namespace {

Status Walk(int dirfd, const std::string& prefix, const WalkVisitor& visit) {
  std::vector<std::string> names;
  if (int rc = ListDirectory(dirfd, &names); rc < 0) {
    return Internal("cannot read directory " + Quote(prefix.empty() ? "." : prefix) + ": " +
                    ErrnoText(-rc));
  }
  for (const std::string& name : names) {
    const std::string rel = prefix.empty() ? name : prefix + "/" + name;
    struct stat st;
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;  // removed while walking
      return Internal("cannot stat " + Quote(rel) + ": " + ErrnoText(errno));
    }
    visit(rel, st);
    if (!S_ISDIR(st.st_mode)) continue;
    UniqueFd child(OpenComponent(dirfd, name, O_RDONLY | O_DIRECTORY));
    if (!child.valid()) {
      const int err = -child.Release();
      if (err == ENOENT || err == ENOTDIR || err == ELOOP) continue;  // replaced meanwhile
      return Internal("cannot open directory " + Quote(rel) + ": " + ErrnoText(err));
    }
    if (Status s = Walk(child.get(), rel, visit); !s.ok()) return s;
  }
  return Status::Ok();
}

// RemoveTree's worker: `rel` is the path of `name` below the caller's
// target, for error messages.
Status Remove(int parent_fd, const std::string& name, std::string_view display,
              const std::string& rel, uint64_t* removed) {
  const auto where = [&] {
    return rel.empty() ? Quote(display) : Quote(rel) + " (in " + Quote(display) + ")";
  };
  struct stat st;
  if (::fstatat(parent_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT && !rel.empty()) return Status::Ok();
    if (errno == ENOENT) return NotFound("path " + Quote(display) + " does not exist");
    return Internal("cannot stat " + where() + ": " + ErrnoText(errno));
  }
  if (S_ISDIR(st.st_mode)) {
    UniqueFd dir(OpenComponent(parent_fd, name, O_RDONLY | O_DIRECTORY));
    if (!dir.valid()) {
      return Internal("cannot open directory " + where() + ": " + ErrnoText(-dir.Release()));
    }
    std::vector<std::string> names;
    if (int rc = ListDirectory(dir.get(), &names); rc < 0) {
      return Internal("cannot read directory " + where() + ": " + ErrnoText(-rc));
    }
    for (const std::string& child : names) {
      const std::string child_rel = rel.empty() ? child : rel + "/" + child;
      if (Status s = Remove(dir.get(), child, display, child_rel, removed); !s.ok()) return s;
    }
  }
  if (::unlinkat(parent_fd, name.c_str(), S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) != 0) {
    if (errno == ENOENT && !rel.empty()) return Status::Ok();
    return Internal("cannot remove " + where() + ": " + ErrnoText(errno));
  }
  ++*removed;
  return Status::Ok();
}

}  // namespace

std::string_view RelativePathProblem(std::string_view path) {
  if (path.empty()) return "empty";
  if (path.size() > kMaxRelativePathBytes) return "too_long";
  if (path.find('\0') != std::string_view::npos) return "nul_byte";
  if (path.front() == '/') return "absolute";
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    if (path.substr(pos, end - pos) == "..") return "dot_dot";
    pos = end + 1;
  }
  return "";
}

Status CheckRelativePath(std::string_view path) {
  const std::string_view problem = RelativePathProblem(path);
  if (problem.empty()) return Status::Ok();
  std::string why;
  if (problem == "empty") {
    why = "is empty";
  } else if (problem == "too_long") {
    why = "is longer than 4095 bytes";
  } else if (problem == "nul_byte") {
    why = "contains a NUL byte";
  } else if (problem == "absolute") {
    why = "is absolute; paths are relative to the workspace";
  } else {
    why = "has a \"..\" component; paths must stay inside the workspace";
  }
  return InvalidArgument("path " + Quote(path) + " " + why);
}

int OpenOrCreateDirsBeneath(int dirfd, std::string_view parent, mode_t dir_mode) {
  const int whole = OpenBeneath(dirfd, std::string(parent), O_PATH | O_DIRECTORY);
  if (whole != -ENOENT) return whole;
  // Some component is missing: walk the prefixes of the caller's own path,
  // creating each missing directory in the descriptor of its prefix.
  UniqueFd current(OpenBeneath(dirfd, ".", O_PATH | O_DIRECTORY));
  if (!current.valid()) return current.Release();
  size_t pos = 0;
  while (pos < parent.size()) {
    size_t end = parent.find('/', pos);
    if (end == std::string_view::npos) end = parent.size();
    const std::string component(parent.substr(pos, end - pos));
    pos = end + 1;
    if (component.empty() || component == ".") continue;
    const std::string prefix(parent.substr(0, end));
    int fd = OpenBeneath(dirfd, prefix, O_PATH | O_DIRECTORY);
    if (fd == -ENOENT) {
      if (::mkdirat(current.get(), component.c_str(), dir_mode) != 0 && errno != EEXIST) {
        return -errno;
      }
      fd = OpenBeneath(dirfd, prefix, O_PATH | O_DIRECTORY);
    }
    if (fd < 0) return fd;
    current.Reset(fd);
  }
  return current.Release();
}

std::string RandomHex(size_t bytes) {
  std::vector<unsigned char> buf(bytes);
  size_t got = 0;
  while (got < bytes) {
    const ssize_t n = ::getrandom(buf.data() + got, bytes - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::perror("snakecage: getrandom");
      std::abort();  // no entropy source: nothing safe to fall back to
    }
    got += static_cast<size_t>(n);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes * 2);
  for (const unsigned char b : buf) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

int AtomicWriteAt(int dirfd, const std::string& name, std::string_view data, bool overwrite,
                  mode_t mode, bool sync, int staging_dirfd) {
  const int staging = staging_dirfd >= 0 ? staging_dirfd : dirfd;
  const std::string tmp = std::string(kTempFilePrefix) + RandomHex(8);
  UniqueFd fd(OpenComponent(staging, tmp, O_WRONLY | O_CREAT | O_EXCL, mode));
  if (!fd.valid()) return fd.Release();
  const auto fail = [&](int err) {
    fd.Reset();
    ::unlinkat(staging, tmp.c_str(), 0);
    return -err;
  };
  const char* p = data.data();
  size_t left = data.size();
  while (left > 0) {
    const ssize_t n = ::write(fd.get(), p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(errno);
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (sync && ::fsync(fd.get()) != 0) return fail(errno);
  fd.Reset();
  if (::renameat2(staging, tmp.c_str(), dirfd, name.c_str(), overwrite ? 0 : RENAME_NOREPLACE) ==
      0) {
    return 0;
  }
  int err = errno;
  if (!overwrite && err == EINVAL) {
    // A filesystem without RENAME_NOREPLACE: link(2) refuses an existing
    // name just the same.
    if (::linkat(staging, tmp.c_str(), dirfd, name.c_str(), 0) == 0) {
      ::unlinkat(staging, tmp.c_str(), 0);
      return 0;
    }
    err = errno;
  }
  ::unlinkat(staging, tmp.c_str(), 0);
  return -err;
}

int ReadAll(int fd, std::string* out) {
  out->clear();
  struct stat st;
  if (::fstat(fd, &st) == 0 && st.st_size > 0) out->reserve(static_cast<size_t>(st.st_size));
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n == 0) return 0;
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    out->append(buf, static_cast<size_t>(n));
  }
}

Status WalkTree(int dirfd, const WalkVisitor& visit) { return Walk(dirfd, "", visit); }

StatusOr<uint64_t> RegularFileBytes(int dirfd) {
  uint64_t total = 0;
  Status s = WalkTree(dirfd, [&](const std::string&, const struct stat& st) {
    if (S_ISREG(st.st_mode)) total += static_cast<uint64_t>(st.st_size);
  });
  if (!s.ok()) return s;
  return total;
}

StatusOr<uint64_t> RemoveTree(int parent_fd, const std::string& name, std::string_view display) {
  uint64_t removed = 0;
  if (Status s = Remove(parent_fd, name, display, "", &removed); !s.ok()) return s;
  return removed;
}

}  // namespace snakecage::session
