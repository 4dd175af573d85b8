// app/zone_adder: which configured zones it proposes to the cluster, what it logs for each
// outcome, and that an unknown outcome is proposed again. The test stands in for the node's
// vr_clients: it takes the adder's calls off a real vr_submit_queue (woken by vr_wake_atom, as
// a vr_client is) and answers them.
#define BOOST_TEST_MODULE test_zone_adder
#include <boost/test/unit_test.hpp>

#include <caf/all.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

#include "actors/vr_submit_queue.hpp"
#include "app/zone_adder.hpp"
#include "dns/name.hpp"
#include "dns/query_parser.hpp"
#include "dns/update.hpp"
#include "dns/update_request.hpp"
#include "dns/zone_add.hpp"

using namespace vrdns;
using namespace std::chrono_literals;

namespace {

std::string key_of(const std::string& text) { return dns::name_key(*dns::name_from_text(text)); }

const std::vector<std::string> no_zones;

struct Fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor client{sys};
  std::shared_ptr<actors::vr_submit_queue> queue = std::make_shared<actors::vr_submit_queue>();
  std::size_t index = queue->attach(client->address());
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("test_zone_adder." + std::to_string(::getpid()));
  config::NodeConfig node;
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::string> lines;

  caf::actor adder;

  Fixture() { std::filesystem::create_directories(dir); }
  ~Fixture() {
    // Also after a failed check: the actor system waits for a detached actor that runs on.
    if (adder) caf::anon_send_exit(adder, caf::exit_reason::kill);
    std::filesystem::remove_all(dir);
  }

  /// A [[zone]] entry whose file holds an apex SOA and NS, plus `extra` lines.
  void add_zone(const std::string& name, const std::string& extra = "") {
    const auto file = dir / (name + "zone");
    std::ofstream(file) << "$ORIGIN " << name << "\n@ 300 IN SOA ns1 hostmaster 1 7200 3600 "
                        << "1209600 300\n@ 300 IN NS ns1\nns1 300 IN A 192.0.2.53\n" << extra;
    config::ZoneConfig z;
    z.name = name;
    z.file = file.string();
    z.file_line = 1;
    node.zones.push_back(std::move(z));
  }

  caf::actor spawn_adder() {
    app::ZoneAdderOptions o;
    o.retry = 10ms;
    o.max_attempts = 3;
    o.log = [this](const std::string& line) {
      std::lock_guard lock(mutex);
      lines.push_back(line);
      changed.notify_all();
    };
    adder = sys.spawn<caf::detached>(app::zone_adder, node, queue, o);
    return adder;
  }

  /// Waits (bounded) for a log line containing `text`.
  bool logged(const std::string& text) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, 5s, [&] {
      for (const auto& l : lines)
        if (l.find(text) != std::string::npos) return true;
      return false;
    });
  }

  /// The adder's next proposal, as a vr_client gets it: from the queue, or once woken.
  actors::vr_submit_queue::call next_call() {
    for (int round = 0; round < 2; ++round) {
      auto calls = queue->take(index, 1, std::size_t(1) << 30);
      if (!calls.empty()) {
        BOOST_REQUIRE_EQUAL(calls.size(), 1u);
        return std::move(calls.front());
      }
      bool woken = false;
      client->receive([&](actors::vr_wake_atom) { woken = true; },
                      caf::after(std::chrono::seconds(5)) >> [] {});
      BOOST_REQUIRE_MESSAGE(woken, "no proposal within 5 s");
    }
    BOOST_FAIL("woken, but nothing queued");
    throw;   // not reached
  }

  static void answer(actors::vr_submit_queue::call& c, uint8_t rcode) {
    const std::string result = dns::encode(dns::UpdateReply{rcode});
    c.done(&result);
  }
};

}  // namespace

BOOST_FIXTURE_TEST_CASE(proposes_only_the_zones_the_cluster_lacks, Fixture) {
  add_zone("example.test.");
  add_zone("added.test.", "www 300 IN A 192.0.2.80\n");
  auto adder = spawn_adder();
  caf::anon_send(adder, app::zone_check_atom::value,
                 std::vector<std::string>{key_of("example.test."), key_of("kept.test.")}, no_zones);
  auto call = next_call();
  dns::AddZoneRequest req;
  BOOST_REQUIRE(dns::decode(call.op, req));
  BOOST_CHECK(req.apex == *dns::name_from_text("added.test."));
  BOOST_CHECK(req.master_file.find("www.added.test. 300 IN A 192.0.2.80") != std::string::npos);
  BOOST_CHECK(logged("zone added.test. is not in the cluster's state: proposing it (4 records"));
  // A zone of the cluster's state that this config lacks stays, and the log says so.
  BOOST_CHECK(logged("zone kept.test. is not in this node's config but in the cluster's state"));
  // A zone still being proposed is not proposed twice: a second zone_check (the zone list
  // changed) proposes nothing. It is handled before the answer below (messages in order), so
  // nothing is queued once that answer is logged.
  caf::anon_send(adder, app::zone_check_atom::value,
                 std::vector<std::string>{key_of("example.test."), key_of("kept.test.")},
                 std::vector<std::string>{});
  answer(call, dns::rcode::NOERROR);
  BOOST_CHECK(logged("zone added.test. added to the cluster (4 records)"));
  BOOST_CHECK_EQUAL(queue->size(), 0u);
}

BOOST_FIXTURE_TEST_CASE(an_unknown_outcome_is_proposed_again, Fixture) {
  add_zone("added.test.");
  auto adder = spawn_adder();
  caf::anon_send(adder, app::zone_check_atom::value, no_zones, no_zones);
  auto first = next_call();
  const std::string op = first.op;
  first.done(nullptr);   // timed out: it may or may not have committed
  auto second = next_call();
  BOOST_CHECK(second.op == op);
  answer(second, dns::rcode::YXDOMAIN);   // the first did commit after all
  BOOST_CHECK(logged("zone added.test. is in the cluster's state now (added by this node's"
                     " earlier proposal or by another node)"));
}

BOOST_FIXTURE_TEST_CASE(outcomes_are_named, Fixture) {
  add_zone("other.test.");
  add_zone("bad.test.");
  add_zone("gone.test.");
  std::filesystem::remove(node.zones.back().file);
  auto adder = spawn_adder();
  caf::anon_send(adder, app::zone_check_atom::value, no_zones, no_zones);
  BOOST_CHECK(logged("zone gone.test. is not in the cluster's state and its file does not load"));
  // Proposals leave in config order: other.test, then bad.test.
  auto other = next_call();
  auto bad = next_call();
  dns::AddZoneRequest req;
  BOOST_REQUIRE(dns::decode(other.op, req));
  BOOST_CHECK(req.apex == *dns::name_from_text("other.test."));
  answer(other, dns::rcode::YXDOMAIN);
  BOOST_CHECK(logged("zone other.test. is in the cluster's state already (another node added it)"));
  answer(bad, dns::rcode::FORMERR);
  BOOST_CHECK(logged("zone bad.test. was refused by the cluster (rcode 1)"));
}

BOOST_FIXTURE_TEST_CASE(gives_up_after_max_attempts, Fixture) {
  add_zone("added.test.");
  auto adder = spawn_adder();   // max_attempts = 3
  caf::anon_send(adder, app::zone_check_atom::value, no_zones, no_zones);
  for (int i = 0; i < 3; ++i) next_call().done(nullptr);
  BOOST_CHECK(logged("zone added.test.: no answer from the cluster after 3 proposals"));
  BOOST_CHECK_EQUAL(queue->size(), 0u);
}

// SIGHUP (app/config_reload.hpp): a reload before the first check changes what that check
// proposes; after it, a reload proposes the zones it newly lists, and a zone still being
// proposed is not proposed twice.
BOOST_FIXTURE_TEST_CASE(a_reload_proposes_newly_listed_zones, Fixture) {
  add_zone("first.test.");
  auto adder = spawn_adder();
  add_zone("second.test.");
  caf::anon_send(adder, app::zone_reload_atom::value,
                 app::ZoneReload{std::make_shared<const config::NodeConfig>(node), {}});
  caf::anon_send(adder, app::zone_check_atom::value, no_zones, no_zones);
  auto first = next_call();
  auto second = next_call();
  dns::AddZoneRequest req;
  BOOST_REQUIRE(dns::decode(first.op, req));
  BOOST_CHECK(req.apex == *dns::name_from_text("first.test."));
  BOOST_REQUIRE(dns::decode(second.op, req));
  BOOST_CHECK(req.apex == *dns::name_from_text("second.test."));
  answer(first, dns::rcode::NOERROR);
  BOOST_CHECK(logged("zone first.test. added to the cluster"));

  // second.test. is still being proposed; first.test. is in the cluster now, though the
  // reload's list of present zones (taken on another thread) does not show it yet.
  add_zone("third.test.");
  caf::anon_send(adder, app::zone_reload_atom::value,
                 app::ZoneReload{std::make_shared<const config::NodeConfig>(node), {}});
  auto third = next_call();
  BOOST_REQUIRE(dns::decode(third.op, req));
  BOOST_CHECK(req.apex == *dns::name_from_text("third.test."));
  // A zone of the cluster that the config does not list is logged once, not at every reload.
  for (int i = 0; i < 2; ++i)
    caf::anon_send(adder, app::zone_reload_atom::value,
                   app::ZoneReload{std::make_shared<const config::NodeConfig>(node),
                                   {key_of("first.test."), key_of("kept.test.")}});
  answer(second, dns::rcode::NOERROR);
  answer(third, dns::rcode::NOERROR);
  BOOST_CHECK(logged("zone second.test. added to the cluster"));
  BOOST_CHECK(logged("zone third.test. added to the cluster"));
  BOOST_CHECK_EQUAL(queue->size(), 0u);
  std::lock_guard lock(mutex);
  BOOST_CHECK_EQUAL(std::count_if(lines.begin(), lines.end(),
                                  [](const std::string& l) {
                                    return l.find("zone kept.test. is not in this node's config") !=
                                           std::string::npos;
                                  }),
                    1);
}

// dns/zone_control.hpp: a removed zone is not proposed again from a config that still lists
// it, whatever the trigger (a check, a reload); once readmitted it is, from this node's file.
BOOST_FIXTURE_TEST_CASE(a_removed_zone_stays_removed_until_readmitted, Fixture) {
  node.path = "/etc/vrdns/node0.toml";
  add_zone("example.test.");
  add_zone("old.test.");
  auto adder = spawn_adder();
  const std::vector<std::string> present{key_of("example.test.")};
  const std::vector<std::string> removed{key_of("old.test.")};
  caf::anon_send(adder, app::zone_check_atom::value, present, removed);
  BOOST_CHECK(logged("zone old.test. is in this node's config but was removed from the cluster:"
                     " not proposed again (delete its [[zone]] from /etc/vrdns/node0.toml, or"
                     " readmit it: vrdns zone readmit old.test. --config /etc/vrdns/node0.toml)"));
  caf::anon_send(adder, app::zone_reload_atom::value,
                 app::ZoneReload{std::make_shared<const config::NodeConfig>(node), present});
  caf::anon_send(adder, app::zone_check_atom::value, present, removed);
  // Readmitted: the next check proposes it.
  caf::anon_send(adder, app::zone_check_atom::value, present, std::vector<std::string>{});
  BOOST_CHECK(logged("zone old.test. was readmitted"));
  auto call = next_call();
  dns::AddZoneRequest req;
  BOOST_REQUIRE(dns::decode(call.op, req));
  BOOST_CHECK(req.apex == *dns::name_from_text("old.test."));
  {
    // Proposed once, and only after the readmission: not by the reload or the check before.
    std::lock_guard lock(mutex);
    auto at = [&](const std::string& text) {
      return std::find_if(lines.begin(), lines.end(), [&](const std::string& l) {
        return l.find(text) != std::string::npos;
      });
    };
    const auto proposing = at("zone old.test. is not in the cluster's state: proposing it");
    BOOST_REQUIRE(proposing != lines.end());
    BOOST_CHECK(at("zone old.test. was readmitted") < proposing);
    const std::string proposal = "old.test. is not in the cluster's state";
    BOOST_CHECK_EQUAL(std::count_if(lines.begin(), lines.end(), [&](const std::string& l) {
                        return l.find(proposal) != std::string::npos;
                      }),
                      1);
  }
  // Removed again while the add was on its way: the cluster refuses it.
  answer(call, dns::rcode::REFUSED);
  BOOST_CHECK(logged("zone old.test. was removed from the cluster meanwhile: not added"));
  BOOST_CHECK_EQUAL(queue->size(), 0u);
}

// A zone this node added and the cluster then removed is proposed again once readmitted: the
// adder's memory of its own successful add does not outlive the removal.
BOOST_FIXTURE_TEST_CASE(a_zone_added_then_removed_can_come_back, Fixture) {
  add_zone("old.test.");
  auto adder = spawn_adder();
  caf::anon_send(adder, app::zone_check_atom::value, std::vector<std::string>{},
                 std::vector<std::string>{});
  auto first = next_call();
  answer(first, dns::rcode::NOERROR);
  BOOST_CHECK(logged("zone old.test. added to the cluster"));
  caf::anon_send(adder, app::zone_check_atom::value, std::vector<std::string>{},
                 std::vector<std::string>{key_of("old.test.")});
  BOOST_CHECK(logged("zone old.test. was removed from the cluster: no node serves it"));
  caf::anon_send(adder, app::zone_check_atom::value, std::vector<std::string>{},
                 std::vector<std::string>{});
  auto again = next_call();
  dns::AddZoneRequest req;
  BOOST_REQUIRE(dns::decode(again.op, req));
  BOOST_CHECK(req.apex == *dns::name_from_text("old.test."));
  answer(again, dns::rcode::NOERROR);
  BOOST_CHECK(logged("zone old.test. added to the cluster"));
}

// A removal and a readmission that reach the adder as one check (both ran in one op batch, or
// a lagging replica executed both at once): the zone is simply missing, and a zone this node
// added before is proposed again all the same.
BOOST_FIXTURE_TEST_CASE(a_removal_and_readmission_seen_at_once, Fixture) {
  add_zone("old.test.");
  auto adder = spawn_adder();
  caf::anon_send(adder, app::zone_check_atom::value, no_zones, no_zones);
  auto first = next_call();
  answer(first, dns::rcode::NOERROR);
  BOOST_CHECK(logged("zone old.test. added to the cluster"));
  caf::anon_send(adder, app::zone_check_atom::value, std::vector<std::string>{key_of("old.test.")},
                 no_zones);
  caf::anon_send(adder, app::zone_check_atom::value, no_zones, no_zones);
  auto again = next_call();
  dns::AddZoneRequest req;
  BOOST_REQUIRE(dns::decode(again.op, req));
  BOOST_CHECK(req.apex == *dns::name_from_text("old.test."));
}

// A configured zone that cannot be added is not read and logged again at every change of the
// cluster's zone list, only after a reload (its file may have been fixed).
BOOST_FIXTURE_TEST_CASE(a_failed_zone_waits_for_a_reload, Fixture) {
  add_zone("gone.test.");
  std::filesystem::remove(node.zones.back().file);
  auto adder = spawn_adder();
  for (int i = 0; i < 3; ++i)
    caf::anon_send(adder, app::zone_check_atom::value, no_zones, no_zones);
  caf::anon_send(adder, app::zone_reload_atom::value,
                 app::ZoneReload{std::make_shared<const config::NodeConfig>(node), {}});
  add_zone("last.test.");   // a marker: its proposal comes after everything above
  caf::anon_send(adder, app::zone_reload_atom::value,
                 app::ZoneReload{std::make_shared<const config::NodeConfig>(node), {}});
  auto last = next_call();
  dns::AddZoneRequest req;
  BOOST_REQUIRE(dns::decode(last.op, req));
  BOOST_CHECK(req.apex == *dns::name_from_text("last.test."));
  std::lock_guard lock(mutex);
  // Once for the checks, once per reload.
  BOOST_CHECK_EQUAL(std::count_if(lines.begin(), lines.end(), [](const std::string& l) {
                      return l.find("zone gone.test. is not in the cluster's state and its file "
                                    "does not load") != std::string::npos;
                    }),
                    3);
}
