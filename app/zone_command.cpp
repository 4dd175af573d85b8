#include "app/zone_command.hpp"

#include <chrono>
#include <ctime>
#include <exception>
#include <iostream>
#include <optional>
#include <random>
#include <string>

#include "app/keyring.hpp"
#include "app/metrics_text.hpp"
#include "config/config.hpp"
#include "dns/name.hpp"
#include "dns/query_parser.hpp"
#include "dns/tsig.hpp"
#include "dns/update.hpp"
#include "dns/zone_control.hpp"
#include "net/dns_exchange.hpp"
#include "net/endpoint.hpp"

namespace vrdns::app {

namespace {

constexpr const char* usage =
    "usage: vrdns zone remove|readmit NAME --config FILE [--key KEY] [--server HOST:PORT]";

int usage_error(const std::string& why) {
  std::cerr << "vrdns zone: " << why << "\n" << usage << std::endl;
  return 2;
}

/// Where a node listening on `ep` is reached from this host: a wildcard means the loopback.
net::Endpoint reachable(net::Endpoint ep) {
  if (ep.host == "0.0.0.0") ep.host = "127.0.0.1";
  if (ep.host == "::") ep.host = "::1";
  return ep;
}

/// What the cluster's answer means, for the operator.
std::string meaning(dns::ZoneControlRequest::Action action, uint8_t rcode,
                    const std::string& zone) {
  const bool remove = action == dns::ZoneControlRequest::Action::remove;
  switch (rcode) {
    case dns::rcode::NOERROR:
      return remove ? "zone " + zone + " removed from the cluster: every node stops serving it "
                      "within a heartbeat, and no node's config adds it again until it is "
                      "readmitted"
                    : "zone " + zone + " readmitted: the nodes whose config lists it propose it "
                      "again (its records come from their zone files, its serial above the one "
                      "it had when removed)";
    case dns::rcode::NOTAUTH: return "the cluster has no zone " + zone;
    case dns::rcode::REFUSED:
      return "refused: the key is not in the node's [control] allow";
    case dns::rcode::SERVFAIL:
      return "no answer from the cluster in time (no quorum?); the outcome is unknown: run the "
             "command again (it is idempotent)";
    default: return "the node answered " + rcode_mnemonic(rcode);
  }
}

}  // namespace

int run_zone_command(const std::vector<std::string_view>& args) {
  if (args.size() < 2) return usage_error("missing action and zone name");
  dns::ZoneControlRequest request;
  if (args[0] == "remove") {
    request.action = dns::ZoneControlRequest::Action::remove;
  } else if (args[0] == "readmit") {
    request.action = dns::ZoneControlRequest::Action::readmit;
  } else {
    return usage_error("unknown action " + std::string(args[0]));
  }
  const auto apex = dns::name_from_text(std::string(args[1]));
  if (!apex) return usage_error("not a domain name: " + std::string(args[1]));
  request.apex = *apex;
  const std::string zone = dns::name_to_text(*apex);
  std::string config_file, key_name, server_text;
  for (std::size_t i = 2; i < args.size(); i += 2) {
    if (i + 1 >= args.size()) return usage_error(std::string(args[i]) + " needs a value");
    const std::string value(args[i + 1]);
    if (args[i] == "--config") config_file = value;
    else if (args[i] == "--key") key_name = value;
    else if (args[i] == "--server") server_text = value;
    else return usage_error("unknown option " + std::string(args[i]));
  }
  if (config_file.empty()) return usage_error("--config FILE is required");

  try {
    const config::NodeConfig cfg = config::load_config(config_file, config::ZoneFiles::defer);
    if (key_name.empty()) {
      if (cfg.control_allow.empty()) {
        std::cerr << "vrdns zone: " << config_file << " has no [control] allow key: add one "
                  << "(a [[key]] listed in [control] allow on every node), reload the nodes, "
                  << "or name one with --key" << std::endl;
        return 1;
      }
      key_name = cfg.control_allow.front();
    }
    const auto key_wire = dns::name_from_text(key_name);
    const dns::Keyring keys = keyring_of(cfg, {key_name});
    if (!key_wire || keys.find(dns::name_key(*key_wire)) == nullptr) {
      std::cerr << "vrdns zone: no [[key]] named " << key_name << " in " << config_file
                << std::endl;
      return 1;
    }
    net::Endpoint server = reachable(cfg.dns.listen.front());
    if (!server_text.empty()) {
      const auto ep = net::parse_endpoint(server_text);
      if (!ep || ep->port == 0) return usage_error("--server: expected HOST:PORT, numeric host");
      server = *ep;
    }
    std::random_device rd;
    std::vector<uint8_t> message =
        dns::make_zone_control_message(request, uint16_t(rd()));
    if (!dns::sign_request(message, dns::name_key(*key_wire), keys,
                           int64_t(std::time(nullptr)))) {
      std::cerr << "vrdns zone: cannot sign with key " << key_name << std::endl;
      return 1;
    }
    // The node answers once the cluster committed, or with SERVFAIL after update_timeout_ms.
    const auto timeout = std::chrono::milliseconds(cfg.replication.update_timeout_ms + 5000);
    const std::vector<uint8_t> reply = net::exchange_tcp(server, message, timeout);
    if (reply.size() < dns::header_size || reply[0] != message[0] || reply[1] != message[1]) {
      std::cerr << "vrdns zone: " << server.to_string() << " sent something that is not the "
                << "answer" << std::endl;
      return 1;
    }
    const auto verdict = dns::verify_reply_to(message, reply.data(), reply.size(), keys,
                                              int64_t(std::time(nullptr)));
    if (!verdict || verdict->status != dns::TsigStatus::ok) {
      std::cerr << "vrdns zone: the answer of " << server.to_string() << " does not verify ("
                << (verdict ? std::string("TSIG ") + dns::to_string(verdict->status)
                            : std::string("unsigned request"))
                << "; does the node have key " << key_name << "?)" << std::endl;
      return 1;
    }
    const uint8_t rcode = reply[3] & 0x0F;
    const std::string line = meaning(request.action, rcode, zone);
    if (rcode != dns::rcode::NOERROR) {
      std::cerr << "vrdns zone " << dns::to_string(request.action) << ": " << line << std::endl;
      return 1;
    }
    std::cout << line << std::endl;
    return 0;
  } catch (const std::exception& e) {   // ConfigError (file:line: key: ...), network errors
    std::cerr << "vrdns zone: " << e.what() << std::endl;
    return 1;
  }
}

}  // namespace vrdns::app
