// Per-zone statistics on the query path: each zone a node serves gets a small number, its
// slot, and every DNS worker counts the queries of a zone in its own counter of that slot
// (net/query_stats.hpp), so counting stays a store to memory no other thread writes.
//
// Slots are given out in the order zones are first seen and never reused: a zone removed and
// added again gets its old slot back, and a slot never carries one zone's counts into another
// zone's. The last slot is shared by every zone beyond the first zone_slots - 1.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dns/zone.hpp"
#include "net/query_stats.hpp"

namespace vrdns::net {

class ZoneSlots {
 public:
  /// The slot of every zone of `set`, by position (dns::ServingState::zone_slots).
  std::shared_ptr<const std::vector<uint16_t>> slots_for(const dns::ZoneSet& set);
  /// The slot of the zone at `apex_key`, if it was ever given one.
  std::optional<uint16_t> find(std::string_view apex_key) const;

  static constexpr uint16_t shared_slot = uint16_t(zone_slots - 1);

 private:
  mutable std::mutex mutex_;
  std::map<std::string, uint16_t, std::less<>> slots_;
  uint16_t next_ = 0;
};

}  // namespace vrdns::net
