// Fail-stop for a node's actors.
//
// CAF ends an actor whose handler throws, and by default only prints the exception to stdout:
// the rest of the node runs on. A node whose replica ended that way (the replica's invariant
// checks throw std::logic_error) still answers queries from a state that no longer advances and
// still looks alive to its peers' connections; one whose vr_clients ended takes no UPDATEs. For
// a replicated service the safe reaction is to stop the whole node: its state on disk is
// crash-safe by construction, and a restarted node rejoins through recovery (VR §4.3). So:
// - `exception_to_error` is the exception handler of our actors: the actor ends with an error
//   that carries the exception's text, for the log line;
// - `watch_for_failure` reports an actor that ends for any other reason than a normal exit or
//   the node's own shutdown, so that the node can stop (app/node.cpp exits with status 1).
#pragma once

#include <caf/actor.hpp>
#include <caf/error.hpp>
#include <caf/scheduled_actor.hpp>

#include <exception>
#include <functional>
#include <string>

namespace vrdns::actors {

/// For `self->set_exception_handler(exception_to_error)`: ends the actor with
/// sec::runtime_error and the exception's what() as context.
caf::error exception_to_error(caf::scheduled_actor* self, std::exception_ptr& e);

/// True for the reasons an actor of a running node may end with: a normal exit, or the
/// user_shutdown the node sends its actors when it stops.
bool expected_exit(const caf::error& reason);

/// Calls `on_failure("<name> failed: <reason>")` once if `actor` ends other than expected_exit.
/// It runs on the thread where the actor ends: it must be cheap and must not block.
void watch_for_failure(caf::actor_system& system, const caf::actor& actor, std::string name,
                       std::function<void(const std::string&)> on_failure);

} // namespace vrdns::actors
