// The simulator's KV state machine with op batches: parts run in order as if each were its own
// log entry, the result is the batch of their results, duplicates are caught per part, and a
// malformed batch changes nothing.
#define BOOST_TEST_MODULE test_kv_machine
#include <boost/test/unit_test.hpp>

#include "protocol/op_batch.hpp"
#include "tests/sim/kv_machine.hpp"

#include <string>
#include <vector>

using namespace vrdns::sim;
using vrdns::protocol::decode_op_batch;
using vrdns::protocol::encode_op_batch;
using vrdns::protocol::is_op_batch;

namespace {

std::vector<std::string> split(const std::string& result) {
  std::vector<std::string_view> parts;
  BOOST_REQUIRE_MESSAGE(decode_op_batch(result, parts), "not a batch: " << result);
  return {parts.begin(), parts.end()};
}

} // namespace

BOOST_AUTO_TEST_CASE(plain_ops_are_not_batches) {
  kv_machine m;
  BOOST_TEST(m.execute("put a 1") == "ok");
  BOOST_TEST(m.execute("get a g1") == "1");
  BOOST_TEST(m.execute("get b g2") == "");
  BOOST_TEST(m.executed_count() == 3u);
}

BOOST_AUTO_TEST_CASE(batch_parts_run_in_order_and_answer_in_order) {
  kv_machine m;
  m.execute("put a 0");
  auto r = m.execute(encode_op_batch({"get a g1", "put a 1", "get a g2", "put a 2", "get b g3"}));
  std::vector<std::string> expected{"0", "ok", "1", "ok", ""};
  BOOST_TEST(split(r) == expected, boost::test_tools::per_element());
  BOOST_TEST(m.data().at("a") == "2");
  BOOST_TEST(m.executed_count() == 6u);   // each part counts as an op of its own
  BOOST_TEST(m.duplicate().empty());
}

BOOST_AUTO_TEST_CASE(a_batch_of_one_is_still_a_batch) {
  kv_machine m;
  auto r = m.execute(encode_op_batch({"put a 1"}));
  BOOST_TEST(is_op_batch(r));
  BOOST_TEST(split(r) == std::vector<std::string>{"ok"}, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(an_op_executed_again_inside_a_batch_is_a_duplicate) {
  kv_machine m;
  m.execute("put a 1");
  m.execute(encode_op_batch({"put b 2", "put a 1"}));
  BOOST_TEST(m.duplicate() == "put a 1");

  kv_machine twice;   // the same batch twice: its first part is the first duplicate
  auto batch = encode_op_batch({"put c 3", "put d 4"});
  twice.execute(batch);
  BOOST_TEST(twice.duplicate().empty());
  twice.execute(batch);
  BOOST_TEST(twice.duplicate() == "put c 3");
}

BOOST_AUTO_TEST_CASE(a_malformed_batch_executes_nothing) {
  auto good = encode_op_batch({"put a 1", "put b 2"});
  std::vector<std::string> bad{
    good.substr(0, good.size() - 1),   // last part cut short
    good + "x",                        // trailing byte
    good.substr(0, 5),                 // count 2, no parts
    std::string("\xB1\x00\x00\x00\x00", 5),   // count 0
    std::string("\xB1\xFF\xFF\xFF\xFF", 5),   // a count the bytes cannot hold
    std::string("\xB1", 1),
  };
  for (const auto& op : bad) {
    kv_machine m;
    auto r = m.execute(op);
    BOOST_TEST(!is_op_batch(r));
    BOOST_TEST(r.rfind("error", 0) == 0u, "result: " << r);
    BOOST_TEST(m.executed_count() == 0u);
    BOOST_TEST(m.data().empty());
  }
}

BOOST_AUTO_TEST_CASE(a_nested_batch_is_refused_not_recorded) {
  kv_machine m;
  auto inner = encode_op_batch({"put a 1"});
  auto r = split(m.execute(encode_op_batch({inner, "put b 2"})));
  BOOST_REQUIRE(r.size() == 2u);
  BOOST_TEST(r[0].rfind("error", 0) == 0u);
  BOOST_TEST(r[1] == "ok");
  BOOST_TEST(m.executed_count() == 1u);
  BOOST_TEST(m.data().count("a") == 0u);
}

BOOST_AUTO_TEST_CASE(a_checkpoint_keeps_the_parts_for_the_duplicate_check) {
  kv_machine m;
  m.execute(encode_op_batch({"put a 1", "put b 2"}));
  kv_machine restored;
  restored.restore(m.freeze()->parts());
  BOOST_TEST(restored.data() == m.data());
  BOOST_TEST(restored.executed_count() == 2u);
  restored.execute("put b 2");
  BOOST_TEST(restored.duplicate() == "put b 2");
}
