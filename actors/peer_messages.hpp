// How a replica and a vr_client learn where the other replicas are.
//
// Both are spawned with one handle per replica (`peers[i]`), but in a deployment the other
// replicas become reachable only later (async connect, reconnect after a restart). Until then a
// slot holds a null handle, and a send to it is dropped, which VR tolerates (everything is
// resent). The peer connector of replica `i` tells them `(vr_peer_set_atom, i, handle)` when it
// (re)connects and `(vr_peer_set_atom, i, caf::actor{})` when the connection is lost.
//
// The handle is the remote replica's proxy itself, not a forwarding actor: a send to a proxy
// goes straight to the middleman, while a forwarder would be scheduled on the sender's own
// worker behind the rest of the sender's mailbox (docs/pitfalls.md, CAF scheduling).
#pragma once

#include <caf/all.hpp>

namespace vrdns::actors {

using vr_peer_set_atom = caf::atom_constant<caf::atom("vr_peerset")>;
// To the local replica, from the peer connector of replica `id` (a std::uint32_t): the connection
// to that peer was lost. A hint, not proof, of its death (see replica_timers.cpp on_peer_lost).
using vr_peer_lost_atom = caf::atom_constant<caf::atom("vr_peerlos")>;

} // namespace vrdns::actors
