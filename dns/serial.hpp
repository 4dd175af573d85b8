// SOA serial number arithmetic (RFC 1982 with SERIAL_BITS = 32).
#pragma once

#include <cstdint>

namespace vrdns::dns {

/// RFC 1982 §3.2: s1 < s2. The pairs exactly 2^31 apart are undefined by the RFC; for them
/// this returns false both ways, so an UPDATE never treats such a serial as newer.
constexpr bool serial_less(uint32_t s1, uint32_t s2) {
  return (s1 < s2 && s2 - s1 < 0x80000000u) || (s1 > s2 && s1 - s2 > 0x80000000u);
}

/// RFC 1982 §3.1 addition of 1: modulo 2^32, so 0xFFFFFFFF + 1 = 0, which serial_less
/// orders after 0xFFFFFFFF (secondaries see it as newer). RFC 1982 gives 0 no special
/// meaning, so it is not skipped (BIND skips it out of caution; either is valid).
constexpr uint32_t serial_next(uint32_t s) { return s + 1u; }

static_assert(serial_less(0xFFFFFFFFu, serial_next(0xFFFFFFFFu)));
static_assert(serial_less(1, 2) && !serial_less(2, 1) && !serial_less(5, 5));
static_assert(!serial_less(0, 0x80000000u) && !serial_less(0x80000000u, 0));

}  // namespace vrdns::dns
