// protocol/op_batch.hpp: several client ops in one VR Request. The decoder takes bytes from the
// log and from peers, so every malformed shape must be refused without reading out of bounds.
#define BOOST_TEST_MODULE test_op_batch
#include <boost/test/unit_test.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "protocol/op_batch.hpp"

using namespace vrdns::protocol;

namespace {

std::string u32(std::uint32_t v) {
  return {char(v >> 24), char((v >> 16) & 0xFF), char((v >> 8) & 0xFF), char(v & 0xFF)};
}

}  // namespace

BOOST_AUTO_TEST_CASE(round_trip_keeps_parts_and_order) {
  const std::string big(70000, 'x');
  const std::vector<std::string_view> in = {"put a 1", "", big, std::string_view("\0\xB1", 2)};
  const std::string enc = encode_op_batch(in);
  BOOST_TEST(is_op_batch(enc));
  std::vector<std::string_view> out;
  BOOST_REQUIRE(decode_op_batch(enc, out));
  BOOST_REQUIRE_EQUAL(out.size(), in.size());
  for (std::size_t i = 0; i < in.size(); ++i) BOOST_TEST(out[i] == in[i]);
  // The layout is fixed (replicas and WALs of other builds read it): tag, count, length+bytes.
  BOOST_TEST(encode_op_batch({"ab"}) == std::string("\xB1") + u32(1) + u32(2) + "ab");
}

BOOST_AUTO_TEST_CASE(single_ops_are_not_batches) {
  BOOST_TEST(!is_op_batch(""));
  BOOST_TEST(!is_op_batch(std::string("\x01\xB1", 2)));   // a DNS UpdateRequest starts with 1
  std::vector<std::string_view> out{"stale"};
  BOOST_TEST(!decode_op_batch("put a 1", out));
  BOOST_TEST(out.empty());
}

BOOST_AUTO_TEST_CASE(malformed_batches_are_refused) {
  const std::string tag("\xB1");
  std::vector<std::string_view> out;
  BOOST_TEST(!decode_op_batch(tag, out));                                  // no count
  BOOST_TEST(!decode_op_batch(tag + u32(0), out));                         // empty batch
  BOOST_TEST(!decode_op_batch(tag + u32(1), out));                         // part missing
  BOOST_TEST(!decode_op_batch(tag + u32(1) + u32(3) + "ab", out));         // length past end
  BOOST_TEST(!decode_op_batch(tag + u32(1) + u32(2) + "abc", out));        // trailing byte
  BOOST_TEST(!decode_op_batch(tag + u32(0xFFFFFFFF) + u32(0), out));       // count lies
  BOOST_TEST(!decode_op_batch(tag + u32(2) + u32(0xFFFFFFFF) + "x", out)); // huge length
  BOOST_TEST(out.empty());
  // Every truncation of a valid batch is refused.
  const std::string good = encode_op_batch({"one", "two", "three"});
  for (std::size_t n = 0; n < good.size(); ++n)
    BOOST_TEST(!decode_op_batch(std::string_view(good).substr(0, n), out));
  BOOST_TEST(decode_op_batch(good, out));
}

BOOST_AUTO_TEST_CASE(parts_counts_client_ops_for_log_lengths) {
  BOOST_TEST(op_batch_parts("put a 1") == 1u);
  BOOST_TEST(op_batch_parts("") == 1u);
  BOOST_TEST(op_batch_parts(encode_op_batch({"a", "b", "c"})) == 3u);
  // A lying header cannot make one entry count for more than its bytes could hold.
  BOOST_TEST(op_batch_parts(std::string("\xB1") + u32(1000000) + u32(0)) == 1u);
  BOOST_TEST(op_batch_parts(std::string("\xB1\x00", 2)) == 1u);
}
