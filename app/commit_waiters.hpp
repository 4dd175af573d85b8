// Read-your-writes for UPDATEs sent to a backup: the client's answer waits until this node's
// own front end serves the committed change (the primary answers as soon as a quorum has it,
// but a backup learns the commit a heartbeat later).
//
// The publisher (app/serving_publisher.hpp) reports each UPDATE, by its client identity, once
// the front end serves the state that includes it; the UPDATE path waits for its identity.
// Thread-safe. Remembers the last `history` identities, so a report that comes before the
// wait is not lost. A wait has a deadline: expire() (called periodically by the publisher)
// releases the waits whose deadline passed, so a node cut off from the commits still answers.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <vector>

#include "dns/update_request.hpp"

namespace vrdns::app {

class CommitWaiters {
 public:
  using clock = std::chrono::steady_clock;
  // Enough for the identities served between an UPDATE's commit and its wait() at any rate
  // the node sustains (that gap is a message hop or two).
  static constexpr std::size_t history = 16384;

  /// Calls `done` exactly once, on the caller's, the reporting or the expiring thread: once
  /// `id` is served (at once if it already is), or from expire() after `deadline`.
  /// `done` must be cheap and must not block.
  void wait(const dns::ClientIdentity& id, std::function<void()> done, clock::time_point deadline);
  /// The front end now serves the effect of these UPDATEs.
  void served(const std::vector<dns::ClientIdentity>& ids);
  /// Releases the waits whose deadline is at or before `now`.
  void expire(clock::time_point now);

 private:
  struct Waiter;
  using WaitingMap = std::multimap<dns::ClientIdentity, Waiter>;
  using DeadlineMap = std::multimap<clock::time_point, WaitingMap::iterator>;
  struct Waiter {
    std::function<void()> done;
    DeadlineMap::iterator deadline;   // this waiter's entry in deadlines_
  };

  std::mutex mutex_;
  WaitingMap waiting_;
  DeadlineMap deadlines_;
  std::set<dns::ClientIdentity> recent_;
  std::deque<dns::ClientIdentity> recent_order_;   // oldest first, to bound recent_
};

}  // namespace vrdns::app
