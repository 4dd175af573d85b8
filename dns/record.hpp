// One resource record, and conversions between our wire-ready form and ldns.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

struct ldns_struct_rr;

namespace vrdns::dns {

namespace rrtype {
inline constexpr uint16_t A = 1, NS = 2, CNAME = 5, SOA = 6, PTR = 12, MX = 15, TXT = 16,
                          AAAA = 28, SRV = 33, NAPTR = 35, DNAME = 39, OPT = 41, DS = 43,
                          RRSIG = 46, NSEC = 47, DNSKEY = 48, NSEC3 = 50, TSIG = 250,
                          IXFR = 251, AXFR = 252, ANY = 255;
}
namespace rrclass {
inline constexpr uint16_t IN = 1, CH = 3, NONE = 254, ANY = 255;
}

/// A resource record as the zone store and UPDATE see it.
struct Record {
  std::string owner;   ///< wire format, case as given
  uint16_t type = 0;
  uint16_t rclass = rrclass::IN;
  uint32_t ttl = 0;
  std::string rdata;   ///< uncompressed wire RDATA, no length prefix, names in case as given

  bool operator==(const Record&) const = default;
};

/// RDATA equality as DNS defines it: names embedded in the RDATA of the types listed in
/// RFC 4034 §6.2 (NS, CNAME, SOA, MX, PTR, SRV, ...) compare case-insensitively.
bool rdata_equal(uint16_t type, std::string_view a, std::string_view b);

/// RDATA with the embedded names of RFC 4034 §6.2 types folded to lower case.
std::string rdata_canonical(uint16_t type, std::string_view rdata);

/// Conversions to and from ldns. `to_ldns` returns a new ldns_rr the caller owns, or
/// nullptr if ldns cannot parse the RDATA for that type.
Record record_from_ldns(const ldns_struct_rr* rr);
ldns_struct_rr* record_to_ldns(const Record& r);

/// Presentation format, one line ("www.example.test. 3600 IN A 192.0.2.1").
std::string record_to_text(const Record& r);

}  // namespace vrdns::dns
