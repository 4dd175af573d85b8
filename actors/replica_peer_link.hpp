// A stand-in for a peer replica whose handle is not known yet.
//
// A replica needs all its peers at spawn (`peers[i]`), but in a deployment the other replicas
// become reachable only later (io::remote_actor / async connect, reconnect after a restart).
// Spawn one peer link per peer, give the links to the replica, and point each link at the real
// (proxy) handle with `(vr_peer_set_atom, actor)` whenever it is (re)connected. Until then, and
// after the destination died, messages are dropped, which VR tolerates (everything is resent).
// The original sender is preserved, so a Reply to current_sender() still reaches the client.
#pragma once

#include <caf/all.hpp>

namespace vrdns::actors {

using vr_peer_set_atom = caf::atom_constant<caf::atom("vr_peerset")>;
// To the local replica, from the peer connector of replica `id` (a std::uint32_t): the connection
// to that peer was lost. A hint, not proof, of its death (see replica.cpp on_peer_lost).
using vr_peer_lost_atom = caf::atom_constant<caf::atom("vr_peerlos")>;

caf::behavior replica_peer_link(caf::event_based_actor* self);

} // namespace vrdns::actors
