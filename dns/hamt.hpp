// A persistent hash array mapped trie (Bagwell 2001) from key-form owner name to dns::Node.
//
// Shape: 32-way branch nodes with a 32-bit bitmap of present children and a packed child
// array indexed by popcount; the 64-bit name hash is consumed 5 bits per level from the low
// end (levels at shift 0, 5, ..., 60). Two names with equal full hashes share a collision
// bucket. Leaves hold the Node itself.
//
// Persistence: trie nodes are immutable once shared. Each carries an intrusive atomic
// reference count (one per parent pointer, plus one per Trie handle holding it as root).
// An edit path-copies: walking from the root, every node whose count is above 1 is shared
// with another version and is copied first; a node with count 1 reached through a path of
// nodes that are all ours is referenced only by us and is changed in place. So a batch of
// edits (e.g. a zone load) copies each shared node at most once, and a snapshot taken
// earlier never changes.
//
// Readers (find, for_each) follow raw pointers and never touch the counts: the Trie handle
// they read through keeps the whole version alive.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>

#include "dns/zone.hpp"

namespace vrdns::dns::hamt {

struct Base;   // a trie node: branch, leaf or collision bucket (defined in hamt.cpp)

/// One version of the trie. Copying a Trie shares all its nodes (O(1)).
class Trie {
 public:
  Trie() = default;
  Trie(const Trie& other);
  Trie& operator=(const Trie& other);
  Trie(Trie&& other) noexcept : root_(other.root_) { other.root_ = nullptr; }
  Trie& operator=(Trie&& other) noexcept;
  ~Trie();

  /// The node stored under `key` (key form, hash = name_hash(key)), or nullptr. Does not
  /// allocate and does not touch reference counts.
  const Node* find(std::string_view key, uint64_t hash) const noexcept;

  /// A Node under `key` that the caller may change: the path to it is made private to
  /// this Trie first. nullptr if absent.
  Node* edit(std::string_view key, uint64_t hash);
  /// edit() for a key the caller has just found: skips the lookup edit() does first (to
  /// avoid copying a path for nothing). Precondition: `key` is present.
  Node* edit_present(std::string_view key, uint64_t hash);

  /// Inserts an empty Node with `owner` (whose key form is `key`) and returns it for
  /// filling in. Precondition: `key` is absent.
  Node* insert(std::string_view key, uint64_t hash, std::string_view owner);

  /// Removes `key`. Precondition: `key` is present.
  void erase(std::string_view key, uint64_t hash);

  void for_each(const std::function<void(const Node&)>& f) const;

  /// Every name whose Node differs between `older` and this version: f(before, after), with
  /// nullptr for a name absent on that side. Subtries the two versions share are skipped
  /// without a look (path copying guarantees that an unchanged subtrie is the same object), so
  /// the cost is in the names changed since `older`, not in the zone. A name whose leaf was
  /// copied but holds equal data may be reported too; callers compare the Nodes.
  void diff(const Trie& older,
            const std::function<void(const Node* before, const Node* after)>& f) const;

 private:
  Base* root_ = nullptr;
};

/// Trie nodes (branches, leaves, buckets) allocated by the calling thread so far: lets tests
/// check that an edit copies O(log n) nodes, not O(n).
std::size_t debug_nodes_allocated();

}  // namespace vrdns::dns::hamt
