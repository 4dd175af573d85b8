#include "actors/peer_connector.hpp"

#include "actors/fail_stop.hpp"
#include "actors/peer_messages.hpp"

#include <caf/io/middleman.hpp>

#include <algorithm>
#include "actors/log_line.hpp"
#include <memory>
#include <set>

namespace vrdns::actors {

namespace {

struct connector_state {
  peer_connector_options opt;
  std::chrono::milliseconds backoff{0};
  caf::actor peer;            // the connected remote replica (a proxy), or null
  bool said_waiting = false;  // log "waiting" once per outage, not once per retry
};

} // namespace

caf::behavior peer_connector(caf::event_based_actor* self, peer_connector_options options) {
  auto st = std::make_shared<connector_state>();
  st->opt = std::move(options);
  st->backoff = st->opt.retry_min;
  self->set_exception_handler(exception_to_error);   // actors/fail_stop.hpp

  auto tell_targets = [=](const caf::actor& handle) {
    for (const auto& t : st->opt.targets)
      self->send(t, vr_peer_set_atom::value, st->opt.peer_id, handle);
  };
  auto retry_later = [=] {
    self->delayed_send(self, st->backoff, peer_connect_atom::value);
    st->backoff = std::min(st->backoff * 2, st->opt.retry_max);
  };

  self->set_down_handler([=](caf::down_msg& dm) {
    if (dm.source != st->peer.address())
      return; // a stale monitor of an earlier incarnation
    log_line(st->opt.label + " lost (" + caf::to_string(dm.reason) + "), reconnecting");
    st->peer = nullptr;
    tell_targets(caf::actor{});
    if (st->opt.replica)
      self->send(st->opt.replica, vr_peer_lost_atom::value, st->opt.peer_id);
    st->backoff = st->opt.retry_min;
    st->said_waiting = false;
    retry_later();
  });
  self->set_error_handler([](caf::error&) {});

  self->send(self, peer_connect_atom::value);
  return {
    [=](peer_connect_atom) {
      if (st->peer)
        return;
      auto mm = self->system().middleman().actor_handle();
      self->request(mm, st->opt.connect_timeout, caf::connect_atom::value, st->opt.host,
                    st->opt.port)
        .then(
          [=](const caf::node_id&, caf::strong_actor_ptr& p, const std::set<std::string>&) {
            auto peer = caf::actor_cast<caf::actor>(p);
            if (!peer) { // connected to the node, but nothing published on that port yet
              retry_later();
              return;
            }
            st->peer = peer;
            st->backoff = st->opt.retry_min;
            self->monitor(peer);
            tell_targets(peer);
            log_line(st->opt.label + " connected");
          },
          [=](caf::error&) {
            if (!st->said_waiting) {
              log_line(st->opt.label + " at " + st->opt.host + ":" + std::to_string(st->opt.port)
                       + " unreachable, waiting for peers");
              st->said_waiting = true;
            }
            retry_later();
          });
    },
  };
}

} // namespace vrdns::actors
