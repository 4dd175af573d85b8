// app/config_reload: what a SIGHUP reload applies at once, what waits for a restart, and which
// zones it newly lists. Configs are parsed from text, as the node reads its file.
#define BOOST_TEST_MODULE test_config_reload
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "app/config_reload.hpp"
#include "app/node.hpp"
#include "config/config.hpp"

using namespace vrdns;

namespace {

const std::string zone_file = std::string(VRDNS_SOURCE_DIR) + "/configs/example.test.zone";

// A node config; `extra` is appended (more tables), `dns` replaces the [dns] table's body.
std::string text(const std::string& extra = "",
                 const std::string& dns = "listen = [\"127.0.0.1:5301\"]\n") {
  return "[cluster]\nreplicas = [\"127.0.0.1:7301\", \"127.0.0.1:7302\", \"127.0.0.1:7303\"]\n"
         "[node]\nreplica = 0\ndata_dir = \"/tmp/unused\"\n[dns]\n" + dns +
         "[[zone]]\nname = \"example.test.\"\nfile = \"" + zone_file + "\"\n"
         "[[key]]\nname = \"k1.\"\nalgorithm = \"hmac-sha256\"\n"
         "secret = \"uqjV+TYQBrS28PCMsYonX//TMmtt4GFvzp50/uVRovI=\"\n" + extra;
}

config::NodeConfig parse(const std::string& t) {
  return config::parse_config(t, "/etc/vrdns/node0.toml", config::ZoneFiles::defer);
}

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_same_config_changes_nothing) {
  const auto plan = app::plan_reload(parse(text()), parse(text()));
  BOOST_TEST(plan.restart_only.empty());
  BOOST_TEST(!plan.policy_changed);
  BOOST_TEST(!plan.notify_changed);
  BOOST_TEST(!plan.responder_changed);
  BOOST_TEST(plan.zones_listed.empty());
  BOOST_TEST(plan.zones_unlisted.empty());
  BOOST_TEST(plan.zone_files_changed.empty());
}

// NSID and cookie secrets reach the responder with the next serving state
// (app/serving_publisher.hpp): a reload applies them, and RFC 9018's secret roll needs no
// restart. Nothing else changes with them. [rrl] too is applied at once.
BOOST_AUTO_TEST_CASE(nsid_cookies_and_rate_limits_are_reloaded) {
  const auto running = parse(text());
  for (const auto& loaded :
       {parse(text("[cookies]\nenabled = false\n")),
        parse(text("[cookies]\nsecret = \"000102030405060708090a0b0c0d0e0f\"\n")),
        parse(text("", "listen = [\"127.0.0.1:5301\"]\nnsid = \"ns1\"\n"))}) {
    const auto plan = app::plan_reload(running, loaded);
    BOOST_TEST(plan.responder_changed);
    BOOST_TEST(plan.restart_only.empty());
    BOOST_TEST(!plan.policy_changed);
    BOOST_TEST(!plan.notify_changed);
  }
  // [rrl] gets a new limiter at once, and changes nothing else.
  for (const auto& loaded : {parse(text("[rrl]\nresponses_per_second = 5\n")),
                             parse(text("[rrl]\nexempt = [\"192.0.2.0/24\"]\n"))}) {
    const auto plan = app::plan_reload(running, loaded);
    BOOST_TEST(plan.rate_limit_changed);
    BOOST_TEST(!plan.responder_changed);
    BOOST_TEST(plan.restart_only.empty());
  }
  BOOST_TEST(!app::plan_reload(running, running).rate_limit_changed);
  // An NSID change beside a restart-only one: each in its place.
  const auto both = app::plan_reload(
      running, parse(text("", "listen = [\"127.0.0.1:5301\"]\nnsid = \"ns1\"\nudp_workers = 3\n")));
  BOOST_TEST(both.responder_changed);
  BOOST_TEST(both.restart_only == std::vector<std::string>{"[dns] udp_workers"});
}

// What a (re)load hands the responder. Without a configured secret a node draws a random one
// at start and keeps it through reloads, so reloading a config that does not name one leaves
// every client's cookie valid.
BOOST_AUTO_TEST_CASE(responder_options_follow_the_config) {
  const auto plain = parse(text());   // cookies are on by default, with no secret given
  const auto first = app::responder_options(plain);
  BOOST_REQUIRE(first.cookies);
  BOOST_TEST(!first.cookies->previous);
  BOOST_TEST(first.nsid.empty());
  BOOST_TEST(first.edns_udp_max == 1232);
  const auto kept = app::responder_options(plain, first.cookies.get());
  BOOST_REQUIRE(kept.cookies);
  BOOST_TEST((kept.cookies->current == first.cookies->current));
  BOOST_TEST((app::responder_options(plain).cookies->current != first.cookies->current));

  const auto rolled = app::responder_options(
      parse(text("[cookies]\nsecret = \"000102030405060708090a0b0c0d0e0f\"\n"
                 "previous_secret = \"f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff\"\n",
                 "listen = [\"127.0.0.1:5301\"]\nnsid = \"ns1\"\nedns_udp_size = 1400\n")),
      first.cookies.get());
  BOOST_REQUIRE(rolled.cookies);
  BOOST_TEST(rolled.cookies->current[0] == 0x00);
  BOOST_TEST(rolled.cookies->current[15] == 0x0f);
  BOOST_REQUIRE(rolled.cookies->previous);
  BOOST_TEST((*rolled.cookies->previous)[0] == 0xf0);
  BOOST_TEST(rolled.nsid == "ns1");
  BOOST_TEST(rolled.edns_udp_max == 1400);

  BOOST_TEST(!app::responder_options(parse(text("[cookies]\nenabled = false\n")),
                                     first.cookies.get()).cookies);
}

BOOST_AUTO_TEST_CASE(sockets_timers_and_identity_wait_for_a_restart) {
  const auto running = parse(text());
  const auto loaded = parse(text("[replication]\nheartbeat_ms = 20\nnice = 0\n",
                                 "listen = [\"127.0.0.1:5399\"]\nudp_workers = 4\n"));
  const auto plan = app::plan_reload(running, loaded);
  BOOST_TEST(plan.restart_only.size() == 4u);
  BOOST_TEST(has(plan.restart_only, "[dns] listen"));
  BOOST_TEST(has(plan.restart_only, "[dns] udp_workers"));
  BOOST_TEST(has(plan.restart_only, "[replication] heartbeat_ms"));
  BOOST_TEST(has(plan.restart_only, "[replication] nice"));
  BOOST_TEST(!plan.policy_changed);

  auto moved = parse(text());
  moved.replica = 1;
  moved.data_dir = "/tmp/elsewhere";
  moved.replicas.pop_back();
  const auto stats = parse(text("[stats]\nlisten = \"127.0.0.1:9301\"\n"));
  BOOST_TEST(app::plan_reload(running, stats).restart_only ==
             std::vector<std::string>{"[stats] listen"});
  BOOST_TEST(app::plan_reload(stats, stats).restart_only.empty());

  const auto plan2 = app::plan_reload(running, moved);
  BOOST_TEST(has(plan2.restart_only, "[cluster] replicas"));
  BOOST_TEST(has(plan2.restart_only, "[node] replica"));
  BOOST_TEST(has(plan2.restart_only, "[node] data_dir"));
}

BOOST_AUTO_TEST_CASE(keys_and_access_lists_are_the_policy) {
  const auto running = parse(text("[update]\nallow = [\"k1.\"]\n"));
  // A second key, the old one still allowed: a key roll's first step.
  const std::string k2 = "[[key]]\nname = \"k2.\"\nalgorithm = \"hmac-sha256\"\n"
                         "secret = \"AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=\"\n";
  BOOST_TEST(app::plan_reload(running, parse(text(k2 + "[update]\nallow = [\"k1.\"]\n")))
                 .policy_changed);
  BOOST_TEST(app::plan_reload(running, parse(text("[update]\nallow = []\n"))).policy_changed);
  BOOST_TEST(app::plan_reload(running, parse(text("[update]\nallow = [\"k1.\"]\n"
                                                  "[transfer]\nallow_addresses = [\"10.0.0.0/8\"]\n")))
                 .policy_changed);
  BOOST_TEST(app::plan_reload(running, parse(text("[update]\nallow = [\"k1.\"]\n"
                                                  "[transfer]\nmax_transfers = 3\n")))
                 .policy_changed);
  // The same key under a new secret is a change too.
  auto rolled = running;
  rolled.keys[0].secret = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";
  const auto plan = app::plan_reload(running, rolled);
  BOOST_TEST(plan.policy_changed);
  BOOST_TEST(!plan.notify_changed);   // no NOTIFY is signed with it
  BOOST_TEST(plan.restart_only.empty());
  const auto control =
      app::plan_reload(parse(text()), parse(text("[control]\nallow = [\"k1.\"]\n")));
  BOOST_TEST(control.policy_changed);   // who may remove zones is policy too
  BOOST_TEST(control.restart_only.empty());
  // So are a zone's own key lists: given, changed, or taken away.
  auto zone_keys = parse(text());
  zone_keys.zones[0].update_allow = std::vector<std::string>{"k1."};
  BOOST_TEST(app::plan_reload(parse(text()), zone_keys).policy_changed);
  auto other_zone_keys = zone_keys;
  other_zone_keys.zones[0].update_allow = std::vector<std::string>{};
  BOOST_TEST(app::plan_reload(zone_keys, other_zone_keys).policy_changed);
  BOOST_TEST(!app::plan_reload(zone_keys, zone_keys).policy_changed);
  auto transfer_keys = parse(text());
  transfer_keys.zones[0].transfer_allow = std::vector<std::string>{"k1."};
  BOOST_TEST(app::plan_reload(transfer_keys, parse(text())).policy_changed);
  auto transfer_addresses = parse(text());
  transfer_addresses.zones[0].transfer_allow_addresses =
      std::vector<net::AddressPrefix>{*net::AddressPrefix::parse("192.0.2.1")};
  BOOST_TEST(app::plan_reload(parse(text()), transfer_addresses).policy_changed);
  BOOST_TEST(!app::plan_reload(transfer_addresses, transfer_addresses).policy_changed);
}

BOOST_AUTO_TEST_CASE(notify_targets_and_their_key) {
  const auto running = parse(text());
  const auto with_notify = parse(text("[transfer]\nnotify = [\"127.0.0.1:5353\"]\n"));
  BOOST_TEST(app::plan_reload(running, with_notify).notify_changed);
  BOOST_TEST(!app::plan_reload(with_notify, with_notify).notify_changed);
  const auto signed_notify =
      parse(text("[transfer]\nnotify = [\"127.0.0.1:5353\"]\nnotify_key = \"k1.\"\n"));
  BOOST_TEST(app::plan_reload(with_notify, signed_notify).notify_changed);
  auto rolled = signed_notify;
  rolled.keys[0].secret = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";
  BOOST_TEST(app::plan_reload(signed_notify, rolled).notify_changed);   // its key's secret
}

BOOST_AUTO_TEST_CASE(zones_newly_listed_unlisted_and_moved) {
  const auto running = parse(text());
  const std::string other = "[[zone]]\nname = \"Other.TEST.\"\nfile = \"" + zone_file + "\"\n";
  const auto plan = app::plan_reload(running, parse(text(other)));
  BOOST_TEST(plan.zones_listed == std::vector<std::string>{"Other.TEST."});
  BOOST_TEST(plan.zones_unlisted.empty());
  BOOST_TEST(plan.restart_only.empty());
  // Unlisted: the cluster keeps it (no act removes a zone yet), and the plan names it.
  const auto back = app::plan_reload(parse(text(other)), running);
  BOOST_TEST(back.zones_unlisted == std::vector<std::string>{"Other.TEST."});
  BOOST_TEST(back.zones_listed.empty());
  // The same zone under other case is the same zone; its file moved: noted, nothing to add.
  auto moved = parse(text(other));
  moved.zones[1].name = "other.test.";
  moved.zones[1].file = "/srv/zones/other.test.zone";
  const auto renamed = app::plan_reload(parse(text(other)), moved);
  BOOST_TEST(renamed.zones_listed.empty());
  BOOST_TEST(renamed.zone_files_changed == std::vector<std::string>{"other.test."});
}

BOOST_AUTO_TEST_CASE(a_kept_config_holds_no_loaded_zone) {
  const auto loaded = config::parse_config(text(), "/etc/vrdns/node0.toml");
  BOOST_REQUIRE(loaded.zones.at(0).zone != nullptr);
  const auto kept = app::without_loaded_zones(loaded);
  BOOST_TEST(kept.zones.at(0).zone == nullptr);
  BOOST_TEST(kept.zones.at(0).file == loaded.zones.at(0).file);
  BOOST_TEST(config::load_zone(kept, kept.zones.at(0))->serial() ==
             loaded.zones.at(0).zone->serial());
}
