// The per-record rules of reading a master file, shared by the zone-file loader (ldns, any
// RFC 1035 syntax) and the checkpoint reader (its own fast parser for the canonical form):
// both must turn the same records into the same Zone, or a replica restored from a
// checkpoint would differ from one that loaded the same text.
#pragma once

#include <string>
#include <string_view>

#include "dns/record.hpp"
#include "dns/zone.hpp"

namespace vrdns::dns {

/// Throws ZoneError with the message "<label>[:<line>]: <what>" (line 0 = not tied to one).
[[noreturn]] void throw_zone_error(const std::string& label, int line, const std::string& what);

/// Builds one zone from records read in file order. Throws ZoneError naming `label` and the
/// line on the first record that breaks a rule: class other than IN, a name outside the zone,
/// a second SOA, an RRset the store cannot hold.
class ZoneBuilder {
 public:
  /// `apex` is a valid wire name in owner form (it becomes Zone::apex()).
  ZoneBuilder(std::string_view apex, std::string label);

  void add(Record r, int line);
  /// The file the next records come from ($INCLUDE), for errors.
  void set_label(std::string label) { label_ = std::move(label); }
  /// The zone so far, validated (validate_zone). The builder must not be used afterwards.
  ZonePtr finish();

 private:
  std::string label_;
  std::string apex_;
  ZoneEditor editor_;
  bool soa_seen_ = false;
};

}  // namespace vrdns::dns
