// CRC32C (Castagnoli polynomial 0x1EDC6F41, reflected 0x82F63B78), the checksum of iSCSI
// (RFC 3720), ext4 metadata and many logs. Used by storage/ (torn and corrupt records) and protocol/ (checkpoints in transfer).
//
// Software, slicing-by-8: eight 256-entry tables let the loop consume 8 bytes per step. No
// SSE4.2 intrinsic, so the result does not depend on the build machine; it is fast enough for a
// log whose throughput is bounded by fsync, not by hashing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace vrdns {

// Continues a CRC over more bytes: crc32c_extend(crc32c(a), b) == crc32c(a + b).
// Start a fresh checksum with crc = 0.
std::uint32_t crc32c_extend(std::uint32_t crc, const void* data, std::size_t size);

inline std::uint32_t crc32c(const void* data, std::size_t size) {
  return crc32c_extend(0, data, size);
}
inline std::uint32_t crc32c(std::string_view bytes) {
  return crc32c_extend(0, bytes.data(), bytes.size());
}

} // namespace vrdns
