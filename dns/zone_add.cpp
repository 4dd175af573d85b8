#include "dns/zone_add.hpp"

#include "dns/bytes.hpp"
#include "dns/name.hpp"

namespace vrdns::dns {

namespace {
constexpr std::string_view magic = "VRZA";
constexpr uint8_t version = 1;
}  // namespace

std::string encode(const AddZoneRequest& r) {
  ByteWriter w;
  w.reserve(magic.size() + 1 + 8 + r.apex.size() + r.master_file.size());
  w.str() += magic;
  w.u8(version);
  w.bytes(r.apex);
  w.bytes(r.master_file);
  return std::move(w.str());
}

bool is_add_zone(std::string_view op) { return op.starts_with(magic); }

bool decode(std::string_view in, AddZoneRequest& out) {
  out = AddZoneRequest{};
  if (!is_add_zone(in)) return false;
  ByteReader r(in.substr(magic.size()));
  if (r.u8() != version) return false;
  out.apex = r.bytes();
  out.master_file = r.bytes();
  if (!r.done() || out.master_file.size() > max_added_zone_bytes) return false;
  const auto* p = reinterpret_cast<const uint8_t*>(out.apex.data());
  return !out.apex.empty() && name_wire_length(p, out.apex.size()) == out.apex.size();
}

}  // namespace vrdns::dns
