#include "app/zone_adder.hpp"

#include "actors/fail_stop.hpp"
#include "dns/master_file.hpp"
#include "dns/name.hpp"
#include "dns/update_request.hpp"
#include "dns/query_parser.hpp"
#include "dns/update.hpp"
#include "dns/zone_add.hpp"

#include <map>
#include <set>
#include <utility>

namespace vrdns::app {

namespace {

// (zone_done_atom, apex key, rcode or -1 for an unknown outcome)
using zone_done_atom = caf::atom_constant<caf::atom("zone_done")>;
// (zone_retry_atom, apex key): propose it again
using zone_retry_atom = caf::atom_constant<caf::atom("zone_retry")>;

struct Pending {
  std::string name;    // as configured, for the log
  std::string op;      // the encoded AddZoneRequest, kept for retries
  std::size_t records = 0;
  int attempts = 0;
};

struct ZoneAdderState {
  config::NodeConfig cfg;   // the latest loaded; its zones are read from their files on demand
  bool checked = false;
  std::map<std::string, Pending> pending;   // by apex key
  // Apexes whose add committed (NOERROR or YXDOMAIN): a reload's list of present zones was
  // taken on another thread and may not show them yet, and they need no second proposal.
  std::set<std::string> in_cluster;
  // Zones of the cluster this node's config does not list, already logged: a reload logs only
  // the ones it newly finds.
  std::set<std::string> reported_unlisted;
  // The cluster's tombstones as of the latest check (apex keys), and those of them this
  // node's config lists that were logged as not proposed.
  std::set<std::string> removed;
  std::set<std::string> reported_removed;
  // Configured zones whose file did not load, was too big, or that the cluster refused as
  // malformed: not read and proposed again at every change of the cluster's zone list, only
  // after a reload (the file may have been fixed).
  std::set<std::string> failed;
};

/// "delete its [[zone]] from node0.toml, or readmit it: vrdns zone readmit example.test.
/// --config node0.toml"
std::string removed_advice(const config::NodeConfig& cfg, const std::string& name) {
  return "delete its [[zone]] from " + cfg.path + ", or readmit it: vrdns zone readmit " + name +
         " --config " + cfg.path;
}

}  // namespace

caf::behavior zone_adder(caf::event_based_actor* self, config::NodeConfig cfg,
                         std::shared_ptr<actors::vr_submit_queue> submissions,
                         ZoneAdderOptions options) {
  self->set_exception_handler(actors::exception_to_error);   // actors/fail_stop.hpp
  auto state = std::make_shared<ZoneAdderState>();
  state->cfg = std::move(cfg);
  auto say = [options](const std::string& line) {
    if (options.log) options.log(line);
  };
  // One proposal of the zone at apex `key`; its answer comes back as zone_done_atom.
  auto propose = [=](const std::string& key) {
    Pending& p = state->pending.at(key);
    ++p.attempts;
    const caf::actor me = caf::actor_cast<caf::actor>(self);
    actors::vr_completion done{[me, key](const std::string* result) {
      int rcode = -1;
      dns::UpdateReply r;
      if (result && dns::decode(*result, r)) rcode = r.rcode;
      caf::anon_send(me, zone_done_atom::value, key, rcode);
    }};
    submissions->push(p.op, std::move(done),
                      actors::vr_submit_queue::clock::now() + options.call_timeout);
  };
  // Takes the cluster's tombstones (a zone check's); logs removals and readmissions seen
  // after the first check (at the first, they are old news).
  auto note_removed = [=](const std::vector<std::string>& removed) {
    const std::set<std::string> now(removed.begin(), removed.end());
    for (const auto& key : now) {
      // An add of ours that committed before the removal no longer holds.
      state->in_cluster.erase(key);
      state->reported_unlisted.erase(key);
      if (state->checked && !state->removed.count(key))
        say("zone " + dns::name_to_text(key) + " was removed from the cluster: no node serves it");
    }
    for (const auto& key : state->removed) {
      if (now.count(key)) continue;
      state->reported_removed.erase(key);
      say("zone " + dns::name_to_text(key) + " was readmitted: nodes whose config lists it "
          "propose it again");
    }
    state->removed = now;
  };
  // Proposes every configured zone that is neither in `present`, nor removed, nor being
  // proposed.
  auto check = [=](const std::vector<std::string>& present) {
    const config::NodeConfig& cfg = state->cfg;
    const std::set<std::string> have(present.begin(), present.end());
    // A zone leaves the cluster only by an explicit act (dns/zone_control.hpp), not because
    // one node's config no longer lists it.
    std::set<std::string> configured;
    for (const auto& z : cfg.zones)
      if (const auto apex = dns::name_from_text(z.name)) configured.insert(dns::name_key(*apex));
    for (const auto& key : present)
      if (!configured.count(key) && state->reported_unlisted.insert(key).second)
        say("zone " + dns::name_to_text(key) + " is not in this node's config but in the"
            " cluster's state: still served");
    for (const auto& z : cfg.zones) {
      const auto apex = dns::name_from_text(z.name);
      if (!apex) continue;
      const std::string key = dns::name_key(*apex);
      if (have.count(key) || state->pending.count(key) || state->in_cluster.count(key) ||
          state->failed.count(key))
        continue;
      if (state->removed.count(key)) {
        if (state->reported_removed.insert(key).second)
          say("zone " + z.name + " is in this node's config but was removed from the cluster:"
              " not proposed again (" + removed_advice(cfg, z.name) + ")");
        continue;
      }
      Pending p;
      p.name = z.name;
      try {
        const dns::ZonePtr zone = config::load_zone(cfg, z);
        p.records = zone->record_count();
        dns::AddZoneRequest req{*apex, dns::write_master_file(*zone)};
        if (req.master_file.size() > dns::max_added_zone_bytes) {
          state->failed.insert(key);
          say("zone " + z.name + " is not in the cluster's state and too big to add to a"
              " running cluster (" + std::to_string(req.master_file.size()) + " bytes as a"
              " master file, at most " + std::to_string(dns::max_added_zone_bytes) +
              "): not served");
          continue;
        }
        p.op = dns::encode(req);
      } catch (const std::exception& e) {
        state->failed.insert(key);
        say("zone " + z.name + " is not in the cluster's state and its file does not load: " +
            e.what());
        continue;
      }
      say("zone " + z.name + " is not in the cluster's state: proposing it (" +
          std::to_string(p.records) + " records from " + z.file + ")");
      state->pending.emplace(key, std::move(p));
      propose(key);
    }
  };
  return {
      [=](zone_check_atom, const std::vector<std::string>& present,
          const std::vector<std::string>& removed) {
        note_removed(removed);
        // This list is the replica's own, taken as it executed: a zone this node added that
        // is missing now was removed meanwhile (and maybe readmitted since, with both changes
        // seen in one check), so it may be proposed again. (A reload's list, taken on another
        // thread, may lag behind an add: in_cluster stands for it there.)
        const std::set<std::string> have(present.begin(), present.end());
        for (auto it = state->in_cluster.begin(); it != state->in_cluster.end();)
          it = have.count(*it) ? std::next(it) : state->in_cluster.erase(it);
        state->checked = true;
        check(present);
      },
      [=](zone_reload_atom, const ZoneReload& reload) {
        if (!reload.cfg) return;
        state->cfg = *reload.cfg;
        state->failed.clear();
        if (state->checked) check(reload.present);
      },
      [=](zone_done_atom, const std::string& key, int rcode) {
        auto it = state->pending.find(key);
        if (it == state->pending.end()) return;
        const std::string& name = it->second.name;
        if (rcode == -1 || rcode == dns::rcode::SERVFAIL) {
          if (it->second.attempts < options.max_attempts) {
            self->delayed_send(self, options.retry, zone_retry_atom::value, key);
            return;
          }
          say("zone " + name + ": no answer from the cluster after " +
              std::to_string(it->second.attempts) +
              " proposals; reload the config or restart the node to try again");
          state->pending.erase(it);
          return;
        }
        if (rcode == dns::rcode::NOERROR || rcode == dns::rcode::YXDOMAIN)
          state->in_cluster.insert(key);
        if (rcode == dns::rcode::NOERROR) {
          say("zone " + name + " added to the cluster (" + std::to_string(it->second.records) +
              " records): every node serves it");
        } else if (rcode == dns::rcode::YXDOMAIN && it->second.attempts > 1) {
          // An earlier proposal whose answer was lost may have added it.
          say("zone " + name + " is in the cluster's state now (added by this node's earlier"
              " proposal or by another node)");
        } else if (rcode == dns::rcode::YXDOMAIN) {
          say("zone " + name + " is in the cluster's state already (another node added it):"
              " this node's file was not used");
        } else if (rcode == dns::rcode::REFUSED) {
          state->reported_removed.insert(key);
          say("zone " + name + " was removed from the cluster meanwhile: not added (" +
              removed_advice(state->cfg, name) + ")");
        } else {
          state->failed.insert(key);
          say("zone " + name + " was refused by the cluster (rcode " + std::to_string(rcode) +
              ")");
        }
        state->pending.erase(it);
      },
      [=](zone_retry_atom, const std::string& key) {
        if (state->pending.count(key)) propose(key);
      },
  };
}

}  // namespace vrdns::app
