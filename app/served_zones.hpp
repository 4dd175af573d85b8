// The zone list the UPDATE path parses against (which apex an UPDATE names, RFC 2136 §3.1).
//
// Zones can be added to a running cluster (dns/zone_add.hpp), so the list the front end's
// workers read is replaced once the replica has executed an add. Read on front-end worker
// threads for every UPDATE (not on the query path), replaced on the replica's thread.
#pragma once

#include <atomic>
#include <memory>

#include "dns/zone.hpp"

namespace vrdns::app {

class ServedZones {
 public:
  explicit ServedZones(const dns::ZoneSet& zones) : zones_(apexes_of(zones)) {}
  dns::ZoneSetPtr get() const { return zones_.load(); }
  /// The replica's thread calls this only when the list changed
  /// (dns::ZoneService::zone_list_version).
  void set(const dns::ZoneSet& zones) { zones_.store(apexes_of(zones)); }

 private:
  /// UPDATE parsing needs the apexes alone: empty zones at them. Holding the zones themselves
  /// would keep their versions of that moment alive for as long as the list stays the same.
  static dns::ZoneSetPtr apexes_of(const dns::ZoneSet& zones) {
    auto out = std::make_shared<dns::ZoneSet>();
    out->zones.reserve(zones.zones.size());
    for (const dns::ZonePtr& z : zones.zones) out->zones.push_back(dns::ZoneEditor(z->apex()).finish());
    if (zones.sorted_by_apex) out->mark_sorted();   // same apexes, same order
    return out;
  }

  std::atomic<dns::ZoneSetPtr> zones_;
};

}  // namespace vrdns::app
