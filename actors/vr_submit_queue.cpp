#include "actors/vr_submit_queue.hpp"

#include <algorithm>
#include <iterator>
#include <stdexcept>
#include <utility>

namespace vrdns::actors {

std::size_t vr_submit_queue::attach(const caf::actor_addr& client) {
  std::lock_guard lock(mutex_);
  clients_.push_back(client);
  return clients_.size() - 1;
}

void vr_submit_queue::push(std::string op, vr_completion done, clock::time_point deadline) {
  caf::actor wake;
  bool queued = false;
  {
    std::lock_guard lock(mutex_);
    if (!closed_) {
      calls_.push_back({std::move(op), std::move(done), deadline});
      queued = true;
      wake = pop_idle_client();
    }
  }
  if (!queued) {
    done(nullptr);
    return;
  }
  // Outside the lock: the message may run the client at once on another thread, which takes.
  if (wake)
    caf::anon_send(wake, vr_wake_atom::value);
}

caf::actor vr_submit_queue::pop_idle_client() {
  while (!idle_.empty()) {
    auto client = caf::actor_cast<caf::actor>(clients_[idle_.back()]);
    idle_.pop_back();
    if (client)
      return client;
  }
  return {};
}

std::vector<vr_submit_queue::call> vr_submit_queue::detach(std::size_t index) {
  std::vector<call> orphans;
  caf::actor wake;
  {
    std::lock_guard lock(mutex_);
    if (index >= clients_.size())
      return orphans;
    clients_[index] = caf::actor_addr{};
    idle_.erase(std::remove(idle_.begin(), idle_.end(), index), idle_.end());
    const bool any_left = std::any_of(clients_.begin(), clients_.end(),
                                      [](const caf::actor_addr& a) { return bool(a); });
    if (!any_left) {
      closed_ = true;
      orphans.assign(std::make_move_iterator(calls_.begin()), std::make_move_iterator(calls_.end()));
      calls_.clear();
    } else if (!calls_.empty()) {
      // The leaving client may have been the one a push woke: hand its calls to an idle one.
      wake = pop_idle_client();
    }
  }
  if (wake)
    caf::anon_send(wake, vr_wake_atom::value);
  return orphans;
}

std::vector<vr_submit_queue::call> vr_submit_queue::take(std::size_t index, std::size_t max_calls,
                                                         std::size_t max_bytes) {
  std::lock_guard lock(mutex_);
  if (index >= clients_.size())
    throw std::logic_error("vr_submit_queue: take by a client that did not attach");
  auto me = std::find(idle_.begin(), idle_.end(), index);
  if (calls_.empty()) {
    if (me == idle_.end())
      idle_.push_back(index);
    return {};
  }
  if (me != idle_.end())
    idle_.erase(me);   // busy now: a push must wake another client, not this one
  return take_batch(calls_, max_calls, max_bytes);
}

std::vector<vr_submit_queue::call> vr_submit_queue::expire(clock::time_point now) {
  std::vector<call> out;
  std::lock_guard lock(mutex_);
  while (!calls_.empty() && calls_.front().deadline <= now) {
    out.push_back(std::move(calls_.front()));
    calls_.pop_front();
  }
  return out;
}

std::size_t vr_submit_queue::size() const {
  std::lock_guard lock(mutex_);
  return calls_.size();
}

} // namespace vrdns::actors
