#include "actors/vr_client.hpp"

namespace vrdns::actors {

namespace {

using self_ptr = vr_client_actor*;

void send_current(self_ptr self, bool to_all) {
  auto& st = self->state;
  protocol::Request r{st.current->op, st.opt.client_id, st.current->request_number};
  if (to_all) {
    for (auto& rep : st.replicas)
      self->send(rep, r);
  } else {
    self->send(st.replicas[st.view_number % st.replicas.size()], r);
  }
  st.current->resend_at = self->clock().now() + st.opt.resend;
}

void start_next(self_ptr self) {
  auto& st = self->state;
  if (st.current || st.queue.empty())
    return;
  auto [op, rp] = std::move(st.queue.front());
  st.queue.pop_front();
  auto t = self->clock().now();
  st.current = vr_client_state::outstanding{std::move(op), ++st.request_number, std::move(rp),
                                            t + st.opt.call_timeout, t};
  send_current(self, false);
}

} // namespace

caf::behavior vr_client(vr_client_actor* self, std::vector<caf::actor> replicas,
                        vr_client_options options) {
  self->state.replicas = std::move(replicas);
  self->state.opt = options;
  // Silent drop (caf::drop would send an error back to asynchronous senders, see replica.cpp).
  self->set_default_handler(
    [](caf::scheduled_actor*, caf::message_view&) -> caf::result<caf::message> {
      return caf::message{};
    });
  self->delayed_send(self, options.tick, vr_ctick_atom::value, self->state.tick_generation);
  return {
    [=](vr_call_atom, std::string& op) {
      auto rp = self->make_response_promise();
      self->state.queue.emplace_back(std::move(op), rp);
      start_next(self);
      return rp;
    },
    [=](const protocol::Reply& r) {
      auto& st = self->state;
      st.view_number = std::max(st.view_number, r.view_number); // follow the primary
      if (r.client_id != st.opt.client_id || !st.current
          || r.request_number != st.current->request_number)
        return; // duplicate or late answer to an abandoned request
      st.current->promise.deliver(r.result);
      st.current.reset();
      start_next(self);
    },
    [=](vr_ctick_atom, std::uint64_t generation) {
      auto& st = self->state;
      if (generation != st.tick_generation)
        return;
      self->delayed_send(self, st.opt.tick, vr_ctick_atom::value, generation);
      if (!st.current)
        return;
      auto t = self->clock().now();
      if (t >= st.current->deadline) {
        st.current->promise.deliver(caf::make_error(caf::sec::request_timeout));
        st.current.reset();
        start_next(self);
      } else if (t >= st.current->resend_at) {
        send_current(self, true); // the primary may have changed: ask everybody
      }
    },
  };
}

} // namespace vrdns::actors
