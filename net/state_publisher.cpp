#include "net/state_publisher.hpp"

#include <cassert>
#include <stdexcept>

namespace vrdns::net {

StatePublisher::StatePublisher(dns::ServingStatePtr initial) : state_(std::move(initial)) {
  if (!state_) throw std::invalid_argument("StatePublisher: initial state is null");
}

void StatePublisher::publish(dns::ServingStatePtr state) {
  if (!state) throw std::invalid_argument("StatePublisher::publish: state is null");
  std::lock_guard lock(mutex_);
  state_ = std::move(state);
  // Bumped under the lock, so current() always returns a state with its own generation.
  generation_.fetch_add(1, std::memory_order_release);
}

dns::ServingStatePtr StatePublisher::current(uint64_t* generation) const {
  std::lock_guard lock(mutex_);
  if (generation) *generation = generation_.load(std::memory_order_relaxed);
  assert(state_);
  return state_;
}

}  // namespace vrdns::net
