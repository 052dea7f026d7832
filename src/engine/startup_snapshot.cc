#include "engine/startup_snapshot.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstring>
#include <string>

#include "base/read_all_at.h"
#include "base/write_all.h"
#include "engine/runtime/linear_memory_layout.h"

namespace snakecage {
namespace {

constexpr std::string_view kSnapshotMagic = "snakecage startup snapshot 1\n";
constexpr size_t kGuestIdentityBytes = 64;  // SHA-256 in hex

// The header's fixed part, after the magic and the guest identity.
struct Fields {
  uint32_t stack_pointer;
  uint32_t entry;
  uint32_t memory_pages;
  uint32_t identity_bytes;
};
constexpr size_t kFieldsOffset = kSnapshotMagic.size() + kGuestIdentityBytes;
constexpr size_t kIdentityOffset = kFieldsOffset + sizeof(Fields);
constexpr size_t kMaxIdentityBytes = kSnapshotMemoryOffset - kIdentityOffset;
static_assert(std::endian::native == std::endian::little,
              "snapshots hold little-endian integers, as wasm memory does");

std::string Errno(const std::string& what, const std::filesystem::path& path) {
  return what + " " + path.string() + ": " + std::strerror(errno);
}

}  // namespace

Status WriteStartupSnapshot(const std::filesystem::path& path, const StartupSnapshot& snapshot,
                            const uint8_t* memory) {
  if (snapshot.identity.size() > kMaxIdentityBytes) {
    return InvalidArgument("startup snapshot: identity of " +
                           std::to_string(snapshot.identity.size()) + " bytes (at most " +
                           std::to_string(kMaxIdentityBytes) + ")");
  }
  const std::string_view guest = GuestIdentity();
  if (guest.size() != kGuestIdentityBytes) return Internal("startup snapshot: no guest identity");
  std::string header(kSnapshotMemoryOffset, '\0');
  header.replace(0, kSnapshotMagic.size(), kSnapshotMagic);
  header.replace(kSnapshotMagic.size(), guest.size(), guest);
  const Fields fields{snapshot.stack_pointer, snapshot.entry, snapshot.memory_pages,
                      static_cast<uint32_t>(snapshot.identity.size())};
  std::memcpy(header.data() + kFieldsOffset, &fields, sizeof fields);
  header.replace(kIdentityOffset, snapshot.identity.size(), snapshot.identity);

  std::filesystem::path temp = path;
  temp += ".tmp-" + std::to_string(getpid());
  UniqueFd fd(open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return Internal(Errno("startup snapshot: cannot create", temp));
  const size_t memory_bytes = size_t{snapshot.memory_pages} * SNAKECAGE_WASM_PAGE_SIZE;
  if (!WriteAll(fd.get(), header) ||
      !WriteAll(fd.get(), std::string_view(reinterpret_cast<const char*>(memory), memory_bytes)) ||
      fsync(fd.get()) != 0) {
    const Status s = Internal(Errno("startup snapshot: cannot write", temp));
    unlink(temp.c_str());
    return s;
  }
  fd.Reset();
  if (rename(temp.c_str(), path.c_str()) != 0) {
    const Status s = Internal(Errno("startup snapshot: cannot rename into", path));
    unlink(temp.c_str());
    return s;
  }
  return Status::Ok();
}

std::filesystem::path StartupSnapshotPath(const Installation& installation,
                                          const StartupKey& key) {
  return installation.startup_snapshot_dir() / StartupSnapshotFileName(key);
}

StatusOr<StartupSnapshot> OpenInstalledStartupSnapshot(const StartupKey& key) {
  const StatusOr<Installation>& installation = ThisInstallation();
  if (!installation.ok()) return installation.status();
  return OpenStartupSnapshot(StartupSnapshotPath(*installation, key),
                             StartupKeyToJson(key).dump());
}

StatusOr<StartupSnapshot> OpenStartupSnapshot(const std::filesystem::path& path,
                                              std::string_view identity) {
  StartupSnapshot snapshot;
  snapshot.file.Reset(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!snapshot.file.valid()) {
    if (errno == ENOENT) return NotFound("startup snapshot " + path.string() + ": no such file");
    return Internal(Errno("startup snapshot: cannot open", path));
  }
  std::string header(kSnapshotMemoryOffset, '\0');
  struct stat st;
  if (fstat(snapshot.file.get(), &st) != 0 ||
      !ReadAllAt(snapshot.file.get(), header.data(), header.size(), 0) ||
      header.compare(0, kSnapshotMagic.size(), kSnapshotMagic) != 0) {
    return Internal("startup snapshot " + path.string() + ": not a snapshot of this version");
  }
  if (header.compare(kSnapshotMagic.size(), kGuestIdentityBytes, GuestIdentity()) != 0) {
    return Internal("startup snapshot " + path.string() + ": written by another guest build");
  }
  Fields fields;
  std::memcpy(&fields, header.data() + kFieldsOffset, sizeof fields);
  if (fields.identity_bytes > kMaxIdentityBytes ||
      std::string_view(header).substr(kIdentityOffset, fields.identity_bytes) != identity) {
    return Internal("startup snapshot " + path.string() + ": written for another start-up");
  }
  const uint64_t expected =
      kSnapshotMemoryOffset + uint64_t{fields.memory_pages} * SNAKECAGE_WASM_PAGE_SIZE;
  if (fields.memory_pages == 0 || static_cast<uint64_t>(st.st_size) != expected) {
    return Internal("startup snapshot " + path.string() + ": " + std::to_string(st.st_size) +
                    " bytes, expected " + std::to_string(expected));
  }
  snapshot.identity = std::string(identity);
  snapshot.stack_pointer = fields.stack_pointer;
  snapshot.entry = fields.entry;
  snapshot.memory_pages = fields.memory_pages;
  return snapshot;
}

}  // namespace snakecage
