#include "actors/replica_peer_link.hpp"

#include <memory>

namespace vrdns::actors {

caf::behavior replica_peer_link(caf::event_based_actor* self) {
  auto dest = std::make_shared<caf::actor>();
  // Everything except the set message is forwarded. Returning an empty message keeps CAF 0.17
  // from answering the (asynchronous) sender with an error.
  self->set_default_handler(
    [=](caf::scheduled_actor* s, caf::message_view& mv) -> caf::result<caf::message> {
      if (*dest && s->current_sender())
        caf::send_as(caf::actor_cast<caf::actor>(s->current_sender()), *dest,
                     mv.move_content_to_message());
      return caf::message{};
    });
  self->set_error_handler([](caf::error&) {}); // never die because of a stray error message
  return {[=](vr_peer_set_atom, const caf::actor& d) { *dest = d; }};
}

} // namespace vrdns::actors
