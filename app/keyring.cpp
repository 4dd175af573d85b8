#include "app/keyring.hpp"

#include <strings.h>

#include <algorithm>
#include <stdexcept>

namespace vrdns::app {

namespace {

void add(dns::Keyring& keys, const config::TsigKey& k) {
  if (!keys.add(k.name, k.algorithm, k.secret))
    throw std::invalid_argument("bad TSIG key " + k.name);
}

}  // namespace

dns::Keyring keyring_of(const config::NodeConfig& cfg) {
  dns::Keyring keys;
  for (const auto& k : cfg.keys) add(keys, k);
  return keys;
}

dns::Keyring keyring_of(const config::NodeConfig& cfg, const std::vector<std::string>& names) {
  dns::Keyring keys;
  for (const auto& k : cfg.keys) {
    const bool named = std::any_of(names.begin(), names.end(), [&](const std::string& n) {
      return strcasecmp(n.c_str(), k.name.c_str()) == 0;
    });
    if (named) add(keys, k);
  }
  return keys;
}

}  // namespace vrdns::app
