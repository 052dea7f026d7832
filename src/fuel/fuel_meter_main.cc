// snakecage-fuel-meter [--exports-only] IN.wasm OUT.wasm: rewrites a
// WebAssembly module so that it meters fuel (see fuel_instrumenter.h for the
// model and the host contract; --exports-only adds the host interface
// without metering, for benchmarks). Prints one summary line on success; on failure prints the reason
// to stderr and exits with status 1 (2 for bad usage).

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuel/fuel_instrumenter.h"

namespace {

bool ReadFile(const char* path, std::vector<uint8_t>* out, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = std::string("cannot open input file ") + path + ": " +
             std::strerror(errno);
    return false;
  }
  out->assign(std::istreambuf_iterator<char>(in),
              std::istreambuf_iterator<char>());
  if (in.bad()) {
    *error = std::string("cannot read input file ") + path;
    return false;
  }
  return true;
}

bool WriteFile(const char* path, const std::vector<uint8_t>& data,
               std::string* error) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) {
    *error = std::string("cannot open output file ") + path + ": " +
             std::strerror(errno);
    return false;
  }
  out.write(reinterpret_cast<const char*>(data.data()),
            static_cast<std::streamsize>(data.size()));
  out.close();
  if (!out) {
    *error = std::string("cannot write output file ") + path;
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  snakecage::fuel::Metering metering = snakecage::fuel::Metering::kOn;
  if (argc == 4 && std::strcmp(argv[1], "--exports-only") == 0) {
    metering = snakecage::fuel::Metering::kExportsOnly;
    ++argv;
    --argc;
  }
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s [--exports-only] IN.wasm OUT.wasm\n", argv[0]);
    return 2;
  }
  const char* in_path = argv[1];
  const char* out_path = argv[2];

  const auto start = std::chrono::steady_clock::now();
  std::vector<uint8_t> input;
  std::string error;
  if (!ReadFile(in_path, &input, &error)) {
    std::fprintf(stderr, "snakecage-fuel-meter: %s\n", error.c_str());
    return 1;
  }
  snakecage::fuel::InstrumentStats stats;
  auto output = snakecage::fuel::InstrumentFuel(input, &stats, metering);
  if (!output.ok()) {
    std::fprintf(stderr, "snakecage-fuel-meter: %s: %s\n", in_path,
                 output.status().message().c_str());
    return 1;
  }
  if (!WriteFile(out_path, *output, &error)) {
    std::fprintf(stderr, "snakecage-fuel-meter: %s\n", error.c_str());
    return 1;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  std::printf(
      "snakecage-fuel-meter: %s -> %s: %llu functions instrumented, %llu "
      "charge points, %llu checks, %zu -> %zu bytes, %.2f s\n",
      in_path, out_path,
      static_cast<unsigned long long>(stats.functions_instrumented),
      static_cast<unsigned long long>(stats.charge_points),
      static_cast<unsigned long long>(stats.checks), input.size(),
      output->size(), seconds);
  return 0;
}
