// Running one vrdns node in the foreground.
#pragma once

#include "config/config.hpp"
#include "dns/responder.hpp"

#include <vector>

namespace vrdns::app {

/// What [dns] and [cookies] ask of the responder: EDNS UDP size, NSID, cookie secrets. Without a
/// configured `secret`: `running`'s current secret if given (a reload keeps a node's random
/// secret, so clients' cookies stay valid; the caller passes null when the running secret was
/// a configured one), else a random one.
dns::ResponderOptions responder_options(const config::NodeConfig& cfg,
                                        const dns::CookieSecrets* running = nullptr);

/// The serving state a node starts with: its zones, identity, responder options and the status
/// line of a fresh replica (view 0, normal); the replica publishes its real status as soon as
/// it runs.
dns::ServingStatePtr initial_serving_state(const config::NodeConfig& cfg, dns::ZoneSetPtr zones);

/// Serves until SIGTERM or SIGINT; SIGHUP reloads cfg.path (app/config_reload.hpp). Prints the
/// ready line to stdout. Returns the exit code: 0 after a signal; 1 if the sockets cannot be
/// opened, or if one of the node's actors failed and the node stopped because of it
/// (actors/fail_stop.hpp).
int run_node(const config::NodeConfig& cfg);

/// Same for several replicas in this one process (vrdns local): one actor system each, talking
/// over loopback exactly as separate processes would. Prints one ready line per replica.
/// `from_files`: each config's path is a file SIGHUP reloads; false: SIGHUP only logs.
int run_nodes(const std::vector<config::NodeConfig>& cfgs, bool from_files);

}  // namespace vrdns::app
