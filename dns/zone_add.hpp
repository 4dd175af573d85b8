// The VR operation that adds a zone to a running cluster.
//
// RFC 2136 UPDATEs change records inside a zone and never add one; a cluster's zones are those
// it started with (its birth checkpoint) plus those added by this operation. A node whose
// config lists a zone the cluster does not have proposes it (app/zone_adder.hpp): the apex and
// the zone as a canonical master file (dns/master_file.hpp), read from that node's file. Every
// replica reads the same text with the same code, so every replica adds the same zone, or none.
//
// Encoding: "VRZA" u8 version(1) u32 length + apex (wire form), u32 length + master file text.
// An UpdateRequest starts with its version byte (1) and an op batch with its own magic, so
// the three cannot be mistaken for each other.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace vrdns::dns {

struct AddZoneRequest {
  std::string apex;          ///< wire form
  std::string master_file;   ///< write_master_file() of the zone
  bool operator==(const AddZoneRequest&) const = default;
};

/// A bound on the master file an added zone may have: it travels as one log entry (the WAL
/// takes at most 16 MiB per entry, and a Prepare carries it to every replica at once). Bigger
/// zones belong in the [[zone]] list of a new cluster.
inline constexpr std::size_t max_added_zone_bytes = 8u << 20;

std::string encode(const AddZoneRequest& r);
/// True if `op` is an encoded AddZoneRequest (by its magic; it may still be malformed).
bool is_add_zone(std::string_view op);
/// False on malformed, truncated or trailing bytes, or an apex that is not a valid wire name.
bool decode(std::string_view in, AddZoneRequest& out);

}  // namespace vrdns::dns
