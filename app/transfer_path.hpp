// The zone transfer path of a node (AXFR, RFC 5936; IXFR, RFC 1995), for the TCP front end
// (net/transfer_hook.hpp): who may transfer ([transfer] allow: TSIG keys; allow_addresses:
// prefixes that may transfer unsigned), TSIG on every message (RFC 8945 §5.3.1), and the
// messages themselves (dns/zone_transfer.hpp) from the committed state the front end serves.
// Every node serves transfers: at the same commit every replica holds the same zone and serial,
// so a secondary (BIND, NSD, Knot) may name any of them as its primary.
#pragma once

#include <memory>
#include <string>

#include "app/access_policy.hpp"
#include "app/node_stats.hpp"
#include "net/transfer_hook.hpp"

namespace vrdns::app {

/// `policy` holds the keys and [transfer]'s access lists (a reload replaces them). `label`
/// starts the log lines ("replica 0: "); an empty one logs nothing.
/// Every answer is counted in `counters` (a new one if null).
net::TransferHandler make_transfer_handler(std::shared_ptr<const CurrentAccessPolicy> policy,
                                           std::string label,
                                           std::shared_ptr<TransferCounters> counters = {});

}  // namespace vrdns::app
