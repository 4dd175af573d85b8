#include "storage/wal_record.hpp"
#include "common/little_endian.hpp"

#include "common/crc32c.hpp"

namespace vrdns::storage {
namespace {


// Everything of the record except the checksum field itself.
std::uint32_t record_checksum(std::string_view header, std::string_view payload) {
  std::uint32_t crc = crc32c(header.substr(0, 8));
  crc = crc32c_extend(crc, header.data() + 12, wal_header_size - 12);
  return crc32c_extend(crc, payload.data(), payload.size());
}

} // namespace

const char* to_string(wal_decode_status s) {
  switch (s) {
    case wal_decode_status::ok: return "ok";
    case wal_decode_status::truncated: return "record cut short";
    case wal_decode_status::bad_magic: return "no record header";
    case wal_decode_status::bad_length: return "payload length out of range";
    case wal_decode_status::bad_checksum: return "checksum mismatch";
  }
  return "?";
}

std::string encode_wal_record(std::uint64_t op_number, std::uint64_t view_number,
                              std::uint32_t prev_checksum, std::string_view payload) {
  std::string out(wal_header_size, '\0');
  put_le(out, 0, wal_magic, 4);
  put_le(out, 4, wal_format_version, 2);
  put_le(out, 12, prev_checksum, 4);
  put_le(out, 16, op_number, 8);
  put_le(out, 24, view_number, 8);
  put_le(out, 32, payload.size(), 4);
  put_le(out, 8, record_checksum(out, payload), 4);
  out.append(payload);
  return out;
}

std::uint32_t wal_record_checksum(std::string_view encoded) {
  return static_cast<std::uint32_t>(get_le(encoded, 8, 4));
}

wal_decoded decode_wal_record(std::string_view bytes, std::uint32_t max_payload) {
  wal_decoded d;
  if (bytes.size() < wal_header_size) {
    d.status = wal_decode_status::truncated;
    return d;
  }
  if (get_le(bytes, 0, 4) != wal_magic || get_le(bytes, 4, 2) != wal_format_version
      || get_le(bytes, 6, 2) != 0 || get_le(bytes, 36, 4) != 0) {
    d.status = wal_decode_status::bad_magic;
    return d;
  }
  // The length is untrusted until the checksum matches: bound it before using it.
  const std::uint64_t length = get_le(bytes, 32, 4);
  if (length > max_payload) {
    d.status = wal_decode_status::bad_length;
    return d;
  }
  if (bytes.size() - wal_header_size < length) {
    d.status = wal_decode_status::truncated;
    return d;
  }
  const std::string_view header = bytes.substr(0, wal_header_size);
  const std::string_view payload = bytes.substr(wal_header_size, length);
  const auto stored = static_cast<std::uint32_t>(get_le(bytes, 8, 4));
  if (record_checksum(header, payload) != stored) {
    d.status = wal_decode_status::bad_checksum;
    return d;
  }
  d.status = wal_decode_status::ok;
  d.header.checksum = stored;
  d.header.prev_checksum = static_cast<std::uint32_t>(get_le(bytes, 12, 4));
  d.header.op_number = get_le(bytes, 16, 8);
  d.header.view_number = get_le(bytes, 24, 8);
  d.header.payload_length = static_cast<std::uint32_t>(length);
  d.payload = payload;
  d.size = wal_header_size + static_cast<std::size_t>(length);
  return d;
}

} // namespace vrdns::storage
