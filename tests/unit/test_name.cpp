// Names (dns/name.hpp) and records (dns/record.hpp): parsing, printing, folding, hashing,
// validation of untrusted wire bytes, canonical RDATA and the ldns round trip.
#define BOOST_TEST_MODULE test_name
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <set>
#include <string>

#include "dns/name.hpp"
#include "dns/record.hpp"

#include <ldns/ldns.h>   // last: ldns #defines bool/true/false

using namespace vrdns::dns;

namespace {

std::string wire(std::string_view text) {
  auto n = name_from_text(text);
  BOOST_REQUIRE_MESSAGE(n.has_value(), "cannot parse " << text);
  return *n;
}

std::size_t wire_len(std::string_view bytes) {
  return name_wire_length(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

}  // namespace

BOOST_AUTO_TEST_CASE(parse_and_print) {
  BOOST_CHECK(wire("www.Example.test.") == std::string("\3www\7Example\4test\0", 18));
  BOOST_CHECK(wire(".") == std::string(1, '\0'));
  BOOST_CHECK_EQUAL(name_to_text(wire("www.Example.test.")), "www.Example.test.");
  BOOST_CHECK_EQUAL(name_to_text(std::string(1, '\0')), ".");

  // Relative names take the origin (wire form); "@" is the origin itself.
  const std::string origin = wire("example.test.");
  BOOST_CHECK(*name_from_text("www", origin) == wire("www.example.test."));
  BOOST_CHECK(*name_from_text("@", origin) == origin);
  BOOST_CHECK(*name_from_text("a.b.", origin) == wire("a.b."));

  // Escapes: \. inside a label, \DDD for any byte, and printing escapes them back.
  const std::string esc = wire("a\\.b.c\\032d\\255.test.");
  BOOST_CHECK(esc == std::string("\3a.b\4c d\xff\4test\0", 15));
  BOOST_CHECK_EQUAL(name_to_text(esc), "a\\.b.c\\032d\\255.test.");
  BOOST_CHECK(name_from_text(name_to_text(esc)) == esc);
  BOOST_CHECK_EQUAL(name_to_text(wire("\\@\\$\\;x.")), "\\@\\$\\;x.");

  // Invalid presentation forms.
  BOOST_CHECK(!name_from_text(""));
  BOOST_CHECK(!name_from_text("a..b."));
  BOOST_CHECK(!name_from_text(".a."));
  BOOST_CHECK(!name_from_text("a\\256."));   // \DDD > 255
  BOOST_CHECK(!name_from_text("a\\12"));     // truncated \DDD
  BOOST_CHECK(!name_from_text("a\\"));       // dangling backslash
  BOOST_CHECK(!name_from_text(std::string(64, 'x') + "."));   // label > 63
  BOOST_CHECK(name_from_text(std::string(63, 'x') + "."));
  // 4 labels of 63 = 4*64 + 1 = 257 bytes > 255.
  const std::string l63(63, 'x');
  BOOST_CHECK(!name_from_text(l63 + "." + l63 + "." + l63 + "." + l63 + "."));
  // 3*64 + 62 + 1 = 255 bytes exactly is allowed.
  BOOST_CHECK(name_from_text(l63 + "." + l63 + "." + l63 + "." + std::string(61, 'x') + "."));
}

BOOST_AUTO_TEST_CASE(fold_hash_equal) {
  const std::string a = wire("WWW.Example.TEST."), b = wire("www.example.test.");
  BOOST_CHECK(name_key(a) == b);
  BOOST_CHECK(name_equal(a, b));
  BOOST_CHECK(!name_equal(a, wire("www.example.tesu.")));
  BOOST_CHECK_EQUAL(name_hash(name_key(a)), name_hash(b));
  BOOST_CHECK_NE(name_hash(b), name_hash(wire("www.example.tesu.")));
  // Folding only touches ASCII letters.
  const std::string odd = wire("\\192\\091Z.");
  BOOST_CHECK(name_key(odd) == std::string("\3\xc0[z\0", 5));

  // Hashes of many distinct names are distinct (a weak but failing-capable quality check).
  std::set<uint64_t> seen;
  for (int i = 0; i < 10000; ++i)
    seen.insert(name_hash(wire(std::string(1, 'h') += std::to_string(i) + ".test.")));
  BOOST_CHECK_EQUAL(seen.size(), 10000u);
}

BOOST_AUTO_TEST_CASE(structure) {
  BOOST_CHECK_EQUAL(name_label_count(wire("www.example.")), 2u);
  BOOST_CHECK_EQUAL(name_label_count(wire(".")), 0u);
  BOOST_CHECK(name_parent(wire("www.example.")) == wire("example."));
  BOOST_CHECK(name_parent(wire(".")) == wire("."));
  BOOST_CHECK(name_is_wildcard(wire("*.example.")));
  BOOST_CHECK(!name_is_wildcard(wire("\\*x.example.")));

  BOOST_CHECK(name_is_at_or_below(wire("www.example."), wire("example.")));
  BOOST_CHECK(name_is_at_or_below(wire("example."), wire("example.")));
  BOOST_CHECK(name_is_at_or_below(wire("A.EXAMPLE."), wire("example.")));
  BOOST_CHECK(name_is_at_or_below(wire("example."), wire(".")));
  BOOST_CHECK(!name_is_at_or_below(wire("xexample."), wire("example.")));   // label-aligned
  BOOST_CHECK(!name_is_at_or_below(wire("example."), wire("www.example.")));
  BOOST_CHECK(!name_is_at_or_below(wire("example.org."), wire("example.")));
  BOOST_CHECK(!name_is_at_or_below(wire("."), wire("example.")));
}

BOOST_AUTO_TEST_CASE(wire_validation) {
  BOOST_CHECK_EQUAL(wire_len(std::string("\3www\0", 5)), 5u);
  BOOST_CHECK_EQUAL(wire_len(std::string("\0", 1)), 1u);
  // Trailing bytes after the root label are not part of the name.
  BOOST_CHECK_EQUAL(wire_len(std::string("\1a\0\xff\xff", 5)), 3u);
  BOOST_CHECK_EQUAL(wire_len(""), 0u);                                  // nothing at all
  BOOST_CHECK_EQUAL(wire_len(std::string("\3ww", 3)), 0u);              // truncated label
  BOOST_CHECK_EQUAL(wire_len(std::string("\3www", 4)), 0u);             // no root label
  BOOST_CHECK_EQUAL(wire_len(std::string("\xc0\x0c", 2)), 0u);          // compression pointer
  BOOST_CHECK_EQUAL(wire_len(std::string("\1a\xc0\x0c", 4)), 0u);       // pointer after a label
  BOOST_CHECK_EQUAL(wire_len(std::string("\x41", 1) + std::string(65, 'a') + '\0'), 0u);
  std::string label64(1, char(64));
  label64 += std::string(64, 'a') + '\0';
  BOOST_CHECK_EQUAL(wire_len(label64), 0u);                             // label > 63
  // 255 bytes is the maximum, 256 is rejected.
  std::string n255, n257;
  for (int i = 0; i < 3; ++i) n255 += char(63) + std::string(63, 'x');
  n257 = n255 + char(63) + std::string(63, 'x') + '\0';
  n255 += char(61) + std::string(61, 'x') + '\0';
  BOOST_CHECK_EQUAL(n255.size(), 255u);
  BOOST_CHECK_EQUAL(wire_len(n255), 255u);
  BOOST_CHECK_EQUAL(wire_len(n257), 0u);
  std::string n256 = n255;
  n256.insert(n256.size() - 1, "y");
  n256[3 * 64] = char(62);
  BOOST_CHECK_EQUAL(n256.size(), 256u);
  BOOST_CHECK_EQUAL(wire_len(n256), 0u);
}

BOOST_AUTO_TEST_CASE(rdata_canonical_equality) {
  const std::string mx1 = std::string("\0\x0a", 2) + wire("Mail.Example.");
  const std::string mx2 = std::string("\0\x0a", 2) + wire("mail.example.");
  BOOST_CHECK(rdata_equal(rrtype::MX, mx1, mx2));
  BOOST_CHECK(rdata_canonical(rrtype::MX, mx1) == mx2);
  BOOST_CHECK(!rdata_equal(rrtype::MX, mx1, std::string("\0\x0b", 2) + wire("mail.example.")));

  const std::string txt1 = "\5Hello", txt2 = "\5hello";
  BOOST_CHECK(!rdata_equal(rrtype::TXT, txt1, txt2));
  BOOST_CHECK(rdata_canonical(rrtype::TXT, txt1) == txt1);

  // SOA: both names fold, the 20 fixed bytes do not (0x41 = 'A' must survive).
  const std::string fixed(20, 'A');
  const std::string soa = wire("NS.X.") + wire("Host.X.") + fixed;
  BOOST_CHECK(rdata_canonical(rrtype::SOA, soa) == wire("ns.x.") + wire("host.x.") + fixed);

  // SRV: priority, weight, port, then the target.
  const std::string srv = std::string("\0\1\0\2\0\x35", 6) + wire("T.X.");
  BOOST_CHECK(rdata_canonical(rrtype::SRV, srv) == std::string("\0\1\0\2\0\x35", 6) + wire("t.x."));

  // NAPTR: only the replacement folds, not the character-strings.
  const std::string naptr = std::string("\0\1\0\2", 4) + "\1U" + "\2E2" + std::string(1, '\0') + wire("R.X.");
  BOOST_CHECK(rdata_canonical(rrtype::NAPTR, naptr) ==
              std::string("\0\1\0\2", 4) + "\1U" + "\2E2" + std::string(1, '\0') + wire("r.x."));

  // Malformed RDATA never crashes and is returned as is from the bad field on.
  const std::string bad = std::string("\0", 1) + "\x7f" "ABC";
  BOOST_CHECK(rdata_canonical(rrtype::MX, bad) == bad);
  BOOST_CHECK(rdata_canonical(rrtype::NS, "") == "");
  BOOST_CHECK(rdata_canonical(rrtype::RRSIG, "short") == "short");
}

BOOST_AUTO_TEST_CASE(ldns_round_trip) {
  const char* lines[] = {
      "www.Example.test. 300 IN A 192.0.2.1",
      "example.test. 3600 IN MX 10 Mail.example.test.",
      "example.test. 3600 IN TXT \"hello world\" \"second\"",
      "example.test. 3600 IN SOA ns1.example.test. host.example.test. 7 3600 900 86400 300",
      "_s._tcp.example.test. 60 IN SRV 1 2 53 t.example.test.",
      "example.test. 60 IN AAAA 2001:db8::1",
  };
  for (const char* line : lines) {
    ldns_rr* rr = nullptr;
    BOOST_REQUIRE_EQUAL(ldns_rr_new_frm_str(&rr, line, 0, nullptr, nullptr), LDNS_STATUS_OK);
    const Record rec = record_from_ldns(rr);
    // The RDATA we build is exactly what ldns itself puts on the wire.
    uint8_t* w = nullptr;
    std::size_t wl = 0;
    BOOST_REQUIRE_EQUAL(ldns_rr2wire(&w, rr, LDNS_SECTION_ANSWER, &wl), LDNS_STATUS_OK);
    BOOST_REQUIRE_GE(wl, rec.owner.size() + 10);
    BOOST_CHECK(std::string(reinterpret_cast<char*>(w) + rec.owner.size() + 10,
                            wl - rec.owner.size() - 10) == rec.rdata);
    std::free(w);

    ldns_rr* back = record_to_ldns(rec);
    BOOST_REQUIRE(back != nullptr);
    BOOST_CHECK_EQUAL(ldns_rr_compare(rr, back), 0);
    BOOST_CHECK(record_from_ldns(back) == rec);
    ldns_rr_free(back);
    ldns_rr_free(rr);
    BOOST_TEST_MESSAGE(record_to_text(rec));
  }
  Record a{wire("www.example.test."), rrtype::A, rrclass::IN, 300, std::string("\xc0\0\2\1", 4)};
  BOOST_CHECK_EQUAL(record_to_text(a), "www.example.test. 300 IN A 192.0.2.1");
  // RDATA ldns cannot parse for the type: no crash, nullptr, generic text.
  Record broken = a;
  broken.rdata = "xyz";
  BOOST_CHECK(record_to_ldns(broken) == nullptr);
  BOOST_CHECK_EQUAL(record_to_text(broken),
                    "www.example.test. 300 CLASS1 TYPE1 \\# 3 78797A");
}
