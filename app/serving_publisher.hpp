// Hands each new serving state to the DNS front end and, once the front end has swapped it
// in, tells CommitWaiters which UPDATEs it now serves (read-your-writes, commit_waiters.hpp).
// A request/response to the front end is the barrier: its publish handler swaps synchronously.
#pragma once

#include <caf/all.hpp>

#include <memory>
#include <optional>
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

// At most one publish is in flight to the front end. Publications that arrive meanwhile are
// merged into one (newest state, all executed UPDATEs), so under an UPDATE load the front end's
// workers swap states at the rate they can, not once per op: each swap costs every query
// worker a mutex round trip.
struct PublisherState {
  // Not an aggregate on purpose: CAF 0.17 constructs the state from the actor pointer whenever
  // it can, and C++20 lets an aggregate be initialised with parentheses, so
  // PublisherState(self) would set in_flight = (self != nullptr) = true (docs/pitfalls.md).
  PublisherState() = default;
  bool in_flight = false;
  std::optional<Publication> waiting;
  static inline const char* name = "serving_publisher";
};

using publisher_actor = caf::stateful_actor<PublisherState>;

/// Messages: (publication_atom, Publication).
caf::behavior serving_publisher(publisher_actor* self, caf::actor frontend,
                                std::shared_ptr<CommitWaiters> waiters);

}  // namespace vrdns::app
