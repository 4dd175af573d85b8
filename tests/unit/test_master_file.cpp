// Canonical master files (dns/master_file.hpp): every record the store can hold has one
// line that ldns reads back to the very same record, the fast reader accepts exactly those
// lines, and a whole file round-trips (or, cut short or damaged, is rejected).
#define BOOST_TEST_MODULE test_master_file
#include <boost/test/unit_test.hpp>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "dns/master_file.hpp"
#include "dns/name.hpp"
#include "dns/zone.hpp"
#include "tests/unit/update_messages.hpp"

// After every C++ header: ldns/common.h #defines `bool`/`false` (docs/pitfalls.md).
#include <ldns/ldns.h>

using namespace vrdns::dns;
using namespace update_test;

namespace {

/// What ldns makes of `line` with no origin (as a zone-file reader would of an absolute
/// line); nullopt if it rejects it.
std::optional<Record> ldns_reads(const std::string& line) {
  ldns_rr* rr = nullptr;
  if (ldns_rr_new_frm_str(&rr, line.c_str(), 0, nullptr, nullptr) != LDNS_STATUS_OK) {
    if (rr) ldns_rr_free(rr);
    return std::nullopt;
  }
  Record r = record_from_ldns(rr);
  ldns_rr_free(rr);
  return r;
}

/// Random bytes biased towards the ones master files treat specially.
uint8_t odd_byte(std::mt19937& rng) {
  static constexpr char special[] = ". \t\\\"();@$*#\n\r\x7f";
  switch (rng() % 4) {
    case 0: return uint8_t(special[rng() % (sizeof special - 1)]);
    case 1: return uint8_t(rng());
    default: return uint8_t("abcXYZ019-_"[rng() % 11]);
  }
}

std::string random_name(std::mt19937& rng, const std::string& below = "\x07" "example\x04test") {
  std::string out;
  const int labels = int(rng() % 4);
  for (int i = 0; i < labels; ++i) {
    const std::size_t len = 1 + rng() % 8;
    out += char(len);
    for (std::size_t k = 0; k < len; ++k) out += char(odd_byte(rng));
  }
  return out + below + std::string(1, '\0');
}

void put16(std::string& s, uint32_t v) {
  s += char(v >> 8);
  s += char(v & 0xFF);
}
void put32(std::string& s, uint32_t v) {
  put16(s, v >> 16);
  put16(s, v & 0xFFFF);
}

/// A well-formed record of one of the types master_line writes itself.
Record random_native(std::mt19937& rng) {
  Record r;
  r.owner = random_name(rng);
  r.ttl = rng() % 3 == 0 ? uint32_t(rng()) : uint32_t(rng() % 100000);
  static constexpr uint16_t types[] = {rrtype::A,  rrtype::AAAA, rrtype::NS,  rrtype::CNAME,
                                       rrtype::PTR, rrtype::DNAME, rrtype::MX, rrtype::SRV,
                                       rrtype::SOA, rrtype::TXT};
  r.type = types[rng() % std::size(types)];
  switch (r.type) {
    case rrtype::A:
      for (int i = 0; i < 4; ++i) r.rdata += char(rng());
      break;
    case rrtype::AAAA:
      // Runs of zeros and IPv4-mapped forms exercise inet_ntop's compression.
      for (int i = 0; i < 16; ++i) r.rdata += rng() % 3 == 0 ? char(rng()) : '\0';
      if (rng() % 5 == 0) r.rdata.replace(0, 12, std::string(10, '\0') + "\xff\xff");
      break;
    case rrtype::MX: put16(r.rdata, rng()); r.rdata += random_name(rng, "\x01x"); break;
    case rrtype::SRV:
      for (int i = 0; i < 3; ++i) put16(r.rdata, rng());
      r.rdata += random_name(rng, "\x01y");
      break;
    case rrtype::SOA:
      r.rdata = random_name(rng, "\x01m") + random_name(rng, "\x01r");
      for (int i = 0; i < 5; ++i) put32(r.rdata, rng());
      break;
    case rrtype::TXT: {
      const int strings = 1 + int(rng() % 3);
      for (int i = 0; i < strings; ++i) {
        const std::size_t len = rng() % 4 == 0 ? 0 : rng() % 30;
        r.rdata += char(len);
        for (std::size_t k = 0; k < len; ++k) r.rdata += char(odd_byte(rng));
      }
      break;
    }
    default: r.rdata = random_name(rng, "\x01t"); break;   // NS CNAME PTR DNAME
  }
  return r;
}

const char* const tricky_zone =
    "$ORIGIN Example.TEST.\n"
    "$TTL 300\n"
    "@ IN SOA ns1 hostmaster 100 3600 900 604800 300\n"
    "@ IN NS ns1\n"
    "@ 0 IN NS ns2.other.\n"
    "ns1 IN A 192.0.2.1\n"
    "ns2 IN AAAA 2001:db8::1\n"
    "WWW IN A 192.0.2.10\n"
    "www IN A 192.0.2.11\n"
    "t IN TXT \"a\\\"b\\\\c\\009d\" \"\" \"semi;colon (paren)\"\n"
    "t IN TXT \"\\255\\000\"\n"
    "a\\032b\\.c IN A 192.0.2.12\n"
    "_srv._tcp IN SRV 1 2 53 ns1\n"
    "ds IN DS 12345 8 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE\n"
    "caa IN CAA 0 issue \"ca.example\"\n"
    "hinfo IN HINFO \"PC\" \"Linux\"\n"
    "nsec IN NSEC z.example.test. A NS RRSIG\n"
    "unk IN TYPE65000 \\# 3 ABCDEF\n"
    "unk IN TYPE65000 \\# 0\n"
    "max 4294967295 IN A 192.0.2.13\n"
    "*.wild IN MX 10 mail\n"
    "deep.ent IN PTR x.\n";

}  // namespace

BOOST_AUTO_TEST_CASE(lines_of_common_types) {
  BOOST_CHECK_EQUAL(master_line(rec("www.example.test. 300 IN A 192.0.2.1")),
                    "www.example.test. 300 IN A 192.0.2.1");
  BOOST_CHECK_EQUAL(master_line(rec("x. 0 IN AAAA 2001:DB8:0:0::1")), "x. 0 IN AAAA 2001:db8::1");
  BOOST_CHECK_EQUAL(master_line(rec("A.b. 5 IN MX 10 Mail.B.")), "A.b. 5 IN MX 10 Mail.B.");
  BOOST_CHECK_EQUAL(master_line(rec("x. 1 IN TXT \"a\\\"b\\\\c\\009\" \"\"")),
                    "x. 1 IN TXT \"a\\\"b\\\\c\\009\" \"\"");
  BOOST_CHECK_EQUAL(master_line(rec("x. 1 IN SOA a. b. 4294967295 1 2 3 4")),
                    "x. 1 IN SOA a. b. 4294967295 1 2 3 4");
  // Other types known to ldns: ldns' presentation (it reads it back unchanged).
  BOOST_CHECK_EQUAL(master_line(rec("x. 1 IN CAA 0 issue \"ca.example\"")),
                    "x. 1 IN CAA 0 issue \"ca.example\"");
  // WKS: ldns would name the ports from this machine's /etc/services; replicas must agree.
  // RDATA: address, protocol 6, bitmap with bit 25 (byte 3, 0x40) and bit 80 (byte 10, 0x80).
  BOOST_CHECK_EQUAL(master_line(rec("x. 1 IN WKS 192.0.2.1 6 25 80")),
                    "x. 1 IN TYPE11 \\# 16 C0000201" "06" "00000040" "00000000" "000080");
  // Unknown types: RFC 3597.
  BOOST_CHECK_EQUAL(master_line(rec("x. 1 IN TYPE65000 \\# 3 abcdef")),
                    "x. 1 IN TYPE65000 \\# 3 ABCDEF");
  BOOST_CHECK_EQUAL(master_line(rec("x. 1 IN TYPE65000 \\# 0")), "x. 1 IN TYPE65000 \\# 0");
  // An NS with a byte after its name: ldns would print (and read) just the name, so only
  // the generic form keeps the byte.
  const Record ns_extra{wire("x."), rrtype::NS, rrclass::IN, 1, std::string("\x01" "a\x00\x00", 4)};
  BOOST_CHECK_EQUAL(master_line(ns_extra), "x. 1 IN TYPE2 \\# 4 01610000");
  BOOST_CHECK(parse_master_line(master_line(ns_extra)) == ns_extra);
}

BOOST_AUTO_TEST_CASE(common_types_round_trip_through_ldns_and_the_fast_path) {
  std::mt19937 rng(5);
  for (int i = 0; i < 20000; ++i) {
    const Record r = random_native(rng);
    const std::string line = master_line(r);
    BOOST_REQUIRE(line.find_first_of("\n\r\t") == std::string::npos);
    const auto by_ldns = ldns_reads(line);
    BOOST_REQUIRE_MESSAGE(by_ldns && *by_ldns == r, "ldns misreads " << line);
    const auto by_us = parse_master_line(line);
    BOOST_REQUIRE_MESSAGE(by_us && *by_us == r, "fast path misreads " << line);
  }
}

BOOST_AUTO_TEST_CASE(every_admitted_rdata_round_trips) {
  // The store admits, for any data type, the RDATA ldns' wire parser accepts
  // (update_parse.cpp rdata_well_formed). Random RDATA, half of it starting with a name or
  // a length byte, for types ldns knows in many ways and for unknown ones.
  static constexpr uint16_t types[] = {1,  2,  5,  6,  11, 13, 15, 16, 17, 28, 29, 33, 35,
                                       39, 42, 43, 44, 46, 47, 48, 50, 51, 52, 59, 61, 99,
                                       257, 65000, 65280};
  std::mt19937 rng(11);
  std::map<std::string, int> forms;
  int admitted = 0;
  for (int i = 0; i < 40000; ++i) {
    Record r{random_name(rng), types[rng() % std::size(types)], rrclass::IN,
             uint32_t(rng() % 1000), {}};
    if (rng() % 2) r.rdata = random_name(rng, "");
    const std::size_t extra = rng() % 3 == 0 ? 0 : rng() % 40;
    for (std::size_t k = 0; k < extra; ++k) r.rdata += char(rng() % 4 == 0 ? rng() % 8 : rng());
    ldns_rr* rr = record_to_ldns(r);
    if (rr == nullptr) continue;
    ldns_rr_free(rr);
    ++admitted;
    const std::string line = master_line(r);
    ++forms[line.find(" \\# ") != std::string::npos ? "generic" : "text"];
    BOOST_REQUIRE(line.find_first_of("\n\r\t") == std::string::npos);
    const auto back = parse_master_line(line);
    BOOST_REQUIRE_MESSAGE(back && *back == r, "no exact round trip for " << line);
    BOOST_REQUIRE_MESSAGE(ldns_reads(line), "ldns rejects " << line);
  }
  BOOST_TEST_MESSAGE("admitted " << admitted << ", text " << forms["text"] << ", generic "
                                 << forms["generic"]);
  BOOST_CHECK(admitted > 5000);
  BOOST_CHECK(forms["text"] > 1000);
  BOOST_CHECK(forms["generic"] > 100);
}

BOOST_AUTO_TEST_CASE(only_canonical_lines_take_the_fast_path) {
  const std::string good = "www.example.test. 300 IN A 192.0.2.1";
  BOOST_REQUIRE(parse_master_line(good));
  // Each of these is a fine zone-file line (or not), but not the writer's form.
  for (const std::string bad :
       {"www.example.test.  300 IN A 192.0.2.1", "www.example.test. 300 in A 192.0.2.1",
        "www.example.test. 0300 IN A 192.0.2.1", "www.example.test. 300 IN A 192.0.2.1 ; c",
        "www.example.test.\t300 IN A 192.0.2.1", "www 300 IN A 192.0.2.1",
        "www.example.test. 300 IN A 192.000.2.1", "www.example.test. 300 IN A 192.0.2.1 ",
        "www.example.test. 5m IN A 192.0.2.1", "www.example.test. 300 IN TYPE1 \\# 4 C0000201",
        "www.example.test. 300 IN MX 10 mail", "www.example.test. 300 IN TXT abc",
        "www.example.test. 300 IN AAAA 2001:DB8::1", "www.example.test. 300 CH A 192.0.2.1",
        "www.example.test. 4294967296 IN A 192.0.2.1", "", " ", "$TTL 300",
        "www.example.test. 300 IN TYPE65000 \\# 3 ab cd ef",
        "www.example.test. 300 IN TYPE65000 \\# 2 ABCDEF", "www.example.test. 300 IN TXT \"a",
        "www.example.test. 300 IN TXT \"\\25\"", "www.example.test. 300 IN SOA a. b. 1 2 3 4",
        "www.example.test. 300 IN NS \\", "www.example.test. 300 IN TYPE47 \\# 1 00"})
    BOOST_CHECK_MESSAGE(!parse_master_line(bad), "accepted: " << bad);
}

BOOST_AUTO_TEST_CASE(zone_round_trip_keeps_everything) {
  const ZonePtr z = load_zone_text(tricky_zone, "Example.TEST.");
  const std::string text = write_master_file(*z);
  BOOST_TEST_MESSAGE(text);
  BOOST_CHECK(text.starts_with("$ORIGIN Example.TEST.\nExample.TEST. 300 IN SOA "));
  BOOST_CHECK(text.ends_with("; end of zone, " + std::to_string(z->record_count()) +
                             " records\n"));
  const ZonePtr back = read_master_file(text, "rt");
  BOOST_CHECK(back->records() == z->records());
  BOOST_CHECK_EQUAL(back->apex(), z->apex());   // owner case of the apex too
  BOOST_CHECK_EQUAL(back->node_count(), z->node_count());
  BOOST_CHECK_EQUAL(write_master_file(*back), text);
  // The general loader reads the same file to the same zone.
  const ZonePtr by_loader = load_zone_text(text, "Example.TEST.");
  BOOST_CHECK(by_loader->records() == z->records());
}

// The checkpoint writer formats in place (no Record copies); it must write exactly the lines of
// master_line over records(), the reference formulation, in the same order.
BOOST_AUTO_TEST_CASE(zone_writer_writes_master_line_of_every_record_in_order) {
  const ZonePtr z = load_zone_text(tricky_zone, "Example.TEST.");
  std::string expected = "$ORIGIN Example.TEST.\n";
  for (const Record& r : z->records()) expected += master_line(r) + "\n";
  expected += "; end of zone, " + std::to_string(z->record_count()) + " records\n";
  BOOST_CHECK_EQUAL(write_master_file(*z), expected);
  std::size_t visited = 0;
  z->for_each_record_canonical([&](const Node&, const RRset&, std::string_view) { ++visited; });
  BOOST_CHECK_EQUAL(visited, z->record_count());
}

BOOST_AUTO_TEST_CASE(hand_edited_files_go_through_the_loader) {
  const std::string text =
      "$ORIGIN example.test.\n"
      "; edited by an operator\n"
      "$TTL 60\n"
      "@ IN SOA ns1 hostmaster ( 1 2 3 4 5 )\n"
      "  IN NS ns1\n"
      "ns1 A 192.0.2.1\n"
      "; end of zone, 3 records\n";
  const ZonePtr z = read_master_file(text, "edited");
  BOOST_CHECK_EQUAL(z->record_count(), 3u);
  BOOST_CHECK_EQUAL(z->serial(), 1u);
  // The end line must still be right.
  std::string wrong = text;
  wrong[wrong.find("3 records")] = '4';
  BOOST_CHECK_THROW(read_master_file(wrong, "edited"), ZoneError);
  // And the loader's rules hold on both paths: class, zone, second SOA, validation.
  for (const char* bad_line :
       {"x.example.test. 300 CH A 192.0.2.1", "x.other.test. 300 IN A 192.0.2.1",
        "example.test. 300 IN SOA a. b. 1 2 3 4 5", "ns1.example.test. 300 IN CNAME x.test."}) {
    const ZonePtr base = load_zone_text(text, "example.test.");
    std::string t = write_master_file(*base);
    std::string line = bad_line;   // not `std::string(x) + "\n"`: GCC 12 -Wrestrict at -O3
    line += '\n';
    t.insert(t.find('\n') + 1, line);
    t[t.find("3 records")] = '4';
    BOOST_CHECK_THROW(read_master_file(t, "bad"), ZoneError);
  }
}

BOOST_AUTO_TEST_CASE(damaged_files_are_rejected_or_equal) {
  const ZonePtr z = load_zone_text(tricky_zone, "Example.TEST.");
  const std::string text = write_master_file(*z);
  // Cut at every length: a cut file lacks its end line (or its final newline).
  for (std::size_t n = 0; n < text.size(); ++n)
    BOOST_CHECK_THROW(read_master_file(text.substr(0, n), "cut"), ZoneError);
  // A dropped or repeated record line breaks the count.
  const std::size_t second = text.find('\n') + 1, third = text.find('\n', second) + 1;
  std::string dropped = text;
  dropped.erase(second, third - second);
  BOOST_CHECK_THROW(read_master_file(dropped, "dropped"), ZoneError);
  std::string repeated = text;
  repeated.insert(third, text.substr(second, third - second));
  BOOST_CHECK_THROW(read_master_file(repeated, "repeated"), ZoneError);
  // Random damage: never a crash; what is accepted is a valid zone with the stated count.
  std::mt19937 rng(3);
  int rejected = 0;
  for (int i = 0; i < 500; ++i) {
    std::string bad = text;
    bad[rng() % bad.size()] = char(rng() % 2 ? rng() : "0 .\\\";\n"[rng() % 7]);
    try {
      const ZonePtr got = read_master_file(bad, "damaged");
      BOOST_CHECK_NO_THROW(validate_zone(*got, "damaged"));
    } catch (const ZoneError&) {
      ++rejected;
    }
  }
  BOOST_CHECK(rejected > 100);
}

// A valid owner whose text needs many escapes (here 3 x 63 bytes of \021: ~760 characters) is
// more than ldns reads as an owner (255 characters). UPDATE can make such names, so the
// checkpoint must read back whatever the type: a native one (A), one in ldns's presentation
// (CAA, HINFO) and one in RFC 3597 form (TYPE4111). Found by the UPDATE fuzzer (session 18):
// the checkpoint of such a zone did not load, which would stop every replica at its restart.
BOOST_AUTO_TEST_CASE(owners_longer_than_ldns_reads_round_trip) {
  const ZonePtr base = load_zone_text(
      "$ORIGIN example.test.\n@ 300 IN SOA ns1 host 1 2 3 4 5\n@ IN NS ns1\nns1 IN A 192.0.2.1\n",
      "example.test.");
  std::string owner;
  for (int i = 0; i < 3; ++i) owner += char(63) + std::string(63, '\x15');
  owner += std::string("\x07" "example\x04test", 13) + std::string(1, '\0');
  BOOST_REQUIRE(name_wire_length(reinterpret_cast<const uint8_t*>(owner.data()), owner.size()) ==
                owner.size());
  BOOST_REQUIRE(name_to_text(owner).size() > 255);
  ZoneEditor ed(base);
  ed.add(Record{owner, rrtype::A, rrclass::IN, 60, std::string("\xC0\x00\x02\x63", 4)});
  ed.add(Record{owner, 257, rrclass::IN, 60, std::string("\x00\x05issueca.test", 14)});   // CAA
  ed.add(Record{owner, 13, rrclass::IN, 60, std::string("\x02PC\x05Linux", 9)});          // HINFO
  ed.add(Record{owner, 4111, rrclass::IN, 60, std::string("\x01\x02\x03", 3)});
  const ZonePtr z = ed.finish();
  const std::string text = write_master_file(*z);
  BOOST_CHECK(text.find(" IN CAA 0 issue \"ca.test\"") != std::string::npos);   // not generic
  ZonePtr back;
  BOOST_REQUIRE_NO_THROW(back = read_master_file(text, "long owners"));
  BOOST_CHECK(back->records() == z->records());
  BOOST_CHECK_EQUAL(write_master_file(*back), text);
  for (const Record& r : z->records()) {
    const auto parsed = parse_master_line(master_line(r));   // each line takes the fast path
    BOOST_CHECK(parsed.has_value() && *parsed == r);
  }
}
