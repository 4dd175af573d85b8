// Who may do what with which TSIG key: [[key]], [update] allow, [control] allow and
// [transfer]'s access lists.
//
// The one part of a node's config that changes while it runs: SIGHUP replaces it
// (app/config_reload.hpp), so that an operator can roll a key or let a new secondary transfer
// without restarting a replica. Every request reads the current policy once, when it arrives,
// and keeps that snapshot to its end: a transfer under way signs its last message with the
// keyring that verified its request, even if the key is gone from the config by then.
// Unsigned queries never read it (the query hot path takes no shared state but the zones).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "config/config.hpp"
#include "dns/tsig.hpp"
#include "net/address_prefix.hpp"

namespace vrdns::app {

struct AccessPolicy {
  dns::Keyring keys;               ///< every [[key]]: verifies and signs
  dns::Keyring update_allowed;     ///< the keys of [update] allow
  dns::Keyring control_allowed;    ///< the keys of [control] allow (dns/zone_control.hpp)
  dns::Keyring transfer_allowed;   ///< the keys of [transfer] allow
  std::vector<net::AddressPrefix> transfer_addresses;   ///< [transfer] allow_addresses
  uint32_t max_transfers = 10;     ///< [transfer] max_transfers
};
using AccessPolicyPtr = std::shared_ptr<const AccessPolicy>;

/// The policy `cfg` describes. Throws std::invalid_argument for a key dns::Keyring refuses
/// (app/keyring.hpp).
AccessPolicyPtr access_policy_of(const config::NodeConfig& cfg);

/// The policy in force: read on front-end threads per UPDATE, transfer and signed query;
/// replaced by a reload. Never null.
class CurrentAccessPolicy {
 public:
  explicit CurrentAccessPolicy(AccessPolicyPtr policy) : policy_(std::move(policy)) {}
  AccessPolicyPtr get() const { return policy_.load(); }
  void set(AccessPolicyPtr policy) { policy_.store(std::move(policy)); }

 private:
  std::atomic<AccessPolicyPtr> policy_;
};

}  // namespace vrdns::app
