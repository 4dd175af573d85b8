#include "dns/update_reply.hpp"

#include "dns/name.hpp"

namespace vrdns::dns {

namespace {
constexpr std::size_t header_size = 12;
constexpr uint8_t opcode_update = 5;
}  // namespace

std::vector<uint8_t> make_update_reply(const uint8_t* msg, std::size_t len, uint8_t rcode) {
  std::vector<uint8_t> out(header_size, 0);
  if (msg == nullptr || len < header_size) {
    out[2] = uint8_t(0x80 | (opcode_update << 3));
    out[3] = uint8_t(rcode & 0x0F);
    return out;
  }
  out[0] = msg[0];
  out[1] = msg[1];
  out[2] = uint8_t(0x80 | (opcode_update << 3));
  out[3] = uint8_t(rcode & 0x0F);
  // Echo the zone section (one entry: name, type, class) if ZOCOUNT >= 1 and it is readable.
  // Only an uncompressed name is echoed: a compression pointer would point into the request.
  const unsigned zocount = unsigned(msg[4]) << 8 | msg[5];
  if (zocount >= 1) {
    std::size_t name_len = name_wire_length(msg + header_size, len - header_size);
    if (name_len > 0 && header_size + name_len + 4 <= len) {
      out.insert(out.end(), msg + header_size, msg + header_size + name_len + 4);
      out[5] = 1;
    }
  }
  return out;
}

}  // namespace vrdns::dns
