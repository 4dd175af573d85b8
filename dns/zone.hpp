// The zone store: immutable zone snapshots that share structure between versions.
//
// A Zone is a persistent hash trie (HAMT) from key-form owner name to Node. Readers hold a
// ZonePtr and never lock; a ZoneEditor path-copies only the trie nodes an edit touches, so
// an UPDATE costs O(size of the change · log n), not O(zone), and a query in flight keeps
// the snapshot it started with.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "dns/name.hpp"
#include "dns/record.hpp"

namespace vrdns::dns {

/// All records of one type at one name, stored ready for the wire: `rdatas` holds, for each
/// record, a 2-byte big-endian RDLENGTH and the uncompressed RDATA. No duplicates (by
/// rdata_equal). One TTL for the whole RRset (RFC 2181 §5.2).
struct RRset {
  uint16_t type = 0;
  uint32_t ttl = 0;
  uint16_t count = 0;
  std::string rdatas;

  /// Calls f(std::string_view rdata) for each record, in stored order.
  template <class F>
  void for_each_rdata(F&& f) const {
    const auto* p = reinterpret_cast<const uint8_t*>(rdatas.data());
    std::size_t off = 0;
    for (uint16_t i = 0; i < count; ++i) {
      std::size_t len = (std::size_t(p[off]) << 8) | p[off + 1];
      f(std::string_view(rdatas.data() + off + 2, len));
      off += 2 + len;
    }
  }
};

/// One owner name. A node without RRsets is an empty non-terminal (RFC 4592 §2.2.2): it
/// exists so that names below it make it "exist" for wildcard and NXDOMAIN decisions.
struct Node {
  std::string owner;           ///< wire, case of the record that gave it data (ENT: of a child)
  std::vector<RRset> rrsets;   ///< sorted by type; never holds an empty RRset
  uint32_t children = 0;       ///< direct child names present in the zone (ENTs included)

  const RRset* find(uint16_t type) const;
  bool is_empty_nonterminal() const { return rrsets.empty(); }
};

class Zone;
using ZonePtr = std::shared_ptr<const Zone>;

/// An immutable snapshot of one zone.
class Zone {
 public:
  struct Impl;
  explicit Zone(std::shared_ptr<const Impl> impl);
  ~Zone();

  const std::string& apex() const;       ///< owner form
  const std::string& apex_key() const;   ///< key form

  /// Looks up a key-form name; nullptr if absent. `hash` must be name_hash(key).
  const Node* find(std::string_view key, uint64_t hash) const;
  const Node* find(std::string_view key) const { return find(key, name_hash(key)); }

  const Node& apex_node() const;
  const RRset& soa() const;              ///< always present in a valid zone
  uint32_t serial() const;

  std::size_t node_count() const;        ///< including empty non-terminals
  std::size_t record_count() const;

  /// Visits every node, in no particular order.
  void for_each_node(const std::function<void(const Node&)>& f) const;
  /// Every record in canonical DNS order (RFC 4034 §6.1), the apex SOA first.
  std::vector<Record> records() const;
  /// The same records in the same order, without copying them: f(node, rrset, rdata) per
  /// record (what a checkpoint writes, every checkpoint_interval UPDATEs, for the whole zone).
  void for_each_record_canonical(
      const std::function<void(const Node&, const RRset&, std::string_view)>& f) const;

  /// What changed since `older` (an earlier version of this zone): f(false, node, rrset,
  /// rdata) for each record only in `older`, f(true, ...) for each record only here, a TTL
  /// change counting as both. The apex SOA is left out (an IXFR frames the changes with it).
  /// The cost is in the names changed between the versions, not in the zone (hamt::Trie::diff).
  void for_each_difference(
      const Zone& older,
      const std::function<void(bool added, const Node&, const RRset&, std::string_view rdata)>& f)
      const;

  const std::shared_ptr<const Impl>& impl() const { return impl_; }

 private:
  std::shared_ptr<const Impl> impl_;
};

/// Makes a new Zone version from an old one (or an empty zone at `apex`). Edits are
/// mechanical: policy (SOA/NS at the apex, CNAME rules) belongs to the loader and UPDATE.
/// Names outside the zone are rejected with std::invalid_argument.
class ZoneEditor {
 public:
  explicit ZoneEditor(const ZonePtr& base);
  explicit ZoneEditor(std::string_view apex_owner);   ///< new, empty zone
  ~ZoneEditor();
  ZoneEditor(const ZoneEditor&) = delete;
  ZoneEditor& operator=(const ZoneEditor&) = delete;

  /// Adds a record; an equal record already present is left alone. The RRset's TTL becomes
  /// r.ttl. Creates the name and any empty non-terminals above it. True if anything changed.
  bool add(const Record& r);
  /// Removes one record (rdata_equal). Removes the name (and ENTs above it that become
  /// childless) when it was the last. True if anything changed.
  bool remove_record(const Record& r);
  bool remove_rrset(std::string_view owner, uint16_t type);
  bool remove_name(std::string_view owner);   ///< all RRsets at the name
  /// Same result as remove_rrset(r.owner, r.type) followed by add(r): the RRset becomes
  /// exactly {r} with TTL r.ttl. Done in place with one lookup when the name stays alive
  /// throughout (the common case: the apex SOA on every UPDATE). True if anything changed.
  bool replace_rrset(const Record& r);

  /// The state so far (key-form lookup).
  const Node* find(std::string_view key) const;

  const std::string& apex() const;       ///< owner form
  const std::string& apex_key() const;   ///< key form

  /// Undo for one step of a longer edit: an op batch runs many UPDATEs through one editor
  /// (dns/zone_service.cpp), and each must stay all or nothing. After mark(), every name is
  /// saved as it was just before its first change; rollback() puts the saved names back,
  /// keep() forgets them. Either costs O(names changed since mark()), never O(zone). One
  /// mark at a time; edits outside a mark are not saved.
  void mark();
  void rollback();
  void keep();
  /// The name (key form) as it was at mark(): nullptr if it was absent then. Only between
  /// mark() and rollback()/keep(); the result is valid until the next edit or mark.
  const Node* find_at_mark(std::string_view key) const;

  /// Seals the edits into a new snapshot. The editor must not be used afterwards.
  ZonePtr finish();

 private:
  struct State;
  std::unique_ptr<State> s_;
};

/// A zone that failed to load or validate. `line` is 0 when not tied to a line.
struct ZoneError : std::runtime_error {
  ZoneError(std::string file, int line, const std::string& what)
      : std::runtime_error(what), file(std::move(file)), line(line) {}
  std::string file;
  int line;
};

/// Loads an RFC 1035 master file with ldns ($ORIGIN, $TTL, relative names, multi-line
/// records, comments, and $INCLUDE relative to the including file's directory, up to 8 deep)
/// and validates it (validate_zone). Throws ZoneError naming the file (an included one, where
/// the fault is) and line. load_zone_text refuses $INCLUDE: text names no directory.
ZonePtr load_zone_file(const std::string& path, std::string_view origin_text);
ZonePtr load_zone_text(std::string_view text, std::string_view origin_text,
                       const std::string& label = "<text>");

/// Structural rules every served zone obeys: exactly one SOA, at the apex; NS at the apex;
/// no CNAME beside other data (RRSIG/NSEC excepted); no data outside the zone. Throws
/// ZoneError naming the offending owner.
void validate_zone(const Zone& z, const std::string& label);

/// The zones one node serves. Immutable; swapped as a whole (it only holds pointers).
struct ZoneSet {
  std::vector<ZonePtr> zones;
  /// True once mark_sorted() found `zones` sorted by apex key without duplicates: find_zone
  /// then binary-searches (a server with thousands of zones answers as fast as with one).
  /// Replacing a zone by a version of itself (same apex) keeps it true; anything else that
  /// changes `zones` must build a new set.
  bool sorted_by_apex = false;

  /// The zone with the longest apex that `qname_key` is at or below; nullptr if none.
  const Zone* find_zone(std::string_view qname_key) const;
  /// The position of that zone in `zones`; -1 if none.
  int find_zone_index(std::string_view qname_key) const;
  /// The position of the zone whose apex is exactly `apex_key`; -1 if none.
  int index_of(std::string_view apex_key) const;
  /// Sets sorted_by_apex; throws std::invalid_argument unless `zones` are sorted by apex key,
  /// unique and not null.
  void mark_sorted();
};
using ZoneSetPtr = std::shared_ptr<const ZoneSet>;

}  // namespace vrdns::dns
