// The DNS zones as the VR replicated service (protocol::service): every replica executes the
// same committed UpdateRequests in the same order and so holds the same zones. The other ops
// change the zone list: AddZoneRequest (dns/zone_add.hpp) adds a zone to a running cluster,
// ZoneControlRequest (dns/zone_control.hpp) removes one (leaving a tombstone) or readmits one.
//
// Replicated state = the zones + the tombstones of removed zones + a dedupe table for
// at-most-once UPDATEs. VR's own
// client_table deduplicates per VR client (the front-end proxy); this table deduplicates per
// DNS client, so a retransmitted UPDATE that the front end submits again as a new VR request
// is answered from the table instead of being applied twice. Entries live for
// dedupe_window_ms of *op time* (the receive times carried in the ops, never a local clock):
// when an op arrives, entries older than (newest op time seen - window) are dropped.
//
// The table must hold every UPDATE of the last minute, so at tens of thousands of UPDATEs per
// second it is kept compact: an entry is a 128-bit digest of the client identity, its op time
// and the rcode (about 90 bytes with the index), in execution order.
//
// Not thread-safe: the replica calls execute(), zones() and freeze() from one thread and hands
// the ZoneSetPtr (immutable) to the query path and the frozen copy to a checkpoint writer.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

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
  /// bug, not client input) yields SERVFAIL and changes nothing. `op` may also be an op batch
  /// (protocol/op_batch.hpp) of encoded UpdateRequests: they run in order, each exactly as if
  /// it were an op of its own, and the result is the batch of their replies. (Internally a
  /// batch edits each zone in place and publishes it once, at the end: zones() never shows
  /// a batch half done, and nothing else can observe the difference.)
  std::string execute(const std::string& op) override;
  /// Shares the (immutable) zones and copies the dedupe table: O(table), no zone copy. The
  /// parts (dns/zone_checkpoint.hpp) are made from the copy, on any thread.
  std::shared_ptr<const vrdns::protocol::frozen_service> freeze() const override;
  /// All or nothing: throws std::invalid_argument, state untouched, if `parts` are not what
  /// a frozen ZoneService makes (see read_checkpoint_parts).
  void restore(const std::vector<vrdns::protocol::snapshot_part>& parts) override;

  ZoneSetPtr zones() const { return zones_; }
  /// Changes whenever the set of apexes may have changed (a zone added, a checkpoint
  /// restored), not when records do: lets a reader of the apex list skip the other commits.
  uint64_t zone_list_version() const { return zone_list_version_; }
  std::size_t dedupe_table_size() const { return dedupe_order_.size(); }
  /// Apexes (key form, sorted) of the zones removed and not readmitted: an add of one is
  /// REFUSED. Changes bump zone_list_version too.
  std::vector<std::string> removed_zones() const;

  /// What the cluster remembers of a removed zone until it is added again: its serial then,
  /// so that the zone comes back with a newer one (secondaries that held it must see a new
  /// version), and whether it was readmitted (an add is then taken).
  struct Tombstone {
    std::string apex;        ///< wire form, as removed
    uint32_t serial = 0;     ///< the SOA serial it had when removed
    bool readmitted = false;
    bool operator==(const Tombstone&) const = default;
  };

  /// SHA-256 of the identity's fields, truncated to 128 bits: the same on every replica, and
  /// no two clients' UPDATEs collide in practice.
  struct DedupeKey {
    uint64_t hi = 0, lo = 0;
    bool operator==(const DedupeKey&) const = default;
  };
  /// The key is already a digest: any 64 bits of it hash well.
  struct DedupeKeyHash {
    std::size_t operator()(const DedupeKey& k) const { return std::size_t(k.hi ^ k.lo); }
  };
  static DedupeKey dedupe_key(const ClientIdentity& client);

  /// execute() that also says whose UPDATEs ran: appends each one's dedupe_key to `clients`
  /// (for read-your-writes bookkeeping, app/commit_waiters.hpp). Malformed ops add nothing.
  std::string execute(const std::string& op, std::vector<DedupeKey>* clients);

  /// One remembered UPDATE: the client's digest, its op time and the rcode it got.
  struct DedupeEntry {
    DedupeKey key;
    uint64_t time_ms = 0;
    uint8_t rcode = 0;
  };

 private:
  /// The zones an op batch is editing: each is sealed once at the end of the batch rather
  /// than after every UPDATE (defined in zone_service.cpp).
  struct BatchEdits;

  /// One UPDATE; `batch` is null for an op of its own.
  std::string execute_one(std::string_view op, std::vector<DedupeKey>* clients,
                          BatchEdits* batch);
  void expire(uint64_t now_ms);
  /// An AddZoneRequest (dns/zone_add.hpp): NOERROR added, YXDOMAIN a zone with that apex is
  /// there already (nothing changes), FORMERR malformed or not a valid zone.
  /// (REFUSED: the apex has a tombstone not readmitted, dns/zone_control.hpp; a readmitted
  /// one makes the zone's serial newer than at its removal.)
  uint8_t add_zone(std::string_view op, BatchEdits* batch);
  /// A ZoneControlRequest. remove: NOERROR removed (or removed already), NOTAUTH no such zone
  /// and no tombstone; readmit: NOERROR (the tombstone lets an add in, or there was none);
  /// FORMERR malformed.
  uint8_t zone_control(std::string_view op, BatchEdits* batch);
  uint8_t run(const UpdateRequest& req, BatchEdits* batch);
  /// Makes the batch's changed zones the current ones (one new ZoneSet).
  void seal(BatchEdits& batch);

  ZoneSetPtr zones_;
  std::map<std::string, Tombstone> removed_;   // by apex key
  uint64_t zone_list_version_ = 0;
  uint64_t newest_time_ms_ = 0;
  /// Execution order, so op times never decrease along it: expiry pops from the front.
  std::deque<DedupeEntry> dedupe_order_;
  std::unordered_map<DedupeKey, uint8_t, DedupeKeyHash> dedupe_index_;   // key -> rcode
};

}  // namespace vrdns::dns
