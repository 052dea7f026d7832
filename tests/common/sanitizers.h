// common/sanitizers.h: whether this test binary runs under AddressSanitizer
// (the sanitizer build, make test-sanitize), for the few checks ASan itself
// makes meaningless (memory it holds back on purpose, pages it writes).
#pragma once

namespace snakecage::testing {

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kUnderAddressSanitizer = true;
#else
inline constexpr bool kUnderAddressSanitizer = false;
#endif
#else
inline constexpr bool kUnderAddressSanitizer = false;
#endif

}  // namespace snakecage::testing
