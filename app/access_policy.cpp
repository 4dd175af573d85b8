#include "app/access_policy.hpp"

#include "app/keyring.hpp"

namespace vrdns::app {

AccessPolicyPtr access_policy_of(const config::NodeConfig& cfg) {
  auto p = std::make_shared<AccessPolicy>();
  p->keys = keyring_of(cfg);
  p->update_allowed = keyring_of(cfg, cfg.update_allow);
  p->control_allowed = keyring_of(cfg, cfg.control_allow);
  p->transfer_allowed = keyring_of(cfg, cfg.transfer.allow);
  p->transfer_addresses = cfg.transfer.allow_addresses;
  p->max_transfers = cfg.transfer.max_transfers;
  return p;
}

}  // namespace vrdns::app
