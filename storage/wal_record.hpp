// The byte layout of one write-ahead-log record (docs/storage.md has the table):
//
//   0  u32 magic "VRWL"      4  u16 format version   6  u16 flags (0)
//   8  u32 checksum          CRC32C of bytes 0..7, 12..39 and the payload
//  12  u32 prev_checksum     checksum of the previous record: the chain
//  16  u64 op_number        24  u64 view_number
//  32  u32 payload_length   36  u32 reserved (0)
//  40  payload
//
// All integers little-endian. One checksum covers header and payload, so a record is either
// entirely trustworthy or not at all; in particular payload_length is only believed after the
// checksum matched, and before that it is bounded by max_payload and the bytes present.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace vrdns::storage {

inline constexpr std::uint32_t wal_magic = 0x4C575256u; // "VRWL" in file byte order
inline constexpr std::uint16_t wal_format_version = 1;
inline constexpr std::size_t wal_header_size = 40;

struct wal_record_header {
  std::uint32_t checksum = 0;
  std::uint32_t prev_checksum = 0;
  std::uint64_t op_number = 0;
  std::uint64_t view_number = 0;
  std::uint32_t payload_length = 0;
};

// Header + payload, ready to write; the header's checksum field is filled in.
std::string encode_wal_record(std::uint64_t op_number, std::uint64_t view_number,
                              std::uint32_t prev_checksum, std::string_view payload);

// The checksum field of a record produced by encode_wal_record (bytes 8..11).
std::uint32_t wal_record_checksum(std::string_view encoded);

enum class wal_decode_status {
  ok,
  truncated,    // fewer bytes than the header or the header's payload_length announce
  bad_magic,    // not a record start (zeros, garbage, a different version or flags)
  bad_length,   // payload_length above max_payload
  bad_checksum,
};
const char* to_string(wal_decode_status s);

struct wal_decoded {
  wal_decode_status status = wal_decode_status::truncated;
  wal_record_header header;     // meaningful only when status == ok
  std::string_view payload;     // points into the decoded buffer
  std::size_t size = 0;         // header + payload bytes, when ok
};

// Decodes the record starting at `bytes[0]`. Reads nothing outside `bytes`.
wal_decoded decode_wal_record(std::string_view bytes, std::uint32_t max_payload);

} // namespace vrdns::storage
