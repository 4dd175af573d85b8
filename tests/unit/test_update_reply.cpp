#define BOOST_TEST_MODULE update_reply
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <vector>

#include "dns/update_reply.hpp"

using vrdns::dns::make_update_reply;

namespace {

// An UPDATE header (ID 0xBEEF, opcode 5, ZOCOUNT 1, one update RR counted) + zone
// "example.test. SOA IN"; the update section itself is irrelevant to the reply.
std::vector<uint8_t> update_message() {
  // One literal: GCC 12 at -O3 warns (-Warray-bounds, a false positive) on vector::insert of
  // a small array here.
  return {0xBE, 0xEF, 0x28, 0x00, 0, 1, 0, 0, 0, 1, 0, 0,                        // header
          7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 4, 't', 'e', 's', 't', 0, 0, 6, 0, 1,  // zone
          0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 192, 0, 2, 1};               // update RR
}

}  // namespace

BOOST_AUTO_TEST_CASE(header_and_zone_echoed) {
  auto m = update_message();
  auto r = make_update_reply(m.data(), m.size(), 5);
  BOOST_REQUIRE(r.size() == 12u + 18u);
  BOOST_TEST(r[0] == 0xBE);
  BOOST_TEST(r[1] == 0xEF);
  BOOST_TEST(r[2] == 0xA8);   // QR, opcode UPDATE
  BOOST_TEST(r[3] == 5);      // REFUSED
  BOOST_TEST(r[5] == 1);      // ZOCOUNT
  BOOST_TEST(r[7] == 0);
  BOOST_TEST(r[9] == 0);      // the update section is not echoed
  BOOST_TEST(std::vector<uint8_t>(r.begin() + 12, r.end()) ==
             std::vector<uint8_t>(m.begin() + 12, m.begin() + 30));
}

BOOST_AUTO_TEST_CASE(rcode_is_four_bits) {
  auto m = update_message();
  BOOST_TEST(make_update_reply(m.data(), m.size(), 9)[3] == 9);      // NOTAUTH
  BOOST_TEST(make_update_reply(m.data(), m.size(), 0x0A)[3] == 0x0A); // NOTZONE
}

BOOST_AUTO_TEST_CASE(unreadable_zone_is_not_echoed) {
  auto m = update_message();
  // Truncated inside the zone entry's type/class.
  auto r = make_update_reply(m.data(), 12 + 16, 1);
  BOOST_TEST(r.size() == 12u);
  BOOST_TEST(r[5] == 0);
  // A compressed zone name (pointer) would point into the request: not echoed.
  std::vector<uint8_t> c(m.begin(), m.begin() + 18);
  c[12] = 0xC0;   // zone name = pointer to offset 12, then type SOA, class IN
  c[13] = 0x0C;
  c[14] = 0;
  c[15] = 6;
  c[16] = 0;
  c[17] = 1;
  r = make_update_reply(c.data(), c.size(), 1);
  BOOST_TEST(r.size() == 12u);
  // ZOCOUNT 0: header only, ID kept.
  m[5] = 0;
  r = make_update_reply(m.data(), m.size(), 1);
  BOOST_TEST(r.size() == 12u);
  BOOST_TEST(r[0] == 0xBE);
}

BOOST_AUTO_TEST_CASE(short_input_never_read_past) {
  auto m = update_message();
  for (std::size_t len = 0; len < 12; ++len) {
    auto r = make_update_reply(m.data(), len, 2);
    BOOST_TEST(r.size() == 12u);
    BOOST_TEST(r[0] == 0);   // no ID to copy
    BOOST_TEST(r[3] == 2);
  }
  BOOST_TEST(make_update_reply(nullptr, 0, 2).size() == 12u);
}

// RFC 6891 §7: the OPT the front end prepared goes into the additional section, with the
// upper bits of the rcode in its EXTENDED-RCODE.
BOOST_AUTO_TEST_CASE(the_opt_is_appended_with_the_extended_rcode) {
  auto m = update_message();
  // OPT: root, type 41, UDP size 1232, TTL (ext rcode 0, version 0, DO), one 4-byte option.
  const std::vector<uint8_t> opt = {0, 0, 41, 0x04, 0xD0, 0, 0, 0x80, 0, 0, 8,
                                    0, 10, 0, 4, 1, 2, 3, 4};
  auto r = make_update_reply(m.data(), m.size(), 5, opt.data(), opt.size());
  BOOST_REQUIRE(r.size() == 12u + 18u + opt.size());
  BOOST_TEST(r[3] == 5);
  BOOST_TEST(r[11] == 1);   // ARCOUNT
  BOOST_TEST(std::vector<uint8_t>(r.begin() + 30, r.end()) == opt);

  // BADVERS (16): header rcode 0, EXTENDED-RCODE 1; the rest of the OPT as it was.
  r = make_update_reply(m.data(), m.size(), 16, opt.data(), opt.size());
  BOOST_REQUIRE(r.size() == 12u + 18u + opt.size());
  BOOST_TEST(r[3] == 0);
  BOOST_TEST(r[30 + 5] == 1);
  BOOST_TEST(r[30 + 7] == 0x80);   // DO kept
  // An extended rcode without an OPT cannot be said: FORMERR, never its low bits (NOERROR).
  r = make_update_reply(m.data(), m.size(), 16);
  BOOST_TEST(r[3] == 1);
  BOOST_TEST(r[11] == 0);
  // Without a request header (no zone echoed) the OPT still comes.
  r = make_update_reply(nullptr, 0, 1, opt.data(), opt.size());
  BOOST_TEST(r.size() == 12u + opt.size());
  BOOST_TEST(r[11] == 1);
}

BOOST_AUTO_TEST_CASE(a_broken_opt_is_left_out) {
  auto m = update_message();
  std::vector<uint8_t> opt = {0, 0, 41, 0x04, 0xD0, 0, 0, 0, 0, 0, 0};
  BOOST_TEST(make_update_reply(m.data(), m.size(), 5, opt.data(), opt.size()).size() == 41u);
  for (auto broken : {std::vector<uint8_t>(opt.begin(), opt.end() - 1),   // too short
                      std::vector<uint8_t>{1, 0, 41, 4, 0xD0, 0, 0, 0, 0, 0, 0},   // owner
                      std::vector<uint8_t>{0, 0, 42, 4, 0xD0, 0, 0, 0, 0, 0, 0},   // type
                      std::vector<uint8_t>{0, 0, 41, 4, 0xD0, 0, 0, 0, 0, 0, 2}}) {   // RDLENGTH
    auto r = make_update_reply(m.data(), m.size(), 5, broken.data(), broken.size());
    BOOST_TEST(r.size() == 30u);
    BOOST_TEST(r[11] == 0);
  }
}

// For a client whose size the full answer would exceed: no zone section, and of the OPT's
// options only the COOKIE (RFC 7873 wants it in every answer), with a RDLENGTH to match.
BOOST_AUTO_TEST_CASE(a_minimal_reply_keeps_the_header_and_the_cookie) {
  auto m = update_message();
  // OPT: UDP size 1232, DO; NSID "abc", COOKIE (8 + 16 bytes), an unknown option 65001.
  std::vector<uint8_t> opt = {0, 0, 41, 0x04, 0xD0, 0, 0, 0x80, 0, 0, 0};
  const std::vector<uint8_t> nsid = {0, 3, 0, 3, 'a', 'b', 'c'};
  std::vector<uint8_t> cookie = {0, 10, 0, 24};
  for (uint8_t i = 0; i < 24; ++i) cookie.push_back(i);
  const std::vector<uint8_t> other = {0xFD, 0xE9, 0, 1, 7};
  opt.insert(opt.end(), nsid.begin(), nsid.end());
  opt.insert(opt.end(), cookie.begin(), cookie.end());
  opt.insert(opt.end(), other.begin(), other.end());
  opt[10] = uint8_t(opt.size() - 11);

  auto r = make_update_reply(m.data(), m.size(), 0, opt.data(), opt.size(), true);
  BOOST_REQUIRE(r.size() == 12u + 11u + cookie.size());
  BOOST_TEST(r[0] == 0xBE);
  BOOST_TEST(r[5] == 0);    // ZOCOUNT: no zone section
  BOOST_TEST(r[11] == 1);   // the OPT
  BOOST_TEST(std::vector<uint8_t>(r.begin() + 12, r.begin() + 12 + 9) ==
             std::vector<uint8_t>(opt.begin(), opt.begin() + 9));   // size, DO as they were
  BOOST_TEST(r[12 + 10] == cookie.size());   // RDLENGTH
  BOOST_TEST(std::vector<uint8_t>(r.begin() + 23, r.end()) == cookie);
  // BADVERS still says its upper bits in the minimal OPT.
  r = make_update_reply(m.data(), m.size(), 16, opt.data(), opt.size(), true);
  BOOST_TEST(r[12 + 5] == 1);
  // An OPT whose option overruns its RDATA (it passed the RDLENGTH check, its option's own
  // length lies): nothing is read past it.
  std::vector<uint8_t> lying = {0, 0, 41, 0x04, 0xD0, 0, 0, 0, 0, 0, 4, 0, 10, 0, 200};
  r = make_update_reply(m.data(), m.size(), 0, lying.data(), lying.size(), true);
  BOOST_TEST(r.size() == 12u + 11u);
  BOOST_TEST(r[12 + 10] == 0);
  // Without an OPT: the header alone.
  BOOST_TEST(make_update_reply(m.data(), m.size(), 0, nullptr, 0, true).size() == 12u);
}
