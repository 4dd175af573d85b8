// Hands each new serving state to the DNS front end and, once the front end has swapped it
// in, tells CommitWaiters which UPDATEs it now serves (read-your-writes, commit_waiters.hpp).
// A request/response to the front end is the barrier: its publish handler swaps synchronously.
#pragma once

#include <caf/all.hpp>

#include <memory>
#include <vector>

#include "app/commit_waiters.hpp"
#include "dns/responder.hpp"
#include "dns/update_request.hpp"

namespace vrdns::app {

struct Publication {
  dns::ServingStatePtr state;
  std::vector<dns::ClientIdentity> executed;   // UPDATEs applied since the previous publication
};

}  // namespace vrdns::app

// Travels only between actors of one process.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(vrdns::app::Publication)

namespace vrdns::app {

using publication_atom = caf::atom_constant<caf::atom("publicat")>;

/// Messages: (publication_atom, Publication).
caf::behavior serving_publisher(caf::event_based_actor* self, caf::actor frontend,
                                std::shared_ptr<CommitWaiters> waiters);

}  // namespace vrdns::app
