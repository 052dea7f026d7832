// wasi/guest_memory.h: bounds-checked access to the guest's linear memory.
//
// A GuestMemory is a view of a wasm_rt_memory_t. It reads `data` and `size`
// afresh on every access, because memory.grow between host calls may move
// and resize it. Guest pointers and lengths are u32; every range check adds
// them in 64 bits (no overflow possible) and compares with the current size.
//
// Loads and stores are little-endian and unaligned (memcpy), as WebAssembly
// memory is.
//
// Ownership: borrows the memory; it must outlive the view.
// Thread-safety: none; used on the guest's thread while the guest is inside
// a host call.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>

#include "wasm-rt.h"

namespace snakecage::wasi {

static_assert(std::endian::native == std::endian::little,
              "guest memory is little-endian; loads/stores assume a "
              "little-endian host");

class GuestMemory {
 public:
  // REQUIRES: memory != nullptr.
  explicit GuestMemory(wasm_rt_memory_t* memory) : memory_(memory) {}

  uint64_t size() const { return memory_->size; }

  // True when [ptr, ptr + len) lies inside the memory. ptr and len are at
  // most 2^32 - 1 each (guest values) or are computed by callers in 64 bits,
  // so the 64-bit sum cannot wrap.
  bool InBounds(uint64_t ptr, uint64_t len) const {
    return ptr <= size() && len <= size() - ptr;
  }

  // REQUIRES: InBounds(ptr, n) for the n bytes the caller touches.
  uint8_t* At(uint64_t ptr) const { return memory_->data + ptr; }

  // REQUIRES: InBounds(ptr, sizeof(T)).
  template <typename T>
  T Load(uint64_t ptr) const {
    T v;
    std::memcpy(&v, At(ptr), sizeof(T));
    return v;
  }
  // REQUIRES: InBounds(ptr, sizeof(T)).
  template <typename T>
  void Store(uint64_t ptr, T v) const {
    std::memcpy(At(ptr), &v, sizeof(T));
  }

 private:
  wasm_rt_memory_t* memory_;
};

}  // namespace snakecage::wasi
