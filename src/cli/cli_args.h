// Parsing of `snakecage` command-line values. Each parser returns the value
// or an InvalidArgument status whose message names the flag and the bad text.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "snakecage/policy.h"
#include "snakecage/status.h"

namespace snakecage::cli {

// "4096", "64K", "128M", "2G" (K/M/G are powers of 1024, either case).
StatusOr<uint64_t> ParseSize(std::string_view flag, std::string_view text);

// A positive decimal integer, e.g. for --fuel.
StatusOr<uint64_t> ParsePositiveInteger(std::string_view flag, std::string_view text);

// Seconds, fractions allowed, >= 0: "2", "0.5".
StatusOr<double> ParseSeconds(std::string_view flag, std::string_view text);

// "KEY=VALUE" (VALUE may be empty or contain '=').
StatusOr<std::pair<std::string, std::string>> ParseEnvAssignment(std::string_view flag,
                                                                 std::string_view text);

// "HOST:GUEST" or "HOST:GUEST:ro". Mounts are always read-only; any other
// third field is refused.
StatusOr<ReadOnlyMount> ParseMount(std::string_view flag, std::string_view text);


}  // namespace snakecage::cli
