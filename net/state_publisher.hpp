// Hands the current ServingState from the replica (one writer) to the front-end workers.
//
// Workers must not contend on a lock per query. They check an atomic generation counter
// once per batch and lock only when it moved, to copy the new shared_ptr. A worker keeps
// its snapshot alive while it answers, so a replaced zone never tears a query in flight.
//
// A replaced state is destroyed on the publishing thread, never on a worker: freeing a zone
// version (the trie nodes only it held) costs microseconds per UPDATE it contained, and a worker
// that happened to drop the last reference paid it on the query path (3.7% of a primary's CPU
// samples under an UPDATE load were hamt::release on the UDP thread). So publish() keeps each
// replaced state in `retired_` until no worker holds it, and destroys it then, itself.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

#include "dns/responder.hpp"

namespace vrdns::net {

class StatePublisher {
 public:
  explicit StatePublisher(dns::ServingStatePtr initial);

  /// Replaces the state; workers pick it up at their next batch. `state` must not be null;
  /// the current state again changes nothing. Destroys, on the caller's thread, the replaced
  /// states that no worker holds any more.
  void publish(dns::ServingStatePtr state);

  /// Replaced states kept since the last publish() because a worker still held them then
  /// (each worker holds at most one).
  std::size_t retired() const;

  /// Changes on every publish(); readers compare it without locking.
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

  /// The current state and its generation, read together under the lock.
  dns::ServingStatePtr current(uint64_t* generation = nullptr) const;

 private:
  mutable std::mutex mutex_;
  dns::ServingStatePtr state_;
  // Replaced states some worker may still hold. A retired state's use_count() can only fall
  // (workers get states from current(), which returns state_), so 1 means only we hold it.
  std::vector<dns::ServingStatePtr> retired_;
  std::atomic<uint64_t> generation_{1};
};

/// One worker's view: call refresh() once per batch, then use the returned state for the
/// whole batch.
class StateReader {
 public:
  explicit StateReader(const StatePublisher& publisher)
      : publisher_(publisher), snapshot_(publisher.current(&seen_)) {}

  const dns::ServingState& refresh() {
    if (publisher_.generation() != seen_) snapshot_ = publisher_.current(&seen_);
    return *snapshot_;
  }

 private:
  const StatePublisher& publisher_;
  uint64_t seen_ = 0;
  dns::ServingStatePtr snapshot_;
};

}  // namespace vrdns::net
