// The node's TSIG keys ([[key]]) as dns::Keyrings: every path that verifies or signs (UPDATE,
// zone transfers, signed queries, NOTIFY) builds its keyring here.
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"
#include "dns/tsig.hpp"

namespace vrdns::app {

/// Every configured key. Throws std::invalid_argument for a key dns::Keyring refuses (the
/// config checked them, so only an OpenSSL without the digest gets there).
dns::Keyring keyring_of(const config::NodeConfig& cfg);

/// The configured keys whose names are in `names` (as [update] allow and [transfer] allow list
/// them; compared without case).
dns::Keyring keyring_of(const config::NodeConfig& cfg, const std::vector<std::string>& names);

}  // namespace vrdns::app
