// Hands each new serving state to the DNS front end and then tells CommitWaiters which UPDATEs
// it now serves (read-your-writes, commit_waiters.hpp). The front end's publish is a direct
// call (a mutex and an atomic, actors/dns_frontend.hpp), so once it returned every worker's
// next batch sees the new state and the waiting answers may go: the answers (TSIG signing and a
// sendto each) then run on this actor's thread, not on the replica's.
//
// It also owns what the responder is told by the config (dns::ResponderOptions: NSID, cookie
// secrets): each state is stamped with the current options before it goes out, and a reload
// hands new options here, which republishes the newest state with them. Being the one actor
// that publishes, it needs no lock for that: a state the replica made just before the reload
// cannot overwrite the reloaded options.
#pragma once

#include <caf/all.hpp>

#include <functional>
#include <memory>
#include <vector>

#include "app/commit_waiters.hpp"
#include "dns/responder.hpp"

namespace vrdns::app {

struct Publication {
  std::shared_ptr<dns::ServingState> state;   // its options are replaced by the publisher's
  std::vector<CommitWaiters::Key> executed;   // UPDATEs applied since the previous publication
};

}  // namespace vrdns::app

// Travel only between actors of one process.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(vrdns::app::Publication)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(vrdns::dns::ResponderOptions)

namespace vrdns::app {

using publication_atom = caf::atom_constant<caf::atom("publicat")>;
using responder_options_atom = caf::atom_constant<caf::atom("respopts")>;

using PublishFn = std::function<void(dns::ServingStatePtr)>;

/// Messages: (publication_atom, Publication), handled in order, so states are swapped in the
/// order the replica made them; (responder_options_atom, dns::ResponderOptions) -> bool (true):
/// from now on, and at once for the state being served. `initial` is the state the front end
/// serves before the first publication; its options are the publisher's first.
caf::behavior serving_publisher(caf::event_based_actor* self, PublishFn publish,
                                std::shared_ptr<CommitWaiters> waiters,
                                dns::ServingStatePtr initial);

}  // namespace vrdns::app
