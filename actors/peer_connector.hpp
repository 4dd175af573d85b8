// Keeps a replica's and its node's vr_clients' handle of one remote replica current, across the
// remote's restarts.
//
// Connects asynchronously through the middleman actor (never io::remote_actor, which blocks:
// stack-notes §3), retrying with exponential backoff while the peer is down. Once connected it
// tells every target `(vr_peer_set_atom, peer_id, proxy)` (actors/peer_messages.hpp) and
// monitors the proxy; a down_msg (process killed, connection timed out after the middleman
// heartbeat) tells them a null handle and starts reconnecting, so a restarted peer is picked up
// through its new proxy, and tells the local replica, whose primary may just have died.
#pragma once

#include <caf/all.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace vrdns::actors {

using peer_connect_atom = caf::atom_constant<caf::atom("pc_conn")>;

struct peer_connector_options {
  std::string host;
  std::uint16_t port = 0;
  std::vector<caf::actor> targets;          // told the peer's handle: the replica, the clients
  std::string label;                        // for log lines, e.g. "replica 0: peer 2"
  // Told (vr_peer_lost_atom, peer_id) when an established connection to the peer is lost: a
  // process that dies closes its connections at once, long before a failure detector would
  // give up on its silence. Null: nobody is told.
  caf::actor replica;
  std::uint32_t peer_id = 0;
  std::chrono::milliseconds retry_min{20};  // first retry delay; doubles up to retry_max
  // Kept below the default primary_timeout: a peer that comes back is reconnected before its
  // detector could give up on a primary it simply cannot reach yet. An attempt costs one
  // connect(), so five a second per down peer is cheap.
  std::chrono::milliseconds retry_max{200};
  std::chrono::milliseconds connect_timeout{1000};
};

caf::behavior peer_connector(caf::event_based_actor* self, peer_connector_options options);

} // namespace vrdns::actors
