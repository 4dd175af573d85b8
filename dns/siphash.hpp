// SipHash-2-4 (Aumasson & Bernstein, 2012) with a 64-bit result: the keyed hash RFC 9018 names
// for DNS server cookies. Short inputs (a cookie's are 20-32 bytes) cost a few tens of
// nanoseconds; no allocation, so the query path may call it.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vrdns::dns {

inline constexpr std::size_t siphash_key_size = 16;

/// SipHash-2-4 of data[0, length) under the 16-byte `key` (k0 = key[0..7], k1 = key[8..15],
/// little-endian, as in the reference implementation).
uint64_t siphash24(const uint8_t key[siphash_key_size], const uint8_t* data, std::size_t length);

}  // namespace vrdns::dns
