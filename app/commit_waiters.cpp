#include "app/commit_waiters.hpp"

#include <utility>

namespace vrdns::app {

void CommitWaiters::wait(const dns::ClientIdentity& id, std::function<void()> done) {
  {
    std::lock_guard lock(mutex_);
    if (!recent_.count(id)) {
      waiting_.emplace(id, std::move(done));
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
      for (auto it = first; it != last; ++it) ready.push_back(std::move(it->second));
      waiting_.erase(first, last);
      if (recent_.insert(id).second) recent_order_.push_back(id);
    }
    while (recent_order_.size() > history) {
      recent_.erase(recent_order_.front());
      recent_order_.pop_front();
    }
  }
  for (auto& f : ready) f();   // outside the lock: a callback may call wait() again
}

}  // namespace vrdns::app
