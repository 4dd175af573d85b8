// ZoneService: executing UpdateRequests deterministically, and the snapshot format.
//
// Snapshot layout (big-endian), version 1:
//   u8  version
//   u64 newest op time (ms)
//   u32 zone count, zones in ascending apex-key order; per zone:
//       apex wire name (owner form), u32 record count, records in Zone::records() order
//       (canonical, SOA first): owner name, u16 type, u16 class, u32 TTL, u16 len + RDATA
//   u32 dedupe entry count, entries in ClientIdentity order; per entry:
//       u32 len + address, u16 port, u16 DNS id, u8 signed [+ key name], u64 message hash,
//       u64 time (ms), u32 len + result
#include "dns/zone_service.hpp"

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <vector>

#include "dns/bytes.hpp"
#include "dns/query_parser.hpp"
#include "dns/update.hpp"
#include "dns/update_apply.hpp"

namespace vrdns::dns {

namespace {

constexpr uint8_t snapshot_version = 1;

[[noreturn]] void bad(const std::string& what) {
  throw std::invalid_argument("snapshot: " + what);
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
  return set;
}

void put_identity(ByteWriter& w, const ClientIdentity& c) {
  w.bytes(c.address);
  w.u16(c.port);
  w.u16(c.dns_id);
  w.u8(c.key_name.empty() ? 0 : 1);
  if (!c.key_name.empty()) w.name(c.key_name);
  w.u64(c.message_hash);
}

ClientIdentity get_identity(ByteReader& r) {
  ClientIdentity c;
  c.address = r.bytes();
  c.port = r.u16();
  c.dns_id = r.u16();
  const uint8_t has_key = r.u8();
  if (has_key == 1)
    c.key_name = r.name();
  else if (has_key != 0)
    r.fail();
  c.message_hash = r.u64();
  return c;
}

}  // namespace

ZoneService::ZoneService(const ZoneSet& initial) : zones_(canonical_zone_set(initial.zones)) {}

void ZoneService::expire(uint64_t now_ms) {
  // Entries strictly older than the window go; one exactly dedupe_window_ms old stays.
  if (now_ms < dedupe_window_ms) return;
  const uint64_t cutoff = now_ms - dedupe_window_ms;
  while (!by_time_.empty() && by_time_.begin()->first < cutoff) {
    dedupe_table_.erase(by_time_.begin()->second);
    by_time_.erase(by_time_.begin());
  }
}

uint8_t ZoneService::run(const UpdateRequest& req) {
  Update u;
  if (!decode(req.update, u)) return rcode::FORMERR;
  auto it = std::find_if(zones_->zones.begin(), zones_->zones.end(),
                         [&](const ZonePtr& z) { return z->apex_key() == u.zone; });
  if (it == zones_->zones.end()) return rcode::NOTAUTH;
  UpdateResult res = apply_update(*it, u);
  if (res.changed) {
    auto next = std::make_shared<ZoneSet>(*zones_);   // copies pointers only
    next->zones[std::size_t(it - zones_->zones.begin())] = std::move(res.zone);
    zones_ = std::move(next);
  }
  return res.rcode;
}

std::string ZoneService::execute(const std::string& op) {
  UpdateRequest req;
  if (!decode(op, req)) return encode(UpdateReply{rcode::SERVFAIL});

  // Op time only moves forward, even if a new primary's clock is behind the old one's.
  newest_time_ms_ = std::max(newest_time_ms_, req.receive_time_ms);
  expire(newest_time_ms_);
  if (auto it = dedupe_table_.find(req.client); it != dedupe_table_.end())
    return it->second.result;

  std::string result = encode(UpdateReply{run(req)});
  dedupe_table_.emplace(req.client, Entry{newest_time_ms_, result});
  by_time_.emplace(newest_time_ms_, req.client);
  return result;
}

std::string ZoneService::snapshot() const {
  ByteWriter w;
  w.u8(snapshot_version);
  w.u64(newest_time_ms_);
  w.u32(uint32_t(zones_->zones.size()));
  for (const ZonePtr& z : zones_->zones) {
    w.name(z->apex());
    const std::vector<Record> records = z->records();
    w.u32(uint32_t(records.size()));
    for (const Record& r : records) {
      w.name(r.owner);
      w.u16(r.type);
      w.u16(r.rclass);
      w.u32(r.ttl);
      w.bytes16(r.rdata);
    }
  }
  w.u32(uint32_t(dedupe_table_.size()));
  for (const auto& [client, entry] : dedupe_table_) {
    put_identity(w, client);
    w.u64(entry.time_ms);
    w.bytes(entry.result);
  }
  return std::move(w.str());
}

void ZoneService::restore(const std::string& snapshot) {
  ByteReader r(snapshot);
  if (r.u8() != snapshot_version) bad("unknown version");
  const uint64_t newest = r.u64();

  // Build everything aside; only a fully valid snapshot replaces the state.
  std::vector<ZonePtr> zones;
  const uint32_t nzones = r.u32();
  for (uint32_t i = 0; i < nzones && r.ok(); ++i) {
    const std::string apex = r.name();
    const uint32_t nrecords = r.u32();
    if (!r.ok()) break;
    ZoneEditor ed(apex);
    for (uint32_t j = 0; j < nrecords && r.ok(); ++j) {
      Record rec;
      rec.owner = r.name();
      rec.type = r.u16();
      rec.rclass = r.u16();
      rec.ttl = r.u32();
      rec.rdata = r.bytes16();
      if (!r.ok()) break;
      if (rec.rclass != rrclass::IN) bad("record class is not IN");
      try {
        ed.add(rec);
      } catch (const std::invalid_argument&) {
        bad("record rejected by the zone store (outside the zone, or RRset full)");
      }
    }
    if (!r.ok()) break;
    ZonePtr z = ed.finish();
    if (z->record_count() != nrecords) bad("duplicate records");
    try {
      validate_zone(*z, "snapshot");
    } catch (const ZoneError& e) {
      bad(e.what());
    }
    zones.push_back(std::move(z));
  }

  std::map<ClientIdentity, Entry> table;
  std::set<std::pair<uint64_t, ClientIdentity>> by_time;
  const uint32_t nentries = r.u32();
  for (uint32_t i = 0; i < nentries && r.ok(); ++i) {
    ClientIdentity c = get_identity(r);
    Entry e;
    e.time_ms = r.u64();
    e.result = r.bytes();
    if (!r.ok()) break;
    if (e.time_ms > newest) bad("dedupe entry newer than the newest op");
    by_time.emplace(e.time_ms, c);
    if (!table.emplace(std::move(c), std::move(e)).second) bad("duplicate dedupe entry");
  }
  if (!r.done()) bad("truncated or trailing bytes");

  ZoneSetPtr set;
  try {
    set = canonical_zone_set(std::move(zones));
  } catch (const std::invalid_argument& e) {
    bad(e.what());
  }
  zones_ = std::move(set);
  newest_time_ms_ = newest;
  dedupe_table_ = std::move(table);
  by_time_ = std::move(by_time);
}

}  // namespace vrdns::dns
