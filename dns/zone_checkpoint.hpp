// ZoneService's replicated state as checkpoint parts (issue #5; protocol/checkpoint.hpp):
//   <apex>.zone   one canonical RFC 1035 master file per zone (dns/master_file.hpp);
//   service.bin   the metadata (binary, versioned): which zone parts there are (so a missing
//                 one is noticed), the newest op time and the UPDATE dedupe table.
//
// Zone part names come from the apex in key form (zones are unique by apex case-
// insensitively, so the names are unique too): each label keeps [a-z0-9-] and writes any
// other byte as _XX (upper-case hex), labels joined by '.', then ".zone": "example.com.zone",
// "my_5Fzone.test.zone" for "My_Zone.test.". The root zone is "_root.zone" (no escape
// starts "_r"); an apex whose name would pass the 200-character limit is
// "_long-<first 128 bits of the SHA-256 of its key, hex>.zone".
//
// service.bin (big-endian): "VRZS" u8 version(1 or 2) u64 newest_time_ms
//   u32 zone_count, zone_count x { u8 length, zone part name } in the order of the parts
//   version 2 only: u32 removed_count, removed_count x { u8 length, apex (wire form),
//   u32 serial at removal, u8 readmitted (0 or 1) }, the tombstones of removed zones
//   (dns/zone_control.hpp), none of them a zone of the checkpoint and no two alike; version 1
//   (written while there are none, so older builds read it) has none
//   u64 dedupe_count, dedupe_count x { u64 key hi, u64 key lo, u64 time_ms, u8 rcode }
//   in execution order.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dns/zone.hpp"
#include "dns/zone_service.hpp"
#include "protocol/checkpoint.hpp"

namespace vrdns::dns {

inline constexpr std::string_view service_part_name = "service.bin";

/// The part name of the zone at `apex` (wire form, any case).
std::string zone_part_name(std::string_view apex);

/// The state of a ZoneService, as written to or read from a checkpoint.
struct ZoneServiceState {
  std::vector<ZonePtr> zones;                     ///< any order on input, apex order on output
  uint64_t newest_time_ms = 0;
  std::vector<ZoneService::Tombstone> removed;    ///< in apex key order
  std::vector<ZoneService::DedupeEntry> dedupe;   ///< execution order (times never decrease)
};

/// The parts of `s`: zones in the given order, then service.bin. Reads only `s` (immutable
/// zones), so it may run on any thread.
std::vector<protocol::snapshot_part> checkpoint_parts(const ZoneServiceState& s);

/// Parses and validates parts made by checkpoint_parts. Throws std::invalid_argument on a
/// missing, duplicate or unknown part, a zone part whose name is not its apex's, a zone that
/// fails to load or validate, or a malformed dedupe table.
ZoneServiceState read_checkpoint_parts(const std::vector<protocol::snapshot_part>& parts);

}  // namespace vrdns::dns
