#include "app/commit_waiters.hpp"

#include <cassert>
#include <utility>

namespace vrdns::app {

void CommitWaiters::wait(const Key& key, std::function<void()> done, clock::time_point deadline) {
  {
    std::lock_guard lock(mutex_);
    if (!recent_.count(key)) {
      const std::uint64_t ticket = next_ticket_++;
      waiting_.emplace(key, Waiter{ticket, std::move(done)});
      deadlines_.push_back(Deadline{deadline, key, ticket});
      return;
    }
  }
  done();
}

void CommitWaiters::served(const std::vector<Key>& keys) {
  std::vector<std::function<void()>> ready;
  {
    std::lock_guard lock(mutex_);
    for (const Key& key : keys) {
      if (!waiting_.empty()) {
        auto [first, last] = waiting_.equal_range(key);
        for (auto it = first; it != last; ++it) ready.push_back(std::move(it->second.done));
        waiting_.erase(first, last);
      }
      if (recent_.insert(key).second) recent_order_.push_back(key);
    }
    while (recent_order_.size() > history) {
      recent_.erase(recent_order_.front());
      recent_order_.pop_front();
    }
    assert(recent_.size() == recent_order_.size());
  }
  for (auto& f : ready) f();   // outside the lock: a callback may call wait() again
}

void CommitWaiters::expire(clock::time_point now) {
  std::vector<std::function<void()>> ready;
  {
    std::lock_guard lock(mutex_);
    while (!deadlines_.empty() && deadlines_.front().at <= now) {
      const Deadline d = deadlines_.front();
      deadlines_.pop_front();
      auto [first, last] = waiting_.equal_range(d.key);
      for (auto it = first; it != last; ++it) {
        if (it->second.ticket == d.ticket) {   // still waiting: not served before its deadline
          ready.push_back(std::move(it->second.done));
          waiting_.erase(it);
          break;
        }
      }
    }
    // Every wait has its deadline entry until it is released one way or the other.
    assert(waiting_.size() <= deadlines_.size());
  }
  for (auto& f : ready) f();
}

std::size_t CommitWaiters::waiting() const {
  std::lock_guard lock(mutex_);
  return waiting_.size();
}

}  // namespace vrdns::app
