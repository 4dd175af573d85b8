// Hands each new serving state to the DNS front end and then tells CommitWaiters which UPDATEs
// it now serves (read-your-writes, commit_waiters.hpp). The front end's publish is a direct
// call (a mutex and an atomic, actors/dns_frontend.hpp), so once it returned every worker's
// next batch sees the new state and the waiting answers may go: the answers (TSIG signing and a
// sendto each) then run on this actor's thread, not on the replica's.
#pragma once

#include <caf/all.hpp>

#include <functional>
#include <memory>
#include <vector>

#include "app/commit_waiters.hpp"
#include "dns/responder.hpp"

namespace vrdns::app {

struct Publication {
  dns::ServingStatePtr state;
  std::vector<CommitWaiters::Key> executed;   // UPDATEs applied since the previous publication
};

}  // namespace vrdns::app

// Travels only between actors of one process.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(vrdns::app::Publication)

namespace vrdns::app {

using publication_atom = caf::atom_constant<caf::atom("publicat")>;

using PublishFn = std::function<void(dns::ServingStatePtr)>;

/// Messages: (publication_atom, Publication), handled in order, so states are swapped in the
/// order the replica made them.
caf::behavior serving_publisher(caf::event_based_actor* self, PublishFn publish,
                                std::shared_ptr<CommitWaiters> waiters);

}  // namespace vrdns::app
