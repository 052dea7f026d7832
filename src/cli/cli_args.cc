#include "cli/cli_args.h"

#include <charconv>
#include <cmath>
#include <limits>

namespace snakecage::cli {
namespace {

Status Bad(std::string_view flag, std::string_view text, std::string_view why) {
  return InvalidArgument(std::string(flag) + ": " + std::string(why) + " (got \"" +
                         std::string(text) + "\")");
}

}  // namespace

StatusOr<uint64_t> ParsePositiveInteger(std::string_view flag, std::string_view text) {
  uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) {
    return Bad(flag, text, "expected a positive integer");
  }
  if (value == 0) return Bad(flag, text, "must be > 0");
  return value;
}

StatusOr<uint64_t> ParseSize(std::string_view flag, std::string_view text) {
  std::string_view digits = text;
  uint64_t multiplier = 1;
  if (!text.empty()) {
    switch (text.back()) {
      case 'k': case 'K': multiplier = 1ull << 10; break;
      case 'm': case 'M': multiplier = 1ull << 20; break;
      case 'g': case 'G': multiplier = 1ull << 30; break;
      default: break;
    }
    if (multiplier != 1) digits.remove_suffix(1);
  }
  uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || ec != std::errc() || ptr != digits.data() + digits.size()) {
    return Bad(flag, text, "expected a size in bytes, optionally with K, M or G");
  }
  if (value == 0) return Bad(flag, text, "must be > 0");
  if (value > std::numeric_limits<uint64_t>::max() / multiplier) {
    return Bad(flag, text, "too large");
  }
  return value * multiplier;
}

StatusOr<double> ParseSeconds(std::string_view flag, std::string_view text) {
  double value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() ||
      !std::isfinite(value)) {
    return Bad(flag, text, "expected a number of seconds");
  }
  if (value < 0) return Bad(flag, text, "must be >= 0");
  return value;
}

StatusOr<std::pair<std::string, std::string>> ParseEnvAssignment(std::string_view flag,
                                                                 std::string_view text) {
  size_t eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return Bad(flag, text, "expected KEY=VALUE");
  }
  return std::make_pair(std::string(text.substr(0, eq)), std::string(text.substr(eq + 1)));
}

StatusOr<ReadOnlyMount> ParseMount(std::string_view flag, std::string_view text) {
  size_t first = text.find(':');
  if (first == std::string_view::npos || first == 0) {
    return Bad(flag, text, "expected HOST:GUEST[:ro]");
  }
  std::string_view host = text.substr(0, first);
  std::string_view rest = text.substr(first + 1);
  std::string_view guest = rest;
  size_t second = rest.find(':');
  if (second != std::string_view::npos) {
    guest = rest.substr(0, second);
    std::string_view mode = rest.substr(second + 1);
    if (mode != "ro") return Bad(flag, text, "mounts are read-only; the only mode is \"ro\"");
  }
  if (guest.empty()) return Bad(flag, text, "expected HOST:GUEST[:ro]");
  return ReadOnlyMount{std::filesystem::path(host), std::string(guest)};
}


}  // namespace snakecage::cli
