// The DNS front-end actor: owns the node's DNS sockets and worker threads (net::DnsServer)
// and takes new serving states from the replica. Queries never pass through its mailbox:
// the worker threads answer them directly from the last published state.
//
// Messages:
//   (publish_atom, dns::ServingStatePtr)   swap in new zones / VR status for all workers
// The actor stops and joins every worker thread when it exits (its state is destroyed then).
#pragma once

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

#include <functional>
#include <vector>

#include "dns/responder.hpp"
#include "net/dns_server.hpp"
#include "net/update_hook.hpp"

// A ServingStatePtr only ever travels between actors of one process (it points into shared
// memory), so it needs no inspect(): CAF 0.17 must just be told not to expect serialisation.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(vrdns::dns::ServingStatePtr)

namespace vrdns::actors {

using publish_atom = caf::atom_constant<caf::atom("publish")>;

struct DnsFrontend {
  caf::actor actor;
  std::vector<net::Endpoint> endpoints;   ///< bound addresses (ports resolved)
  /// The same swap as a publish_atom message, done at once on the caller's thread (any thread;
  /// a mutex and an atomic). For the node's commit path, which would otherwise pay two actor
  /// hops per publication. Does nothing once the actor has exited.
  std::function<void(dns::ServingStatePtr)> publish;
  /// net::DnsServer::set_rate_limiter, on the caller's thread (a config reload). Does nothing
  /// once the actor has exited.
  std::function<void(std::shared_ptr<net::ResponseRateLimiter>)> set_rate_limiter;
};

/// Binds every socket, starts the workers and spawns the actor that owns them. Throws
/// std::runtime_error naming the address if a socket cannot be bound (e.g. port taken);
/// then nothing is left running.
DnsFrontend spawn_dns_frontend(caf::actor_system& system, net::ServerOptions options,
                               dns::ServingStatePtr initial, net::UpdateHandler update = {});

}  // namespace vrdns::actors
