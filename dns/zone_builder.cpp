#include "dns/zone_builder.hpp"

#include <algorithm>

#include "dns/name.hpp"

namespace vrdns::dns {

void throw_zone_error(const std::string& label, int line, const std::string& what) {
  std::string msg = label;
  if (line > 0) msg += ":" + std::to_string(line);
  throw ZoneError(label, line, msg + ": " + what);
}

ZoneBuilder::ZoneBuilder(std::string_view apex, std::string label)
    : label_(std::move(label)), apex_(apex), editor_(apex) {}

void ZoneBuilder::add(Record r, int line) {
  if (r.rclass != rrclass::IN)
    throw_zone_error(label_, line, "class " + std::to_string(r.rclass) + " at " +
                                       name_to_text(r.owner) + " (only IN is served)");
  if (!name_is_at_or_below(r.owner, apex_))
    throw_zone_error(label_, line,
                     name_to_text(r.owner) + " is outside the zone " + name_to_text(apex_));
  if (r.type == rrtype::SOA) {
    if (soa_seen_) throw_zone_error(label_, line, "second SOA record at " + name_to_text(r.owner));
    soa_seen_ = true;
  }
  // Mixed TTLs inside one RRset: RFC 2181 §5.2 wants one TTL; like NSD and Knot we keep
  // loading and use the smallest.
  if (const Node* n = editor_.find(name_key(r.owner)))
    if (const RRset* rs = n->find(r.type)) r.ttl = std::min(r.ttl, rs->ttl);
  try {
    editor_.add(r);
  } catch (const std::invalid_argument& e) {
    throw_zone_error(label_, line, e.what());
  }
}

ZonePtr ZoneBuilder::finish() {
  ZonePtr zone = editor_.finish();
  validate_zone(*zone, label_);
  return zone;
}

}  // namespace vrdns::dns
