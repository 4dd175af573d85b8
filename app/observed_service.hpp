// The replicated service of a node: dns::ZoneService, plus a note of which UPDATEs (client
// identities) each execute() applied since the last take_executed(). The replica calls both
// from its own thread, so no locking; the identities feed CommitWaiters via the publisher.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "dns/update_request.hpp"
#include "dns/zone_service.hpp"
#include "protocol/service.hpp"

namespace vrdns::app {

class ObservedService : public protocol::service {
 public:
  explicit ObservedService(const dns::ZoneSet& initial) : zones_(initial) {}

  std::string execute(const std::string& op) override {
    std::string result = zones_.execute(op);
    dns::UpdateRequest req;
    if (dns::decode(op, req)) executed_.push_back(std::move(req.client));
    return result;
  }
  std::shared_ptr<const protocol::frozen_service> freeze() const override {
    return zones_.freeze();
  }
  void restore(const std::vector<protocol::snapshot_part>& parts) override {
    zones_.restore(parts);
  }

  dns::ZoneSetPtr zones() const { return zones_.zones(); }
  std::vector<dns::ClientIdentity> take_executed() { return std::move(executed_); }

 private:
  dns::ZoneService zones_;
  std::vector<dns::ClientIdentity> executed_;
};

}  // namespace vrdns::app
