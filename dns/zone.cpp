// Reading a Zone snapshot: lookup, apex/SOA access, canonical record listing, zone sets.
#include "dns/zone.hpp"

#include <unordered_set>
#include <algorithm>
#include <cassert>
#include <cstring>
#include <stdexcept>

#include "dns/zone_impl.hpp"

namespace vrdns::dns {

const RRset* Node::find(uint16_t type) const {
  // A node holds a handful of RRsets: a linear scan beats binary search here.
  for (const RRset& rs : rrsets) {
    if (rs.type == type) return &rs;
    if (rs.type > type) break;   // sorted by type
  }
  return nullptr;
}

Zone::Zone(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) { assert(impl_); }
Zone::~Zone() = default;

const std::string& Zone::apex() const { return impl_->apex; }
const std::string& Zone::apex_key() const { return impl_->apex_key; }

const Node* Zone::find(std::string_view key, uint64_t hash) const {
  return impl_->trie.find(key, hash);
}

const Node& Zone::apex_node() const {
  static const Node none;
  return impl_->apex_node ? *impl_->apex_node : none;
}

const RRset& Zone::soa() const {
  static const RRset none;
  return impl_->soa ? *impl_->soa : none;
}

uint32_t Zone::serial() const {
  // SOA RDATA: MNAME, RNAME, then SERIAL as the first of five 32-bit fields.
  const RRset& s = soa();
  uint32_t serial = 0;
  bool first = true;
  s.for_each_rdata([&](std::string_view rd) {
    if (!first) return;
    first = false;
    const auto* p = reinterpret_cast<const uint8_t*>(rd.data());
    const std::size_t m = name_wire_length(p, rd.size());
    if (m == 0) return;
    const std::size_t r = name_wire_length(p + m, rd.size() - m);
    if (r == 0 || m + r + 4 > rd.size()) return;
    p += m + r;
    serial = (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
  });
  return serial;
}

std::size_t Zone::node_count() const { return impl_->node_count; }
std::size_t Zone::record_count() const { return impl_->record_count; }

void Zone::for_each_node(const std::function<void(const Node&)>& f) const {
  impl_->trie.for_each(f);
}

void Zone::for_each_difference(
    const Zone& older,
    const std::function<void(bool added, const Node&, const RRset&, std::string_view rdata)>& f)
    const {
  // Every record of `from` whose RRset in `to` lacks it (byte for byte, at the same TTL). A
  // big RRset is looked up through a hash set: thousands of records must not cost millions of
  // comparisons.
  auto only_in = [&](bool added, const Node& n, const RRset& from, const RRset* to) {
    if (to && to->ttl != from.ttl) to = nullptr;   // a TTL change: every record differs
    std::unordered_set<std::string_view> others;
    if (to && to->count > 16)
      to->for_each_rdata([&](std::string_view other) { others.insert(other); });
    from.for_each_rdata([&](std::string_view rdata) {
      bool kept = false;
      if (to && to->count > 16) {
        kept = others.count(rdata) != 0;
      } else if (to) {
        to->for_each_rdata([&](std::string_view other) { kept = kept || other == rdata; });
      }
      if (!kept) f(added, n, from, rdata);
    });
  };
  const std::string& apex_key = impl_->apex_key;
  impl_->trie.diff(older.impl_->trie, [&](const Node* before, const Node* after) {
    const Node& any = after ? *after : *before;
    const bool at_apex = name_key(any.owner) == apex_key;
    if (before)
      for (const RRset& rs : before->rrsets)
        if (!(at_apex && rs.type == rrtype::SOA))
          only_in(false, *before, rs, after ? after->find(rs.type) : nullptr);
    if (after)
      for (const RRset& rs : after->rrsets)
        if (!(at_apex && rs.type == rrtype::SOA))
          only_in(true, *after, rs, before ? before->find(rs.type) : nullptr);
  });
}

namespace {

/// RFC 4034 §6.1 order of two key-form names: compare label by label from the root end,
/// each label as an octet string (a label that is a prefix of another sorts first). The
/// definition canonical_sort_key must agree with (asserted in records()).
[[maybe_unused]] bool canonical_less(std::string_view a, std::string_view b) {
  std::size_t la[128], lb[128];   // label start offsets; a valid name has at most 127 labels
  std::size_t na = 0, nb = 0;
  for (std::size_t off = 0; off < a.size() && a[off] != 0; off += 1 + uint8_t(a[off]))
    la[na++] = off;
  for (std::size_t off = 0; off < b.size() && b[off] != 0; off += 1 + uint8_t(b[off]))
    lb[nb++] = off;
  while (na > 0 && nb > 0) {
    --na;
    --nb;
    const std::string_view x = a.substr(la[na] + 1, uint8_t(a[la[na]]));
    const std::string_view y = b.substr(lb[nb] + 1, uint8_t(b[lb[nb]]));
    const int c = x.compare(y);   // char_traits<char>::compare is unsigned (memcmp)
    if (c != 0) return c < 0;
  }
  return na < nb;
}

/// A byte string whose memcmp order is canonical_less's order, so a sort compares flat strings
/// instead of splitting both names into labels at every comparison. Labels from the root end;
/// within a label a 0x00 byte becomes 00 01 and the label ends with 00 00, which sorts before
/// any byte a longer label continues with (a label that is a prefix of another sorts first).
/// Appended to `out`: a zone's keys share one buffer (a string each cost 40-70 bytes more per
/// name, over 100 MB for a checkpoint of 1,000,000 names).
void append_canonical_sort_key(std::string_view key, std::string& out) {
  std::size_t starts[128];   // a valid name has at most 127 labels
  std::size_t n = 0;
  for (std::size_t off = 0; off < key.size() && key[off] != 0 && n < 128;
       off += 1 + uint8_t(key[off]))
    starts[n++] = off;
  while (n > 0) {
    const std::size_t at = starts[--n];
    for (char c : key.substr(at + 1, uint8_t(key[at]))) {
      out += c;
      if (c == 0) out += char(1);
    }
    out += char(0);
    out += char(0);
  }
}

// Within an RRset, RFC 4034 §6.3: by canonical RDATA as an unsigned octet string.
template <class F>
void for_each_rdata_canonical(const RRset& rs, F&& f) {
  if (rs.count == 1) {   // most RRsets: nothing to sort
    rs.for_each_rdata(f);
    return;
  }
  std::vector<std::pair<std::string, std::string_view>> rdatas;
  rdatas.reserve(rs.count);
  rs.for_each_rdata(
      [&](std::string_view rd) { rdatas.emplace_back(rdata_canonical(rs.type, rd), rd); });
  std::sort(rdatas.begin(), rdatas.end());
  for (const auto& [canon, rd] : rdatas) f(rd);
}

}  // namespace

void Zone::for_each_record_canonical(
    const std::function<void(const Node&, const RRset&, std::string_view)>& f) const {
  struct Entry {
    std::size_t offset;   // of its sort key in `keys`
    uint32_t length;
    const Node* node;
  };
  std::string keys;
  std::vector<Entry> nodes;
  nodes.reserve(node_count());
  keys.reserve(node_count() * 24);
  for_each_node([&](const Node& n) {
    if (n.rrsets.empty()) return;   // empty non-terminals hold no record
    const std::size_t offset = keys.size();
    append_canonical_sort_key(name_key(n.owner), keys);
    nodes.push_back(Entry{offset, uint32_t(keys.size() - offset), &n});
  });
  const auto key_of = [&keys](const Entry& e) {
    return std::string_view(keys).substr(e.offset, e.length);
  };
  std::sort(nodes.begin(), nodes.end(),
            [&](const Entry& x, const Entry& y) { return key_of(x) < key_of(y); });
  // The flat keys must give exactly the RFC 4034 order (checked where it is cheap).
  assert(std::is_sorted(nodes.begin(), nodes.end(), [](const Entry& x, const Entry& y) {
    return canonical_less(name_key(x.node->owner), name_key(y.node->owner));
  }));
  std::string().swap(keys);   // sorted: only the order is needed from here on

  const Node* apex = impl_->apex_node;
  if (apex && impl_->soa)
    for_each_rdata_canonical(*impl_->soa, [&](std::string_view rd) { f(*apex, *impl_->soa, rd); });
  for (const Entry& e : nodes) {
    const Node* n = e.node;
    for (const RRset& rs : n->rrsets)
      if (!(n == apex && rs.type == rrtype::SOA))
        for_each_rdata_canonical(rs, [&](std::string_view rd) { f(*n, rs, rd); });
  }
}

std::vector<Record> Zone::records() const {
  std::vector<Record> out;
  out.reserve(record_count());
  for_each_record_canonical([&](const Node& n, const RRset& rs, std::string_view rd) {
    out.push_back(Record{n.owner, rs.type, rrclass::IN, rs.ttl, std::string(rd)});
  });
  assert(out.size() == record_count());
  return out;
}

const Zone* ZoneSet::find_zone(std::string_view qname_key) const {
  const int i = find_zone_index(qname_key);
  return i < 0 ? nullptr : zones[std::size_t(i)].get();
}

int ZoneSet::index_of(std::string_view apex_key) const {
  // A few zones: a scan costs less than a search's bookkeeping (and needs no order).
  constexpr std::size_t scan_below = 24;   // measured: a scan of 10 zones is faster, of 100 not
  if (sorted_by_apex && zones.size() >= scan_below) {
    const auto it = std::lower_bound(
        zones.begin(), zones.end(), apex_key,
        [](const ZonePtr& z, std::string_view key) { return z->apex_key() < key; });
    return it != zones.end() && (*it)->apex_key() == apex_key ? int(it - zones.begin()) : -1;
  }
  for (std::size_t i = 0; i < zones.size(); ++i)
    if (zones[i] && zones[i]->apex_key() == apex_key) return int(i);
  return -1;
}

int ZoneSet::find_zone_index(std::string_view qname_key) const {
  // Longest match first: try the qname itself, then each ancestor up to the root.
  std::string_view suffix = qname_key;
  while (true) {
    if (const int i = index_of(suffix); i >= 0) return i;
    if (suffix.empty() || suffix[0] == 0) return -1;
    suffix = name_parent(suffix);
  }
}

void ZoneSet::mark_sorted() {
  for (std::size_t i = 0; i < zones.size(); ++i) {
    if (!zones[i]) throw std::invalid_argument("null zone");
    if (i > 0 && !(zones[i - 1]->apex_key() < zones[i]->apex_key()))
      throw std::invalid_argument("zones not sorted by apex, or two with the same apex");
  }
  sorted_by_apex = true;
}

}  // namespace vrdns::dns
