// actors/fail_stop and its use by app::ReplicaNode: an actor of a node that ends on its own (an
// exception in a handler, say an invariant check of the replica) is reported with its name and
// reason, so that the node stops instead of running on half alive; the node's own stop is not
// reported. Real actor systems (threads): waits are for events, bounded.
#define BOOST_TEST_MODULE test_fail_stop
#include <boost/test/unit_test.hpp>

#include <caf/all.hpp>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "actors/fail_stop.hpp"
#include "app/replica_node.hpp"
#include "app/system_config.hpp"
#include "config/config.hpp"

using namespace std::chrono_literals;
using namespace vrdns;

namespace {

// The failure reports, filled from actor threads.
struct reports {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::string> lines;

  std::function<void(const std::string&)> handler() {
    return [this](const std::string& line) {
      std::lock_guard lock(mutex);
      lines.push_back(line);
      changed.notify_all();
    };
  }
  // Waits (bounded) until there are at least `n` reports; returns a copy of them.
  std::vector<std::string> await(std::size_t n) {
    std::unique_lock lock(mutex);
    changed.wait_for(lock, 10s, [&] { return lines.size() >= n; });
    return lines;
  }
  std::vector<std::string> now() {
    std::lock_guard lock(mutex);
    return lines;
  }
};

caf::behavior thrower(caf::event_based_actor* self) {
  self->set_exception_handler(actors::exception_to_error);
  return {[](const std::string& what) { throw std::logic_error(what); }};
}

bool contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

}  // namespace

BOOST_AUTO_TEST_CASE(the_node_stopping_or_a_normal_exit_is_expected_anything_else_is_not) {
  BOOST_TEST(actors::expected_exit(caf::error{}));
  BOOST_TEST(actors::expected_exit(caf::exit_reason::normal));
  BOOST_TEST(actors::expected_exit(caf::exit_reason::user_shutdown));
  BOOST_TEST(!actors::expected_exit(caf::exit_reason::kill));
  BOOST_TEST(!actors::expected_exit(caf::exit_reason::unhandled_exception));
  BOOST_TEST(!actors::expected_exit(caf::make_error(caf::sec::runtime_error, "x")));
}

BOOST_AUTO_TEST_CASE(an_actor_that_throws_is_reported_with_its_name_and_the_exception) {
  reports got;
  {
    caf::actor_system_config cfg;
    caf::actor_system sys{cfg};
    auto a = sys.spawn(thrower);
    auto b = sys.spawn(thrower);
    actors::watch_for_failure(sys, a, "the thrower", got.handler());
    actors::watch_for_failure(sys, b, "the quiet one", got.handler());
    caf::anon_send(a, std::string("invariant: view_number must be monotone"));
    auto lines = got.await(1);
    BOOST_REQUIRE_EQUAL(lines.size(), 1u);
    BOOST_TEST(contains(lines[0], "the thrower failed: "), lines[0]);
    BOOST_TEST(contains(lines[0], "view_number must be monotone"), lines[0]);
    caf::anon_send_exit(b, caf::exit_reason::user_shutdown);
  }   // ~actor_system waits for every actor: every exit functor has run
  BOOST_TEST(got.now().size() == 1u);   // b's shutdown is not a failure
}

// The node's wiring: each actor it spawns is watched, its stop() is not a failure.
BOOST_AUTO_TEST_CASE(a_replica_node_reports_each_of_its_actors_that_fails_but_not_its_stop) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("vrdns-fail-stop-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string zone_file = (dir / "example.test.zone").string();
  std::FILE* f = std::fopen(zone_file.c_str(), "w");
  BOOST_REQUIRE(f);
  std::fputs("$ORIGIN example.test.\n$TTL 300\n"
             "@ SOA ns1 hostmaster 1 3600 600 86400 300\n@ NS ns1\nns1 A 192.0.2.1\n", f);
  std::fclose(f);
  const std::string text = "[cluster]\nreplicas = [\"127.0.0.1:0\"]\n"
                           "[node]\nreplica = 0\ndata_dir = \"data\"\n"
                           "[dns]\nlisten = [\"127.0.0.1:0\"]\n"
                           "[[zone]]\nname = \"example.test.\"\nfile = \"example.test.zone\"\n";
  const auto cfg = config::parse_config(text, (dir / "node.toml").string());

  reports got;
  std::size_t node_actors = 0;
  {
    app::NodeSystemConfig sys_cfg;
    caf::actor_system sys{sys_cfg};
    app::ReplicaNode node(sys, cfg, got.handler());
    std::vector<std::string> names;
    caf::actor replica;
    for (const auto& a : node.actors()) {
      auto* local = dynamic_cast<caf::local_actor*>(caf::actor_cast<caf::abstract_actor*>(a));
      BOOST_REQUIRE(local);
      names.emplace_back(local->name());
      if (names.back() == "vr_replica") replica = a;
    }
    BOOST_REQUIRE(replica);
    node_actors = names.size();
    caf::anon_send_exit(replica, caf::exit_reason::kill);
    auto lines = got.await(1);
    BOOST_REQUIRE_EQUAL(lines.size(), 1u);
    BOOST_TEST(contains(lines[0], "replica 0: the replica actor failed: "), lines[0]);
    // Every other actor of the node is watched too, but one, left for stop() to end.
    const auto& all = node.actors();
    BOOST_REQUIRE_GE(all.size(), 5u);   // 2 vr_clients, front end, publisher, replica
    for (std::size_t i = 1; i < all.size(); ++i) {
      if (all[i] == replica) continue;
      const std::size_t before = got.now().size();
      caf::anon_send_exit(all[i], caf::exit_reason::kill);
      BOOST_TEST(got.await(before + 1).size() == before + 1, "not reported: " << names[i]);
    }
    node.stop();
  }   // ~actor_system waits for every actor: every exit functor has run
  // The actor that stop() ended was not reported.
  BOOST_TEST(got.now().size() == node_actors - 1);
  std::filesystem::remove_all(dir);
}
