// ZoneService: executing UpdateRequests deterministically, and the snapshot format.
//
// Snapshot layout (big-endian), version 2:
//   u8  version
//   u64 newest op time (ms)
//   u32 zone count, zones in ascending apex-key order; per zone:
//       apex wire name (owner form), u32 record count, records in Zone::records() order
//       (canonical, SOA first): owner name, u16 type, u16 class, u32 TTL, u16 len + RDATA
//   u32 dedupe entry count, entries in execution order (times never decrease); per entry:
//       u64 key hi, u64 key lo, u64 time (ms), u8 rcode
#include "dns/zone_service.hpp"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cassert>
#include <memory>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "dns/bytes.hpp"
#include "dns/query_parser.hpp"
#include "dns/update.hpp"
#include "dns/update_apply.hpp"

namespace vrdns::dns {

namespace {

constexpr uint8_t snapshot_version = 2;

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

/// SHA-256 without OpenSSL 3's per-call cost: the one-shot SHA256() fetches the algorithm
/// from the provider and allocates a context on every call, which was a third of execute().
/// The fetched EVP_MD is shared (immutable); the context is per thread and reset each time.
void sha256(std::string_view in, unsigned char (&md)[SHA256_DIGEST_LENGTH]) {
  struct Context {
    EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~Context() {
      EVP_MD_CTX_free(ctx);
      EVP_MD_free(md);
    }
  };
  thread_local Context c;
  unsigned int len = 0;
  if (c.md == nullptr || c.ctx == nullptr || EVP_DigestInit_ex2(c.ctx, c.md, nullptr) != 1 ||
      EVP_DigestUpdate(c.ctx, in.data(), in.size()) != 1 ||
      EVP_DigestFinal_ex(c.ctx, md, &len) != 1 || len != SHA256_DIGEST_LENGTH)
    throw std::runtime_error("SHA-256 unavailable");   // replicas must agree: never guess
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
  unsigned char md[SHA256_DIGEST_LENGTH];
  sha256(in, md);
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
  const DedupeKey key = dedupe_key(req.client);
  if (auto it = dedupe_index_.find(key); it != dedupe_index_.end())
    return encode(UpdateReply{it->second});

  const uint8_t rcode = run(req);
  // newest_time_ms_ never decreases, so the order stays sorted by time (expire relies on it).
  assert(dedupe_order_.empty() || dedupe_order_.back().time_ms <= newest_time_ms_);
  dedupe_order_.push_back(DedupeEntry{key, newest_time_ms_, rcode});
  dedupe_index_.emplace(key, rcode);
  return encode(UpdateReply{rcode});
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
  w.u32(uint32_t(dedupe_order_.size()));
  for (const DedupeEntry& e : dedupe_order_) {
    w.u64(e.key.hi);
    w.u64(e.key.lo);
    w.u64(e.time_ms);
    w.u8(e.rcode);
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

  std::deque<DedupeEntry> order;
  std::unordered_map<DedupeKey, uint8_t, DedupeKeyHash> index;
  const uint32_t nentries = r.u32();
  for (uint32_t i = 0; i < nentries && r.ok(); ++i) {
    DedupeEntry e;
    e.key.hi = r.u64();
    e.key.lo = r.u64();
    e.time_ms = r.u64();
    e.rcode = r.u8();
    if (!r.ok()) break;
    if (e.time_ms > newest) bad("dedupe entry newer than the newest op");
    if (!order.empty() && e.time_ms < order.back().time_ms) bad("dedupe entries out of order");
    if (!index.emplace(e.key, e.rcode).second) bad("duplicate dedupe entry");
    order.push_back(e);
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
  dedupe_order_ = std::move(order);
  dedupe_index_ = std::move(index);
}

}  // namespace vrdns::dns
