// RFC 2136 dynamic UPDATE in canonical form: what the front end parses out of an UPDATE
// message, what goes into the VR log (encode/decode), and what every replica applies
// (dns/update_apply.hpp).
//
// The class of an RR in an UPDATE selects its meaning (RFC 2136 §2.4, §2.5), so each
// prerequisite and update keeps its raw RR (owner, type, class, TTL, RDATA) plus the kind
// that class/type/RDATA select. The kind is always derived by classify_*(): parse_update and
// decode share those rules, so a decoded Update obeys exactly what a parsed one does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dns/record.hpp"
#include "dns/zone.hpp"

namespace vrdns::dns {

namespace rcode {
// RFC 2136 §2.2 (NOERROR..REFUSED are in dns/query_parser.hpp).
inline constexpr uint8_t YXDOMAIN = 6, YXRRSET = 7, NXRRSET = 8, NOTAUTH = 9, NOTZONE = 10;
}

/// RFC 2136 §2.4.
enum class PrereqKind : uint8_t {
  rrset_exists,         ///< §2.4.1 class ANY, type T, no RDATA: an RRset of type T exists
  rrset_exists_value,   ///< §2.4.2 zone class: the RRset equals the given RRs (as a set)
  rrset_absent,         ///< §2.4.3 class NONE, type T: no RRset of type T
  name_in_use,          ///< §2.4.4 class ANY, type ANY: the name owns at least one RR
  name_not_in_use,      ///< §2.4.5 class NONE, type ANY: the name owns no RR
};

/// RFC 2136 §2.5.
enum class UpdateKind : uint8_t {
  add,             ///< §2.5.1 zone class: add the RR
  delete_rrset,    ///< §2.5.2 class ANY, type T: delete the RRset
  delete_name,     ///< §2.5.3 class ANY, type ANY: delete every RRset at the name
  delete_record,   ///< §2.5.4 class NONE: delete the RR with this RDATA
};

struct Prerequisite {
  PrereqKind kind{};
  Record rr;   ///< as received (rclass ANY/NONE/IN, TTL 0)
  bool operator==(const Prerequisite&) const = default;
};

struct UpdateOp {
  UpdateKind kind{};
  Record rr;   ///< as received; for `add` this is the record to add (class IN)
  bool operator==(const UpdateOp&) const = default;
};

/// One UPDATE, ready to apply. Only zones of class IN are served.
struct Update {
  std::string zone;       ///< apex, key form
  std::vector<Prerequisite> prerequisites;
  std::vector<UpdateOp> updates;
  std::string key_name;   ///< wire name of the TSIG key that signed it; empty if unsigned
  bool operator==(const Update&) const = default;
};

/// Checks one prerequisite RR against RFC 2136 §3.2 (TTL 0; ANY/NONE carry no RDATA; no
/// meta types; owner at or below `zone_key`) and sets `out`. Returns NOERROR, FORMERR or
/// NOTZONE.
uint8_t classify_prerequisite(const Record& rr, std::string_view zone_key, PrereqKind& out);
/// Checks one update RR against RFC 2136 §3.4.1 and sets `out`. Same return values.
uint8_t classify_update(const Record& rr, std::string_view zone_key, UpdateKind& out);

/// Parses an UPDATE message (opcode 5, QR clear) whose TSIG, if any, was already verified;
/// `key_name` is that key's wire name (empty if unsigned). Returns NOERROR and fills `out`,
/// or the rcode to answer with:
///   FORMERR  malformed message, ZOCOUNT != 1, zone type not SOA, an RR breaking the
///            class/TTL/RDATA rules of §3.2 / §3.4.1;
///   NOTAUTH  zone not served here (§3.1.1; also when the zone class is not IN);
///   NOTZONE  a prerequisite or update owner outside the zone.
/// Checks are done section by section, so a malformed update RR is reported even when a
/// prerequisite would have failed (RFC 2136 evaluates prerequisites first; the answer
/// differs only for a message that is wrong twice over).
uint8_t parse_update(const uint8_t* msg, std::size_t len, const ZoneSet& zones, Update& out,
                     std::string_view key_name = {});

/// Compact, versioned, deterministic binary form for the VR log.
std::string encode(const Update& u);
/// Inverse of encode. Treats `in` as untrusted: false on any malformed, truncated or
/// trailing bytes, or on an RR that classify_* rejects; `out` is then unspecified.
bool decode(std::string_view in, Update& out);

}  // namespace vrdns::dns
