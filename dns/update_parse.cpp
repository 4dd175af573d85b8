// Reading an RFC 2136 UPDATE message into the canonical Update, with the syntactic checks of
// §3.1 (zone section), §3.2 (prerequisite classes/TTL/RDATA) and §3.4.1 (update prescan).
// Not a hot path: ldns does the decompression; every count and length it hands us is still
// checked before use.
#include <cstdlib>
#include <memory>

#include "dns/name.hpp"
#include "dns/query_parser.hpp"
#include "dns/update.hpp"

// ldns last: its common.h #defines bool/true/false (see docs/pitfalls.md).
#include <ldns/ldns.h>

namespace vrdns::dns {

namespace {

/// Types that name a data RRset. 0 is reserved, OPT (41) lives only in the additional
/// section, and 128..255 are query and meta types (RFC 6895 §3.1: TKEY, TSIG, IXFR, AXFR,
/// MAILB, MAILA, ANY), none of which an UPDATE may add, delete or test as data.
bool is_data_type(uint16_t type) {
  return type != 0 && type != rrtype::OPT && !(type >= 128 && type <= 255);
}

bool owner_in_zone(const Record& rr, std::string_view zone_key) {
  const auto* p = reinterpret_cast<const uint8_t*>(rr.owner.data());
  return name_wire_length(p, rr.owner.size()) == rr.owner.size() &&
         name_is_at_or_below(rr.owner, zone_key);
}

/// RDATA that carries a record (zone-class adds and prerequisites, class-NONE deletes) must
/// be well formed for its type: a decoded log entry has not been through ldns' wire parser.
bool rdata_well_formed(const Record& rr) {
  // Every replica runs this on every op it decodes, and asking ldns means building and
  // freeing an ldns_rr. For the fixed-size address types ldns' verdict is just the length
  // (its descriptor is one A / AAAA field, and the whole RDATA must be consumed); the owner
  // was already checked by owner_in_zone. test_update_fastpaths compares with ldns.
  if (rr.type == rrtype::A) return rr.rdata.size() == 4;
  if (rr.type == rrtype::AAAA) return rr.rdata.size() == 16;
  if (rr.rdata.empty()) {
    const ldns_rr_descriptor* d = ldns_rr_descript(rr.type);
    return d == nullptr || ldns_rr_descriptor_minimum(d) == 0;
  }
  Record probe = rr;
  probe.rclass = rrclass::IN;
  ldns_rr* parsed = record_to_ldns(probe);
  if (parsed == nullptr) return false;
  ldns_rr_free(parsed);
  return true;
}

struct PktDeleter {
  void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};

}  // namespace

uint8_t classify_prerequisite(const Record& rr, std::string_view zone_key, PrereqKind& out) {
  // RFC 2136 §3.2 pseudocode order: TTL, then zone, then the class rules.
  if (rr.ttl != 0) return rcode::FORMERR;
  if (!owner_in_zone(rr, zone_key)) return rcode::NOTZONE;
  if (rr.rdata.size() > 0xFFFF) return rcode::FORMERR;
  switch (rr.rclass) {
    case rrclass::ANY:
    case rrclass::NONE: {
      if (!rr.rdata.empty()) return rcode::FORMERR;
      const bool any_type = rr.type == rrtype::ANY;
      if (!any_type && !is_data_type(rr.type)) return rcode::FORMERR;
      if (rr.rclass == rrclass::ANY)
        out = any_type ? PrereqKind::name_in_use : PrereqKind::rrset_exists;
      else
        out = any_type ? PrereqKind::name_not_in_use : PrereqKind::rrset_absent;
      return rcode::NOERROR;
    }
    case rrclass::IN:
      if (!is_data_type(rr.type) || !rdata_well_formed(rr)) return rcode::FORMERR;
      out = PrereqKind::rrset_exists_value;
      return rcode::NOERROR;
    default:
      return rcode::FORMERR;
  }
}

uint8_t classify_update(const Record& rr, std::string_view zone_key, UpdateKind& out) {
  // RFC 2136 §3.4.1.2 prescan: zone first, then the class rules.
  if (!owner_in_zone(rr, zone_key)) return rcode::NOTZONE;
  if (rr.rdata.size() > 0xFFFF) return rcode::FORMERR;
  switch (rr.rclass) {
    case rrclass::IN:
      if (!is_data_type(rr.type) || !rdata_well_formed(rr)) return rcode::FORMERR;
      out = UpdateKind::add;
      return rcode::NOERROR;
    case rrclass::ANY:
      if (rr.ttl != 0 || !rr.rdata.empty()) return rcode::FORMERR;
      if (rr.type == rrtype::ANY) {
        out = UpdateKind::delete_name;
        return rcode::NOERROR;
      }
      if (!is_data_type(rr.type)) return rcode::FORMERR;
      out = UpdateKind::delete_rrset;
      return rcode::NOERROR;
    case rrclass::NONE:
      if (rr.ttl != 0 || !is_data_type(rr.type) || !rdata_well_formed(rr)) return rcode::FORMERR;
      out = UpdateKind::delete_record;
      return rcode::NOERROR;
    default:
      return rcode::FORMERR;
  }
}

uint8_t parse_update(const uint8_t* msg, std::size_t len, const ZoneSet& zones, Update& out,
                     std::string_view key_name) {
  out = Update{};
  if (msg == nullptr || len < header_size) return rcode::FORMERR;
  ldns_pkt* raw = nullptr;
  if (ldns_wire2pkt(&raw, msg, len) != LDNS_STATUS_OK || raw == nullptr) {
    if (raw) ldns_pkt_free(raw);
    return rcode::FORMERR;
  }
  const std::unique_ptr<ldns_pkt, PktDeleter> pkt(raw);
  if (ldns_pkt_get_opcode(pkt.get()) != LDNS_PACKET_UPDATE || ldns_pkt_qr(pkt.get()))
    return rcode::FORMERR;

  // §3.1: exactly one zone RR, of type SOA, naming a zone we are authoritative for.
  const ldns_rr_list* zone_sec = ldns_pkt_question(pkt.get());
  if (ldns_update_zocount(pkt.get()) != 1 || zone_sec == nullptr ||
      ldns_rr_list_rr_count(zone_sec) != 1)
    return rcode::FORMERR;
  const Record zone_rr = record_from_ldns(ldns_rr_list_rr(zone_sec, 0));
  if (zone_rr.type != rrtype::SOA) return rcode::FORMERR;
  const auto* zp = reinterpret_cast<const uint8_t*>(zone_rr.owner.data());
  if (name_wire_length(zp, zone_rr.owner.size()) != zone_rr.owner.size())
    return rcode::FORMERR;
  out.zone = name_key(zone_rr.owner);
  bool served = false;
  for (const ZonePtr& z : zones.zones)
    if (z && z->apex_key() == out.zone) served = true;
  if (!served || zone_rr.rclass != rrclass::IN) return rcode::NOTAUTH;

  const auto* kn = reinterpret_cast<const uint8_t*>(key_name.data());
  if (!key_name.empty() && name_wire_length(kn, key_name.size()) != key_name.size())
    return rcode::FORMERR;
  out.key_name = std::string(key_name);

  // §3.2: prerequisites (the answer section).
  const ldns_rr_list* pre = ldns_pkt_answer(pkt.get());
  const std::size_t npre = pre ? ldns_rr_list_rr_count(pre) : 0;
  if (npre != ldns_update_prcount(pkt.get())) return rcode::FORMERR;
  out.prerequisites.reserve(npre);
  for (std::size_t i = 0; i < npre; ++i) {
    Prerequisite p;
    p.rr = record_from_ldns(ldns_rr_list_rr(pre, i));
    if (const uint8_t rc = classify_prerequisite(p.rr, out.zone, p.kind); rc != rcode::NOERROR)
      return rc;
    out.prerequisites.push_back(std::move(p));
  }

  // §3.4.1: update prescan (the authority section). The additional section is ignored
  // (RFC 2136 §3.8 leaves it unused; ldns has already moved a TSIG out of it).
  const ldns_rr_list* upd = ldns_pkt_authority(pkt.get());
  const std::size_t nupd = upd ? ldns_rr_list_rr_count(upd) : 0;
  if (nupd != ldns_update_upcount(pkt.get())) return rcode::FORMERR;
  out.updates.reserve(nupd);
  for (std::size_t i = 0; i < nupd; ++i) {
    UpdateOp u;
    u.rr = record_from_ldns(ldns_rr_list_rr(upd, i));
    if (const uint8_t rc = classify_update(u.rr, out.zone, u.kind); rc != rcode::NOERROR)
      return rc;
    out.updates.push_back(std::move(u));
  }
  return rcode::NOERROR;
}

}  // namespace vrdns::dns
