#include "actors/dns_frontend.hpp"

#include "actors/fail_stop.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <memory>

namespace vrdns::actors {

namespace {

struct frontend_state {
  // Destroyed when the actor exits (stateful_actor::on_exit), which stops and joins the
  // workers and closes the sockets.
  std::shared_ptr<net::DnsServer> server;
  static inline const char* name = "dns_frontend";
};

using frontend_actor = caf::stateful_actor<frontend_state>;

caf::behavior dns_frontend(frontend_actor* self, std::shared_ptr<net::DnsServer> server) {
  self->state.server = std::move(server);
  self->set_exception_handler(exception_to_error);   // actors/fail_stop.hpp
  return {
      [self](publish_atom, const dns::ServingStatePtr& state) {
        if (state) self->state.server->publish(state);
      },
  };
}

}  // namespace

DnsFrontend spawn_dns_frontend(caf::actor_system& system, net::ServerOptions options,
                               dns::ServingStatePtr initial, net::UpdateHandler update) {
  // Bind before spawning so a taken port is an exception here, not a dead actor later.
  auto server = std::make_shared<net::DnsServer>(std::move(options), std::move(initial),
                                                 std::move(update));
  server->start();
  DnsFrontend fe;
  fe.endpoints = server->endpoints();
  // Weak: the actor alone owns the server, so its exit still stops the workers.
  fe.publish = [weak = std::weak_ptr<net::DnsServer>(server)](dns::ServingStatePtr state) {
    if (auto server = weak.lock(); server && state) server->publish(std::move(state));
  };
  fe.set_rate_limiter = [weak = std::weak_ptr<net::DnsServer>(server)](
                            std::shared_ptr<net::ResponseRateLimiter> limiter) {
    if (auto server = weak.lock()) server->set_rate_limiter(std::move(limiter));
  };
  fe.actor = system.spawn(dns_frontend, std::move(server));
  return fe;
}

}  // namespace vrdns::actors
