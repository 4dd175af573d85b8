// Layouts (big-endian), each starting with a version byte (= 1):
//   UpdateRequest: u8 version, u32 address length + address (<= 16 bytes), u16 port,
//                  u16 DNS id, u8 signed flag [+ key wire name], u64 message hash,
//                  u64 receive time (ms), u32 length + encoded Update
//   UpdateReply:   u8 version, u8 rcode
#include "dns/update_request.hpp"

#include "dns/bytes.hpp"

namespace vrdns::dns {

namespace {
constexpr uint8_t request_version = 1;
constexpr uint8_t reply_version = 1;
constexpr std::size_t max_address = 16;
}  // namespace

uint64_t request_hash(const uint8_t* msg, std::size_t len) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (std::size_t i = 0; i < len; ++i) {
    h ^= msg[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

std::string encode(const UpdateRequest& r) {
  ByteWriter w;
  w.u8(request_version);
  w.bytes(r.client.address);
  w.u16(r.client.port);
  w.u16(r.client.dns_id);
  w.u8(r.client.key_name.empty() ? 0 : 1);
  if (!r.client.key_name.empty()) w.name(r.client.key_name);
  w.u64(r.client.message_hash);
  w.u64(r.receive_time_ms);
  w.bytes(r.update);
  return std::move(w.str());
}

bool decode(std::string_view in, UpdateRequest& out) {
  out = UpdateRequest{};
  ByteReader r(in);
  if (r.u8() != request_version) return false;
  out.client.address = r.bytes();
  if (out.client.address.size() > max_address) return false;
  out.client.port = r.u16();
  out.client.dns_id = r.u16();
  switch (r.u8()) {
    case 0: break;
    case 1: out.client.key_name = r.name(); break;
    default: return false;
  }
  out.client.message_hash = r.u64();
  out.receive_time_ms = r.u64();
  out.update = r.bytes();
  return r.done();
}

std::string encode(const UpdateReply& r) {
  ByteWriter w;
  w.u8(reply_version);
  w.u8(r.rcode);
  return std::move(w.str());
}

bool decode(std::string_view in, UpdateReply& out) {
  ByteReader r(in);
  if (r.u8() != reply_version) return false;
  out.rcode = r.u8();
  return r.done() && out.rcode <= 15;
}

}  // namespace vrdns::dns
