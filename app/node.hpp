// Running one vrdns node in the foreground.
#pragma once

#include "config/config.hpp"
#include "dns/responder.hpp"

namespace vrdns::app {

/// The serving state a node starts with: its zones, identity and (until replication lands)
/// a fixed VR status line.
dns::ServingStatePtr initial_serving_state(const config::NodeConfig& cfg);

/// Serves until SIGTERM or SIGINT. Prints the ready line to stdout. Returns the exit code
/// (0 after a signal, 1 if the sockets cannot be opened).
int run_node(const config::NodeConfig& cfg);

}  // namespace vrdns::app
