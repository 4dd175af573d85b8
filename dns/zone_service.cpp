// ZoneService: executing UpdateRequests deterministically; freezing and restoring the state
// (its checkpoint form is in dns/zone_checkpoint.cpp).
#include "dns/zone_service.hpp"


#include <algorithm>
#include <cassert>
#include <memory>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "dns/bytes.hpp"
#include "dns/query_parser.hpp"
#include "dns/sha256.hpp"
#include "dns/update.hpp"
#include "dns/update_apply.hpp"
#include "dns/master_file.hpp"
#include "dns/name.hpp"
#include "dns/zone.hpp"
#include "dns/zone_add.hpp"
#include "dns/zone_checkpoint.hpp"
#include "dns/zone_control.hpp"
#include "protocol/op_batch.hpp"

namespace vrdns::dns {

namespace {

[[noreturn]] void bad(const std::string& what) {
  throw std::invalid_argument("checkpoint: " + what);
}

/// Sorted by apex key, unique apexes.
ZoneSetPtr canonical_zone_set(std::vector<ZonePtr> zones) {
  for (const ZonePtr& z : zones)
    if (!z) throw std::invalid_argument("null zone");
  std::sort(zones.begin(), zones.end(),
            [](const ZonePtr& a, const ZonePtr& b) { return a->apex_key() < b->apex_key(); });
  for (std::size_t i = 1; i < zones.size(); ++i)
    if (zones[i - 1]->apex_key() == zones[i]->apex_key())
      throw std::invalid_argument("two zones with the same apex");
  auto set = std::make_shared<ZoneSet>();
  set->zones = std::move(zones);
  set->mark_sorted();   // the query path's find_zone then searches instead of scanning
  return set;
}

}  // namespace

ZoneService::ZoneService(const ZoneSet& initial) : zones_(canonical_zone_set(initial.zones)) {}

ZoneService::DedupeKey ZoneService::dedupe_key(const ClientIdentity& c) {
  ByteWriter w;   // an unambiguous encoding: every variable-length field is length-prefixed
  w.reserve(4 + c.address.size() + 2 + 2 + 4 + c.key_name.size() + 8);
  w.bytes(c.address);
  w.u16(c.port);
  w.u16(c.dns_id);
  w.bytes(c.key_name);
  w.u64(c.message_hash);
  const std::string& in = w.str();
  const auto md = sha256(in);
  DedupeKey k;
  for (int i = 0; i < 8; ++i) k.hi = k.hi << 8 | md[i];
  for (int i = 8; i < 16; ++i) k.lo = k.lo << 8 | md[i];
  return k;
}

void ZoneService::expire(uint64_t now_ms) {
  // Entries strictly older than the window go; one exactly dedupe_window_ms old stays.
  if (now_ms < dedupe_window_ms) return;
  const uint64_t cutoff = now_ms - dedupe_window_ms;
  while (!dedupe_order_.empty() && dedupe_order_.front().time_ms < cutoff) {
    dedupe_index_.erase(dedupe_order_.front().key);
    dedupe_order_.pop_front();
  }
  assert(dedupe_index_.size() == dedupe_order_.size());
}

/// A batch edits a private version of each zone it updates, in place where the HAMT allows,
/// instead of path-copying and sealing a new snapshot per UPDATE: the per-UPDATE
/// copy/release churn was a large part of a loaded replica's CPU. Every UPDATE still behaves
/// as if it ran alone (apply_update on a ZoneEditor: all or nothing, serial per UPDATE).
struct ZoneService::BatchEdits {
  explicit BatchEdits(std::size_t zone_count) : editors(zone_count), changed(zone_count) {}
  std::vector<std::unique_ptr<ZoneEditor>> editors;   // by index in zones_; null: untouched
  std::vector<bool> changed;   // some UPDATE of the batch changed that zone
};

uint8_t ZoneService::run(const UpdateRequest& req, BatchEdits* batch) {
  Update u;
  if (!decode(req.update, u)) return rcode::FORMERR;
  const int found = zones_->index_of(u.zone);
  if (found < 0) return rcode::NOTAUTH;
  const auto index = std::size_t(found);
  const auto it = zones_->zones.begin() + found;

  if (batch != nullptr) {
    // zones_ is not replaced during a batch (seal does that at the end), so the index is
    // stable and the editor holds everything earlier UPDATEs of the batch did.
    std::unique_ptr<ZoneEditor>& ed = batch->editors[index];
    if (!ed) ed = std::make_unique<ZoneEditor>(*it);
    const EditResult res = apply_update(*ed, u);
    if (res.changed) batch->changed[index] = true;
    return res.rcode;
  }

  UpdateResult res = apply_update(*it, u);
  if (res.changed) {
    auto next = std::make_shared<ZoneSet>(*zones_);   // copies pointers only
    next->zones[index] = std::move(res.zone);
    zones_ = std::move(next);
  }
  return res.rcode;
}

void ZoneService::seal(BatchEdits& batch) {
  assert(batch.editors.size() == zones_->zones.size());
  std::shared_ptr<ZoneSet> next;
  for (std::size_t i = 0; i < batch.editors.size(); ++i) {
    // A zone whose UPDATEs all failed or changed nothing keeps its snapshot, as it would
    // one UPDATE at a time; its editor was rolled back to that snapshot anyway.
    if (!batch.changed[i]) continue;
    assert(batch.editors[i]);
    if (!next) next = std::make_shared<ZoneSet>(*zones_);   // copies pointers only
    next->zones[i] = batch.editors[i]->finish();
    batch.editors[i].reset();
    batch.changed[i] = false;
  }
  if (next) zones_ = std::move(next);
}

std::string ZoneService::execute(const std::string& op) { return execute(op, nullptr); }

std::string ZoneService::execute(const std::string& op, std::vector<DedupeKey>* clients) {
  if (!protocol::is_op_batch(op)) return execute_one(op, clients, nullptr);
  std::vector<std::string_view> parts;
  if (!protocol::decode_op_batch(op, parts)) return encode(UpdateReply{rcode::SERVFAIL});
  std::vector<std::string> results;
  results.reserve(parts.size());
  BatchEdits batch(zones_->zones.size());
  try {
    for (std::string_view part : parts) results.push_back(execute_one(part, clients, &batch));
  } catch (...) {
    // Only resource exhaustion gets here (UPDATE failures are rcodes). The dedupe table
    // already holds the parts that ran, so their edits must stay too, as they would had
    // each part been an op of its own; apply_update left every editor consistent.
    seal(batch);
    throw;
  }
  seal(batch);
  return protocol::encode_op_batch(std::vector<std::string_view>(results.begin(), results.end()));
}

std::string ZoneService::execute_one(std::string_view op, std::vector<DedupeKey>* clients,
                                     BatchEdits* batch) {
  if (is_add_zone(op)) return encode(UpdateReply{add_zone(op, batch)});
  if (is_zone_control(op)) return encode(UpdateReply{zone_control(op, batch)});
  UpdateRequest req;
  if (!decode(op, req)) return encode(UpdateReply{rcode::SERVFAIL});

  // Op time only moves forward, even if a new primary's clock is behind the old one's.
  newest_time_ms_ = std::max(newest_time_ms_, req.receive_time_ms);
  expire(newest_time_ms_);
  const DedupeKey key = dedupe_key(req.client);
  if (clients) clients->push_back(key);
  if (auto it = dedupe_index_.find(key); it != dedupe_index_.end())
    return encode(UpdateReply{it->second});

  const uint8_t rcode = run(req, batch);
  // newest_time_ms_ never decreases, so the order stays sorted by time (expire relies on it).
  assert(dedupe_order_.empty() || dedupe_order_.back().time_ms <= newest_time_ms_);
  dedupe_order_.push_back(DedupeEntry{key, newest_time_ms_, rcode});
  dedupe_index_.emplace(key, rcode);
  return encode(UpdateReply{rcode});
}

uint8_t ZoneService::add_zone(std::string_view op, BatchEdits* batch) {
  AddZoneRequest req;
  if (!decode(op, req)) return rcode::FORMERR;
  ZonePtr zone;
  try {
    zone = read_master_file(req.master_file, "added zone " + name_to_text(req.apex));
  } catch (const ZoneError&) {
    return rcode::FORMERR;   // every replica reads the same text the same way
  }
  if (zone->apex_key() != name_key(req.apex)) return rcode::FORMERR;
  for (const ZonePtr& z : zones_->zones)
    if (z->apex_key() == zone->apex_key()) return rcode::YXDOMAIN;
  if (const auto t = removed_.find(zone->apex_key()); t != removed_.end()) {
    if (!t->second.readmitted) return rcode::REFUSED;
    try {
      zone = with_serial_after(zone, t->second.serial);
    } catch (const std::invalid_argument&) {
      return rcode::FORMERR;   // no apex SOA: read_master_file does not let that through
    }
    removed_.erase(t);
  }
  // The batch edits zones by their index, which the new zone shifts: publish what the batch
  // did so far, and go on with fresh editors.
  if (batch != nullptr) seal(*batch);
  std::vector<ZonePtr> zones = zones_->zones;
  zones.push_back(std::move(zone));
  zones_ = canonical_zone_set(std::move(zones));
  ++zone_list_version_;
  if (batch != nullptr) *batch = BatchEdits(zones_->zones.size());
  return rcode::NOERROR;
}

uint8_t ZoneService::zone_control(std::string_view op, BatchEdits* batch) {
  ZoneControlRequest req;
  if (!decode(op, req)) return rcode::FORMERR;
  const std::string key = name_key(req.apex);
  const auto tomb = removed_.find(key);
  if (req.action == ZoneControlRequest::Action::readmit) {
    if (tomb != removed_.end() && !tomb->second.readmitted) {
      tomb->second.readmitted = true;
      ++zone_list_version_;
    }
    return rcode::NOERROR;
  }
  auto is_it = [&](const ZonePtr& z) { return z->apex_key() == key; };
  if (std::none_of(zones_->zones.begin(), zones_->zones.end(), is_it)) {
    if (tomb == removed_.end()) return rcode::NOTAUTH;
    if (tomb->second.readmitted) {   // readmitted, not added yet: removed again
      tomb->second.readmitted = false;
      ++zone_list_version_;
    }
    return rcode::NOERROR;
  }
  // As for an add, the batch's editors are indexed by zone: publish its edits first. (That
  // replaces zones_, and the zone's serial may be the batch's: read nothing before it.)
  if (batch != nullptr) seal(*batch);
  std::vector<ZonePtr> zones = zones_->zones;
  const auto live = std::find_if(zones.begin(), zones.end(), is_it);
  assert(live != zones.end());
  const uint32_t serial = (*live)->serial();
  zones.erase(live);
  zones_ = canonical_zone_set(std::move(zones));
  assert(tomb == removed_.end());   // an add erases the tombstone of its apex
  removed_.emplace(key, Tombstone{req.apex, serial, false});
  ++zone_list_version_;
  if (batch != nullptr) *batch = BatchEdits(zones_->zones.size());
  return rcode::NOERROR;
}

std::vector<std::string> ZoneService::removed_zones() const {
  std::vector<std::string> out;
  for (const auto& [key, t] : removed_)
    if (!t.readmitted) out.push_back(key);
  return out;
}

namespace {

/// A ZoneService as it was at freeze(): shares the zones, owns a copy of the dedupe table.
class FrozenZoneService final : public protocol::frozen_service {
 public:
  explicit FrozenZoneService(ZoneServiceState state) : state_(std::move(state)) {}
  std::vector<protocol::snapshot_part> parts() const override {
    return checkpoint_parts(state_);
  }

 private:
  const ZoneServiceState state_;
};

}  // namespace

std::shared_ptr<const protocol::frozen_service> ZoneService::freeze() const {
  ZoneServiceState state;
  state.zones = zones_->zones;   // pointers to immutable zones
  state.newest_time_ms = newest_time_ms_;
  for (const auto& [key, t] : removed_) state.removed.push_back(t);
  // Only the execution order: parts() needs no index, and a vector is one allocation.
  state.dedupe.assign(dedupe_order_.begin(), dedupe_order_.end());
  return std::make_shared<const FrozenZoneService>(std::move(state));
}

void ZoneService::restore(const std::vector<protocol::snapshot_part>& parts) {
  // Build everything aside; only a fully valid checkpoint replaces the state.
  ZoneServiceState state = read_checkpoint_parts(parts);
  ZoneSetPtr set;
  try {
    set = canonical_zone_set(std::move(state.zones));
  } catch (const std::invalid_argument& e) {
    bad(e.what());
  }
  std::unordered_map<DedupeKey, uint8_t, DedupeKeyHash> index;
  index.reserve(state.dedupe.size());
  for (const DedupeEntry& e : state.dedupe)
    if (!index.emplace(e.key, e.rcode).second) bad("duplicate dedupe entry");
  std::map<std::string, Tombstone> removed;   // checked by read_checkpoint_parts
  for (Tombstone& t : state.removed) {
    std::string key = name_key(t.apex);
    removed.emplace(std::move(key), std::move(t));
  }

  zones_ = std::move(set);
  removed_ = std::move(removed);
  ++zone_list_version_;
  newest_time_ms_ = state.newest_time_ms;
  dedupe_order_.assign(state.dedupe.begin(), state.dedupe.end());
  dedupe_index_ = std::move(index);
  assert(dedupe_index_.size() == dedupe_order_.size());
}

}  // namespace vrdns::dns
