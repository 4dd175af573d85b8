// net/zone_slots: the statistics slot of each zone, stable for the life of the process, never
// given to another zone, and shared by the zones beyond the last one.
#define BOOST_TEST_MODULE test_zone_slots
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include "dns/name.hpp"
#include "dns/zone.hpp"
#include "net/zone_slots.hpp"

using namespace vrdns;

namespace {

dns::ZonePtr zone(const std::string& apex) {
  return dns::load_zone_text("@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\n", apex);
}

std::string key(const std::string& apex) { return dns::name_key(*dns::name_from_text(apex)); }

}  // namespace

BOOST_AUTO_TEST_CASE(slots_are_stable_and_never_reused) {
  net::ZoneSlots slots;
  const auto a = zone("a.test."), b = zone("b.test."), c = zone("c.test.");
  dns::ZoneSet ab;
  ab.zones = {a, b};
  BOOST_TEST(*slots.slots_for(ab) == (std::vector<uint16_t>{0, 1}));
  // Another order, a zone gone, a new one: each keeps its slot; the new one gets the next.
  dns::ZoneSet cb;
  cb.zones = {c, b};
  BOOST_TEST(*slots.slots_for(cb) == (std::vector<uint16_t>{2, 1}));
  // A new version of a zone (same apex) and a zone that comes back: their old slots.
  dns::ZoneSet again;
  again.zones = {zone("A.TEST."), c};
  BOOST_TEST(*slots.slots_for(again) == (std::vector<uint16_t>{0, 2}));
  BOOST_TEST(slots.find(key("b.test.")).value() == 1);
  BOOST_TEST(!slots.find(key("d.test.")).has_value());
}

BOOST_AUTO_TEST_CASE(zones_beyond_the_slots_share_the_last) {
  net::ZoneSlots slots;
  dns::ZoneSet many;
  const auto template_zone = zone("z0.test.");
  for (std::size_t i = 0; i < net::zone_slots + 10; ++i) {
    std::string apex = "z";
    apex += std::to_string(i);
    apex += ".test.";
    many.zones.push_back(zone(apex));
  }
  const auto got = slots.slots_for(many);
  BOOST_REQUIRE_EQUAL(got->size(), many.zones.size());
  for (std::size_t i = 0; i < net::ZoneSlots::shared_slot; ++i) BOOST_TEST((*got)[i] == i);
  for (std::size_t i = net::ZoneSlots::shared_slot; i < got->size(); ++i)
    BOOST_TEST((*got)[i] == net::ZoneSlots::shared_slot);
}
