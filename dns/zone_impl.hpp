// Private to the zone store: what a Zone snapshot holds. Shared by zone.cpp (reading) and
// zone_editor.cpp (building).
#pragma once

#include <cstddef>
#include <string>

#include "dns/hamt.hpp"
#include "dns/zone.hpp"

namespace vrdns::dns {

struct Zone::Impl {
  hamt::Trie trie;
  std::string apex;       ///< owner form
  std::string apex_key;   ///< key form
  std::size_t node_count = 0;
  std::size_t record_count = 0;
  /// Cached at seal time; both point into `trie`, which never changes once sealed.
  const Node* apex_node = nullptr;
  const RRset* soa = nullptr;
};

}  // namespace vrdns::dns
