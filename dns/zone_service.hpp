// The DNS zones as the VR replicated service (protocol::service): every replica executes the
// same committed UpdateRequests in the same order and so holds the same zones.
//
// Replicated state = the zones + a dedupe table for at-most-once UPDATEs. VR's own
// client_table deduplicates per VR client (the front-end proxy); this table deduplicates per
// DNS client, so a retransmitted UPDATE that the front end submits again as a new VR request
// is answered from the table instead of being applied twice. Entries live for
// dedupe_window_ms of *op time* (the receive times carried in the ops, never a local clock):
// when an op arrives, entries older than (newest op time seen - window) are dropped.
//
// Not thread-safe: the replica calls execute() and then zones() from one thread and hands
// the ZoneSetPtr (immutable) to the query path.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "dns/update_request.hpp"
#include "dns/zone.hpp"
#include "protocol/service.hpp"

namespace vrdns::dns {

class ZoneService : public vrdns::protocol::service {
 public:
  static constexpr uint64_t dedupe_window_ms = 60'000;

  /// Starts from the loaded zone files. Zones are kept sorted by apex, so replicas whose
  /// configurations list them in different orders still agree. Throws std::invalid_argument
  /// on a null zone or two zones with the same apex.
  explicit ZoneService(const ZoneSet& initial);

  /// `op` = encode(UpdateRequest); returns encode(UpdateReply). A malformed op (a front-end
  /// bug, not client input) yields SERVFAIL and changes nothing.
  std::string execute(const std::string& op) override;
  std::string snapshot() const override;
  /// Throws std::invalid_argument (state untouched) if `snapshot` is malformed.
  void restore(const std::string& snapshot) override;

  ZoneSetPtr zones() const { return zones_; }
  std::size_t dedupe_table_size() const { return dedupe_table_.size(); }

 private:
  struct Entry {
    uint64_t time_ms = 0;
    std::string result;
  };

  void expire(uint64_t now_ms);
  uint8_t run(const UpdateRequest& req);

  ZoneSetPtr zones_;
  uint64_t newest_time_ms_ = 0;
  std::map<ClientIdentity, Entry> dedupe_table_;
  /// Index of dedupe_table_ by (time, identity), so expiry costs O(expired entries).
  std::set<std::pair<uint64_t, ClientIdentity>> by_time_;
};

}  // namespace vrdns::dns
