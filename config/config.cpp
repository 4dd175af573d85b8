#include "config/config.hpp"

#include "dns/base64.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include "dns/hex.hpp"
#include "dns/name.hpp"
#include "dns/responder.hpp"

namespace vrdns::config {

namespace {

std::string format_error(const std::string& file, std::size_t line, const std::string& key,
                         const std::string& problem) {
  std::string s = file;
  // Appended piecewise: `":" + std::to_string(line)` trips a GCC 12 -Wrestrict false
  // positive at -O3.
  if (line > 0) {
    s += ':';
    s += std::to_string(line);
  }
  s += ": ";
  if (!key.empty()) {
    s += key;
    s += ": ";
  }
  // One line, whatever the problem text (ldns and toml++ messages may embed newlines).
  for (char c : problem) s += (c == '\n' || c == '\r') ? ' ' : c;
  return s;
}

std::string lower(std::string s) {
  for (auto& c : s) c = char(dns::fold(uint8_t(c)));
  return s;
}

const char* type_name(toml::node_type t) {
  switch (t) {
    case toml::node_type::table: return "table";
    case toml::node_type::array: return "array";
    case toml::node_type::string: return "string";
    case toml::node_type::integer: return "integer";
    case toml::node_type::floating_point: return "float";
    case toml::node_type::boolean: return "boolean";
    case toml::node_type::date: return "date";
    case toml::node_type::time: return "time";
    case toml::node_type::date_time: return "date-time";
    default: return "nothing";
  }
}

/// Walks one parsed document; every check reports through fail() with file, line and key.
/// Loads the zone file of `z`, the `index`-th [[zone]] of config file `config_file`.
dns::ZonePtr load_zone_at(const std::string& config_file, std::size_t index,
                          const ZoneConfig& z) {
  try {
    return dns::load_zone_file(z.file, z.name);
  } catch (const std::exception& e) {
    // dns::ZoneError's text already starts with "<zone file>:<line>:".
    throw ConfigError(config_file, z.file_line, "zone[" + std::to_string(index) + "].file",
                      std::string("zone does not load: ") + e.what());
  }
}

class Reader {
 public:
  Reader(std::string file, const toml::table& root, ZoneFiles zone_files)
      : file_(std::move(file)), root_(root), zone_files_(zone_files) {
    base_dir_ = std::filesystem::path(file_).parent_path();
  }

  NodeConfig read() {
    NodeConfig c;
    c.path = file_;
    check_keys(root_, "", {"cluster", "node", "dns", "zone", "key", "update", "transfer",
                            "replication", "stats", "control", "rrl", "cookies"});

    const auto& cluster = table(root_, "cluster", "cluster");
    check_keys(cluster, "cluster", {"replicas"});
    c.replicas = endpoints(cluster, "replicas", "cluster.replicas");
    std::set<std::string> seen;
    for (std::size_t i = 0; i < c.replicas.size(); ++i)
      if (!seen.insert(c.replicas[i].to_string()).second)
        fail(line_of(*cluster.get("replicas")), "cluster.replicas",
             "duplicate address " + c.replicas[i].to_string());

    const auto& node = table(root_, "node", "node");
    check_keys(node, "node", {"replica", "name", "data_dir"});
    c.replica = std::size_t(integer(node, "replica", "node.replica", 0, 1000, std::nullopt));
    if (c.replica >= c.replicas.size())
      fail(line_of(*node.get("replica")), "node.replica",
           "index " + std::to_string(c.replica) + " out of range: cluster.replicas has " +
               std::to_string(c.replicas.size()) + " entries");
    c.name = string(node, "name", "node.name", "vrdns-" + std::to_string(c.replica));
    if (c.name.empty() || c.name.size() > 255)
      fail(line_of(*node.get("name")), "node.name", "must be 1..255 characters");
    c.data_dir = path(string(node, "data_dir", "node.data_dir", std::nullopt));

    const auto& dns = table(root_, "dns", "dns");
    check_keys(dns, "dns",
               {"listen", "udp_workers", "tcp_workers", "edns_udp_size", "tcp_idle_timeout_ms",
                "tcp_max_connections", "nsid"});
    c.dns.listen = endpoints(dns, "listen", "dns.listen");
    c.dns.udp_workers = unsigned(integer(dns, "udp_workers", "dns.udp_workers", 1, 64, 2));
    c.dns.tcp_workers = unsigned(integer(dns, "tcp_workers", "dns.tcp_workers", 1, 16, 1));
    c.dns.edns_udp_size =
        uint16_t(integer(dns, "edns_udp_size", "dns.edns_udp_size", 512, 4096, 1232));
    c.dns.tcp_idle_timeout_ms = uint32_t(
        integer(dns, "tcp_idle_timeout_ms", "dns.tcp_idle_timeout_ms", 100, 3600000, 10000));
    c.dns.tcp_max_connections = uint32_t(
        integer(dns, "tcp_max_connections", "dns.tcp_max_connections", 1, 1000000, 1024));
    c.dns.nsid = string(dns, "nsid", "dns.nsid", "");
    if (dns.get("nsid") && (c.dns.nsid.empty() || c.dns.nsid.size() > dns::max_nsid_length))
      fail(line_of(*dns.get("nsid")), "dns.nsid",
           "must be 1.." + std::to_string(dns::max_nsid_length) + " bytes");

    read_replication(c);
    read_stats(c);
    read_rrl(c);
    read_cookies(c);
    read_keys(c);
    c.update_allow = allow_table(c, "update");
    c.control_allow = allow_table(c, "control");
    read_transfer(c);
    read_zones(c);   // last: the most expensive check
    return c;
  }

 private:
  [[noreturn]] void fail(std::size_t line, const std::string& key,
                         const std::string& problem) const {
    throw ConfigError(file_, line, key, problem);
  }

  static std::size_t line_of(const toml::node& n) { return n.source().begin.line; }

  void check_keys(const toml::table& t, const std::string& prefix,
                  std::initializer_list<std::string_view> allowed) const {
    for (auto&& [k, v] : t) {
      if (std::find(allowed.begin(), allowed.end(), k.str()) != allowed.end()) continue;
      std::string full = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
      std::size_t line = k.source().begin.line ? k.source().begin.line : line_of(v);
      fail(line, full, "unknown key");
    }
  }

  /// A required sub-table. Missing tables are reported at line 1 (they have no position).
  const toml::table& table(const toml::table& parent, std::string_view name,
                           const std::string& key) const {
    const toml::node* n = parent.get(name);
    if (!n) fail(std::max<std::size_t>(1, line_of(parent)), key, "missing required table");
    if (!n->is_table())
      fail(line_of(*n), key, std::string("expected table, got ") + type_name(n->type()));
    return *n->as_table();
  }

  /// Missing keys are reported at their table's line (the header of [table] or [[table]]).
  [[noreturn]] void missing(const toml::table& t, const std::string& key) const {
    fail(std::max<std::size_t>(1, line_of(t)), key, "missing required key");
  }

  int64_t integer(const toml::table& t, std::string_view name, const std::string& key,
                  int64_t lo, int64_t hi, std::optional<int64_t> fallback) const {
    const toml::node* n = t.get(name);
    if (!n) {
      if (fallback) return *fallback;
      missing(t, key);
    }
    if (!n->is_integer())
      fail(line_of(*n), key, std::string("expected integer, got ") + type_name(n->type()));
    int64_t v = n->as_integer()->get();
    if (v < lo || v > hi)
      fail(line_of(*n), key,
           "value " + std::to_string(v) + " out of range " + std::to_string(lo) + ".." +
               std::to_string(hi));
    return v;
  }

  bool boolean(const toml::table& t, std::string_view name, const std::string& key,
               bool fallback) const {
    const toml::node* n = t.get(name);
    if (!n) return fallback;
    if (!n->is_boolean())
      fail(line_of(*n), key, std::string("expected boolean, got ") + type_name(n->type()));
    return n->as_boolean()->get();
  }

  std::string string(const toml::table& t, std::string_view name, const std::string& key,
                     std::optional<std::string> fallback) const {
    const toml::node* n = t.get(name);
    if (!n) {
      if (fallback) return *fallback;
      missing(t, key);
    }
    if (!n->is_string())
      fail(line_of(*n), key, std::string("expected string, got ") + type_name(n->type()));
    return std::string(n->as_string()->get());
  }

  std::vector<std::string> strings(const toml::table& t, std::string_view name,
                                   const std::string& key, bool required_key) const {
    const toml::node* n = t.get(name);
    if (!n) {
      if (!required_key) return {};
      missing(t, key);
    }
    if (!n->is_array())
      fail(line_of(*n), key, std::string("expected array, got ") + type_name(n->type()));
    std::vector<std::string> out;
    for (const auto& el : *n->as_array()) {
      if (!el.is_string())
        fail(line_of(el), key, std::string("expected string, got ") + type_name(el.type()));
      out.emplace_back(el.as_string()->get());
    }
    return out;
  }

  std::vector<net::Endpoint> endpoints(const toml::table& t, std::string_view name,
                                       const std::string& key) const {
    auto texts = strings(t, name, key, true);
    const toml::array& arr = *t.get(name)->as_array();
    if (texts.empty()) fail(line_of(arr), key, "must not be empty");
    std::vector<net::Endpoint> out;
    for (std::size_t i = 0; i < texts.size(); ++i) {
      auto ep = net::parse_endpoint(texts[i]);
      if (!ep)
        fail(line_of(*arr.get(i)), key,
             "expected \"host:port\" or \"[v6-host]:port\" with a numeric host, got \"" +
                 texts[i] + "\"");
      out.push_back(*ep);
    }
    return out;
  }

  /// An optional list of addresses or prefixes ("192.0.2.0/24", "::1").
  std::vector<net::AddressPrefix> prefixes(const toml::table& t, std::string_view name,
                                           const std::string& key) const {
    std::vector<net::AddressPrefix> out;
    const auto texts = strings(t, name, key, false);
    for (std::size_t i = 0; i < texts.size(); ++i) {
      auto prefix = net::AddressPrefix::parse(texts[i]);
      if (!prefix)
        fail(line_of(*t.get(name)->as_array()->get(i)), key,
             "expected an IPv4 or IPv6 address with an optional /length, got \"" + texts[i] +
                 "\"");
      out.push_back(*prefix);
    }
    return out;
  }

  std::string path(const std::string& p) const {
    std::filesystem::path fp(p);
    if (fp.is_absolute() || base_dir_.empty()) return fp.lexically_normal().string();
    return (base_dir_ / fp).lexically_normal().string();
  }

  /// [[zone]] / [[key]] are arrays of tables; a single [zone] table is a type error.
  const toml::array* table_array(std::string_view name) const {
    const toml::node* n = root_.get(name);
    if (!n) return nullptr;
    if (!n->is_array_of_tables())
      fail(line_of(*n), std::string(name),
           std::string("expected array of tables ([[") + std::string(name) + "]]), got " +
               type_name(n->type()));
    return n->as_array();
  }

  static std::string normalise_name(std::string s) {
    if (s.empty() || s.back() != '.') s += '.';
    return s;
  }

  void read_keys(NodeConfig& c) const {
    const toml::array* keys = table_array("key");
    if (!keys) return;
    static const std::set<std::string> algorithms = {
        "hmac-md5", "hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384", "hmac-sha512"};
    std::set<std::string> seen;
    for (std::size_t i = 0; i < keys->size(); ++i) {
      const toml::table& t = *keys->get(i)->as_table();
      std::string prefix = "key[" + std::to_string(i) + "]";
      check_keys(t, prefix, {"name", "algorithm", "secret"});
      TsigKey k;
      k.name = normalise_name(string(t, "name", prefix + ".name", std::nullopt));
      if (!dns::name_from_text(k.name))
        fail(line_of(*t.get("name")), prefix + ".name", "not a valid domain name: " + k.name);
      if (!seen.insert(lower(k.name)).second)
        fail(line_of(*t.get("name")), prefix + ".name", "duplicate key " + k.name);
      k.algorithm = lower(string(t, "algorithm", prefix + ".algorithm", std::nullopt));
      if (!k.algorithm.empty() && k.algorithm.back() == '.') k.algorithm.pop_back();
      if (!algorithms.count(k.algorithm))
        fail(line_of(*t.get("algorithm")), prefix + ".algorithm",
             "unknown algorithm \"" + k.algorithm +
                 "\" (hmac-md5, hmac-sha1, hmac-sha224, hmac-sha256, hmac-sha384, hmac-sha512)");
      k.secret = string(t, "secret", prefix + ".secret", std::nullopt);
      std::string raw;
      if (!dns::base64_decode(k.secret, raw) || raw.empty())
        fail(line_of(*t.get("secret")), prefix + ".secret", "not valid non-empty base64");
      c.keys.push_back(std::move(k));
    }
  }

  void read_replication(NodeConfig& c) const {
    if (!root_.get("replication")) return;
    const auto& t = table(root_, "replication", "replication");
    check_keys(t, "replication", {"heartbeat_ms", "primary_timeout_ms", "update_timeout_ms",
                                  "checkpoint_interval", "log_margin", "nice"});
    auto& r = c.replication;
    r.heartbeat_ms =
        uint32_t(integer(t, "heartbeat_ms", "replication.heartbeat_ms", 5, 10000, 50));
    r.primary_timeout_ms = uint32_t(
        integer(t, "primary_timeout_ms", "replication.primary_timeout_ms", 20, 60000, 200));
    r.update_timeout_ms = uint32_t(
        integer(t, "update_timeout_ms", "replication.update_timeout_ms", 100, 60000, 2000));
    r.checkpoint_interval = uint64_t(integer(t, "checkpoint_interval",
                                             "replication.checkpoint_interval", 100, 100000000,
                                             20000));
    r.log_margin =
        uint64_t(integer(t, "log_margin", "replication.log_margin", 0, 100000000, 10000));
    r.nice = int(integer(t, "nice", "replication.nice", 0, 19, 14));
    // A backup must hear at least one heartbeat per timeout, or it suspects a healthy primary.
    if (r.primary_timeout_ms <= r.heartbeat_ms) {
      const toml::node* n = t.get("primary_timeout_ms");
      fail(n ? line_of(*n) : line_of(*t.get("heartbeat_ms")), "replication.primary_timeout_ms",
           "must be greater than replication.heartbeat_ms (" + std::to_string(r.heartbeat_ms) +
               ")");
    }
  }

  /// [update] or [control]: a table whose one key is `allow`, a list of [[key]] names.
  std::vector<std::string> allow_table(const NodeConfig& c, const std::string& name) const {
    if (!root_.get(name)) return {};
    const auto& t = table(root_, name, name);
    check_keys(t, name, {"allow"});
    return key_names(c, t, name + ".allow");
  }

  void read_rrl(NodeConfig& c) const {
    if (!root_.get("rrl")) return;
    const auto& t = table(root_, "rrl", "rrl");
    check_keys(t, "rrl",
               {"responses_per_second", "slip", "ipv4_prefix", "ipv6_prefix", "exempt"});
    c.rrl.responses_per_second = uint32_t(
        integer(t, "responses_per_second", "rrl.responses_per_second", 0, 10000, 0));
    c.rrl.slip = uint32_t(integer(t, "slip", "rrl.slip", 0, 10, 2));
    c.rrl.ipv4_prefix = uint8_t(integer(t, "ipv4_prefix", "rrl.ipv4_prefix", 8, 32, 24));
    c.rrl.ipv6_prefix = uint8_t(integer(t, "ipv6_prefix", "rrl.ipv6_prefix", 16, 128, 56));
    c.rrl.exempt = prefixes(t, "exempt", "rrl.exempt");
  }

  void read_cookies(NodeConfig& c) const {
    if (!root_.get("cookies")) return;
    const auto& t = table(root_, "cookies", "cookies");
    check_keys(t, "cookies", {"enabled", "secret", "previous_secret"});
    c.cookies.enabled = boolean(t, "enabled", "cookies.enabled", true);
    c.cookies.secret = cookie_secret(t, "secret", "cookies.secret");
    c.cookies.previous_secret = cookie_secret(t, "previous_secret", "cookies.previous_secret");
    if (c.cookies.previous_secret && !c.cookies.secret)
      fail(line_of(*t.get("previous_secret")), "cookies.previous_secret",
           "needs cookies.secret (the one that replaces it)");
    if (c.cookies.previous_secret && c.cookies.previous_secret == c.cookies.secret)
      fail(line_of(*t.get("previous_secret")), "cookies.previous_secret",
           "is the same as cookies.secret");
  }

  std::optional<dns::CookieSecret> cookie_secret(const toml::table& t, std::string_view name,
                                                 const std::string& key) const {
    if (!t.get(name)) return std::nullopt;
    dns::CookieSecret secret{};
    const auto bytes = dns::hex_decode(string(t, name, key, std::nullopt));
    if (!bytes || bytes->size() != secret.size())
      fail(line_of(*t.get(name)), key, "expected 32 hexadecimal digits (16 bytes)");
    std::copy(bytes->begin(), bytes->end(), secret.begin());
    return secret;
  }

  void read_stats(NodeConfig& c) const {
    if (!root_.get("stats")) return;
    const auto& t = table(root_, "stats", "stats");
    check_keys(t, "stats", {"listen"});
    if (!t.get("listen")) return;
    const std::string text = string(t, "listen", "stats.listen", std::nullopt);
    const auto ep = net::parse_endpoint(text);
    if (!ep)
      fail(line_of(*t.get("listen")), "stats.listen",
           "expected \"host:port\" or \"[v6-host]:port\" with a numeric host, got \"" + text +
               "\"");
    // All three are TCP: one would fail to bind at start; say which here.
    std::vector<std::pair<std::string, net::Endpoint>> taken{
        {"cluster.replicas", c.replicas[c.replica]}};
    for (const auto& d : c.dns.listen) taken.emplace_back("dns.listen", d);
    for (const auto& [key, other] : taken)
      if (ep->port != 0 && other.port == ep->port && other.host == ep->host)
        fail(line_of(*t.get("listen")), "stats.listen",
             "the same address as " + key + " " + other.to_string());
    c.stats.listen = *ep;
  }

  void read_transfer(NodeConfig& c) const {
    const toml::node* n = root_.get("transfer");
    if (!n) return;
    const auto& t = table(root_, "transfer", "transfer");
    check_keys(t, "transfer",
               {"allow", "allow_addresses", "notify", "notify_key", "max_transfers"});
    c.transfer.max_transfers =
        uint32_t(integer(t, "max_transfers", "transfer.max_transfers", 1, 1000, 10));
    c.transfer.allow = key_names(c, t, "transfer.allow");
    c.transfer.allow_addresses = prefixes(t, "allow_addresses", "transfer.allow_addresses");
    auto targets = strings(t, "notify", "transfer.notify", false);
    for (std::size_t i = 0; i < targets.size(); ++i) {
      auto ep = net::parse_endpoint(targets[i]);
      if (!ep || ep->port == 0)
        fail(line_of(*t.get("notify")->as_array()->get(i)), "transfer.notify",
             "expected \"host:port\" or \"[v6-host]:port\" with a numeric host and a port, got \"" +
                 targets[i] + "\"");
      c.transfer.notify.push_back(*ep);
    }
    if (const toml::node* k = t.get("notify_key")) {
      if (!k->is_string())
        fail(line_of(*k), "transfer.notify_key", std::string("expected string, got ") +
                                                     type_name(k->type()));
      std::string name = normalise_name(std::string(k->as_string()->get()));
      bool known = std::any_of(c.keys.begin(), c.keys.end(), [&](const TsigKey& key) {
        return lower(key.name) == lower(name);
      });
      if (!known)
        fail(line_of(*k), "transfer.notify_key", "no [[key]] named \"" + name + "\"");
      c.transfer.notify_key = name;
    }
  }

  /// The key names of `t`'s "allow" list, each of which must be a configured [[key]].
  std::vector<std::string> key_names(const NodeConfig& c, const toml::table& t,
                                     const std::string& key,
                                     std::string_view field = "allow") const {
    std::vector<std::string> out;
    auto names = strings(t, field, key, false);
    for (std::size_t i = 0; i < names.size(); ++i) {
      std::string name = normalise_name(names[i]);
      bool known = std::any_of(c.keys.begin(), c.keys.end(), [&](const TsigKey& k) {
        return lower(k.name) == lower(name);
      });
      if (!known)
        fail(line_of(*t.get(field)->as_array()->get(i)), key,
             "no [[key]] named \"" + name + "\"");
      out.push_back(name);
    }
    return out;
  }

  void read_zones(NodeConfig& c) const {
    const toml::array* zones = table_array("zone");
    if (!zones) return;
    std::set<std::string> seen;
    for (std::size_t i = 0; i < zones->size(); ++i) {
      const toml::table& t = *zones->get(i)->as_table();
      std::string prefix = "zone[" + std::to_string(i) + "]";
      check_keys(t, prefix,
                 {"name", "file", "update_allow", "transfer_allow", "transfer_allow_addresses"});
      ZoneConfig z;
      z.name = string(t, "name", prefix + ".name", std::nullopt);
      std::size_t name_line = line_of(*t.get("name"));
      auto wire = dns::name_from_text(z.name);
      if (!wire || z.name.empty() || z.name.back() != '.')
        fail(name_line, prefix + ".name", "expected an absolute domain name, got \"" + z.name + "\"");
      if (!seen.insert(dns::name_key(*wire)).second)
        fail(name_line, prefix + ".name", "duplicate zone " + z.name);
      z.file = path(string(t, "file", prefix + ".file", std::nullopt));
      std::size_t file_line = line_of(*t.get("file"));
      z.file_line = file_line;
      std::error_code ec;
      if (!std::filesystem::is_regular_file(z.file, ec))
        fail(file_line, prefix + ".file", "no such file: " + z.file);
      // Keys for this zone alone, instead of [update] allow / [transfer] allow.
      if (t.get("update_allow"))
        z.update_allow = key_names(c, t, prefix + ".update_allow", "update_allow");
      if (t.get("transfer_allow"))
        z.transfer_allow = key_names(c, t, prefix + ".transfer_allow", "transfer_allow");
      if (t.get("transfer_allow_addresses"))
        z.transfer_allow_addresses =
            prefixes(t, "transfer_allow_addresses", prefix + ".transfer_allow_addresses");
      if (zone_files_ == ZoneFiles::load) z.zone = load_zone_at(file_, i, z);
      c.zones.push_back(std::move(z));
    }
  }

  std::string file_;
  const toml::table& root_;
  ZoneFiles zone_files_;
  std::filesystem::path base_dir_;
};

}  // namespace

ConfigError::ConfigError(const std::string& file_, std::size_t line_, const std::string& key_,
                         const std::string& problem)
    : std::runtime_error(format_error(file_, line_, key_, problem)),
      file(file_),
      line(line_),
      key(key_) {}

NodeConfig parse_config(std::string_view text, const std::string& path, ZoneFiles zone_files) {
  toml::table root;
  try {
    root = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    throw ConfigError(path, e.source().begin.line, "syntax", std::string(e.description()));
  }
  return Reader(path, root, zone_files).read();
}

dns::ZonePtr load_zone(const NodeConfig& cfg, const ZoneConfig& z) {
  if (z.zone) return z.zone;
  std::size_t index = 0;
  while (index < cfg.zones.size() && &cfg.zones[index] != &z) ++index;
  return load_zone_at(cfg.path, index, z);
}

NodeConfig load_config(const std::string& path, ZoneFiles zone_files) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path, 0, "", std::string("cannot open: ") + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_config(ss.str(), path, zone_files);
}


}  // namespace vrdns::config
