// RFC 2136 §3.2 prerequisite evaluation and §3.4.2 update processing on a ZoneEditor.
#include "dns/update_apply.hpp"

#include <algorithm>
#include <cassert>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "dns/name.hpp"
#include "dns/query_parser.hpp"
#include "dns/serial.hpp"

namespace vrdns::dns {

namespace {

bool has_data(const Node* n) { return n != nullptr && !n->rrsets.empty(); }

/// The RRsets a CNAME may share its name with (RFC 2181 §10.1, RFC 4035 §2.5): the same set
/// validate_zone allows.
bool may_sit_beside_cname(uint16_t type) {
  return type == rrtype::CNAME || type == rrtype::RRSIG || type == rrtype::NSEC ||
         type == rrtype::NSEC3;
}

std::set<std::string> canonical_set(uint16_t type, const RRset& rs) {
  std::set<std::string> out;
  rs.for_each_rdata([&](std::string_view rd) { out.insert(rdata_canonical(type, rd)); });
  return out;
}

/// RFC 2136 §3.2. Value-independent prerequisites are checked in message order and the
/// first failure decides the rcode; the value-dependent ones (§3.2.3) are gathered into
/// RRsets and compared as sets afterwards, failing with NXRRSET.
/// `Store` is a Zone (a single UPDATE) or a ZoneEditor (the state an op batch has reached).
template <class Store>
uint8_t check_prerequisites(const Store& zone, const std::vector<Prerequisite>& pres) {
  std::map<std::pair<std::string, uint16_t>, std::set<std::string>> expected;
  for (const Prerequisite& p : pres) {
    const std::string key = name_key(p.rr.owner);
    const Node* n = zone.find(key);
    switch (p.kind) {
      case PrereqKind::name_in_use:
        if (!has_data(n)) return rcode::NXDOMAIN;
        break;
      case PrereqKind::name_not_in_use:
        if (has_data(n)) return rcode::YXDOMAIN;
        break;
      case PrereqKind::rrset_exists:
        if (n == nullptr || n->find(p.rr.type) == nullptr) return rcode::NXRRSET;
        break;
      case PrereqKind::rrset_absent:
        if (n != nullptr && n->find(p.rr.type) != nullptr) return rcode::YXRRSET;
        break;
      case PrereqKind::rrset_exists_value:
        // Duplicates in the message collapse: RRsets are sets (RFC 2181 §5).
        expected[{key, p.rr.type}].insert(rdata_canonical(p.rr.type, p.rr.rdata));
        break;
    }
  }
  for (const auto& [where, rdatas] : expected) {
    const Node* n = zone.find(where.first);
    const RRset* rs = n ? n->find(where.second) : nullptr;
    if (rs == nullptr || canonical_set(where.second, *rs) != rdatas) return rcode::NXRRSET;
  }
  return rcode::NOERROR;
}

/// Offset of SERIAL in SOA RDATA (after MNAME and RNAME), if the RDATA is well formed.
std::optional<std::size_t> soa_serial_offset(std::string_view rd) {
  const auto* p = reinterpret_cast<const uint8_t*>(rd.data());
  const std::size_t m = name_wire_length(p, rd.size());
  if (m == 0) return std::nullopt;
  const std::size_t r = name_wire_length(p + m, rd.size() - m);
  if (r == 0 || rd.size() != m + r + 20) return std::nullopt;
  return m + r;
}

uint32_t get32(std::string_view s, std::size_t off) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data()) + off;
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}

/// Views into `rs`: valid while the RRset is not edited.
std::string_view first_rdata(const RRset& rs) {
  std::string_view out;
  bool first = true;
  rs.for_each_rdata([&](std::string_view rd) {
    if (first) out = rd;
    first = false;
  });
  return out;
}

/// The RRset contents as a zone transfer would see them: owner bytes, types, TTLs and the
/// records of each RRset regardless of their stored order.
bool same_data(const Node* a, const Node* b) {
  if (!has_data(a) || !has_data(b)) return has_data(a) == has_data(b);
  if (a->owner != b->owner || a->rrsets.size() != b->rrsets.size()) return false;
  for (std::size_t i = 0; i < a->rrsets.size(); ++i) {
    const RRset& x = a->rrsets[i];
    const RRset& y = b->rrsets[i];
    if (x.type != y.type || x.ttl != y.ttl || x.count != y.count) return false;
    if (x.rdatas == y.rdatas) continue;
    std::vector<std::string_view> xs, ys;
    x.for_each_rdata([&](std::string_view rd) { xs.push_back(rd); });
    y.for_each_rdata([&](std::string_view rd) { ys.push_back(rd); });
    std::sort(xs.begin(), xs.end());
    std::sort(ys.begin(), ys.end());
    if (xs != ys) return false;
  }
  return true;
}

/// Applies the updates of §3.4.2 in order. Records each owner it may have changed in
/// `touched` and sets `serial_raised` when an SOA with a newer serial replaced the old one.
class Applier {
 public:
  explicit Applier(ZoneEditor& ed) : ed_(ed), apex_(ed.apex()) {}

  /// Key-form owners, possibly repeated: deduplicated once at the end (sort + unique), so a
  /// 65535-op UPDATE stays O(n log n) while the usual one-op UPDATE allocates no tree node.
  std::vector<std::string> touched;
  bool serial_raised = false;

  void apply(const UpdateOp& op) {
    const Record& rr = op.rr;
    // Lives in `touched`; the reference stays valid until the next op's push.
    const std::string& key = touched.emplace_back(name_key(rr.owner));
    const bool at_apex = name_equal(rr.owner, apex_);
    switch (op.kind) {
      case UpdateKind::add: add(rr, key); break;
      case UpdateKind::delete_rrset:
        // §3.4.2.3: the apex SOA and NS RRsets cannot be deleted as a whole.
        if (at_apex && (rr.type == rrtype::SOA || rr.type == rrtype::NS)) return;
        ed_.remove_rrset(rr.owner, rr.type);
        break;
      case UpdateKind::delete_name:
        if (!at_apex) {
          ed_.remove_name(rr.owner);
          break;
        }
        // §3.4.2.3: at the apex, everything but SOA and NS.
        for (uint16_t type : types_at(key))
          if (type != rrtype::SOA && type != rrtype::NS) ed_.remove_rrset(rr.owner, type);
        break;
      case UpdateKind::delete_record: {
        // §3.4.2.4: the SOA is never deleted, nor the last NS of the apex.
        if (rr.type == rrtype::SOA) return;
        if (at_apex && rr.type == rrtype::NS) {
          const Node* n = ed_.find(key);
          const RRset* ns = n ? n->find(rrtype::NS) : nullptr;
          if (ns != nullptr && ns->count <= 1) return;
        }
        ed_.remove_record(rr);
        break;
      }
    }
  }

 private:
  std::vector<uint16_t> types_at(const std::string& key) const {
    std::vector<uint16_t> types;
    if (const Node* n = ed_.find(key))
      for (const RRset& rs : n->rrsets) types.push_back(rs.type);
    return types;
  }

  /// §3.4.2.2.
  void add(const Record& rr, const std::string& key) {
    const Node* n = ed_.find(key);
    if (rr.type == rrtype::CNAME) {
      // A CNAME is not added beside other data...
      if (n != nullptr)
        for (const RRset& rs : n->rrsets)
          if (!may_sit_beside_cname(rs.type)) return;
    } else if (!may_sit_beside_cname(rr.type) && n != nullptr && n->find(rrtype::CNAME)) {
      return;   // ...nor other data beside a CNAME.
    }

    if (rr.type == rrtype::SOA) {
      // Only where an SOA already is (the apex), and only with a newer serial.
      const RRset* soa = n ? n->find(rrtype::SOA) : nullptr;
      if (soa == nullptr) return;
      const std::string_view cur = first_rdata(*soa);
      const auto cur_off = soa_serial_offset(cur);
      const auto new_off = soa_serial_offset(rr.rdata);
      if (!cur_off || !new_off) throw std::invalid_argument("malformed SOA RDATA");
      if (!serial_less(get32(cur, *cur_off), get32(rr.rdata, *new_off))) return;
      ed_.replace_rrset(rr);
      serial_raised = true;
      return;
    }
    if (rr.type == rrtype::CNAME && n != nullptr && n->find(rrtype::CNAME)) {
      // One CNAME per name: the new one replaces the old (§3.4.2.2 "duplicate" rule).
      ed_.remove_rrset(rr.owner, rrtype::CNAME);
    }
    ed_.add(rr);
  }

  ZoneEditor& ed_;
  const std::string& apex_;
};

/// Sets the SOA serial to next(current), keeping the rest of the SOA.
template <class Next>
void set_serial(ZoneEditor& ed, Next next) {
  const Node* apex = ed.find(ed.apex_key());
  const RRset* soa = apex ? apex->find(rrtype::SOA) : nullptr;
  if (soa == nullptr) throw std::invalid_argument("zone without apex SOA");
  Record r{apex->owner, rrtype::SOA, rrclass::IN, soa->ttl, std::string(first_rdata(*soa))};
  const auto off = soa_serial_offset(r.rdata);
  if (!off) throw std::invalid_argument("malformed SOA RDATA");
  const uint32_t serial = next(get32(r.rdata, *off));
  for (int i = 0; i < 4; ++i) r.rdata[*off + i] = char(serial >> (24 - 8 * i));
  ed.replace_rrset(r);
}

/// The apex SOA's serial as `ed` holds it now.
uint32_t current_serial(const ZoneEditor& ed) {
  const Node* apex = ed.find(ed.apex_key());
  const RRset* soa = apex ? apex->find(rrtype::SOA) : nullptr;
  if (soa == nullptr) throw std::invalid_argument("zone without apex SOA");
  const std::string_view rdata = first_rdata(*soa);
  const auto off = soa_serial_offset(rdata);
  if (!off) throw std::invalid_argument("malformed SOA RDATA");
  return get32(rdata, *off);
}

/// The updates of `u` (prerequisites already checked) on `ed`, then the serial bump if the
/// records changed. `before(key)` is a name as it was before this UPDATE began. Returns
/// whether the records changed. Throws std::invalid_argument (the store's limits) with `ed`
/// part-way: the caller drops or rolls back its work.
template <class Before>
bool apply_updates(ZoneEditor& ed, const Update& u, const Before& before) {
  const uint32_t serial_before = current_serial(ed);
  Applier applier(ed);
  for (const UpdateOp& op : u.updates) applier.apply(op);
  // "Changed" means the records differ, not that some edit happened: an update that adds
  // and then deletes the same record leaves the zone (and its serial) as it was.
  std::sort(applier.touched.begin(), applier.touched.end());
  applier.touched.erase(std::unique(applier.touched.begin(), applier.touched.end()),
                        applier.touched.end());
  bool changed = false;
  for (const std::string& key : applier.touched)
    if (!same_data(before(key), ed.find(key))) {
      changed = true;
      break;
    }
  // Each SOA add is judged against the SOA as this UPDATE left it, so a chain of adds, each
  // newer than the one before, can end at or behind where the zone began (RFC 1982 is not
  // transitive): secondaries would then never transfer the change. A change always leaves the
  // serial newer than before it: the update's own SOA when that is so, else the old one + 1.
  if (changed && (!applier.serial_raised || !serial_less(serial_before, current_serial(ed))))
    set_serial(ed, [serial_before](uint32_t) { return serial_next(serial_before); });
  return changed;
}

}  // namespace

UpdateResult apply_update(const ZonePtr& zone, const Update& u) {
  assert(zone);
  if (zone->apex_key() != u.zone) return {zone, rcode::NOTAUTH, false};
  if (const uint8_t rc = check_prerequisites(*zone, u.prerequisites); rc != rcode::NOERROR)
    return {zone, rc, false};

  ZoneEditor ed(zone);
  try {
    const auto before = [&zone](const std::string& key) { return zone->find(key); };
    if (!apply_updates(ed, u, before)) return {zone, rcode::NOERROR, false};
  } catch (const std::invalid_argument&) {
    // Deterministic limits of the store (65535 records in an RRset, a malformed SOA):
    // every replica hits them alike, and the editor's work is simply dropped.
    return {zone, rcode::SERVFAIL, false};
  }
  return {ed.finish(), rcode::NOERROR, true};
}

EditResult apply_update(ZoneEditor& ed, const Update& u) {
  if (ed.apex_key() != u.zone) return {rcode::NOTAUTH, false};
  if (const uint8_t rc = check_prerequisites(ed, u.prerequisites); rc != rcode::NOERROR)
    return {rc, false};

  // The undo journal stands in for the snapshot the single-UPDATE path keeps: it is both
  // the "before" that decides "changed" and the way back when this UPDATE must leave no
  // trace. A no-op is rolled back too, not only a failure: it may have reordered an
  // RRset's records or respelled an empty non-terminal, which the single path never keeps.
  ed.mark();
  try {
    const auto before = [&ed](const std::string& key) { return ed.find_at_mark(key); };
    if (apply_updates(ed, u, before)) {
      ed.keep();
      return {rcode::NOERROR, true};
    }
    ed.rollback();
    return {rcode::NOERROR, false};
  } catch (const std::invalid_argument&) {
    ed.rollback();   // same limits as above: this UPDATE fails, the batch goes on
    return {rcode::SERVFAIL, false};
  } catch (...) {
    ed.rollback();   // e.g. bad_alloc: leave the editor consistent for whoever catches it
    throw;
  }
}

ZonePtr with_serial_after(const ZonePtr& zone, uint32_t floor) {
  if (serial_less(floor, zone->serial())) return zone;
  ZoneEditor ed(zone);
  set_serial(ed, [floor](uint32_t) { return serial_next(floor); });
  return ed.finish();
}

}  // namespace vrdns::dns
