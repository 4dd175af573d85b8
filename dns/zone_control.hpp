// Removing a zone from a running cluster, and letting a removed one back in.
//
// A zone leaves the cluster only by an explicit act, never because a node's config stopped
// listing it: `vrdns zone remove NAME` sends a TSIG-signed control message (below) to a node,
// whose front end checks the key against [control] allow and proposes a ZoneControlRequest
// through VR, like an UPDATE. Every replica then drops the zone and keeps a tombstone of its
// apex in the replicated state. The tombstone is what keeps a removed zone removed: a node
// whose config still lists it would otherwise propose it again (dns/zone_add.hpp) at its next
// start, with the old file's records. An AddZoneRequest for a tombstoned apex is REFUSED until
// `vrdns zone readmit NAME` clears the tombstone; then the nodes that list the zone propose it
// again, as for any zone the cluster lacks.
//
// The op (a VR log entry): "VRZC" u8 version(1) u8 action u32 length + apex (wire form).
//
// The control message (client to front end) is an RFC 2136 UPDATE with a form no real update
// has: zone section = the apex (IN SOA), no prerequisites, exactly one update RR: owner = the
// apex, type control_rrtype (private use, RFC 6895 §3.1), class NONE, TTL 0, RDATA = the
// control_magic text followed by one action byte. Sent to a server that is not vrdns, it asks
// to delete a record that does not exist: nothing happens.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vrdns::dns {

struct ZoneControlRequest {
  enum class Action : uint8_t { remove = 1, readmit = 2 };
  Action action = Action::remove;
  std::string apex;   ///< wire form
  bool operator==(const ZoneControlRequest&) const = default;
};

inline constexpr uint16_t control_rrtype = 65432;
inline constexpr std::string_view control_magic = "vrdns-zone-control";

std::string encode(const ZoneControlRequest& r);
/// True if `op` is an encoded ZoneControlRequest (by its magic; it may still be malformed).
bool is_zone_control(std::string_view op);
/// False on malformed, truncated or trailing bytes, an unknown action or an invalid apex.
bool decode(std::string_view in, ZoneControlRequest& out);

/// The unsigned control message for `r` with DNS id `id` (the caller signs it, dns/tsig.hpp).
std::vector<uint8_t> make_zone_control_message(const ZoneControlRequest& r, uint16_t id);
/// The request in `message` (TSIG already stripped) if it has exactly the control form;
/// nullopt for anything else, which is then an ordinary UPDATE. Every length is checked.
std::optional<ZoneControlRequest> parse_zone_control_message(const uint8_t* message,
                                                             std::size_t length);

const char* to_string(ZoneControlRequest::Action a);

}  // namespace vrdns::dns
