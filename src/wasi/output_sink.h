// wasi/output_sink.h: where the guest's stdout or stderr goes.
//
// Keeps at most `cap` bytes (the first ones written) and counts every byte
// the guest tried to write. The host never stores more than the cap: bytes
// past it are counted and dropped, and storage grows only as bytes are kept.
//
// Thread-safety: none; owned by one WasiHost and used on the guest's thread.
// Read it after the guest has stopped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace snakecage::wasi {

class OutputSink {
 public:
  explicit OutputSink(uint64_t cap) : cap_(cap) {}

  // Counts `n` bytes and keeps the part that still fits under the cap.
  void Append(const uint8_t* bytes, size_t n);

  // The kept bytes: the first min(total_bytes(), cap()) bytes written.
  std::string_view data() const { return data_; }
  // Moves the kept bytes out; data() is empty afterwards (the counters stay).
  std::string TakeData();
  // Every byte the guest tried to write, kept or not.
  uint64_t total_bytes() const { return total_; }
  // True when some bytes were dropped (total_bytes() > cap()).
  bool truncated() const { return total_ > cap_; }
  uint64_t cap() const { return cap_; }

 private:
  uint64_t cap_;
  uint64_t total_ = 0;
  std::string data_;
};

}  // namespace snakecage::wasi
