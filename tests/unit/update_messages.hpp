// Test helpers shared by the UPDATE and zone-service tests: RFC 2136 UPDATE messages built
// with ldns the way nsupdate sends them (see stack-notes §5 for the classes per command),
// and a small test zone.
#pragma once

#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "dns/name.hpp"
#include "dns/record.hpp"
#include "dns/update.hpp"
#include "dns/zone.hpp"

// After every C++ header: ldns/common.h #defines `bool`/`false` (docs/pitfalls.md).
#include <ldns/ldns.h>

namespace update_test {

using namespace vrdns::dns;

inline std::string wire(const std::string& text) {
  auto n = name_from_text(text);
  BOOST_REQUIRE_MESSAGE(n.has_value(), "cannot parse name " << text);
  return *n;
}

/// A record from presentation format, e.g. "www.example.test. 300 IN A 192.0.2.1".
inline Record rec(const std::string& text) {
  ldns_rr* rr = nullptr;
  const ldns_status s = ldns_rr_new_frm_str(&rr, text.c_str(), 300, nullptr, nullptr);
  BOOST_REQUIRE_MESSAGE(s == LDNS_STATUS_OK, "cannot parse RR " << text);
  Record r = record_from_ldns(rr);
  ldns_rr_free(rr);
  return r;
}

/// The same RR with another class and TTL: `update delete name A 192.0.2.1` is class NONE
/// TTL 0 with RDATA; a value-dependent prerequisite is the zone class with TTL 0.
inline Record as(Record r, uint16_t rclass, uint32_t ttl = 0) {
  r.rclass = rclass;
  r.ttl = ttl;
  return r;
}

/// An RR without RDATA: `update delete name TYPE` (ANY), `prereq yxrrset name TYPE` (ANY),
/// `prereq nxrrset` (NONE), `prereq yxdomain` (ANY, type ANY), `prereq nxdomain` (NONE, ANY).
inline Record bare(const std::string& owner, uint16_t type, uint16_t rclass) {
  return Record{wire(owner), type, rclass, 0, {}};
}

/// An UPDATE message: zone section `zone` SOA `zclass`, the prerequisites in the answer
/// section, the updates in the authority section. Built and serialized by ldns (with name
/// compression), flags as nsupdate sends them (all clear).
inline std::string message(const std::string& zone, const std::vector<Record>& prereqs,
                           const std::vector<Record>& updates, uint16_t id = 0x1234,
                           uint16_t zclass = rrclass::IN) {
  ldns_rr_list* pr = ldns_rr_list_new();
  ldns_rr_list* up = ldns_rr_list_new();
  for (const Record& r : prereqs) {
    ldns_rr* rr = record_to_ldns(r);
    BOOST_REQUIRE_MESSAGE(rr != nullptr, "ldns rejects " << record_to_text(r));
    ldns_rr_list_push_rr(pr, rr);
  }
  for (const Record& r : updates) {
    ldns_rr* rr = record_to_ldns(r);
    BOOST_REQUIRE_MESSAGE(rr != nullptr, "ldns rejects " << record_to_text(r));
    ldns_rr_list_push_rr(up, rr);
  }
  ldns_rdf* zone_rdf = ldns_dname_new_frm_str(zone.c_str());   // the packet takes it
  ldns_pkt* p = ldns_update_pkt_new(zone_rdf, ldns_rr_class(zclass), pr, up, nullptr);
  BOOST_REQUIRE(p != nullptr);
  ldns_pkt_set_rd(p, false);
  ldns_pkt_set_id(p, id);
  uint8_t* out = nullptr;
  std::size_t len = 0;
  BOOST_REQUIRE(ldns_pkt2wire(&out, p, &len) == LDNS_STATUS_OK);
  std::string bytes(reinterpret_cast<const char*>(out), len);
  std::free(out);
  ldns_pkt_free(p);
  ldns_rr_list_deep_free(pr);   // ldns_update_pkt_new cloned the lists
  ldns_rr_list_deep_free(up);
  return bytes;
}

inline uint8_t parse(const std::string& msg, const ZoneSet& zones, Update& out,
                     std::string_view key_name = {}) {
  return parse_update(reinterpret_cast<const uint8_t*>(msg.data()), msg.size(), zones, out,
                      key_name);
}

inline const char* const example_zone =
    "$TTL 300\n"
    "@ IN SOA ns1 hostmaster 100 3600 900 604800 300\n"
    "@ IN NS ns1\n"
    "@ IN NS ns2\n"
    "@ IN MX 10 mail\n"
    "ns1 IN A 192.0.2.1\n"
    "ns2 IN A 192.0.2.2\n"
    "www IN A 192.0.2.10\n"
    "www IN A 192.0.2.11\n"
    "alias IN CNAME www\n"
    "leaf.ent IN TXT \"below an empty non-terminal\"\n"
    "sub IN NS ns.sub\n"
    "ns.sub IN A 192.0.2.53\n";

inline const char* const other_zone =
    "$TTL 300\n"
    "@ IN SOA ns1 hostmaster 7 3600 900 604800 300\n"
    "@ IN NS ns1\n"
    "ns1 IN A 192.0.2.99\n";

inline ZoneSet test_zones() {
  ZoneSet zs;
  zs.zones.push_back(load_zone_text(example_zone, "example.test."));
  zs.zones.push_back(load_zone_text(other_zone, "other.test."));
  return zs;
}

}  // namespace update_test
