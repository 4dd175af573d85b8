// WireWriter (message writing, name compression) and parse_query (reading untrusted
// queries), each checked byte by byte.
#define BOOST_TEST_MODULE test_wire
#include <algorithm>
#include <boost/test/unit_test.hpp>

#include <cstring>
#include <string>
#include <vector>

#include "dns/name.hpp"
#include "dns/query_parser.hpp"
#include "dns/record.hpp"
#include "dns/wire_writer.hpp"

using namespace vrdns::dns;

namespace {

std::string wire(const char* text) {
  auto n = name_from_text(text);
  BOOST_REQUIRE(n.has_value());
  return *n;
}

std::vector<uint8_t> bytes(const WireWriter& w) { return {w.data(), w.data() + w.size()}; }

// A query: header (given counts), then `body` verbatim.
std::vector<uint8_t> query(uint16_t qd, uint16_t an, uint16_t ns, uint16_t ar,
                           const std::string& body, uint8_t flags2 = 0x01) {
  const uint8_t header[] = {0xAB, 0xCD, flags2, 0x10,
                            uint8_t(qd >> 8), uint8_t(qd), uint8_t(an >> 8), uint8_t(an),
                            uint8_t(ns >> 8), uint8_t(ns), uint8_t(ar >> 8), uint8_t(ar)};
  // Sized once and filled: vector::insert here trips a GCC 12 -Warray-bounds false positive.
  std::vector<uint8_t> m(sizeof header + body.size());
  std::copy(header, header + sizeof header, m.begin());
  std::copy(body.begin(), body.end(), m.begin() + sizeof header);
  return m;
}

std::string question(const std::string& name, uint16_t type, uint16_t cls) {
  std::string s = name;
  s += char(type >> 8);
  s += char(type);
  s += char(cls >> 8);
  s += char(cls);
  return s;
}

// OPT RR: root owner, type 41, class = udp size, TTL = ext-rcode/version/flags, RDATA.
std::string opt(uint16_t udp, uint8_t version, bool dnssec_ok, const std::string& rdata = {}) {
  std::string s;
  s += '\0';
  s += char(0);
  s += char(41);
  s += char(udp >> 8);
  s += char(udp);
  s += char(0);
  s += char(version);
  s += char(dnssec_ok ? 0x80 : 0);
  s += char(0);
  s += char(rdata.size() >> 8);
  s += char(rdata.size());
  return s + rdata;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(writer)

BOOST_AUTO_TEST_CASE(integers_are_big_endian) {
  uint8_t buf[16];
  WireWriter w(buf, sizeof buf);
  w.put_u8(1);
  w.put_u16(0x0203);
  w.put_u32(0x04050607);
  BOOST_REQUIRE(w.ok());
  BOOST_TEST(bytes(w) == (std::vector<uint8_t>{1, 2, 3, 4, 5, 6, 7}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(repeated_name_becomes_pointer) {
  uint8_t buf[128];
  WireWriter w(buf, sizeof buf);
  w.put_bytes(std::string(12, '\0'));   // a header, so the name starts at offset 12
  const std::string www = wire("www.example.test.");
  w.put_name(www, true);
  const std::size_t second = w.size();
  w.put_name(www, true);
  BOOST_REQUIRE(w.ok());
  BOOST_TEST(second == 12 + www.size());
  BOOST_TEST(w.size() == second + 2);
  BOOST_TEST(buf[second] == 0xC0);
  BOOST_TEST(buf[second + 1] == 12);
}

BOOST_AUTO_TEST_CASE(suffix_match_is_case_insensitive) {
  uint8_t buf[128];
  WireWriter w(buf, sizeof buf);
  w.put_bytes(std::string(12, '\0'));
  w.put_name(wire("WWW.Example.TEST."), true);   // labels at 12 (www), 16 (example), 24 (test)
  const std::size_t at = w.size();
  w.put_name(wire("mail.example.test."), true);
  BOOST_REQUIRE(w.ok());
  // "mail" written out, then a pointer to "Example.TEST." at offset 16.
  BOOST_TEST(w.size() == at + 5 + 2);
  BOOST_TEST(buf[at] == 4);
  BOOST_TEST(std::memcmp(buf + at + 1, "mail", 4) == 0);
  BOOST_TEST(buf[at + 5] == 0xC0);
  BOOST_TEST(buf[at + 6] == 16);
  // A name matching through a pointer chain: "x.mail.example.test." -> pointer to "mail...".
  const std::size_t at2 = w.size();
  w.put_name(wire("x.MAIL.example.test."), true);
  BOOST_TEST(w.size() == at2 + 2 + 2);
  BOOST_TEST(buf[at2 + 3] == at);
}

BOOST_AUTO_TEST_CASE(uncompressed_names_are_neither_compressed_nor_targets) {
  uint8_t buf[128];
  WireWriter w(buf, sizeof buf);
  w.put_bytes(std::string(12, '\0'));
  const std::string n = wire("sip.example.test.");
  w.put_name(n, false);
  w.put_name(n, false);
  BOOST_TEST(w.size() == 12 + 2 * n.size());
  w.put_name(n, true);   // nothing registered: written out in full
  BOOST_TEST(w.size() == 12 + 3 * n.size());
  w.put_name(n, true);   // now it is a target
  BOOST_TEST(w.size() == 12 + 3 * n.size() + 2);
}

BOOST_AUTO_TEST_CASE(root_name_is_one_byte) {
  uint8_t buf[32];
  WireWriter w(buf, sizeof buf);
  w.put_name(std::string(1, '\0'), true);
  w.put_name(std::string(1, '\0'), true);
  BOOST_TEST(w.size() == 2u);
}

BOOST_AUTO_TEST_CASE(overflow_is_sticky_and_rollback_clears_it) {
  uint8_t buf[64];
  std::memset(buf, 0xEE, sizeof buf);
  WireWriter w(buf, sizeof buf);
  w.set_limit(6);
  w.put_u32(1);
  const std::size_t mark = w.size();
  w.put_u32(2);   // does not fit
  BOOST_TEST(!w.ok());
  w.put_u8(3);    // would fit, but overflow is sticky
  BOOST_TEST(!w.ok());
  BOOST_TEST(w.size() == 4u);
  BOOST_TEST(buf[4] == 0xEE);   // nothing written past the limit
  w.rollback(mark);
  BOOST_TEST(w.ok());
  w.put_u16(5);
  BOOST_TEST(w.ok());
  BOOST_TEST(w.size() == 6u);
}

BOOST_AUTO_TEST_CASE(limit_never_exceeds_capacity) {
  uint8_t buf[8];
  WireWriter w(buf, sizeof buf);
  w.set_limit(1000);
  BOOST_TEST(w.limit() == 8u);
  w.put_bytes(std::string(9, 'x'));
  BOOST_TEST(!w.ok());
  BOOST_TEST(w.size() == 0u);
}

BOOST_AUTO_TEST_CASE(rollback_forgets_compression_targets) {
  uint8_t buf[128];
  WireWriter w(buf, sizeof buf);
  w.put_bytes(std::string(12, '\0'));
  const std::size_t mark = w.size();
  const std::string n = wire("a.example.test.");
  w.put_name(n, true);
  w.rollback(mark);
  BOOST_TEST(w.size() == mark);
  // Same shape at the same offsets, written without registering targets: a writer that
  // kept the discarded targets would now point "a" + pointer at "example.test." here.
  w.put_bytes(wire("b.example.test."));
  const std::size_t at = w.size();
  w.put_name(n, true);
  BOOST_TEST(w.size() == at + n.size());   // no pointer into the discarded bytes
}

BOOST_AUTO_TEST_CASE(no_pointers_beyond_14_bits) {
  std::vector<uint8_t> buf(20000);
  WireWriter w(buf.data(), buf.size());
  w.put_bytes(std::string(0x4000, '\0'));
  const std::string n = wire("far.example.test.");
  w.put_name(n, true);   // starts beyond 0x3FFF: cannot be a target
  const std::size_t at = w.size();
  w.put_name(n, true);
  BOOST_TEST(w.size() == at + n.size());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(parser)

BOOST_AUTO_TEST_CASE(header_and_question) {
  const auto m = query(1, 0, 0, 0, question(wire("WWW.example.test."), rrtype::AAAA, rrclass::IN),
                       0x01 | (opcode::QUERY << 3));
  ParsedQuery q;
  BOOST_REQUIRE(parse_query(m.data(), m.size(), q));
  BOOST_TEST(q.id == 0xABCD);
  BOOST_TEST(q.opcode == opcode::QUERY);
  BOOST_TEST(q.rd);
  BOOST_TEST(q.cd);
  BOOST_TEST(q.question_ok);
  BOOST_TEST(q.body_ok);
  BOOST_TEST(!q.edns);
  BOOST_TEST(q.qtype == rrtype::AAAA);
  BOOST_TEST(q.qclass == rrclass::IN);
  BOOST_TEST(q.qname_len == wire("www.example.test.").size());
  BOOST_TEST(q.qname[1] == 'W');   // case as received
  BOOST_TEST(q.question_end == m.size());
}

BOOST_AUTO_TEST_CASE(short_or_response_is_dropped) {
  const auto m = query(1, 0, 0, 0, question(wire("a.test."), 1, 1));
  ParsedQuery q;
  for (std::size_t n = 0; n < header_size; ++n) BOOST_TEST(!parse_query(m.data(), n, q));
  const auto r = query(1, 0, 0, 0, question(wire("a.test."), 1, 1), 0x81);
  BOOST_TEST(!parse_query(r.data(), r.size(), q));
}

BOOST_AUTO_TEST_CASE(edns_fields) {
  const auto m = query(1, 0, 0, 1, question(wire("a.test."), 1, 1) + opt(4096, 0, true));
  ParsedQuery q;
  BOOST_REQUIRE(parse_query(m.data(), m.size(), q));
  BOOST_TEST(q.body_ok);
  BOOST_TEST(q.edns);
  BOOST_TEST(q.edns_udp_size == 4096);
  BOOST_TEST(q.edns_version == 0);
  BOOST_TEST(q.edns_do);
  // An option (cookie, code 10, 8 bytes) is skipped without error.
  const std::string cookie = std::string("\0\x0a\0\x08", 4) + "12345678";
  const auto c = query(1, 0, 0, 1, question(wire("a.test."), 1, 1) + opt(1232, 1, false, cookie));
  BOOST_REQUIRE(parse_query(c.data(), c.size(), q));
  BOOST_TEST(q.body_ok);
  BOOST_TEST(q.edns_version == 1);
  BOOST_TEST(!q.edns_do);
}

BOOST_AUTO_TEST_CASE(malformed_opt) {
  ParsedQuery q;
  const std::string qs = question(wire("a.test."), 1, 1);
  // Two OPTs.
  auto m = query(1, 0, 0, 2, qs + opt(1232, 0, false) + opt(1232, 0, false));
  BOOST_REQUIRE(parse_query(m.data(), m.size(), q));
  BOOST_TEST(!q.body_ok);
  BOOST_TEST(!q.edns);
  // Option length running past RDATA.
  m = query(1, 0, 0, 1, qs + opt(1232, 0, false, std::string("\0\x0a\0\x09", 4) + "12345678"));
  BOOST_REQUIRE(parse_query(m.data(), m.size(), q));
  BOOST_TEST(!q.body_ok);
  // Truncated OPT (every cut of a valid one).
  const auto full = query(1, 0, 0, 1, qs + opt(1232, 0, false));
  for (std::size_t n = 12 + qs.size(); n < full.size(); ++n) {
    BOOST_REQUIRE(parse_query(full.data(), n, q));
    BOOST_TEST(q.question_ok);
    BOOST_TEST(!q.body_ok);
  }
  // OPT with a non-root owner.
  std::string bad = opt(1232, 0, false);
  bad = wire("x.") + bad.substr(1);
  m = query(1, 0, 0, 1, qs + bad);
  BOOST_REQUIRE(parse_query(m.data(), m.size(), q));
  BOOST_TEST(!q.body_ok);
}

BOOST_AUTO_TEST_CASE(malformed_question) {
  ParsedQuery q;
  // Label of 64 bytes.
  std::string longlabel = std::string(1, char(64)) + std::string(64, 'a') + std::string(1, '\0');
  auto m = query(1, 0, 0, 0, question(longlabel, 1, 1));
  BOOST_REQUIRE(parse_query(m.data(), m.size(), q));
  BOOST_TEST(!q.question_ok);
  // A compression pointer to itself (a loop), and one to the header.
  m = query(1, 0, 0, 0, question(std::string("\xC0\x0C", 2), 1, 1));
  BOOST_REQUIRE(parse_query(m.data(), m.size(), q));
  BOOST_TEST(!q.question_ok);
  m = query(1, 0, 0, 0, question(std::string("\x01x\xC0\x00", 4), 1, 1));
  BOOST_REQUIRE(parse_query(m.data(), m.size(), q));
  BOOST_TEST(!q.question_ok);
  // Name longer than 255 bytes (5 labels of 63).
  std::string huge;
  for (int i = 0; i < 5; ++i) huge += std::string(1, char(63)) + std::string(63, 'b');
  m = query(1, 0, 0, 0, question(huge + std::string(1, '\0'), 1, 1));
  BOOST_REQUIRE(parse_query(m.data(), m.size(), q));
  BOOST_TEST(!q.question_ok);
  // Truncated type/class.
  const auto full = query(1, 0, 0, 0, question(wire("a.test."), 1, 1));
  for (std::size_t n = 12; n < full.size(); ++n) {
    BOOST_REQUIRE(parse_query(full.data(), n, q));
    BOOST_TEST(!q.question_ok);
  }
  // Trailing garbage: the question is fine, the message is not.
  m = query(1, 0, 0, 0, question(wire("a.test."), 1, 1) + "junk");
  BOOST_REQUIRE(parse_query(m.data(), m.size(), q));
  BOOST_TEST(q.question_ok);
  BOOST_TEST(!q.body_ok);
}

BOOST_AUTO_TEST_CASE(answer_and_authority_rrs_are_skipped) {
  ParsedQuery q;
  // An IXFR-style query: SOA in authority with a compressed owner.
  std::string soa_rr = std::string("\xC0\x0C\x00\x06\x00\x01\x00\x00\x00\x00\x00\x02", 12) + "xy";
  auto m = query(1, 0, 1, 1, question(wire("a.test."), rrtype::IXFR, 1) + soa_rr + opt(512, 0, false));
  BOOST_REQUIRE(parse_query(m.data(), m.size(), q));
  BOOST_TEST(q.body_ok);
  BOOST_TEST(q.edns);
  BOOST_TEST(q.nscount == 1);
  // RDLENGTH pointing past the end.
  soa_rr[11] = 50;
  m = query(1, 0, 1, 0, question(wire("a.test."), rrtype::IXFR, 1) + soa_rr);
  BOOST_REQUIRE(parse_query(m.data(), m.size(), q));
  BOOST_TEST(!q.body_ok);
}

BOOST_AUTO_TEST_CASE(qdcount_zero_has_no_question) {
  ParsedQuery q;
  const auto m = query(0, 0, 0, 0, "");
  BOOST_REQUIRE(parse_query(m.data(), m.size(), q));
  BOOST_TEST(!q.question_ok);
  BOOST_TEST(q.qdcount == 0);
}

BOOST_AUTO_TEST_SUITE_END()
