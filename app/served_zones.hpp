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
  explicit ServedZones(dns::ZoneSetPtr zones) : zones_(std::move(zones)) {}
  dns::ZoneSetPtr get() const { return zones_.load(); }
  /// UPDATE parsing needs the apexes alone, not the records: the replica's thread calls this
  /// only when the list changed (dns::ZoneService::zone_list_version).
  void set(dns::ZoneSetPtr zones) { zones_.store(std::move(zones)); }

 private:
  std::atomic<dns::ZoneSetPtr> zones_;
};

}  // namespace vrdns::app
