// What SIGHUP changes in a running node, and what waits for its next start.
//
// A reload reads the node's config file again and, if it is valid, applies at once:
//  - the access policy: [[key]], [update] allow, [control] allow, [transfer] allow,
//    allow_addresses, max_transfers and the zones' own update_allow and transfer_allow
//    (app/access_policy.hpp), so a key is rolled without a restart;
//  - [transfer] notify and notify_key;
//  - [[zone]] entries the cluster lacks: proposed to the cluster (app/zone_adder.hpp).
// Everything else ([cluster], [node], [dns], [rrl], [stats], [replication]) is fixed for a
// process's life: the sockets, the VR configuration and the timers were set up from it. A
// change there is logged and takes effect when the node is restarted. A config that does not
// validate changes nothing, and neither does one for another replica or cluster ([node]
// replica or [cluster] replicas differ: ReplicaNode::reload refuses it whole).
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"

namespace vrdns::app {

struct ReloadPlan {
  /// Settings that differ but take effect only at the next start, as "[dns] listen".
  std::vector<std::string> restart_only;
  bool policy_changed = false;   ///< keys or access lists differ
  bool notify_changed = false;   ///< [transfer] notify or notify_key differ (or a key it uses)
  /// [dns] nsid or [cookies] differ: the responder gets them with the next serving state
  /// (RFC 9018's secret roll is three reloads, no restart).
  bool responder_changed = false;
  /// [rrl] differs: the UDP front end gets a new limiter (every bucket starts full).
  bool rate_limit_changed = false;
  /// Zones listed now and not before: candidates to add (the cluster may have them already).
  std::vector<std::string> zones_listed;
  /// Zones listed before and not now. A zone leaves the cluster only by an explicit act, and
  /// there is none yet: the cluster keeps serving them.
  std::vector<std::string> zones_unlisted;
  /// Zones whose `file` changed: a file only seeds a new cluster or an added zone, so this
  /// changes nothing served.
  std::vector<std::string> zone_files_changed;
};

/// Compares the config a node runs with the one just loaded. Zone names compare without case.
ReloadPlan plan_reload(const config::NodeConfig& running, const config::NodeConfig& loaded);

/// `cfg` without the zones it loaded (ZoneConfig::zone reset: load_zone() reads the file again
/// if asked). A config kept for the life of the process must not keep a whole zone file's
/// records alive after the cluster's state has moved on from them.
config::NodeConfig without_loaded_zones(config::NodeConfig cfg);

}  // namespace vrdns::app
