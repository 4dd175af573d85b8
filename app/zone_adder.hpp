// Proposes the zones of this node's [[zone]] list that the cluster does not have
// (dns/zone_add.hpp), so that a zone is added to a running cluster by adding it to a node's
// config and restarting that node. The cluster executes the add like an UPDATE, through VR:
// the first add of an apex to commit wins, and a later one (another node's, whose file may
// differ) changes nothing and is logged as such.
//
// Runs when the replica first serves state it can vouch for (the caller sends zone_check_atom
// then), again whenever the cluster's zone list changes (a zone added, removed or readmitted:
// zone_check_atom again), and after each reload of the config (zone_reload_atom,
// app/config_reload.hpp). A zone removed from the cluster (dns/zone_control.hpp) is not
// proposed again while its tombstone stands, whatever the config lists; once readmitted, it
// is proposed like any missing zone. Detached: reading a zone file can take seconds, and
// neither the replica nor a CAF worker should wait for it. An add whose outcome is unknown (no
// quorum in time) is proposed again every retry interval, at most max_attempts times: it is
// idempotent.
#pragma once

#include <caf/all.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "actors/vr_submit_queue.hpp"
#include "config/config.hpp"

namespace vrdns::app {

/// (zone_check_atom, apex keys the cluster has, apex keys of its removed zones): propose the
/// configured zones missing there and not removed. Sent when the replica first serves state,
/// then at each change of the zone list.
using zone_check_atom = caf::atom_constant<caf::atom("zone_check")>;

/// (zone_reload_atom, ZoneReload): the config was reloaded. Its zones replace the ones the
/// adder knew; if the first check is done, the zones now missing from `present` (and not
/// removed, as of the latest check) are proposed (those already being proposed are not
/// proposed twice). Before the first check it only
/// replaces the config that check will use.
using zone_reload_atom = caf::atom_constant<caf::atom("zone_reld")>;
struct ZoneReload {
  std::shared_ptr<const config::NodeConfig> cfg;
  std::vector<std::string> present;   // apex keys the cluster has now
};

struct ZoneAdderOptions {
  std::chrono::milliseconds call_timeout{2000};   // each proposal's deadline
  std::chrono::milliseconds retry{2000};          // after an unknown outcome
  int max_attempts = 30;
  std::function<void(const std::string&)> log;
};

caf::behavior zone_adder(caf::event_based_actor* self, config::NodeConfig cfg,
                         std::shared_ptr<actors::vr_submit_queue> submissions,
                         ZoneAdderOptions options);

}  // namespace vrdns::app

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(vrdns::app::ZoneReload)
