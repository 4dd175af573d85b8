#include "net/zone_slots.hpp"

namespace vrdns::net {

std::shared_ptr<const std::vector<uint16_t>> ZoneSlots::slots_for(const dns::ZoneSet& set) {
  auto out = std::make_shared<std::vector<uint16_t>>();
  out->reserve(set.zones.size());
  std::lock_guard lock(mutex_);
  for (const dns::ZonePtr& z : set.zones) {
    auto it = slots_.find(z->apex_key());
    if (it == slots_.end()) {
      const uint16_t slot = next_ < shared_slot ? next_++ : shared_slot;
      it = slots_.emplace(z->apex_key(), slot).first;
    }
    out->push_back(it->second);
  }
  return out;
}

std::optional<uint16_t> ZoneSlots::find(std::string_view apex_key) const {
  std::lock_guard lock(mutex_);
  const auto it = slots_.find(apex_key);
  if (it == slots_.end()) return std::nullopt;
  return it->second;
}

}  // namespace vrdns::net
