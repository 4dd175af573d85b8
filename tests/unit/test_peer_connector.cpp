#define BOOST_TEST_MODULE peer_connector
#include <boost/test/unit_test.hpp>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <chrono>
#include <memory>
#include <string>

#include "actors/peer_connector.hpp"
#include "actors/replica_peer_link.hpp"

using namespace vrdns::actors;
using namespace std::chrono_literals;

namespace {

struct node_config : caf::actor_system_config {
  node_config() { load<caf::io::middleman>(); }
};

// The "remote replica": answers every string with its tag + the string, to the sender.
caf::behavior tagged_echo(caf::event_based_actor*, std::string tag) {
  return {[=](const std::string& s) { return tag + s; }};
}

// Pings the remote through `link` until an answer starting with `tag` comes back. The answers
// are the events; the number of tries bounds the wait (100 x 100 ms).
bool reached(caf::scoped_actor& self, const caf::actor& link, const std::string& tag) {
  for (int i = 0; i < 100; ++i) {
    self->send(link, std::string("ping"));
    bool ok = false;
    bool more = true;
    while (more)
      self->receive([&](const std::string& s) { ok = ok || s == tag + "ping"; },
                    caf::after(100ms) >> [&] { more = false; });
    if (ok) return true;
  }
  return false;
}

}  // namespace

BOOST_AUTO_TEST_CASE(connects_and_follows_a_restarted_peer) {
  node_config cfg_a;
  caf::actor_system sys_a{cfg_a};
  node_config cfg_b1;
  auto sys_b = std::make_unique<caf::actor_system>(cfg_b1);
  auto echo1 = sys_b->spawn(tagged_echo, std::string("one:"));
  auto port = caf::io::publish(echo1, 0, "127.0.0.1", true);
  BOOST_REQUIRE(port);

  caf::scoped_actor self{sys_a};
  caf::scoped_actor replica{sys_a};   // stands in for the local replica: told of lost peers
  auto link = sys_a.spawn(replica_peer_link);
  peer_connector_options o;
  o.host = "127.0.0.1";
  o.port = *port;
  o.link = link;
  o.label = "test peer";
  o.replica = caf::actor{replica};
  o.peer_id = 7;
  auto connector = sys_a.spawn(peer_connector, o);
  BOOST_TEST(reached(self, link, "one:"));

  // The peer's process "dies" (its whole actor system), then comes back on the same port.
  caf::anon_send_exit(echo1, caf::exit_reason::kill);
  echo1 = nullptr;
  sys_b.reset();
  // The lost connection is reported at once, with the peer's replica id (bounded wait).
  std::uint32_t lost = 0;
  replica->receive([&](vr_peer_lost_atom, std::uint32_t id) { lost = id; },
                   caf::after(10s) >> [] {});
  BOOST_TEST(lost == 7u);
  node_config cfg_b2;
  sys_b = std::make_unique<caf::actor_system>(cfg_b2);
  auto echo2 = sys_b->spawn(tagged_echo, std::string("two:"));
  auto port2 = caf::io::publish(echo2, *port, "127.0.0.1", true);
  BOOST_REQUIRE(port2);
  BOOST_TEST(reached(self, link, "two:"));

  caf::anon_send_exit(echo2, caf::exit_reason::kill);
  caf::anon_send_exit(connector, caf::exit_reason::kill);
  caf::anon_send_exit(link, caf::exit_reason::kill);
}
