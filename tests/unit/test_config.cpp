#define BOOST_TEST_MODULE test_config
#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "dns/base64.hpp"

namespace fs = std::filesystem;
using vrdns::config::ConfigError;
using vrdns::config::load_config;

namespace {

/// A private directory with a valid zone file; removed at the end of the test.
struct Dir {
  fs::path path;
  Dir() {
    std::string tmpl = (fs::temp_directory_path() / "vrdns-config-XXXXXX").string();
    BOOST_REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
    fs::copy_file(fs::path(VRDNS_SOURCE_DIR) / "configs" / "example.test.zone",
                  path / "example.test.zone");
  }
  ~Dir() { fs::remove_all(path); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name) << text;
    return (path / name).string();
  }
};

// A valid config; its line numbers are what the tests below edit.
const std::vector<std::string> base_lines = {
    "[cluster]",                                                               // 1
    "replicas = [\"127.0.0.1:7301\", \"127.0.0.1:7302\", \"127.0.0.1:7303\"]",  // 2
    "[node]",                                                                  // 3
    "replica = 1",                                                             // 4
    "data_dir = \"data\"",                                                     // 5
    "[dns]",                                                                   // 6
    "listen = [\"127.0.0.1:5301\"]",                                           // 7
    "[[zone]]",                                                                // 8
    "name = \"example.test.\"",                                                // 9
    "file = \"example.test.zone\"",                                            // 10
    "[[key]]",                                                                 // 11
    "name = \"update-key.\"",                                                  // 12
    "algorithm = \"hmac-sha256\"",                                             // 13
    "secret = \"c2VjcmV0LXNlY3JldA==\"",                                       // 14
    "[update]",                                                                // 15
    "allow = [\"update-key.\"]",                                               // 16
};

/// base_lines with line `n` (1-based) replaced by `text` (which may hold several lines)
/// and `extra` appended.
std::string edited(std::size_t n, const std::string& text, const std::string& extra = "") {
  std::string out;
  for (std::size_t i = 0; i < base_lines.size(); ++i)
    out += (i + 1 == n ? text : base_lines[i]) + "\n";
  return out + extra;
}

/// Loads `text` as <dir>/node.toml; requires a ConfigError and checks that its one-line
/// message starts with "<file>:<line>: <key>: " and contains `detail`.
void expect_error(const std::string& text, std::size_t line, const std::string& key,
                  const std::string& detail = "") {
  Dir dir;
  std::string file = dir.write("node.toml", text);
  try {
    load_config(file);
    BOOST_FAIL("no error for key " << key);
  } catch (const ConfigError& e) {
    std::string msg = e.what();
    BOOST_TEST_INFO("message: " << msg);
    std::string prefix = file + ":" + std::to_string(line) + ": " + key + ": ";
    BOOST_TEST(msg.rfind(prefix, 0) == 0u);
    BOOST_TEST(msg.find('\n') == std::string::npos);
    BOOST_TEST(msg.find(detail) != std::string::npos);
    BOOST_TEST(e.line == line);
    BOOST_TEST(e.key == key);
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(base_config_parses_with_defaults) {
  Dir dir;
  auto cfg = load_config(dir.write("node.toml", edited(0, "")));
  BOOST_TEST(cfg.replicas.size() == 3u);
  BOOST_TEST(cfg.replicas[2].port == 7303);
  BOOST_TEST(cfg.replica == 1u);
  BOOST_TEST(cfg.name == "vrdns-1");   // default from the replica index
  BOOST_TEST(cfg.data_dir == (dir.path / "data").string());   // relative to the config file
  BOOST_TEST(cfg.dns.listen.size() == 1u);
  BOOST_TEST(cfg.dns.listen[0].to_string() == "127.0.0.1:5301");
  BOOST_TEST(cfg.dns.udp_workers == 2u);
  BOOST_TEST(cfg.dns.tcp_workers == 1u);
  BOOST_TEST(cfg.dns.edns_udp_size == 1232);
  BOOST_TEST(cfg.dns.tcp_idle_timeout_ms == 10000u);
  BOOST_TEST(cfg.dns.tcp_max_connections == 1024u);
  BOOST_REQUIRE(cfg.zones.size() == 1u);
  BOOST_TEST(cfg.zones[0].file == (dir.path / "example.test.zone").string());
  BOOST_REQUIRE(cfg.zones[0].zone);
  BOOST_TEST(cfg.zones[0].zone->record_count() > 10u);
  BOOST_REQUIRE(cfg.keys.size() == 1u);
  BOOST_TEST(cfg.keys[0].name == "update-key.");
  BOOST_TEST(cfg.keys[0].algorithm == "hmac-sha256");
  BOOST_TEST(cfg.update_allow == std::vector<std::string>{"update-key."});
}

BOOST_AUTO_TEST_CASE(explicit_values_override_defaults) {
  Dir dir;
  auto cfg = load_config(dir.write(
      "node.toml", edited(7,
                          "listen = [\"[::1]:5301\", \"127.0.0.2:0\"]\nudp_workers = 4\n"
                          "tcp_workers = 2\nedns_udp_size = 4096\ntcp_idle_timeout_ms = 500\n"
                          "tcp_max_connections = 7")));
  BOOST_REQUIRE(cfg.dns.listen.size() == 2u);
  BOOST_TEST(cfg.dns.listen[0].family == AF_INET6);
  BOOST_TEST(cfg.dns.listen[0].host == "::1");
  BOOST_TEST(cfg.dns.listen[0].to_string() == "[::1]:5301");
  BOOST_TEST(cfg.dns.listen[1].port == 0);
  BOOST_TEST(cfg.dns.udp_workers == 4u);
  BOOST_TEST(cfg.dns.tcp_workers == 2u);
  BOOST_TEST(cfg.dns.edns_udp_size == 4096);
  BOOST_TEST(cfg.dns.tcp_idle_timeout_ms == 500u);
  BOOST_TEST(cfg.dns.tcp_max_connections == 7u);
}

BOOST_AUTO_TEST_CASE(shipped_node_configs_parse) {
  for (int i = 0; i < 3; ++i) {
    auto path = std::string(VRDNS_SOURCE_DIR) + "/configs/node" + std::to_string(i) + ".toml";
    BOOST_TEST_INFO(path);
    auto cfg = load_config(path);
    BOOST_TEST(cfg.replica == std::size_t(i));
    BOOST_TEST(cfg.replicas.size() == 3u);
    BOOST_TEST(cfg.replicas[std::size_t(i)].port == 7301 + i);
    BOOST_TEST(cfg.dns.listen.at(0).port == 5301 + i);
    BOOST_TEST(cfg.zones.size() == 1u);
    BOOST_TEST(cfg.zones.at(0).name == "example.test.");
    BOOST_TEST(cfg.keys.size() == 2u);
    BOOST_TEST(cfg.update_allow == std::vector<std::string>{"update-key."});
    BOOST_TEST(cfg.control_allow == std::vector<std::string>{"admin-key."});   // not the UPDATE key
    BOOST_TEST(cfg.transfer.allow.size() == 1u);
    BOOST_TEST(cfg.transfer.allow_addresses.size() == 2u);
    BOOST_REQUIRE(cfg.stats.listen.has_value());
    BOOST_TEST(cfg.stats.listen->port == 9301 + i);
  }
}

BOOST_AUTO_TEST_CASE(syntax_error) { expect_error(edited(4, "replica = "), 4, "syntax"); }

BOOST_AUTO_TEST_CASE(unknown_keys_anywhere) {
  expect_error(edited(1, "bogus = 1\n[cluster]"), 1, "bogus", "unknown key");
  expect_error(edited(16, "allow = []\nbogus = 1"), 17, "update.bogus", "unknown key");
  expect_error(edited(7, "lisen = [\"127.0.0.1:5301\"]"), 7, "dns.lisen", "unknown key");
  expect_error(edited(10, "file = \"example.test.zone\"\nttl = 5"), 11, "zone[0].ttl");
  expect_error(edited(0, "", "[extra]\nx = 1\n"), 17, "extra", "unknown key");
}

BOOST_AUTO_TEST_CASE(wrong_types) {
  expect_error(edited(4, "replica = \"1\""), 4, "node.replica", "expected integer, got string");
  expect_error(edited(7, "listen = \"127.0.0.1:5301\""), 7, "dns.listen", "expected array");
  expect_error(edited(7, "listen = [5301]"), 7, "dns.listen", "expected string, got integer");
  std::string scalar_cluster = "cluster = 3\n";
  for (std::size_t i = 2; i < base_lines.size(); ++i) scalar_cluster += base_lines[i] + "\n";
  expect_error(scalar_cluster, 1, "cluster", "expected table, got integer");
  expect_error(edited(8, "[zone]"), 8, "zone", "expected array of tables");
  expect_error(edited(4, "replica = 1.5"), 4, "node.replica", "expected integer, got float");
}

BOOST_AUTO_TEST_CASE(out_of_range) {
  expect_error(edited(7, "listen = [\"127.0.0.1:5301\"]\nedns_udp_size = 100"), 8,
               "dns.edns_udp_size", "out of range 512..4096");
  expect_error(edited(7, "listen = [\"127.0.0.1:5301\"]\nudp_workers = 0"), 8,
               "dns.udp_workers", "out of range");
  expect_error(edited(4, "replica = 3"), 4, "node.replica", "out of range");
  expect_error(edited(4, "replica = -1"), 4, "node.replica", "out of range");
}

BOOST_AUTO_TEST_CASE(missing_required) {
  expect_error(edited(5, ""), 3, "node.data_dir", "missing required key");
  expect_error(edited(9, ""), 8, "zone[0].name", "missing required key");
  std::string no_dns;
  for (std::size_t i = 0; i < base_lines.size(); ++i)
    if (i != 5 && i != 6) no_dns += base_lines[i] + "\n";
  expect_error(no_dns, 1, "dns", "missing required table");
}

BOOST_AUTO_TEST_CASE(bad_addresses) {
  expect_error(edited(7, "listen = [\"127.0.0.1\"]"), 7, "dns.listen",
               "expected \"host:port\"");
  expect_error(edited(7, "listen = [\"127.0.0.1:70000\"]"), 7, "dns.listen");
  expect_error(edited(7, "listen = [\"::1:53\"]"), 7, "dns.listen");
  expect_error(edited(7, "listen = [\"localhost:53\"]"), 7, "dns.listen");
  expect_error(edited(7, "listen = []"), 7, "dns.listen", "must not be empty");
  expect_error(edited(2, "replicas = [\"127.0.0.1:7301\", \"127.0.0.1:7301\"]"), 2,
               "cluster.replicas", "duplicate");
}

BOOST_AUTO_TEST_CASE(zone_errors) {
  // Duplicate (case-insensitive) apex.
  expect_error(edited(0, "", "[[zone]]\nname = \"EXAMPLE.test.\"\nfile = \"example.test.zone\"\n"),
               18, "zone[1].name", "duplicate zone");
  expect_error(edited(9, "name = \"example.test\""), 9, "zone[0].name", "absolute");
  expect_error(edited(10, "file = \"nothere.zone\""), 10, "zone[0].file", "no such file");
  // A zone that does not load: the message names the zone file and its line too.
  Dir dir;
  dir.write("bad.zone",
            "$ORIGIN bad.test.\n$TTL 300\n@ IN SOA ns1 host 1 2 3 4 5\n@ IN NS ns1\nns1 IN A 999.1.2.3\n");
  std::string file = dir.write("node.toml", edited(0, "", "[[zone]]\nname = \"bad.test.\"\nfile = \"bad.zone\"\n"));
  try {
    load_config(file);
    BOOST_FAIL("bad zone accepted");
  } catch (const ConfigError& e) {
    std::string msg = e.what();
    BOOST_TEST_INFO(msg);
    BOOST_TEST(msg.rfind(file + ":19: zone[1].file: zone does not load: ", 0) == 0u);
    BOOST_TEST(msg.find("bad.zone:5") != std::string::npos);
    BOOST_TEST(msg.find('\n') == std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(key_errors) {
  expect_error(edited(14, "secret = \"not base64!\""), 14, "key[0].secret", "base64");
  expect_error(edited(14, "secret = \"abc\""), 14, "key[0].secret", "base64");
  expect_error(edited(14, "secret = \"\""), 14, "key[0].secret", "base64");
  expect_error(edited(13, "algorithm = \"hmac-sha999\""), 13, "key[0].algorithm",
               "unknown algorithm");
  expect_error(edited(0, "", "[[key]]\nname = \"UPDATE-key\"\nalgorithm = \"hmac-sha1\"\nsecret = \"YQ==\"\n"),
               18, "key[1].name", "duplicate key");
  expect_error(edited(16, "allow = [\"update-key.\", \"other-key.\"]"), 16, "update.allow",
               "other-key.");
}

BOOST_AUTO_TEST_CASE(transfer_access_lists) {
  Dir dir;
  // Nobody by default.
  auto none = load_config(dir.write("a.toml", edited(0, "")));
  BOOST_TEST(none.transfer.allow.empty());
  BOOST_TEST(none.transfer.allow_addresses.empty());
  auto cfg = load_config(dir.write(
      "b.toml", edited(0, "", "[transfer]\nallow = [\"Update-Key\"]\n"
                              "allow_addresses = [\"127.0.0.1\", \"192.0.2.0/24\", \"2001:db8::/32\"]\n")));
  BOOST_TEST(cfg.transfer.allow == std::vector<std::string>{"Update-Key."});
  BOOST_REQUIRE(cfg.transfer.allow_addresses.size() == 3u);
  BOOST_TEST(cfg.transfer.allow_addresses[0].to_string() == "127.0.0.1/32");
  BOOST_TEST(cfg.transfer.allow_addresses[1].to_string() == "192.0.2.0/24");
  BOOST_TEST(cfg.transfer.allow_addresses[2].to_string() == "2001:db8::/32");
  expect_error(edited(0, "", "[transfer]\nallow = [\"other-key.\"]\n"), 18, "transfer.allow",
               "no [[key]] named \"other-key.\"");
  expect_error(edited(0, "", "[transfer]\nallow_addresses = [\"127.0.0.1\",\n  \"10.0.0.0/33\"]\n"),
               19, "transfer.allow_addresses", "10.0.0.0/33");
  expect_error(edited(0, "", "[transfer]\nallow_addresses = [\"localhost\"]\n"), 18,
               "transfer.allow_addresses", "IPv4 or IPv6");
  expect_error(edited(0, "", "[transfer]\nallow_address = []\n"), 18, "transfer.allow_address",
               "unknown key");
  auto notify = load_config(dir.write(
      "c.toml", edited(0, "", "[transfer]\nnotify = [\"127.0.0.1:5399\", \"[::1]:53\"]\n"
                              "notify_key = \"update-key\"\n")));
  BOOST_REQUIRE(notify.transfer.notify.size() == 2u);
  BOOST_TEST(notify.transfer.notify[0].to_string() == "127.0.0.1:5399");
  BOOST_TEST(notify.transfer.notify[1].to_string() == "[::1]:53");
  BOOST_TEST(notify.transfer.notify_key == "update-key.");
  expect_error(edited(0, "", "[transfer]\nnotify = [\"127.0.0.1\"]\n"), 18, "transfer.notify",
               "host:port");
  expect_error(edited(0, "", "[transfer]\nnotify = [\"127.0.0.1:0\"]\n"), 18, "transfer.notify",
               "127.0.0.1:0");
  expect_error(edited(0, "", "[transfer]\nnotify_key = \"nokey.\"\n"), 18,
               "transfer.notify_key", "no [[key]] named \"nokey.\"");
  BOOST_TEST(notify.transfer.max_transfers == 10u);
  expect_error(edited(0, "", "[transfer]\nmax_transfers = 0\n"), 18, "transfer.max_transfers",
               "out of range 1..1000");
  expect_error(edited(0, "", "[transfer]\nallow_addresses = \"127.0.0.1\"\n"), 18,
               "transfer.allow_addresses", "expected array");
}

namespace {
sockaddr_storage peer(const char* address) {
  sockaddr_storage s{};
  if (std::string(address).find(':') == std::string::npos) {
    auto& a = reinterpret_cast<sockaddr_in&>(s);
    a.sin_family = AF_INET;
    BOOST_REQUIRE(::inet_pton(AF_INET, address, &a.sin_addr) == 1);
  } else {
    auto& a = reinterpret_cast<sockaddr_in6&>(s);
    a.sin6_family = AF_INET6;
    BOOST_REQUIRE(::inet_pton(AF_INET6, address, &a.sin6_addr) == 1);
  }
  return s;
}
bool in(const char* prefix, const char* address) {
  auto p = vrdns::net::AddressPrefix::parse(prefix);
  BOOST_REQUIRE_MESSAGE(p, prefix);
  return p->contains(peer(address));
}
}  // namespace

BOOST_AUTO_TEST_CASE(address_prefixes_match_by_their_length) {
  BOOST_TEST(in("127.0.0.1", "127.0.0.1"));
  BOOST_TEST(!in("127.0.0.1", "127.0.0.2"));
  BOOST_TEST(in("192.0.2.0/24", "192.0.2.255"));
  BOOST_TEST(!in("192.0.2.0/24", "192.0.3.0"));
  BOOST_TEST(in("192.0.2.128/25", "192.0.2.200"));
  BOOST_TEST(!in("192.0.2.128/25", "192.0.2.127"));
  BOOST_TEST(in("10.1.2.3/8", "10.200.0.1"));      // host bits beyond the length ignored
  BOOST_TEST(in("0.0.0.0/0", "203.0.113.9"));
  BOOST_TEST(!in("0.0.0.0/0", "::1"));             // a v4 prefix never matches a v6 peer...
  BOOST_TEST(in("192.0.2.0/24", "::ffff:192.0.2.7"));   // ...unless it is v4-mapped
  BOOST_TEST(in("::ffff:192.0.2.0/120", "192.0.2.7"));   // a v4-mapped prefix, a v4 peer
  BOOST_TEST(!in("::ffff:192.0.2.0/120", "192.0.3.7"));
  BOOST_TEST(in("::ffff:0:0/96", "198.51.100.1"));       // every IPv4 peer
  BOOST_TEST(!in("2001:db8::/32", "192.0.2.7"));
  BOOST_TEST(in("2001:db8::/32", "2001:db8:ffff::1"));
  BOOST_TEST(!in("2001:db8::/32", "2001:db9::1"));
  BOOST_TEST(in("::1", "::1"));
  BOOST_TEST(!in("::1", "127.0.0.1"));
  for (const char* bad : {"", "/24", "1.2.3.4/", "1.2.3.4/33", "::1/129", "1.2.3.4/x", "1.2.3",
                          "example.test", "1.2.3.4/-1"})
    BOOST_TEST(!vrdns::net::AddressPrefix::parse(bad), bad);
}

BOOST_AUTO_TEST_CASE(unreadable_file) {
  try {
    load_config("/nonexistent/vrdns.toml");
    BOOST_FAIL("no error");
  } catch (const ConfigError& e) {
    BOOST_TEST(std::string(e.what()).rfind("/nonexistent/vrdns.toml: ", 0) == 0u);
  }
}

BOOST_AUTO_TEST_CASE(base64) {
  std::string out;
  BOOST_TEST(vrdns::dns::base64_decode("aGVsbG8=", out));
  BOOST_TEST(out == "hello");
  BOOST_TEST(vrdns::dns::base64_decode("aGVsbG8h", out));
  BOOST_TEST(out == "hello!");
  BOOST_TEST(vrdns::dns::base64_decode("aGk=", out) == true);
  BOOST_TEST(out == "hi");
  BOOST_TEST(vrdns::dns::base64_decode("aGk", out) == false);
  BOOST_TEST(vrdns::dns::base64_decode("a=Gk", out) == false);
  BOOST_TEST(vrdns::dns::base64_decode("aG=k", out) == false);
  BOOST_TEST(vrdns::dns::base64_decode("aGk=aGk=", out) == false);
}

BOOST_AUTO_TEST_CASE(replication_defaults_and_values) {
  Dir dir;
  auto d = load_config(dir.write("node.toml", edited(0, "")));
  BOOST_TEST(d.replication.heartbeat_ms == 50u);
  BOOST_TEST(d.replication.primary_timeout_ms == 200u);
  BOOST_TEST(d.replication.update_timeout_ms == 2000u);
  BOOST_TEST(d.replication.nice == 14);
  auto c = load_config(dir.write(
      "node2.toml", edited(0, "", "[replication]\nheartbeat_ms = 20\nprimary_timeout_ms = 100\n"
                                  "update_timeout_ms = 500\nnice = 0\n")));
  BOOST_TEST(c.replication.heartbeat_ms == 20u);
  BOOST_TEST(c.replication.primary_timeout_ms == 100u);
  BOOST_TEST(c.replication.update_timeout_ms == 500u);
  BOOST_TEST(c.replication.nice == 0);
}

BOOST_AUTO_TEST_CASE(replication_errors) {
  // Lines 17 and 18 are the appended [replication] table and its first key.
  expect_error(edited(0, "", "[replication]\nheartbeat_ms = 4\n"), 18, "replication.heartbeat_ms",
               "out of range 5..10000");
  expect_error(edited(0, "", "[replication]\nprimary_timeout_ms = 60001\n"), 18,
               "replication.primary_timeout_ms", "out of range");
  expect_error(edited(0, "", "[replication]\nupdate_timeout_ms = 99\n"), 18,
               "replication.update_timeout_ms", "out of range");
  expect_error(edited(0, "", "[replication]\nheartbeat_ms = \"x\"\n"), 18,
               "replication.heartbeat_ms", "expected integer");
  expect_error(edited(0, "", "[replication]\nheartbeat_ms = 100\nprimary_timeout_ms = 100\n"), 19,
               "replication.primary_timeout_ms", "greater than");
  expect_error(edited(0, "", "[replication]\nretries = 1\n"), 18, "replication.retries");
  expect_error(edited(0, "", "[replication]\nnice = 20\n"), 18, "replication.nice",
               "out of range 0..19");
  expect_error(edited(0, "", "[replication]\nnice = -1\n"), 18, "replication.nice",
               "out of range 0..19");
}

BOOST_AUTO_TEST_CASE(stats_endpoint) {
  Dir dir;
  auto none = load_config(dir.write("a.toml", edited(0, "")));
  BOOST_TEST(!none.stats.listen.has_value());   // no endpoint unless configured
  auto cfg =
      load_config(dir.write("b.toml", edited(0, "", "[stats]\nlisten = \"127.0.0.1:9301\"\n")));
  BOOST_REQUIRE(cfg.stats.listen.has_value());
  BOOST_TEST(cfg.stats.listen->to_string() == "127.0.0.1:9301");
  auto empty = load_config(dir.write("c.toml", edited(0, "", "[stats]\n")));
  BOOST_TEST(!empty.stats.listen.has_value());

  expect_error(edited(0, "", "[stats]\nlisten = \"localhost:9301\"\n"), 18, "stats.listen",
               "numeric host");
  expect_error(edited(0, "", "[stats]\nlisten = [\"127.0.0.1:9301\"]\n"), 18, "stats.listen",
               "expected string, got array");
  expect_error(edited(0, "", "[stats]\nport = 9301\n"), 18, "stats.port", "unknown key");
  expect_error(edited(0, "", "[stats]\nlisten = \"127.0.0.1:5301\"\n"), 18, "stats.listen",
               "the same address as dns.listen 127.0.0.1:5301");
  // Replica 1 listens for its peers on 7302.
  expect_error(edited(0, "", "[stats]\nlisten = \"127.0.0.1:7302\"\n"), 18, "stats.listen",
               "the same address as cluster.replicas 127.0.0.1:7302");
  expect_error(edited(1, "stats = 1\n[cluster]"), 1, "stats", "expected table");
}

BOOST_AUTO_TEST_CASE(control_keys) {
  Dir dir;
  auto none = load_config(dir.write("a.toml", edited(0, "")));
  BOOST_TEST(none.control_allow.empty());   // nobody may remove zones unless configured
  auto cfg =
      load_config(dir.write("b.toml", edited(0, "", "[control]\nallow = [\"update-key\"]\n")));
  BOOST_TEST(cfg.control_allow == std::vector<std::string>{"update-key."});
  expect_error(edited(0, "", "[control]\nallow = [\"nokey.\"]\n"), 18, "control.allow");
  expect_error(edited(0, "", "[control]\ndeny = []\n"), 18, "control.deny", "unknown key");
}

BOOST_AUTO_TEST_CASE(rate_limiting) {
  Dir dir;
  auto none = load_config(dir.write("a.toml", edited(0, "")));
  BOOST_TEST(none.rrl.responses_per_second == 0u);   // off by default
  auto cfg = load_config(dir.write(
      "b.toml", edited(0, "", "[rrl]\nresponses_per_second = 20\nslip = 3\nipv4_prefix = 32\n"
                              "ipv6_prefix = 64\nexempt = [\"192.0.2.0/24\", \"::1\"]\n")));
  BOOST_TEST(cfg.rrl.responses_per_second == 20u);
  BOOST_TEST(cfg.rrl.slip == 3u);
  BOOST_TEST(cfg.rrl.ipv4_prefix == 32);
  BOOST_TEST(cfg.rrl.ipv6_prefix == 64);
  BOOST_TEST(cfg.rrl.exempt.size() == 2u);
  expect_error(edited(0, "", "[rrl]\nresponses_per_second = 10001\n"), 18,
               "rrl.responses_per_second", "out of range");
  expect_error(edited(0, "", "[rrl]\nipv4_prefix = 33\n"), 18, "rrl.ipv4_prefix", "out of range");
  expect_error(edited(0, "", "[rrl]\nexempt = [\"nonsense\"]\n"), 18, "rrl.exempt",
               "expected an IPv4 or IPv6 address");
  expect_error(edited(0, "", "[rrl]\nwindow = 5\n"), 18, "rrl.window", "unknown key");
}

BOOST_AUTO_TEST_CASE(zone_transfer_addresses) {
  Dir dir;
  auto plain = load_config(dir.write("a.toml", edited(0, "")));
  BOOST_TEST(!plain.zones.at(0).transfer_allow_addresses.has_value());   // the global list
  auto cfg = load_config(dir.write(
      "b.toml", edited(10, "file = \"example.test.zone\"\n"
                           "transfer_allow_addresses = [\"192.0.2.1\", \"2001:db8::/48\"]")));
  BOOST_REQUIRE(cfg.zones.at(0).transfer_allow_addresses.has_value());
  BOOST_TEST(cfg.zones[0].transfer_allow_addresses->size() == 2u);
  auto none = load_config(dir.write(
      "c.toml", edited(10, "file = \"example.test.zone\"\ntransfer_allow_addresses = []")));
  BOOST_REQUIRE(none.zones.at(0).transfer_allow_addresses.has_value());   // nobody, unsigned
  BOOST_TEST(none.zones[0].transfer_allow_addresses->empty());
  expect_error(edited(10, "file = \"example.test.zone\"\ntransfer_allow_addresses = [\"x\"]"),
               11, "zone[0].transfer_allow_addresses", "expected an IPv4 or IPv6 address");
}

BOOST_AUTO_TEST_CASE(nsid) {
  Dir dir;
  BOOST_TEST(load_config(dir.write("a.toml", edited(0, ""))).dns.nsid.empty());
  std::string text = edited(0, "");
  const std::string dns = "[dns]\n";
  const auto at = text.find(dns);
  BOOST_REQUIRE(at != std::string::npos);
  auto with = [&](const std::string& line) {
    std::string t = text;
    t.insert(at + dns.size(), line + "\n");
    return t;
  };
  BOOST_TEST(load_config(dir.write("b.toml", with("nsid = \"ns1-fra\""))).dns.nsid == "ns1-fra");
  const std::size_t line = std::size_t(std::count(text.begin(), text.begin() + long(at), '\n')) + 2;
  expect_error(with("nsid = \"\""), line, "dns.nsid", "must be 1..128 bytes");
  expect_error(with("nsid = \"" + std::string(129, 'x') + "\""), line, "dns.nsid",
               "must be 1..128 bytes");
  expect_error(with("nsid = 5"), line, "dns.nsid", "expected string");
}

BOOST_AUTO_TEST_CASE(cookies) {
  Dir dir;
  auto plain = load_config(dir.write("a.toml", edited(0, "")));
  BOOST_TEST(plain.cookies.enabled);   // on by default, with a random secret per start
  BOOST_TEST(!plain.cookies.secret.has_value());
  auto cfg = load_config(dir.write(
      "b.toml", edited(0, "", "[cookies]\nsecret = \"e5e973e5a6b2a43f48e7dc849e37bfcf\"\n"
                              "previous_secret = \"DD3BDF9344B678B185A6F5CB60FCA715\"\n")));
  BOOST_REQUIRE(cfg.cookies.secret.has_value());
  BOOST_TEST((*cfg.cookies.secret)[0] == 0xe5);
  BOOST_TEST((*cfg.cookies.secret)[15] == 0xcf);
  BOOST_REQUIRE(cfg.cookies.previous_secret.has_value());
  BOOST_TEST((*cfg.cookies.previous_secret)[0] == 0xdd);
  auto off = load_config(dir.write("c.toml", edited(0, "", "[cookies]\nenabled = false\n")));
  BOOST_TEST(!off.cookies.enabled);
  expect_error(edited(0, "", "[cookies]\nenabled = 1\n"), 18, "cookies.enabled",
               "expected boolean, got integer");
  expect_error(edited(0, "", "[cookies]\nsecret = \"e5e973\"\n"), 18, "cookies.secret",
               "expected 32 hexadecimal digits");
  expect_error(edited(0, "", "[cookies]\nsecret = \"x5e973e5a6b2a43f48e7dc849e37bfcf\"\n"), 18,
               "cookies.secret", "expected 32 hexadecimal digits");
  expect_error(edited(0, "", "[cookies]\nprevious_secret = \"e5e973e5a6b2a43f48e7dc849e37bfcf\"\n"),
               18, "cookies.previous_secret", "needs cookies.secret");
  expect_error(edited(0, "", "[cookies]\nsecret = \"e5e973e5a6b2a43f48e7dc849e37bfcf\"\n"
                             "previous_secret = \"e5e973e5a6b2a43f48e7dc849e37bfcf\"\n"),
               19, "cookies.previous_secret", "the same as cookies.secret");
  expect_error(edited(0, "", "[cookies]\nrequire = true\n"), 18, "cookies.require",
               "unknown key");
}
