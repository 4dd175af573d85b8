#include "net/state_publisher.hpp"

#include <algorithm>
#include <cassert>
#include <iterator>
#include <stdexcept>

namespace vrdns::net {

StatePublisher::StatePublisher(dns::ServingStatePtr initial) : state_(std::move(initial)) {
  if (!state_) throw std::invalid_argument("StatePublisher: initial state is null");
}

void StatePublisher::publish(dns::ServingStatePtr state) {
  if (!state) throw std::invalid_argument("StatePublisher::publish: state is null");
  std::vector<dns::ServingStatePtr> unused;   // destroyed here, after the lock is released
  {
    std::lock_guard lock(mutex_);
    if (state == state_) return;   // nothing changes
    // Each state is retired once, and one that comes back is current, not retired: a caller
    // that publishes states it also holds (so they never look unheld) cannot grow the list,
    // which is scanned under the lock that workers take to pick up a new state.
    retired_.erase(std::remove(retired_.begin(), retired_.end(), state), retired_.end());
    if (std::find(retired_.begin(), retired_.end(), state_) == retired_.end())
      retired_.push_back(state_);
    state_ = std::move(state);
    // Bumped under the lock, so current() always returns a state with its own generation.
    generation_.fetch_add(1, std::memory_order_release);
    auto unheld = std::partition(retired_.begin(), retired_.end(),
                                 [](const dns::ServingStatePtr& s) { return s.use_count() > 1; });
    unused.assign(std::make_move_iterator(unheld), std::make_move_iterator(retired_.end()));
    retired_.erase(unheld, retired_.end());
  }
}

std::size_t StatePublisher::retired() const {
  std::lock_guard lock(mutex_);
  return retired_.size();
}

dns::ServingStatePtr StatePublisher::current(uint64_t* generation) const {
  std::lock_guard lock(mutex_);
  if (generation) *generation = generation_.load(std::memory_order_relaxed);
  assert(state_);
  return state_;
}

}  // namespace vrdns::net
