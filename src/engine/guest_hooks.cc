#include "engine/guest_hooks.h"

#include <algorithm>
#include <limits>

#include "wasi/guest_memory.h"
#include "wasm-rt.h"

namespace snakecage {

namespace {
constexpr int64_t kUnmetered = std::numeric_limits<int64_t>::max();

int64_t LoadFuel(const uint64_t* fuel) {
  return static_cast<int64_t>(__atomic_load_n(fuel, __ATOMIC_RELAXED));
}
}  // namespace

}  // namespace snakecage

extern "C" {

void Z_snakecageZ_user_code_begin(struct Z_snakecage_instance_t* self, uint32_t entry) {
  snakecage::FuelAccount& a = *self->fuel;
  if (a.begun) return;  // called once by the guest's main; ignore repeats
  if (a.on_begin != nullptr) a.on_begin(a.on_begin_arg, entry);
  a.begun = true;
  __atomic_store_n(a.fuel, a.budget, __ATOMIC_RELAXED);
  if (a.run_user_code != nullptr) a.run_user_code(a.on_begin_arg, entry);
}

void Z_snakecageZ_user_code_end(struct Z_snakecage_instance_t* self) {
  snakecage::FuelAccount& a = *self->fuel;
  if (!a.begun || a.ended) return;
  a.ended = true;
  a.remaining_at_end = snakecage::LoadFuel(a.fuel);
  // A timeout poke (negative fuel) must survive, so only lift a live budget.
  if (a.remaining_at_end >= 0) {
    __atomic_store_n(a.fuel, static_cast<uint64_t>(snakecage::kUnmetered), __ATOMIC_RELAXED);
  }
}

void Z_snakecageZ_missing_module(struct Z_snakecage_instance_t* self, uint32_t ptr,
                                 uint32_t len) {
  if (self->memory == nullptr || self->reports == nullptr) return;
  const snakecage::wasi::GuestMemory memory(self->memory);
  if (!memory.InBounds(ptr, len)) return;  // a broken report is no report
  const size_t kept = std::min<size_t>(len, snakecage::GuestReports::kMaxModuleNameBytes);
  self->reports->missing_module.emplace(reinterpret_cast<const char*>(memory.At(ptr)), kept);
}

uint32_t Z_snakecageZ_keeps_state(struct Z_snakecage_instance_t* self) {
  return self->cells != nullptr && self->cells->keeps_state ? 1 : 0;
}

void Z_snakecageZ_cell_end(struct Z_snakecage_instance_t* self, uint32_t exit_code) {
  snakecage::CellHooks* cells = self->cells;
  // Only a kept-state execution has cells; elsewhere the call means nothing.
  if (cells == nullptr || !cells->keeps_state || cells->on_cell_end == nullptr) return;
  cells->on_cell_end(cells->arg, static_cast<int32_t>(exit_code));
}

uint32_t Z_snakecageZ_cell_kind(struct Z_snakecage_instance_t* self) {
  if (self->cells == nullptr || !self->cells->keeps_state) return 0;
  return static_cast<uint32_t>(self->cells->kind);
}

void Z_snakecageZ_state_saved(struct Z_snakecage_instance_t* self, uint32_t ptr, uint32_t len) {
  if (self->memory == nullptr || self->reports == nullptr) return;
  const snakecage::wasi::GuestMemory memory(self->memory);
  if (!memory.InBounds(ptr, len)) return;
  self->reports->saved_state.emplace(reinterpret_cast<const char*>(memory.At(ptr)), len);
}

void Z_snakecageZ_state_dropped(struct Z_snakecage_instance_t* self, uint32_t ptr,
                                uint32_t len) {
  if (self->memory == nullptr || self->reports == nullptr) return;
  const snakecage::wasi::GuestMemory memory(self->memory);
  if (!memory.InBounds(ptr, len) || len > snakecage::GuestReports::kMaxDroppedJsonBytes) return;
  self->reports->state_dropped_json.emplace(reinterpret_cast<const char*>(memory.At(ptr)), len);
}

}  // extern "C"
