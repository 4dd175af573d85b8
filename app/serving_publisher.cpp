#include "app/serving_publisher.hpp"

#include "actors/dns_frontend.hpp"

namespace vrdns::app {

caf::behavior serving_publisher(caf::event_based_actor* self, caf::actor frontend,
                                std::shared_ptr<CommitWaiters> waiters) {
  return {
      [=](publication_atom, Publication& p) {
        auto executed = std::make_shared<std::vector<dns::ClientIdentity>>(std::move(p.executed));
        // Requests to one actor are answered in order, so states are swapped in order too.
        self->request(frontend, caf::infinite, actors::publish_atom::value, p.state)
            .then([=] { waiters->served(*executed); }, [](caf::error&) {});
      },
  };
}

}  // namespace vrdns::app
