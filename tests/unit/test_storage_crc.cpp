#define BOOST_TEST_MODULE test_storage_crc
#include <boost/test/unit_test.hpp>

#include "common/crc32c.hpp"

#include <array>
#include <cstdint>
#include <string>

using vrdns::crc32c;
using vrdns::crc32c_extend;

namespace {

std::string bytes(std::initializer_list<int> v) {
  std::string s;
  for (int b : v)
    s.push_back(static_cast<char>(b));
  return s;
}

} // namespace

// RFC 3720 Appendix B.4 lists the CRC as the bytes sent on the wire (little-endian), e.g.
// "aa 36 91 8a" for 32 zero bytes, which is the value 0x8A9136AA.
BOOST_AUTO_TEST_CASE(rfc3720_b4_vectors) {
  BOOST_CHECK_EQUAL(crc32c(std::string(32, '\0')), 0x8A9136AAu);
  BOOST_CHECK_EQUAL(crc32c(std::string(32, '\xFF')), 0x62A8AB43u);
  std::string ascending, descending;
  for (int i = 0; i < 32; ++i) {
    ascending.push_back(static_cast<char>(i));
    descending.push_back(static_cast<char>(31 - i));
  }
  BOOST_CHECK_EQUAL(crc32c(ascending), 0x46DD794Eu);
  BOOST_CHECK_EQUAL(crc32c(descending), 0x113FDB5Cu);
  // An iSCSI read command PDU.
  const std::string pdu = bytes({0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                 0x00, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00,
                                 0x04, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28,
                                 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
                                 0x00, 0x00, 0x00, 0x00});
  BOOST_REQUIRE_EQUAL(pdu.size(), 48u);
  BOOST_CHECK_EQUAL(crc32c(pdu), 0xD9963A56u);
}

BOOST_AUTO_TEST_CASE(check_value_and_empty_input) {
  BOOST_CHECK_EQUAL(crc32c(std::string("123456789")), 0xE3069283u); // the catalogue check value
  BOOST_CHECK_EQUAL(crc32c(std::string()), 0u);
}

// The 8-byte fast path and the byte tail must agree with each other at every split point and
// every alignment: compare against a bit-at-a-time reference.
BOOST_AUTO_TEST_CASE(matches_bitwise_reference_at_every_length_and_split) {
  const auto reference = [](const std::string& s) {
    std::uint32_t crc = 0xFFFFFFFFu;
    for (unsigned char c : s) {
      crc ^= c;
      for (int k = 0; k < 8; ++k)
        crc = (crc & 1u) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
    }
    return ~crc;
  };
  std::string data;
  std::uint32_t x = 12345;
  for (int i = 0; i < 100; ++i) {
    x = x * 1103515245u + 12345u;
    data.push_back(static_cast<char>(x >> 16));
  }
  for (std::size_t len = 0; len <= data.size(); ++len) {
    const std::string s = data.substr(0, len);
    BOOST_TEST_CONTEXT("length " << len) {
      BOOST_CHECK_EQUAL(crc32c(s), reference(s));
      for (std::size_t split : {std::size_t{0}, len / 3, len / 2, len}) {
        const std::uint32_t first = crc32c(s.data(), split);
        BOOST_CHECK_EQUAL(crc32c_extend(first, s.data() + split, len - split), crc32c(s));
      }
    }
  }
}
