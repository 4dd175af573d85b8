// The checkpoint blob that travels in CheckpointChunk messages, and the client_table part:
// round trips, and untrusted bytes (truncated, bit-flipped, lying lengths) are refused.
#define BOOST_TEST_MODULE checkpoint_codec
#include <boost/test/unit_test.hpp>

#include "protocol/checkpoint.hpp"

using namespace vrdns::protocol;

namespace {
checkpoint sample() {
  checkpoint c;
  c.op_number = 123456;
  c.view_number = 7;
  c.parts.push_back({"example.com.zone", "example.com. 3600 IN SOA a. b. 1 2 3 4 5\n"});
  c.parts.push_back({"dedupe.bin", std::string("\0\1\2\xff", 4)});
  c.parts.push_back({"empty-part", ""});
  return c;
}
} // namespace

BOOST_AUTO_TEST_CASE(round_trip) {
  auto c = sample();
  auto blob = encode_checkpoint(c);
  auto back = decode_checkpoint(blob);
  BOOST_REQUIRE(back);
  BOOST_TEST((*back == c));
  BOOST_TEST(encode_checkpoint(*back) == blob);   // deterministic
}

BOOST_AUTO_TEST_CASE(every_truncation_and_every_bit_flip_is_refused) {
  auto blob = encode_checkpoint(sample());
  for (std::size_t n = 0; n < blob.size(); ++n)
    BOOST_TEST(!decode_checkpoint(blob.substr(0, n)), "prefix of " << n << " bytes accepted");
  BOOST_TEST(!decode_checkpoint(blob + "x"));
  for (std::size_t i = 0; i < blob.size(); ++i)
    for (int bit = 0; bit < 8; ++bit) {
      auto bad = blob;
      bad[i] = static_cast<char>(bad[i] ^ (1 << bit));
      BOOST_TEST(!decode_checkpoint(bad), "bit " << bit << " of byte " << i << " accepted");
    }
}

BOOST_AUTO_TEST_CASE(bad_part_names_are_refused) {
  BOOST_TEST(valid_part_name("example.com.zone"));
  BOOST_TEST(valid_part_name("root.zone"));
  BOOST_TEST(!valid_part_name(""));
  BOOST_TEST(!valid_part_name(".hidden"));
  BOOST_TEST(!valid_part_name("../etc/passwd"));
  BOOST_TEST(!valid_part_name("a/b"));
  BOOST_TEST(!valid_part_name(std::string(201, 'a')));
  auto c = sample();
  c.parts[1].name = "a/b";   // encode does not judge; decode does (the sender may be buggy)
  BOOST_TEST(!decode_checkpoint(encode_checkpoint(c)));
  c = sample();
  c.parts[1].name = c.parts[0].name;   // duplicate names
  BOOST_TEST(!decode_checkpoint(encode_checkpoint(c)));
}

BOOST_AUTO_TEST_CASE(client_table_round_trip_and_refusals) {
  std::map<std::uint64_t, client_record> t{{1, {5, "r1", 70}},
                                           {~0ull, {9, std::string(300, 'z'), 12}}};
  auto bytes = encode_client_table(t);
  auto back = decode_client_table(bytes);
  BOOST_REQUIRE(back);
  BOOST_TEST(back->size() == 2u);
  BOOST_TEST(back->at(~0ull).result == std::string(300, 'z'));
  BOOST_TEST(back->at(1).request_number == 5u);
  BOOST_TEST(back->at(1).op_number == 70u);   // what eviction needs (replica_state.hpp)
  BOOST_TEST(back->at(~0ull).op_number == 12u);
  for (std::size_t n = 0; n < bytes.size(); ++n)
    BOOST_TEST(!decode_client_table(bytes.substr(0, n)));
  BOOST_TEST(!decode_client_table(bytes + "x"));
  auto empty = decode_client_table(encode_client_table({}));
  BOOST_REQUIRE(empty);
  BOOST_TEST(empty->empty());
}

// A checkpoint written before the table kept op numbers: count, then (id, request number,
// result length, result) per client, little-endian. It still loads, every client heard at op 0.
BOOST_AUTO_TEST_CASE(client_table_of_the_first_form_still_loads) {
  auto le = [](std::uint64_t v, int n) {
    std::string out;
    for (int i = 0; i < n; ++i) out.push_back(char((v >> (8 * i)) & 0xFF));
    return out;
  };
  const std::string old = le(1, 8) + le(42, 8) + le(7, 8) + le(2, 4) + "ok";
  auto back = decode_client_table(old);
  BOOST_REQUIRE(back);
  BOOST_REQUIRE(back->size() == 1u);
  BOOST_TEST(back->at(42).request_number == 7u);
  BOOST_TEST(back->at(42).result == "ok");
  BOOST_TEST(back->at(42).op_number == 0u);
  BOOST_TEST(!decode_client_table(old.substr(0, old.size() - 1)));
}
