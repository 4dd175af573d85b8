#include "app/access_policy.hpp"

#include "app/keyring.hpp"
#include "dns/name.hpp"

namespace vrdns::app {

AccessPolicyPtr access_policy_of(const config::NodeConfig& cfg) {
  auto p = std::make_shared<AccessPolicy>();
  p->keys = keyring_of(cfg);
  p->update_allowed = keyring_of(cfg, cfg.update_allow);
  p->control_allowed = keyring_of(cfg, cfg.control_allow);
  p->transfer_allowed = keyring_of(cfg, cfg.transfer.allow);
  p->transfer_addresses = cfg.transfer.allow_addresses;
  p->max_transfers = cfg.transfer.max_transfers;
  for (const auto& z : cfg.zones) {
    const auto apex = dns::name_from_text(z.name);
    if (!apex) continue;   // the config checked it
    const std::string key = dns::name_key(*apex);
    if (z.update_allow) p->zone_update_allowed.emplace(key, keyring_of(cfg, *z.update_allow));
    if (z.transfer_allow)
      p->zone_transfer_allowed.emplace(key, keyring_of(cfg, *z.transfer_allow));
    if (z.transfer_allow_addresses)
      p->zone_transfer_addresses.emplace(key, *z.transfer_allow_addresses);
  }
  return p;
}

bool AccessPolicy::may_update_any(std::string_view key) const {
  if (update_allowed.find(key)) return true;
  for (const auto& [zone, keys] : zone_update_allowed)
    if (keys.find(key)) return true;
  return false;
}

}  // namespace vrdns::app
