// dns/zone_generate: BIND's $GENERATE, parsed and expanded as text (the loader's use of it is
// in test_zone).
#define BOOST_TEST_MODULE test_zone_generate
#include <boost/test/unit_test.hpp>

#include <string>

#include "dns/zone_generate.hpp"

using namespace vrdns::dns;

namespace {

std::string expand(const std::string& t, uint32_t v) {
  std::string error;
  const auto out = expand_generate(t, v, error);
  return out ? *out : "ERROR " + error;
}

std::string parse_error(const std::string& line) {
  std::string error;
  return parse_generate(line, error) ? std::string("parsed") : error;
}

}  // namespace

BOOST_AUTO_TEST_CASE(ranges_and_templates) {
  std::string error;
  auto d = parse_generate("$GENERATE 1-254 $ PTR host-$.example. ; the pool", error);
  BOOST_REQUIRE(d);
  BOOST_TEST(d->start == 1u);
  BOOST_TEST(d->stop == 254u);
  BOOST_TEST(d->step == 1u);
  BOOST_TEST(d->record_template == "$ PTR host-$.example.");   // comment and blanks cut
  d = parse_generate("$GENERATE\t0-100/10 h$ 60 IN A 192.0.2.$\r", error);
  BOOST_REQUIRE(d);
  BOOST_TEST(d->step == 10u);
  BOOST_TEST(d->record_template == "h$ 60 IN A 192.0.2.$");
  // A ';' inside quotes or escaped is text, not a comment.
  d = parse_generate("$GENERATE 1-2 t$ TXT \"a;b\" c\\;d ; comment", error);
  BOOST_REQUIRE(d);
  BOOST_TEST(d->record_template == "t$ TXT \"a;b\" c\\;d");
  d = parse_generate("$GENERATE 5-5 one A 192.0.2.1", error);   // a single value
  BOOST_REQUIRE(d);
  BOOST_TEST((d->start == 5u && d->stop == 5u));
}

BOOST_AUTO_TEST_CASE(bad_directives_say_why) {
  BOOST_TEST(parse_error("$GENERATE") == "$GENERATE without a range");
  BOOST_TEST(parse_error("$GENERATEx 1-2 a A 1.2.3.4") == "$GENERATE without a range");
  for (const char* range : {"1", "a-2", "1-b", "1-2/", "1-2/x", "-1-2", "1/2-3", "1-2-3"})
    BOOST_CHECK_MESSAGE(parse_error(std::string("$GENERATE ") + range + " h$ A 192.0.2.$")
                                .find("is not <start>-<stop>") != std::string::npos,
                        range);
  BOOST_TEST(parse_error("$GENERATE 5-1 h$ A 192.0.2.$").find("is empty") != std::string::npos);
  BOOST_TEST(parse_error("$GENERATE 1-5/0 h$ A 192.0.2.$").find("is empty") != std::string::npos);
  BOOST_TEST(parse_error("$GENERATE 1-2147483648 h$ A 1.2.3.4").find("2147483647") !=
             std::string::npos);
  BOOST_TEST(parse_error("$GENERATE 0-2000000 h$ A 1.2.3.4").find("more than") != std::string::npos);
  BOOST_TEST(parse_error("$GENERATE 0-2000000/2 h$ A 1.2.3.4") == "parsed");   // 1,000,001
  BOOST_TEST(parse_error("$GENERATE 1-2 h$ A").find("no record template") != std::string::npos);
  BOOST_TEST(parse_error("$GENERATE 1-2 ; h$ A 1.2.3.4").find("no record template") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(expansion_follows_bind) {
  BOOST_TEST(expand("$ PTR host-$.example.", 7) == "7 PTR host-7.example.");
  BOOST_TEST(expand("h${10} A 192.0.2.$", 5) == "h15 A 192.0.2.5");
  BOOST_TEST(expand("h${-1} A", 5) == "h4 A");
  BOOST_TEST(expand("h${+2,3} A", 5) == "h007 A");
  BOOST_TEST(expand("h${0,4,x}", 255) == "h00ff");
  BOOST_TEST(expand("h${0,4,X}", 255) == "h00FF");
  BOOST_TEST(expand("h${0,0,o}", 8) == "h10");
  BOOST_TEST(expand("h${0,3,d}", 42) == "h042");
  BOOST_TEST(expand("${0,3}", 12345) == "12345");   // width is a minimum
  // Nibbles: least significant first, dot-separated; the width counts characters, dots too.
  BOOST_TEST(expand("${0,0,n}", 0x1A) == "a.1");
  BOOST_TEST(expand("${0,0,N}", 0x1A) == "A.1");
  BOOST_TEST(expand("${0,5,n}", 0x1A) == "a.1.0");
  BOOST_TEST(expand("${0,6,n}", 0x1A) == "a.1.0.");
  BOOST_TEST(expand("${0,0,n}", 0) == "0");
  BOOST_TEST(expand("${0,7,n}.ip6.arpa.", 3) == "3.0.0.0.ip6.arpa.");
  // Literal dollars, and escapes passed through.
  BOOST_TEST(expand("a$$b \\$ c\\.d", 1) == "a\\$b \\$ c\\.d");
  BOOST_TEST(expand("no dollar", 9) == "no dollar");
}

BOOST_AUTO_TEST_CASE(bad_modifiers_say_why) {
  for (const char* t : {"${", "${1", "${x}", "${1,x}", "${1,2,q}", "${1,2,dd}", "${1,256}",
                        "${99999999999}"})
    BOOST_CHECK_MESSAGE(expand(t, 1).rfind("ERROR $GENERATE", 0) == 0, t);
  BOOST_TEST(expand("${-6}", 5).find("out of range") != std::string::npos);
  BOOST_TEST(expand("${2147483647}", 1).find("out of range") != std::string::npos);
  BOOST_TEST(expand("${2147483646}", 1) == "2147483647");
}
