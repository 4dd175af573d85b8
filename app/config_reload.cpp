#include "app/config_reload.hpp"

#include <map>
#include <optional>
#include <tuple>
#include <string>
#include <vector>
#include <utility>

#include "dns/name.hpp"

namespace vrdns::app {

namespace {

/// Zone name (folded, so "Example.TEST." and "example.test." are one zone) -> its config.
std::map<std::string, const config::ZoneConfig*> zones_by_key(const config::NodeConfig& cfg) {
  std::map<std::string, const config::ZoneConfig*> out;
  for (const auto& z : cfg.zones) {
    const auto apex = dns::name_from_text(z.name);
    out.emplace(apex ? dns::name_key(*apex) : z.name, &z);
  }
  return out;
}

}  // namespace

ReloadPlan plan_reload(const config::NodeConfig& running, const config::NodeConfig& loaded) {
  ReloadPlan plan;
  auto restart_if = [&](bool changed, const char* what) {
    if (changed) plan.restart_only.emplace_back(what);
  };
  restart_if(running.replicas != loaded.replicas, "[cluster] replicas");
  restart_if(running.replica != loaded.replica, "[node] replica");
  restart_if(running.name != loaded.name, "[node] name");
  restart_if(running.data_dir != loaded.data_dir, "[node] data_dir");
  const auto& d0 = running.dns;
  const auto& d1 = loaded.dns;
  restart_if(d0.listen != d1.listen, "[dns] listen");
  restart_if(d0.udp_workers != d1.udp_workers, "[dns] udp_workers");
  restart_if(d0.tcp_workers != d1.tcp_workers, "[dns] tcp_workers");
  restart_if(d0.edns_udp_size != d1.edns_udp_size, "[dns] edns_udp_size");
  restart_if(d0.tcp_idle_timeout_ms != d1.tcp_idle_timeout_ms, "[dns] tcp_idle_timeout_ms");
  restart_if(d0.tcp_max_connections != d1.tcp_max_connections, "[dns] tcp_max_connections");
  restart_if(running.stats.listen != loaded.stats.listen, "[stats] listen");
  const auto& r0 = running.replication;
  const auto& r1 = loaded.replication;
  restart_if(r0.heartbeat_ms != r1.heartbeat_ms, "[replication] heartbeat_ms");
  restart_if(r0.primary_timeout_ms != r1.primary_timeout_ms, "[replication] primary_timeout_ms");
  restart_if(r0.update_timeout_ms != r1.update_timeout_ms, "[replication] update_timeout_ms");
  restart_if(r0.checkpoint_interval != r1.checkpoint_interval,
             "[replication] checkpoint_interval");
  restart_if(r0.log_margin != r1.log_margin, "[replication] log_margin");
  restart_if(r0.nice != r1.nice, "[replication] nice");

  plan.responder_changed = d0.nsid != d1.nsid || running.cookies != loaded.cookies;
  plan.rate_limit_changed = running.rrl != loaded.rrl;

  const bool keys_changed = running.keys != loaded.keys;
  // The zones' own key lists, by zone.
  auto zone_lists = [](const config::NodeConfig& c) {
    std::map<std::string, std::tuple<std::optional<std::vector<std::string>>,
                                     std::optional<std::vector<std::string>>,
                                     std::optional<std::vector<net::AddressPrefix>>>>
        out;
    for (const auto& [key, z] : zones_by_key(c))
      out[key] = {z->update_allow, z->transfer_allow, z->transfer_allow_addresses};
    return out;
  };
  plan.policy_changed = keys_changed || zone_lists(running) != zone_lists(loaded) ||
                        running.update_allow != loaded.update_allow ||
                        running.control_allow != loaded.control_allow ||
                        running.transfer.allow != loaded.transfer.allow ||
                        running.transfer.allow_addresses != loaded.transfer.allow_addresses ||
                        running.transfer.max_transfers != loaded.transfer.max_transfers;
  plan.notify_changed = running.transfer.notify != loaded.transfer.notify ||
                        running.transfer.notify_key != loaded.transfer.notify_key ||
                        (keys_changed && !loaded.transfer.notify_key.empty());

  const auto before = zones_by_key(running);
  const auto after = zones_by_key(loaded);
  for (const auto& [key, z] : after) {
    auto it = before.find(key);
    if (it == before.end())
      plan.zones_listed.push_back(z->name);
    else if (it->second->file != z->file)
      plan.zone_files_changed.push_back(z->name);
  }
  for (const auto& [key, z] : before)
    if (!after.count(key)) plan.zones_unlisted.push_back(z->name);
  return plan;
}

config::NodeConfig without_loaded_zones(config::NodeConfig cfg) {
  for (auto& z : cfg.zones) z.zone = nullptr;
  return cfg;
}

}  // namespace vrdns::app
