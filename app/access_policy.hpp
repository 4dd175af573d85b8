// Who may do what with which TSIG key: [[key]], [update] allow, [control] allow,
// [transfer]'s access lists, and the lists of single zones ([[zone]] update_allow,
// transfer_allow, transfer_allow_addresses).
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
#include <map>
#include <string>
#include <string_view>
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
  /// [[zone]] update_allow / transfer_allow, by apex key: for those zones, instead of the
  /// global lists.
  std::map<std::string, dns::Keyring> zone_update_allowed, zone_transfer_allowed;
  /// [[zone]] transfer_allow_addresses, by apex key: instead of transfer_addresses.
  std::map<std::string, std::vector<net::AddressPrefix>> zone_transfer_addresses;

  /// The keys that may UPDATE / transfer the zone at `apex_key` (key form).
  const dns::Keyring& update_keys(std::string_view apex_key) const {
    return pick(zone_update_allowed, apex_key, update_allowed);
  }
  const dns::Keyring& transfer_keys(std::string_view apex_key) const {
    return pick(zone_transfer_allowed, apex_key, transfer_allowed);
  }
  /// The addresses that may transfer the zone at `apex_key` without TSIG.
  const std::vector<net::AddressPrefix>& transfer_addresses_of(std::string_view apex_key) const {
    return pick(zone_transfer_addresses, apex_key, transfer_addresses);
  }
  /// Whether `key` may UPDATE some zone (before the message says which).
  bool may_update_any(std::string_view key) const;

 private:
  template <class T>
  static const T& pick(const std::map<std::string, T>& by_zone, std::string_view apex_key,
                       const T& fallback) {
    const auto it = by_zone.find(std::string(apex_key));
    return it == by_zone.end() ? fallback : it->second;
  }
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
