// The VR log form of an Update. Layout (all integers big-endian):
//
//   u8  version (= 1)
//   name zone apex, key form
//   u8  1 if signed, then the key's wire name; 0 if unsigned
//   u16 number of prerequisites, then each RR
//   u16 number of updates, then each RR
//   RR: owner wire name, u16 type, u16 class, u32 TTL, u16 RDLENGTH, RDATA
//
// The kinds are not stored: decode derives them with the same classify_* rules that
// parse_update applies, so whatever a replica executes passed those checks.
#include <cassert>

#include "dns/bytes.hpp"
#include "dns/query_parser.hpp"
#include "dns/update.hpp"

namespace vrdns::dns {

namespace {

constexpr uint8_t codec_version = 1;

void put_rr(ByteWriter& w, const Record& rr) {
  assert(rr.rdata.size() <= 0xFFFF && "classify_* rejects longer RDATA");
  w.name(rr.owner);
  w.u16(rr.type);
  w.u16(rr.rclass);
  w.u32(rr.ttl);
  w.bytes16(rr.rdata);
}

Record get_rr(ByteReader& r) {
  Record rr;
  rr.owner = r.name();
  rr.type = r.u16();
  rr.rclass = r.u16();
  rr.ttl = r.u32();
  rr.rdata = r.bytes16();
  return rr;
}

}  // namespace

std::string encode(const Update& u) {
  assert(u.prerequisites.size() <= 0xFFFF && u.updates.size() <= 0xFFFF);
  ByteWriter w;
  w.u8(codec_version);
  w.name(u.zone);
  w.u8(u.key_name.empty() ? 0 : 1);
  if (!u.key_name.empty()) w.name(u.key_name);
  w.u16(uint16_t(u.prerequisites.size()));
  for (const Prerequisite& p : u.prerequisites) put_rr(w, p.rr);
  w.u16(uint16_t(u.updates.size()));
  for (const UpdateOp& op : u.updates) put_rr(w, op.rr);
  return std::move(w.str());
}

bool decode(std::string_view in, Update& out) {
  out = Update{};
  ByteReader r(in);
  if (r.u8() != codec_version) return false;
  out.zone = r.name();
  if (!r.ok() || name_key(out.zone) != out.zone) return false;
  switch (r.u8()) {
    case 0: break;
    case 1: out.key_name = r.name(); break;
    default: return false;
  }
  // A count is trusted only as far as the bytes left could hold that many RRs (each at
  // least 11 bytes), so garbage cannot make us reserve gigabytes.
  constexpr std::size_t min_rr = 1 + 2 + 2 + 4 + 2;
  const uint16_t npre = r.u16();
  if (!r.ok() || npre > r.remaining() / min_rr) return false;
  out.prerequisites.reserve(npre);
  for (uint16_t i = 0; i < npre; ++i) {
    Prerequisite p;
    p.rr = get_rr(r);
    if (!r.ok() || classify_prerequisite(p.rr, out.zone, p.kind) != rcode::NOERROR) return false;
    out.prerequisites.push_back(std::move(p));
  }
  const uint16_t nupd = r.u16();
  if (!r.ok() || nupd > r.remaining() / min_rr) return false;
  out.updates.reserve(nupd);
  for (uint16_t i = 0; i < nupd; ++i) {
    UpdateOp op;
    op.rr = get_rr(r);
    if (!r.ok() || classify_update(op.rr, out.zone, op.kind) != rcode::NOERROR) return false;
    out.updates.push_back(std::move(op));
  }
  return r.done();
}

}  // namespace vrdns::dns
