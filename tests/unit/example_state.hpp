// Test helper: the serving state of the shipped example zone (configs/example.test.zone), the
// zone that exercises every answering rule, as the responder tests query it.
#pragma once

#include <memory>

#include "dns/responder.hpp"
#include "dns/zone.hpp"

namespace vrdns::test {

inline const dns::ServingState& example_state() {
  static const dns::ServingState s = [] {
    dns::ServingState st;
    auto zones = std::make_shared<dns::ZoneSet>();
    zones->zones.push_back(
        dns::load_zone_file(VRDNS_SOURCE_DIR "/configs/example.test.zone", "example.test."));
    st.zones = zones;
    st.identity = "node-1";
    st.version = "vrdns test";
    st.status = "replica=0 view=3 status=normal";
    st.options.edns_udp_max = 1232;
    return st;
  }();
  return s;
}

}  // namespace vrdns::test
