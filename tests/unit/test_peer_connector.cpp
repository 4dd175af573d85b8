#define BOOST_TEST_MODULE peer_connector
#include <boost/test/unit_test.hpp>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <chrono>
#include <memory>
#include <string>

#include "actors/peer_connector.hpp"
#include "actors/peer_messages.hpp"

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

// Waits (bounded) for the connector to tell `target` a handle for peer 7, null or not.
caf::actor told(caf::scoped_actor& target) {
  caf::actor handle;
  std::uint32_t id = 0;
  target->receive(
    [&](vr_peer_set_atom, std::uint32_t i, const caf::actor& h) {
      id = i;
      handle = h;
    },
    caf::after(10s) >> [&] { id = 99; });
  BOOST_TEST(id == 7u);
  return handle;
}

// Pings the remote through `handle`: true once the answer comes back tagged with `tag`.
bool reached(caf::scoped_actor& self, const caf::actor& handle, const std::string& tag) {
  if (!handle) return false;
  bool ok = false;
  self->send(handle, std::string("ping"));
  self->receive([&](const std::string& s) { ok = s == tag + "ping"; }, caf::after(10s) >> [] {});
  return ok;
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
  caf::scoped_actor client{sys_a};    // stands in for a vr_client: told the handle only
  peer_connector_options o;
  o.host = "127.0.0.1";
  o.port = *port;
  o.targets = {caf::actor{replica}, caf::actor{client}};
  o.label = "test peer";
  o.replica = caf::actor{replica};
  o.peer_id = 7;
  auto connector = sys_a.spawn(peer_connector, o);
  // Every target learns the same, connected handle: the remote actor itself (a proxy).
  auto first = told(client);
  BOOST_TEST((told(replica) == first));
  BOOST_TEST(reached(self, first, "one:"));

  // The peer's process "dies" (its whole actor system), then comes back on the same port.
  caf::anon_send_exit(echo1, caf::exit_reason::kill);
  echo1 = nullptr;
  sys_b.reset();
  // The targets are told that it is unreachable, and the replica that the connection was lost,
  // with the peer's replica id, at once (bounded waits).
  BOOST_TEST(!told(client));
  BOOST_TEST(!told(replica));
  std::uint32_t lost = 0;
  replica->receive([&](vr_peer_lost_atom, std::uint32_t id) { lost = id; },
                   caf::after(10s) >> [] {});
  BOOST_TEST(lost == 7u);
  node_config cfg_b2;
  sys_b = std::make_unique<caf::actor_system>(cfg_b2);
  auto echo2 = sys_b->spawn(tagged_echo, std::string("two:"));
  auto port2 = caf::io::publish(echo2, *port, "127.0.0.1", true);
  BOOST_REQUIRE(port2);
  // The restarted peer is reached through its new handle.
  auto second = told(client);
  BOOST_TEST((told(replica) == second));
  BOOST_TEST(reached(self, second, "two:"));

  caf::anon_send_exit(echo2, caf::exit_reason::kill);
  caf::anon_send_exit(connector, caf::exit_reason::kill);
}
