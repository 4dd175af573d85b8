// The replicated service of a node: dns::ZoneService, plus a note of which UPDATEs (their
// clients' dedupe keys) each execute() applied since the last take_executed(). The replica calls both
// from its own thread, so no locking; the identities feed CommitWaiters via the publisher.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "dns/zone_service.hpp"
#include "protocol/service.hpp"

namespace vrdns::app {

class ObservedService : public protocol::service {
 public:
  explicit ObservedService(const dns::ZoneSet& initial) : zones_(initial) {}

  std::string execute(const std::string& op) override {
    return zones_.execute(op, &executed_);
  }
  std::shared_ptr<const protocol::frozen_service> freeze() const override {
    return zones_.freeze();
  }
  void restore(const std::vector<protocol::snapshot_part>& parts) override {
    zones_.restore(parts);
  }

  dns::ZoneSetPtr zones() const { return zones_.zones(); }
  uint64_t zone_list_version() const { return zones_.zone_list_version(); }
  std::vector<std::string> removed_zones() const { return zones_.removed_zones(); }
  std::vector<dns::ZoneService::DedupeKey> take_executed() { return std::move(executed_); }

 private:
  dns::ZoneService zones_;
  std::vector<dns::ZoneService::DedupeKey> executed_;
};

}  // namespace vrdns::app
