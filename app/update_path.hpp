// The replicated RFC 2136 UPDATE path of a node: the front end's net::UpdateHandler.
//
// On a front-end worker thread (cheap, never blocks): verify TSIG, check the key is allowed,
// parse the UPDATE. Anything refused there is answered at once. An acceptable UPDATE becomes a
// dns::UpdateRequest op and goes to the node's vr_clients through their shared
// actors::vr_submit_queue; the client that sends it calls back with the committed result
// (or on timeout); the client is answered with that rcode, signed when the request was, once
// this node's own front end serves the change (app/commit_waiters.hpp).
//
// Policy: unsigned UPDATEs, and keys outside [update] allow, are REFUSED.
#pragma once

#include <memory>

#include "actors/vr_submit_queue.hpp"
#include "app/access_policy.hpp"
#include "app/commit_waiters.hpp"
#include "app/node_stats.hpp"
#include "app/served_zones.hpp"
#include "config/config.hpp"
#include "dns/zone.hpp"
#include "net/update_hook.hpp"

namespace vrdns::app {

/// `policy` holds the keys and [update] allow (a reload replaces them). `submissions` is the
/// queue of the node's vr_clients; `call_timeout` (the SERVFAIL bound) is each call's deadline
/// from now. `zones` tells which apexes are served (UPDATE never adds or removes a zone, but
/// dns/zone_add.hpp does). Every answer is counted in `counters` (a new one if null).
net::UpdateHandler make_update_handler(std::shared_ptr<const CurrentAccessPolicy> policy,
                                       std::shared_ptr<const ServedZones> zones,
                                       std::shared_ptr<actors::vr_submit_queue> submissions,
                                       std::chrono::milliseconds call_timeout,
                                       std::shared_ptr<CommitWaiters> waiters,
                                       std::shared_ptr<UpdateCounters> counters = {});

}  // namespace vrdns::app
