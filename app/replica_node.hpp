// One VR replica of a node, wired into an actor system: the replica (state machine =
// dns::ZoneService), its links and connectors to the other replicas, the vr_clients of the
// UPDATE path, and the DNS front end that serves what the replica commits.
//
// Published states: after every commit and every view/status change the replica's on_change
// hook sends the front end a new ServingState (the service's zones + the status line).
//
// Start-up rule (interim, until durable state lands): a data_dir that already holds the marker
// file `vrdns.started` from an earlier run means this replica may have promised things it has
// forgotten, so it starts in recovering status (VR §4.3) and learns the state from the others.
// A fresh data_dir starts normal at view 0. A one-replica cluster has nobody to recover from
// and always starts normal.
#pragma once

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "app/access_policy.hpp"
#include "app/served_zones.hpp"
#include "config/config.hpp"
#include "dns/responder.hpp"
#include "net/endpoint.hpp"
#include "net/metrics_server.hpp"
#include "net/notifier.hpp"
#include "net/rate_limiter.hpp"
#include "protocol/replica_state.hpp"

namespace vrdns::app {

/// The CH TXT status.vrdns. line: "replica=R view=V status=normal primary=P op=N commit=C"
/// (status one of normal, view-change, recovering).
std::string status_line(const protocol::replica_state& vr);

class ReplicaNode {
 public:
  /// Called once for each of the node's actors that ends other than by stop() or normally
  /// (actors/fail_stop.hpp), with a line that names the actor and the reason. Runs on that
  /// actor's thread: it must be cheap and must not block.
  using FailureHandler = std::function<void(const std::string&)>;

  /// Binds the DNS sockets and the replica address, spawns everything and starts connecting to
  /// the peers (asynchronously). Throws std::runtime_error (nothing left running) if an address
  /// cannot be bound or data_dir cannot be prepared.
  ReplicaNode(caf::actor_system& system, const config::NodeConfig& cfg,
              FailureHandler on_failure = {});
  ~ReplicaNode();   // stop()
  ReplicaNode(const ReplicaNode&) = delete;
  ReplicaNode& operator=(const ReplicaNode&) = delete;

  /// Asks every actor of this node to exit (the actor system then waits for them).
  void stop();

  /// Applies a config loaded again from this node's file (SIGHUP; app/config_reload.hpp says
  /// what takes effect now and what at the next start) and logs what changed. All or nothing,
  /// and never throws: a config it cannot apply, or one that names another replica or cluster,
  /// is logged and leaves the running one in force.
  void reload(const config::NodeConfig& loaded);

  /// The NOTIFY sender in force (null while [transfer] notify is empty); a reload replaces it.
  struct NotifierSlot;

  const std::vector<net::Endpoint>& dns_endpoints() const { return dns_endpoints_; }
  bool started_recovering() const { return recovering_; }
  /// Every actor spawned here, in spawn order (tests end one to check fail-stop).
  const std::vector<caf::actor>& actors() const { return actors_; }

 private:
  std::vector<caf::actor> actors_;   // everything spawned here, to stop
  std::vector<net::Endpoint> dns_endpoints_;
  bool recovering_ = false;
  // What a reload replaces. running_ holds no loaded zones (app/config_reload.hpp).
  caf::actor_system* system_;   // reload() waits for the publisher through it
  config::NodeConfig running_;
  std::shared_ptr<CurrentAccessPolicy> policy_;
  std::shared_ptr<NotifierSlot> notifier_;
  std::shared_ptr<ServedZones> served_zones_;
  caf::actor adder_;
  caf::actor publisher_;   // app/serving_publisher.hpp: takes reloaded responder options
  // The DNS front end's (actors::DnsFrontend::set_rate_limiter).
  std::function<void(std::shared_ptr<net::ResponseRateLimiter>)> set_rate_limiter_;
  // The cookie secrets being served: a reload without a configured secret keeps them.
  std::shared_ptr<const dns::CookieSecrets> cookie_secrets_;
  std::unique_ptr<net::MetricsServer> metrics_;   // [stats] listen; null without it
  std::shared_ptr<net::NotifyCounters> notify_counters_;   // outlives each Notifier
};

}  // namespace vrdns::app
