#include "fake_guest.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>
#include <sstream>
#include <system_error>

namespace snakecage::wasi::testing {

FakeGuest::FakeGuest(uint32_t pages) : bytes_(uint64_t{pages} * 65536) {
  memory_.data = bytes_.data();
  memory_.pages = pages;
  memory_.max_pages = 65536;
  memory_.size = static_cast<uint32_t>(bytes_.size());
}

void FakeGuest::Grow(uint32_t extra_pages) {
  std::vector<uint8_t> bigger(bytes_.size() + uint64_t{extra_pages} * 65536);
  std::memcpy(bigger.data(), bytes_.data(), bytes_.size());
  bytes_ = std::move(bigger);
  memory_.data = bytes_.data();
  memory_.pages += extra_pages;
  memory_.size = static_cast<uint32_t>(bytes_.size());
}

uint32_t FakeGuest::Alloc(uint32_t n, uint32_t align) {
  next_ = (next_ + align - 1) / align * align;
  const uint32_t p = next_;
  if (uint64_t{p} + n > bytes_.size()) {
    ADD_FAILURE() << "FakeGuest out of memory";
    return 0;
  }
  std::memset(bytes_.data() + p, 0, n);
  next_ += n;
  return p;
}

uint32_t FakeGuest::Put(std::string_view s) {
  const uint32_t p = Alloc(static_cast<uint32_t>(s.size()) + 1, 1);
  std::memcpy(bytes_.data() + p, s.data(), s.size());
  return p;
}

uint32_t FakeGuest::PutIovecs(
    const std::vector<std::pair<uint32_t, uint32_t>>& iovs) {
  const uint32_t p = Alloc(static_cast<uint32_t>(iovs.size()) * 8, 4);
  for (size_t i = 0; i < iovs.size(); ++i) {
    Store<uint32_t>(p + 8 * i, iovs[i].first);
    Store<uint32_t>(p + 8 * i + 4, iovs[i].second);
  }
  return p;
}

uint32_t FakeGuest::OneIovec(uint32_t len, uint32_t* buf) {
  *buf = Alloc(len, 1);
  return PutIovecs({{*buf, len}});
}

TempDir::TempDir() {
  std::string tmpl =
      (std::filesystem::temp_directory_path() / "snakecage-wasi-XXXXXX")
          .string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp failed";
  }
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void WriteFile(const std::filesystem::path& p, std::string_view contents) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << contents;
}

std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::unique_ptr<WasiHost> MakeHost(WasiConfig config,
                                   std::vector<Denial>* denials) {
  if (denials != nullptr) {
    config.on_path_denied = [denials](std::string_view call,
                                      std::string_view path) {
      denials->push_back({std::string(call), std::string(path)});
    };
  }
  auto host = WasiHost::Create(std::move(config));
  if (!host.ok()) {
    ADD_FAILURE() << "WasiHost::Create: " << host.status().message();
    return nullptr;
  }
  return std::move(host).value();
}

Opened OpenPath(WasiHost& host, FakeGuest& g, uint32_t dirfd,
                std::string_view path, uint32_t oflags, uint64_t rights,
                uint32_t fdflags, uint32_t lookup) {
  const uint32_t p = g.Put(path);
  const uint32_t out = g.Alloc(4);
  g.Store<uint32_t>(out, 0xdeadbeef);
  const uint32_t r = host.PathOpen(g.mem(), dirfd, lookup, p,
                                   static_cast<uint32_t>(path.size()), oflags,
                                   rights, rights, fdflags, out);
  return {r, g.Load<uint32_t>(out)};
}

std::pair<uint32_t, uint32_t> WriteFd(WasiHost& host, FakeGuest& g, uint32_t fd,
                                      std::string_view data) {
  const uint32_t buf = g.Put(data);
  const uint32_t iov = g.PutIovecs({{buf, static_cast<uint32_t>(data.size())}});
  const uint32_t out = g.Alloc(4);
  const uint32_t r = host.FdWrite(g.mem(), fd, iov, 1, out);
  return {r, g.Load<uint32_t>(out)};
}

std::pair<uint32_t, std::string> ReadFd(WasiHost& host, FakeGuest& g,
                                        uint32_t fd, uint32_t max) {
  uint32_t buf = 0;
  const uint32_t iov = g.OneIovec(max, &buf);
  const uint32_t out = g.Alloc(4);
  const uint32_t r = host.FdRead(g.mem(), fd, iov, 1, out);
  if (r != abi::kSuccess) return {r, ""};
  return {r, g.Read(buf, g.Load<uint32_t>(out))};
}

}  // namespace snakecage::wasi::testing
