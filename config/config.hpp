// The node configuration file (TOML), validated completely before anything starts.
//
// Schema (every key below; any other key is an error):
//
//   [cluster]
//   replicas = ["127.0.0.1:7301", ...]   required; the VR configuration, in replica-number order
//   [node]
//   replica  = 0                          required; this node's index in cluster.replicas
//   name     = "vrdns-0"                  optional; CH TXT id.server. (default "vrdns-<replica>")
//   data_dir = "data/n0"                  required; state directory (created by the node)
//   [dns]
//   listen = ["127.0.0.1:5301"]           required, non-empty; UDP and TCP on each address
//   udp_workers = 2                       optional, 1..64: UDP threads (one socket each) per address
//   tcp_workers = 1                       optional, 1..16: epoll threads accepting TCP
//   edns_udp_size = 1232                  optional, 512..4096: cap on EDNS0 UDP reply size
//                                         (1232 avoids IP fragmentation, DNS flag day 2020)
//   tcp_idle_timeout_ms = 10000           optional, 100..3600000 (RFC 7766 §6.2.3 suggests s)
//   tcp_max_connections = 1024            optional, 1..1000000: beyond it new ones are closed
//   nsid = "ns1-fra"                      optional, 1..128 bytes: sent to clients that ask for the
//                                         server's identifier (RFC 5001, dig +nsid); not sent
//                                         without it
//   [[zone]]                              zero or more
//   name = "example.test."                required; the apex, unique across zones
//   file = "example.test.zone"            required; RFC 1035 master file, loaded and validated
//   update_allow = ["zone-key."]          optional; the keys that may UPDATE this zone, instead
//                                         of [update] allow ([] = none)
//   transfer_allow = ["xfr-key."]         optional; the keys that may transfer this zone,
//                                         instead of [transfer] allow
//   transfer_allow_addresses = ["192.0.2.53"]
//                                         optional; who may transfer this zone without TSIG,
//                                         instead of [transfer] allow_addresses ([] = nobody)
//   [[key]]                               zero or more TSIG keys
//   name = "update-key."                  required; unique
//   algorithm = "hmac-sha256"             required; hmac-md5|sha1|sha224|sha256|sha384|sha512
//   secret = "base64..."                  required; valid, non-empty base64
//   [update]
//   allow = ["update-key."]               optional; key names allowed to UPDATE (must exist)
//   [control]
//   allow = ["admin-key."]                optional; keys allowed to remove and readmit zones
//                                         (`vrdns zone remove|readmit`, dns/zone_control.hpp)
//   [rrl]                                 optional; response rate limiting of UDP answers
//   responses_per_second = 0              optional, 0..10000: per client network and answer
//                                         (net/rate_limiter.hpp); 0 = off
//   slip = 2                              optional, 0..10: every slip-th limited answer goes out
//                                         truncated (TC), so real clients retry over TCP
//   ipv4_prefix = 24                      optional, 8..32: client networks share a limit
//   ipv6_prefix = 56                      optional, 16..128
//   exempt = ["192.0.2.0/24"]             optional; clients never limited
//   [cookies]                             optional; DNS cookies (RFC 7873, RFC 9018 server
//                                         cookies; dns/cookie.hpp)
//   enabled = true                        optional; answer COOKIE options (valid ones spare a
//                                         client from [rrl])
//   secret = "<32 hex digits>"            optional; the SipHash key of server cookies. Give nodes
//                                         behind one address the same; default: a random one
//                                         at each start
//   previous_secret = "<32 hex digits>"   optional; still accepted (not issued), for rolling
//                                         to a new secret; needs secret
//   [stats]                               optional
//   listen = "127.0.0.1:9301"             optional; HTTP GET /metrics (Prometheus text) here.
//                                         No statistics endpoint without it
//   [replication]                         optional; VR timing
//   heartbeat_ms = 50                     optional, 5..10000: idle primary sends Commit this often
//   primary_timeout_ms = 200              optional, 20..60000 and > heartbeat_ms: a backup that
//                                         has not heard the primary this long suspects it; a view
//                                         change starts once f+1 replicas doubt the primary
//   update_timeout_ms = 2000              optional, 100..60000: an UPDATE not committed by then
//                                         is answered SERVFAIL
//   checkpoint_interval = 20000           optional, 100..100000000: a checkpoint (master files in
//                                         data_dir) every this many committed UPDATEs
//   log_margin = 10000                    optional, 0..100000000: UPDATEs kept in the log before the
//                                         latest checkpoint, for replicas that lag a little
//   nice = 14                             optional, 0..19: added to the niceness of the threads
//                                         that replicate (VR, peer links, log saves), not of the
//                                         DNS threads, so queries go first when CPU is short
//
// Relative paths (zone files, data_dir) are relative to the directory of the config file.
// A running node reads its file again on SIGHUP; app/config_reload.hpp says which keys take
// effect then and which at the next start.
// Every error is a ConfigError whose what() is one line: "<file>:<line>: <key>: <problem>".
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "dns/cookie.hpp"
#include "dns/zone.hpp"
#include "net/address_prefix.hpp"
#include "net/endpoint.hpp"

namespace vrdns::config {

struct ConfigError : std::runtime_error {
  ConfigError(const std::string& file, std::size_t line, const std::string& key,
              const std::string& problem);
  std::string file;
  std::size_t line;
  std::string key;
};

struct ZoneConfig {
  std::string name;   ///< presentation form with trailing dot, as configured
  std::string file;   ///< resolved path
  dns::ZonePtr zone;  ///< loaded and validated; null when loading was deferred
  std::size_t file_line = 0;   ///< where `file` is set, for errors of a deferred load
  /// Keys for this zone alone (normalised like update_allow); unset: the global lists.
  std::optional<std::vector<std::string>> update_allow, transfer_allow;
  /// Addresses that may transfer this zone without TSIG; unset: [transfer] allow_addresses.
  std::optional<std::vector<net::AddressPrefix>> transfer_allow_addresses;
};

struct TsigKey {
  std::string name;        ///< presentation form, always with a trailing dot
  std::string algorithm;   ///< e.g. "hmac-sha256" (as ldns names it, without trailing dot)
  std::string secret;      ///< base64, as configured (ldns takes it in this form)
  bool operator==(const TsigKey&) const = default;
};

struct DnsConfig {
  std::vector<net::Endpoint> listen;
  unsigned udp_workers = 2;
  unsigned tcp_workers = 1;
  uint16_t edns_udp_size = 1232;
  uint32_t tcp_idle_timeout_ms = 10000;
  uint32_t tcp_max_connections = 1024;
  std::string nsid;   ///< RFC 5001 server identifier; empty: not sent
};

/// [transfer]: who may take zone transfers (AXFR, IXFR). Nobody by default.
struct TransferConfig {
  std::vector<std::string> allow;                     ///< TSIG key names, like update_allow
  std::vector<net::AddressPrefix> allow_addresses;    ///< may transfer without TSIG
  std::vector<net::Endpoint> notify;                  ///< secondaries told of new serials
  std::string notify_key;                             ///< signs the NOTIFYs; empty: unsigned
  uint32_t max_transfers = 10;                        ///< outgoing transfers at once
};

struct ReplicationConfig {
  uint32_t heartbeat_ms = 50;
  uint32_t primary_timeout_ms = 200;   ///< + the detector's jitter: failover under 300 ms
  uint32_t update_timeout_ms = 2000;
  uint64_t checkpoint_interval = 20000;
  uint64_t log_margin = 10000;
  int nice = 14;   ///< niceness added to the replication threads (app/replication_priority.hpp)
};

/// [rrl]: response rate limiting (net/rate_limiter.hpp). Off unless responses_per_second > 0.
struct RateLimitConfig {
  uint32_t responses_per_second = 0;
  uint32_t slip = 2;
  uint8_t ipv4_prefix = 24;
  uint8_t ipv6_prefix = 56;
  std::vector<net::AddressPrefix> exempt;
  bool operator==(const RateLimitConfig&) const = default;
};

/// [cookies]: DNS cookies (dns/cookie.hpp).
struct CookieConfig {
  bool enabled = true;
  std::optional<dns::CookieSecret> secret;            ///< none: a random one at each start
  std::optional<dns::CookieSecret> previous_secret;   ///< only with `secret`
  bool operator==(const CookieConfig&) const = default;
};

/// [stats]: where the statistics endpoint listens (net/metrics_server.hpp).
struct StatsConfig {
  std::optional<net::Endpoint> listen;   ///< none: no endpoint
};

struct NodeConfig {
  std::string path;                     ///< the config file as given
  std::vector<net::Endpoint> replicas;  ///< cluster.replicas
  std::size_t replica = 0;              ///< node.replica, < replicas.size()
  std::string name;                     ///< node.name
  std::string data_dir;                 ///< resolved
  DnsConfig dns;
  ReplicationConfig replication;
  std::vector<ZoneConfig> zones;
  std::vector<TsigKey> keys;
  std::vector<std::string> update_allow;   ///< key names, normalised like TsigKey::name
  std::vector<std::string> control_allow;  ///< [control] allow: may remove/readmit zones
  TransferConfig transfer;
  StatsConfig stats;
  RateLimitConfig rrl;
  CookieConfig cookies;
};

/// Whether load_config parses the zone files. A node restarting from a checkpoint in its
/// data_dir does not need them (they only seed a brand-new cluster), and a 1M-record file takes
/// seconds: it defers, and loads them with load_zone() only when they are needed.
enum class ZoneFiles { load, defer };

/// Reads, validates and loads (zone files included, unless deferred: then they are only checked
/// to exist) a node configuration. Throws ConfigError.
NodeConfig load_config(const std::string& path, ZoneFiles zone_files = ZoneFiles::load);

/// Same, from text; `path` names it in errors and its directory anchors relative paths.
NodeConfig parse_config(std::string_view text, const std::string& path,
                        ZoneFiles zone_files = ZoneFiles::load);

/// The zone of `z` (loaded now if it was deferred). Throws ConfigError naming the config file,
/// the line of the zone's `file` key and the zone file's own error.
dns::ZonePtr load_zone(const NodeConfig& cfg, const ZoneConfig& z);


}  // namespace vrdns::config
