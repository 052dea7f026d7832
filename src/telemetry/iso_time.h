// telemetry/iso_time.h: the one timestamp format of events and session
// metadata, "2026-11-26T06:40:01.123456Z" (ISO-8601, UTC, microseconds).
//
// Private to src/telemetry and src/session; the public spelling is
// snakecage::FormatIsoUtc / ParseIsoUtc in snakecage/session.h, which
// forward here.
//
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace snakecage::telemetry {

// `t` floored to whole microseconds (also before 1970), always 6 fraction
// digits and a 'Z'.
std::string FormatIsoUtcMicros(std::chrono::system_clock::time_point t);

// Accepts exactly "YYYY-MM-DDTHH:MM:SS" followed by an optional '.' and 1-9
// fraction digits, then 'Z'. The date must exist; hours 0-23, minutes and
// seconds 0-59. nullopt for anything else.
std::optional<std::chrono::system_clock::time_point> ParseIsoUtcText(std::string_view text);

}  // namespace snakecage::telemetry
