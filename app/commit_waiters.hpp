// Read-your-writes for UPDATEs sent to a backup: the client's answer waits until this node's
// own front end serves the committed change (the primary answers as soon as a quorum has it,
// but a backup learns the commit a heartbeat later).
//
// The publisher (app/serving_publisher.hpp) reports each UPDATE, by its client identity, once
// the front end serves the state that includes it; the UPDATE path waits for its identity.
// Thread-safe. Remembers the last `history` identities, so a report that comes before the
// wait is not lost.
#pragma once

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
  static constexpr std::size_t history = 4096;

  /// Calls `done` (on the caller's or the reporting thread) once `id` is served; at once if
  /// it already is. `done` must be cheap and must not block.
  void wait(const dns::ClientIdentity& id, std::function<void()> done);
  /// The front end now serves the effect of these UPDATEs.
  void served(const std::vector<dns::ClientIdentity>& ids);

 private:
  std::mutex mutex_;
  std::multimap<dns::ClientIdentity, std::function<void()>> waiting_;
  std::set<dns::ClientIdentity> recent_;
  std::deque<dns::ClientIdentity> recent_order_;   // oldest first, to bound recent_
};

}  // namespace vrdns::app
