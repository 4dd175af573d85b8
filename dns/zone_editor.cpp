// Building a new Zone version: record-level edits with empty-non-terminal bookkeeping.
//
// Invariants kept after every public call (checked by the unit tests against a model):
//   - every name in the trie is at or below the apex;
//   - every name other than the apex has its parent in the trie (ENTs fill the gaps);
//   - Node::children = number of names in the trie whose parent is that node;
//   - a node without RRsets has children > 0 (a childless ENT is removed at once);
//   - node_count / record_count match the trie contents.
#include <algorithm>
#include <cassert>
#include <span>
#include <stdexcept>
#include <unordered_map>
#include <vector>

#include "dns/zone.hpp"
#include "dns/zone_impl.hpp"

namespace vrdns::dns {

namespace {

/// A name's key form (name_key) on the stack. Every editor call folds one or more names,
/// and most owners are longer than std::string's inline buffer, so name_key would allocate.
class Key {
 public:
  /// `owner` must be a valid wire name (checked by check_in_zone, or a suffix of one).
  explicit Key(std::string_view owner) : len_(owner.size()) {
    assert(owner.size() <= max_name_length);
    name_fold(reinterpret_cast<const uint8_t*>(owner.data()), len_, buf_);
  }
  Key(const Key&) = delete;
  Key& operator=(const Key&) = delete;
  std::string_view view() const { return {reinterpret_cast<const char*>(buf_), len_}; }

 private:
  uint8_t buf_[max_name_length];
  std::size_t len_;
};

/// The names changed since ZoneEditor::mark(), each as it was before its first change.
class Journal {
 public:
  struct Saved {
    std::size_t key_offset = 0, key_size = 0;   // into keys_
    uint64_t hash = 0;
    bool absent = true;   // the name was absent at the mark (then `before` is meaningless)
    Node before;
  };

  bool active() const { return active_; }
  std::size_t node_count_at_mark = 0;
  std::size_t record_count_at_mark = 0;

  void start(std::size_t node_count, std::size_t record_count) {
    assert(!active_ && "one mark at a time");
    assert(used_ == 0 && keys_.empty() && index_.empty());
    active_ = true;
    node_count_at_mark = node_count;
    record_count_at_mark = record_count;
  }

  /// Keeps the slots and their storage: a batch saves much the same nodes at every mark (the
  /// apex, for one), and copying into a used slot reuses its strings instead of allocating.
  void stop() {
    active_ = false;
    used_ = 0;
    keys_.clear();
    index_.clear();
  }

  const Saved* find(std::string_view key, uint64_t hash) const {
    if (index_.empty()) {
      for (const Saved& e : saved())
        if (e.hash == hash && key_of(e) == key) return &e;
      return nullptr;
    }
    for (auto [it, end] = index_.equal_range(hash); it != end; ++it)
      if (key_of(slots_[it->second]) == key) return &slots_[it->second];
    return nullptr;
  }

  /// Saves `current` (nullptr: absent) under `key` unless the key was saved since the mark:
  /// the first save holds the state at the mark, later ones would hold intermediate states.
  void save(std::string_view key, uint64_t hash, const Node* current) {
    if (!active_ || find(key, hash) != nullptr) return;
    if (used_ == slots_.size()) slots_.emplace_back();
    Saved& e = slots_[used_++];
    e.key_offset = keys_.size();
    e.key_size = key.size();
    e.hash = hash;
    e.absent = current == nullptr;
    if (current) e.before = *current;
    keys_ += key;
    // An UPDATE touches a few names, so a scan is cheapest; a huge one (thousands of ops)
    // switches to a hash index to stay O(n).
    constexpr std::size_t scan_limit = 16;
    if (used_ > scan_limit) {
      if (index_.empty())
        for (std::size_t i = 0; i < used_; ++i) index_.emplace(slots_[i].hash, i);
      else
        index_.emplace(hash, used_ - 1);
    }
  }

  std::string_view key_of(const Saved& e) const {
    return std::string_view(keys_).substr(e.key_offset, e.key_size);
  }
  std::span<Saved> saved() { return {slots_.data(), used_}; }
  std::span<const Saved> saved() const { return {slots_.data(), used_}; }

 private:
  bool active_ = false;
  std::vector<Saved> slots_;   // the first used_ are this mark's; the rest are spare
  std::size_t used_ = 0;
  std::string keys_;
  std::unordered_multimap<uint64_t, std::size_t> index_;   // hash -> index in slots_
};

}  // namespace

struct ZoneEditor::State {
  hamt::Trie trie;
  std::string apex;
  std::string apex_key;
  std::size_t node_count = 0;
  std::size_t record_count = 0;
  bool finished = false;
  Journal journal;

  // Every change to the trie goes through these four, so that the journal (when marked)
  // sees each name before it changes: rollback() is only exact if none slips past.

  /// A present name's node, to change.
  Node* edit_present(std::string_view key, uint64_t h) {
    if (journal.active()) journal.save(key, h, trie.find(key, h));
    return trie.edit_present(key, h);
  }
  /// The name's node to change, or nullptr (and nothing saved) if absent.
  Node* edit(std::string_view key, uint64_t h) {
    const Node* n = trie.find(key, h);
    if (n == nullptr) return nullptr;
    if (journal.active()) journal.save(key, h, n);
    return trie.edit_present(key, h);
  }
  Node* insert(std::string_view key, uint64_t h, std::string_view owner) {
    if (journal.active()) journal.save(key, h, nullptr);
    return trie.insert(key, h, owner);
  }
  void erase(std::string_view key, uint64_t h) {
    if (journal.active()) journal.save(key, h, trie.find(key, h));
    trie.erase(key, h);
  }

  /// Throws unless `owner` is a valid wire name at or below the apex.
  void check_in_zone(std::string_view owner) const {
    assert(!finished && "ZoneEditor used after finish()");
    const auto* p = reinterpret_cast<const uint8_t*>(owner.data());
    if (name_wire_length(p, owner.size()) != owner.size())
      throw std::invalid_argument("invalid owner name");
    if (!name_is_at_or_below(owner, apex))
      throw std::invalid_argument(name_to_text(owner) + " is outside zone " + name_to_text(apex));
  }

  /// A new name at `owner` is about to exist: count it as a child of its parent, creating
  /// the parent (an ENT) and so on up towards the apex where missing.
  void link_to_parents(std::string_view owner) {
    std::string_view cur = owner;
    while (!name_equal(cur, apex)) {
      const std::string_view parent = name_parent(cur);
      const Key key(parent);
      const uint64_t h = name_hash(key.view());
      if (Node* pn = edit(key.view(), h)) {
        ++pn->children;
        return;
      }
      Node* ent = insert(key.view(), h, parent);
      ent->children = 1;
      ++node_count;
      cur = parent;
    }
  }

  /// Removes the name if it has become an empty, childless node, then prunes ENT ancestors
  /// that become childless in turn.
  void remove_if_dead(std::string_view owner, std::string_view key, uint64_t h) {
    const Node* n = trie.find(key, h);
    assert(n != nullptr);
    if (!n->rrsets.empty() || n->children > 0) return;
    erase_dead(owner, key, h);
  }

  /// Erases the childless name `owner` (present; its records already taken off
  /// record_count), then prunes ENT ancestors that become childless in turn. Callers that
  /// know an edit kills the name come here directly, so its leaf is never copied just to be
  /// emptied and dropped.
  void erase_dead(std::string_view owner, std::string_view key, uint64_t h) {
    assert(trie.find(key, h) != nullptr && trie.find(key, h)->children == 0);
    const std::string owner_copy(owner);   // `owner` may point into the node we erase
    erase(key, h);
    --node_count;
    std::string_view cur = owner_copy;
    while (!name_equal(cur, apex)) {
      const std::string_view parent = name_parent(cur);
      const Key pkey(parent);
      const uint64_t ph = name_hash(pkey.view());
      // The parent of a present name exists (the ENT invariant).
      Node* pn = edit_present(pkey.view(), ph);
      assert(pn->children > 0);
      --pn->children;
      if (pn->children > 0 || !pn->rrsets.empty()) return;
      erase(pkey.view(), ph);
      --node_count;
      cur = parent;
    }
  }
};

namespace {

/// Offset and length (including the 2-byte RDLENGTH) of the record in `rs` equal to
/// `rdata`, or npos.
std::pair<std::size_t, std::size_t> locate(const RRset& rs, std::string_view rdata) {
  std::size_t off = 0;
  std::pair<std::size_t, std::size_t> found{std::string::npos, 0};
  rs.for_each_rdata([&](std::string_view rd) {
    if (found.first == std::string::npos && rdata_equal(rs.type, rd, rdata))
      found = {off, 2 + rd.size()};
    off += 2 + rd.size();
  });
  return found;
}

RRset* find_rrset(Node& n, uint16_t type) {
  auto it = std::lower_bound(n.rrsets.begin(), n.rrsets.end(), type,
                             [](const RRset& rs, uint16_t t) { return rs.type < t; });
  return (it != n.rrsets.end() && it->type == type) ? &*it : nullptr;
}

void erase_rrset(Node& n, uint16_t type) {
  std::erase_if(n.rrsets, [type](const RRset& rs) { return rs.type == type; });
}

}  // namespace

ZoneEditor::ZoneEditor(const ZonePtr& base) : s_(std::make_unique<State>()) {
  assert(base);
  const Zone::Impl& impl = *base->impl();
  s_->trie = impl.trie;   // shares every trie node; edits copy paths on demand
  s_->apex = impl.apex;
  s_->apex_key = impl.apex_key;
  s_->node_count = impl.node_count;
  s_->record_count = impl.record_count;
}

ZoneEditor::ZoneEditor(std::string_view apex_owner) : s_(std::make_unique<State>()) {
  const auto* p = reinterpret_cast<const uint8_t*>(apex_owner.data());
  if (name_wire_length(p, apex_owner.size()) != apex_owner.size())
    throw std::invalid_argument("invalid zone apex");
  s_->apex = apex_owner;
  s_->apex_key = name_key(apex_owner);
}

ZoneEditor::~ZoneEditor() = default;

bool ZoneEditor::add(const Record& r) {
  s_->check_in_zone(r.owner);
  if (r.rdata.size() > 0xFFFF) throw std::invalid_argument("RDATA longer than 65535 bytes");
  const Key owner_key(r.owner);
  const std::string_view key = owner_key.view();
  const uint64_t h = name_hash(key);

  Node* n = nullptr;
  if (const Node* existing = s_->trie.find(key, h)) {
    if (const RRset* rs = existing->find(r.type)) {
      if (locate(*rs, r.rdata).first != std::string::npos) {
        // Duplicate: nothing to add, but the new TTL still applies to the RRset (RFC 2136
        // §3.4.2.2 replaces a duplicate RR by the update RR).
        if (rs->ttl == r.ttl) return false;
        find_rrset(*s_->edit_present(key, h), r.type)->ttl = r.ttl;
        return true;
      }
      if (rs->count == 0xFFFF) throw std::invalid_argument("RRset has 65535 records");
    }
    n = s_->edit_present(key, h);
    // An empty non-terminal takes the spelling of its first record, as a new name would. The
    // spelling it got from a child (perhaps long deleted) must never show: a replica restored
    // from a checkpoint, which holds records only, could not know it and would answer with
    // another case than its peers.
    if (n->rrsets.empty()) n->owner = r.owner;
  } else {
    s_->link_to_parents(r.owner);   // parents first: `n` then stays the last node touched
    n = s_->insert(key, h, r.owner);
    ++s_->node_count;
  }

  RRset* rs = find_rrset(*n, r.type);
  if (rs == nullptr) {
    auto it = std::lower_bound(n->rrsets.begin(), n->rrsets.end(), r.type,
                               [](const RRset& x, uint16_t t) { return x.type < t; });
    rs = &*n->rrsets.insert(it, RRset{r.type, r.ttl, 0, {}});
  }
  rs->rdatas += char(r.rdata.size() >> 8);
  rs->rdatas += char(r.rdata.size() & 0xFF);
  rs->rdatas += r.rdata;
  ++rs->count;
  rs->ttl = r.ttl;
  ++s_->record_count;
  return true;
}

bool ZoneEditor::remove_record(const Record& r) {
  s_->check_in_zone(r.owner);
  const Key owner_key(r.owner);
  const std::string_view key = owner_key.view();
  const uint64_t h = name_hash(key);
  const Node* existing = s_->trie.find(key, h);
  if (existing == nullptr) return false;
  const RRset* rs = existing->find(r.type);
  if (rs == nullptr) return false;
  const auto [off, len] = locate(*rs, r.rdata);
  if (off == std::string::npos) return false;

  --s_->record_count;
  if (existing->children == 0 && existing->rrsets.size() == 1 && rs->count == 1) {
    s_->erase_dead(r.owner, key, h);   // the name's last record
    return true;
  }
  Node* n = s_->edit_present(key, h);
  RRset* m = find_rrset(*n, r.type);
  if (m->count == 1) {
    erase_rrset(*n, r.type);
  } else {
    m->rdatas.erase(off, len);
    --m->count;
  }
  s_->remove_if_dead(r.owner, key, h);
  return true;
}

bool ZoneEditor::remove_rrset(std::string_view owner, uint16_t type) {
  s_->check_in_zone(owner);
  const Key owner_key(owner);
  const std::string_view key = owner_key.view();
  const uint64_t h = name_hash(key);
  const Node* existing = s_->trie.find(key, h);
  const RRset* rs = existing ? existing->find(type) : nullptr;
  if (rs == nullptr) return false;
  s_->record_count -= rs->count;
  if (existing->children == 0 && existing->rrsets.size() == 1) {
    s_->erase_dead(owner, key, h);   // the name's last RRset
    return true;
  }
  Node* n = s_->edit_present(key, h);
  erase_rrset(*n, type);
  s_->remove_if_dead(owner, key, h);
  return true;
}

bool ZoneEditor::remove_name(std::string_view owner) {
  s_->check_in_zone(owner);
  const Key owner_key(owner);
  const std::string_view key = owner_key.view();
  const uint64_t h = name_hash(key);
  const Node* existing = s_->trie.find(key, h);
  if (existing == nullptr || existing->rrsets.empty()) return false;
  for (const RRset& rs : existing->rrsets) s_->record_count -= rs.count;
  if (existing->children == 0) {
    s_->erase_dead(owner, key, h);
    return true;
  }
  Node* n = s_->edit_present(key, h);
  n->rrsets.clear();
  s_->remove_if_dead(owner, key, h);
  return true;
}

bool ZoneEditor::replace_rrset(const Record& r) {
  s_->check_in_zone(r.owner);
  if (r.rdata.size() > 0xFFFF) throw std::invalid_argument("RDATA longer than 65535 bytes");
  const Key owner_key(r.owner);
  const std::string_view key = owner_key.view();
  const uint64_t h = name_hash(key);
  const Node* existing = s_->trie.find(key, h);
  const RRset* old = existing ? existing->find(r.type) : nullptr;
  // When the RRset is absent, or is all that keeps the name alive, removing it would erase
  // the node (and maybe ENTs above it) and add would re-create them from r.owner's spelling:
  // leave those rare cases to the two-step path so the outcome is identical.
  if (old == nullptr || (existing->rrsets.size() == 1 && existing->children == 0)) {
    const bool removed = remove_rrset(r.owner, r.type);
    return add(r) || removed;
  }
  std::string rdatas;
  rdatas.reserve(2 + r.rdata.size());
  rdatas += char(r.rdata.size() >> 8);
  rdatas += char(r.rdata.size() & 0xFF);
  rdatas += r.rdata;
  // When `old` is the name's only RRset the two-step path passes through an empty
  // non-terminal, so the name takes r.owner's spelling (see add): so must we.
  const bool respelled = existing->rrsets.size() == 1 && existing->owner != r.owner;
  if (!respelled && old->count == 1 && old->ttl == r.ttl && old->rdatas == rdatas) return false;
  Node* n = s_->edit_present(key, h);
  if (respelled) n->owner = r.owner;
  RRset* rs = find_rrset(*n, r.type);
  assert(rs != nullptr);
  s_->record_count = s_->record_count - rs->count + 1;
  rs->rdatas = std::move(rdatas);
  rs->count = 1;
  rs->ttl = r.ttl;
  return true;
}

const Node* ZoneEditor::find(std::string_view key) const {
  return s_->trie.find(key, name_hash(key));
}

const std::string& ZoneEditor::apex() const { return s_->apex; }
const std::string& ZoneEditor::apex_key() const { return s_->apex_key; }

void ZoneEditor::mark() {
  assert(!s_->finished && "ZoneEditor used after finish()");
  s_->journal.start(s_->node_count, s_->record_count);
}

void ZoneEditor::keep() {
  assert(s_->journal.active() && "keep() without mark()");
  s_->journal.stop();
}

void ZoneEditor::rollback() {
  Journal& j = s_->journal;
  assert(j.active() && "rollback() without mark()");
  // Each saved name gets its state at the mark back; every other name is unchanged since
  // then (all changes are saved first), so the trie equals the one at the mark. Names are
  // independent entries of the trie, so the order of restoring does not matter, and the
  // HAMT's shape depends only on its set of keys.
  hamt::Trie& trie = s_->trie;
  for (Journal::Saved& e : j.saved()) {
    const std::string_view key = j.key_of(e);
    const bool present = trie.find(key, e.hash) != nullptr;
    if (e.absent) {
      if (present) trie.erase(key, e.hash);
    } else if (present) {
      *trie.edit_present(key, e.hash) = std::move(e.before);
    } else {
      *trie.insert(key, e.hash, e.before.owner) = std::move(e.before);
    }
  }
  s_->node_count = j.node_count_at_mark;
  s_->record_count = j.record_count_at_mark;
  j.stop();
}

const Node* ZoneEditor::find_at_mark(std::string_view key) const {
  const Journal& j = s_->journal;
  assert(j.active() && "find_at_mark() without mark()");
  const uint64_t h = name_hash(key);
  if (const Journal::Saved* e = j.find(key, h)) return e->absent ? nullptr : &e->before;
  return s_->trie.find(key, h);
}

ZonePtr ZoneEditor::finish() {
  assert(!s_->finished && "finish() called twice");
  assert(!s_->journal.active() && "finish() between mark() and rollback()/keep()");
  s_->finished = true;
  auto impl = std::make_shared<Zone::Impl>();
  impl->trie = std::move(s_->trie);
  impl->apex = std::move(s_->apex);
  impl->apex_key = std::move(s_->apex_key);
  impl->node_count = s_->node_count;
  impl->record_count = s_->record_count;
  impl->apex_node = impl->trie.find(impl->apex_key, name_hash(impl->apex_key));
  impl->soa = impl->apex_node ? impl->apex_node->find(rrtype::SOA) : nullptr;
  return std::make_shared<const Zone>(std::shared_ptr<const Zone::Impl>(std::move(impl)));
}

}  // namespace vrdns::dns
