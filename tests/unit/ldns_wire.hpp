// Test helper: a DNS message built with ldns, as wire bytes.
#pragma once

#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <cstdlib>
#include <vector>

// After every C++ header: ldns/common.h #defines `bool`/`false` unless <stdbool.h> came first
// (docs/pitfalls.md).
#include <stdbool.h>
#include <ldns/ldns.h>

/// The wire form of `p`, which it frees.
inline std::vector<uint8_t> wire_of(ldns_pkt* p) {
  uint8_t* wire = nullptr;
  size_t len = 0;
  BOOST_REQUIRE(ldns_pkt2wire(&wire, p, &len) == LDNS_STATUS_OK);
  std::vector<uint8_t> out(wire, wire + len);
  std::free(wire);
  ldns_pkt_free(p);
  return out;
}
