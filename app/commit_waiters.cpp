#include "app/commit_waiters.hpp"

#include <cassert>
#include <utility>

namespace vrdns::app {

void CommitWaiters::wait(const dns::ClientIdentity& id, std::function<void()> done,
                         clock::time_point deadline) {
  {
    std::lock_guard lock(mutex_);
    if (!recent_.count(id)) {
      auto it = waiting_.emplace(id, Waiter{std::move(done), {}});
      it->second.deadline = deadlines_.emplace(deadline, it);
      return;
    }
  }
  done();
}

void CommitWaiters::served(const std::vector<dns::ClientIdentity>& ids) {
  std::vector<std::function<void()>> ready;
  {
    std::lock_guard lock(mutex_);
    for (const auto& id : ids) {
      auto [first, last] = waiting_.equal_range(id);
      for (auto it = first; it != last; ++it) {
        ready.push_back(std::move(it->second.done));
        deadlines_.erase(it->second.deadline);
      }
      waiting_.erase(first, last);
      if (recent_.insert(id).second) recent_order_.push_back(id);
    }
    while (recent_order_.size() > history) {
      recent_.erase(recent_order_.front());
      recent_order_.pop_front();
    }
    assert(waiting_.size() == deadlines_.size());
  }
  for (auto& f : ready) f();   // outside the lock: a callback may call wait() again
}

void CommitWaiters::expire(clock::time_point now) {
  std::vector<std::function<void()>> ready;
  {
    std::lock_guard lock(mutex_);
    while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
      auto waiter = deadlines_.begin()->second;
      ready.push_back(std::move(waiter->second.done));
      waiting_.erase(waiter);
      deadlines_.erase(deadlines_.begin());
    }
    assert(waiting_.size() == deadlines_.size());
  }
  for (auto& f : ready) f();
}

}  // namespace vrdns::app
