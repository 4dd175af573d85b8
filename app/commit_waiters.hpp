// Read-your-writes for UPDATEs sent to a backup: the client's answer waits until this node's
// own front end serves the committed change (the primary answers as soon as a quorum has it,
// but a backup learns the commit a heartbeat later).
//
// The publisher (app/serving_publisher.hpp) reports each UPDATE, by its client's dedupe key
// (dns::ZoneService::dedupe_key, a 128-bit digest of the client identity), once the front end
// serves the state that includes it; the UPDATE path waits for that key. Thread-safe.
// Remembers the last `history` keys, so a report that comes before the wait is not lost. A wait
// has a deadline: expire() (called periodically by the publisher) releases the waits whose
// deadline passed, so a node cut off from the commits still answers.
//
// Every replica reports every UPDATE it executes, at the full UPDATE rate, so the bookkeeping is
// hash tables of 16-byte keys and a queue in wait order: no per-report allocation beyond the
// tables' own nodes, no ordered-map rebalancing.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "dns/zone_service.hpp"

namespace vrdns::app {

class CommitWaiters {
 public:
  using clock = std::chrono::steady_clock;
  using Key = dns::ZoneService::DedupeKey;
  // Enough for the keys served between an UPDATE's commit and its wait() at any rate the node
  // sustains (that gap is a message hop or two).
  static constexpr std::size_t history = 16384;

  /// Calls `done` exactly once, on the caller's, the reporting or the expiring thread: once
  /// `key` is served (at once if it already is), or from expire() after `deadline`.
  /// `done` must be cheap and must not block.
  void wait(const Key& key, std::function<void()> done, clock::time_point deadline);
  /// The front end now serves the effect of these UPDATEs.
  void served(const std::vector<Key>& keys);
  /// Releases the waits whose deadline is at or before `now`.
  void expire(clock::time_point now);

  std::size_t waiting() const;

 private:
  using KeyHash = dns::ZoneService::DedupeKeyHash;
  struct Waiter {
    std::uint64_t ticket;   // tells this wait from another one for the same key
    std::function<void()> done;
  };
  struct Deadline {
    clock::time_point at;
    Key key;
    std::uint64_t ticket;
  };

  mutable std::mutex mutex_;
  std::unordered_multimap<Key, Waiter, KeyHash> waiting_;
  // In wait() order. Callers use one fixed delay, so this is (nearly) sorted by deadline;
  // a served wait's entry stays until its deadline and is then skipped.
  std::deque<Deadline> deadlines_;
  std::uint64_t next_ticket_ = 0;
  std::unordered_set<Key, KeyHash> recent_;
  std::deque<Key> recent_order_;   // oldest first, to bound recent_
};

}  // namespace vrdns::app
