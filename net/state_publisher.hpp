// Hands the current ServingState from the replica (one writer) to the front-end workers.
//
// Workers must not contend on a lock per query. They check an atomic generation counter
// once per batch and lock only when it moved, to copy the new shared_ptr. A worker keeps
// its snapshot alive while it answers, so a replaced zone never tears a query in flight.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>

#include "dns/responder.hpp"

namespace vrdns::net {

class StatePublisher {
 public:
  explicit StatePublisher(dns::ServingStatePtr initial);

  /// Replaces the state; workers pick it up at their next batch. `state` must not be null.
  void publish(dns::ServingStatePtr state);

  /// Changes on every publish(); readers compare it without locking.
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

  /// The current state and its generation, read together under the lock.
  dns::ServingStatePtr current(uint64_t* generation = nullptr) const;

 private:
  mutable std::mutex mutex_;
  dns::ServingStatePtr state_;
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
