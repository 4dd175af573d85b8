// Checkpoints (issue #5; VR Revisited §5.3 "the replica takes a checkpoint of the application
// state every O operations"): the service state after executing ops 1..op_number, together
// with VR's client_table at that point. A checkpoint holds only committed state, so any replica
// may hand one to any other, whatever its view or status; only the log *after* a checkpoint must
// still come from the primary (§5.2).
//
// Once a checkpoint is durable the log before it (minus a margin kept for lagging replicas) is
// dropped, so memory and restart time follow the zone size, not the number of updates ever made.
//
// The state is a list of named parts (for the DNS service: one RFC 1035 master file per zone
// plus the UPDATE dedupe table), so the disk copy is readable by an operator. In transfer the
// whole checkpoint travels as one blob (encode_checkpoint) in chunks, verified by CRC32C.
#pragma once

#include "protocol/replica_state.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vrdns::protocol {

// One named piece of a service's state. Names are file names: 1..200 characters of
// [A-Za-z0-9._-], not starting with '.', unique within a checkpoint (valid_part_name).
struct snapshot_part {
  std::string name;
  std::string bytes;
  friend bool operator==(const snapshot_part&, const snapshot_part&) = default;
};

bool valid_part_name(std::string_view name);

// The name of the part in which the replica keeps its client_table; services must not use it.
inline constexpr std::string_view client_table_part = "vr-client-table";

struct checkpoint {
  std::uint64_t op_number = 0;     // the state after executing ops 1..op_number
  std::uint64_t view_number = 0;   // the view the replica was in when it took it (informational)
  std::vector<snapshot_part> parts;
  friend bool operator==(const checkpoint&, const checkpoint&) = default;
};

// The blob that travels in CheckpointChunk messages. Layout (little-endian):
//   "VRCP" u32 version(1) u64 op_number u64 view_number u32 part_count
//   part_count x { u16 name_length, name, u64 size, bytes }
//   u32 CRC32C of everything before it
std::string encode_checkpoint(const checkpoint& c);
// nullopt if the blob is malformed or its checksum does not match. Every length is checked
// against the bytes present before it is used.
std::optional<checkpoint> decode_checkpoint(std::string_view blob);

// client_table <-> the bytes of its part.
std::string encode_client_table(const std::map<std::uint64_t, client_record>& table);
std::optional<std::map<std::uint64_t, client_record>> decode_client_table(std::string_view bytes);

} // namespace vrdns::protocol
