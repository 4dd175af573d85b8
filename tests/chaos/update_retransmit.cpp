// At-most-once UPDATE across nodes (RFC 2136 §3.8, dns/zone_service.hpp): a client that
// retransmits the identical message from the same socket to ANOTHER node gets the original
// answer, and the update is applied once. Three real vrdns processes.
//
// The UPDATE is CAS-like (prereq nxrrset r TXT + add r TXT "once"), so a second execution
// would be visible: once r has its TXT, the prerequisite "no TXT at r" fails and RFC 2136
// §3.2.5 answers YXRRSET instead of the original NOERROR.
#define BOOST_TEST_MODULE update_retransmit
#include <boost/test/unit_test.hpp>
#include <boost/test/results_collector.hpp>

#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "tests/chaos/cluster.hpp"
#include "tests/chaos/update_client.hpp"

using namespace vrdns::chaos;
using namespace std::chrono_literals;

namespace {

constexpr uint16_t type_txt = 16;
constexpr int rcode_noerror = 0, rcode_yxrrset = 7;
const std::string zone = "example.test.";
const std::string rname = "r.example.test.";

const ClientKey key{"update-key.", "uqjV+TYQBrS28PCMsYonX//TMmtt4GFvzp50/uVRovI="};

/// A temporary directory, removed at the end unless the test failed (then its logs stay).
struct WorkDir {
  std::string path;
  WorkDir() {
    char tmpl[] = "/tmp/vrdns-retransmit-XXXXXX";
    BOOST_REQUIRE(mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~WorkDir() {
    const auto& r = boost::unit_test::results_collector.results(
        boost::unit_test::framework::current_test_case().p_id);
    if (r.passed()) {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    } else {
      BOOST_TEST_MESSAGE("logs kept in " << path);
    }
  }
};

ClusterOptions options(const std::string& dir) {
  ClusterOptions o;
  o.vrdns = std::string(VRDNS_BINARY_DIR) + "/vrdns";
  o.zone_file = std::string(VRDNS_SOURCE_DIR) + "/configs/example.test.zone";
  o.work_dir = dir;
  o.key = key;
  return o;
}

/// The TXT strings node `port` serves at r.
std::vector<std::string> txt_at(uint16_t port) {
  std::vector<std::string> out;
  for (const auto& rd : query(port, rname, type_txt).rdatas) out.push_back(txt_text(rd).value_or("?"));
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(identical_retransmit_to_another_node_executes_once) {
  WorkDir dir;
  Cluster cluster(options(dir.path));
  BOOST_REQUIRE_MESSAGE(cluster.wait_converged(20s), cluster.last_statuses());
  const uint16_t a = cluster.dns_port(1), b = cluster.dns_port(2), c = cluster.dns_port(0);

  const auto serial0 = query_serial(a, zone);
  BOOST_REQUIRE(serial0.has_value());

  UpdateClient client(key);
  const uint16_t id = 0x4242;
  const Bytes once = client.sign(UpdateBuilder(zone)
                                     .require_absent(rname, type_txt)
                                     .add(rname, type_txt, 300, txt_rdata("once"))
                                     .build(id));

  // 1. To node A: executed.
  const UpdateResult first = client.send(once, {a}, 5000ms);
  BOOST_TEST(first.rcode == rcode_noerror);
  BOOST_TEST(first.bad_tsig == 0);

  // 2. The same bytes from the same socket to node B: the original answer, not YXRRSET.
  const UpdateResult again = client.send(once, {b}, 5000ms);
  BOOST_TEST(again.rcode == rcode_noerror, "retransmit to node B answered rcode " << again.rcode);
  BOOST_TEST(again.bad_tsig == 0);
  // ... and to the third node, the primary.
  const UpdateResult third = client.send(once, {c}, 5000ms);
  BOOST_TEST(third.rcode == rcode_noerror, "retransmit to node C answered rcode " << third.rcode);

  // Applied exactly once: serial + 1 and one TXT on every node (bounded wait for backups).
  BOOST_REQUIRE_MESSAGE(cluster.wait_converged(10s), cluster.last_statuses());
  for (int i = 0; i < cluster.size(); ++i) {
    const auto serial = query_serial(cluster.dns_port(i), zone);
    BOOST_REQUIRE(serial.has_value());
    BOOST_TEST(*serial == *serial0 + 1, "node " << i << " serial " << *serial << ", was " << *serial0);
    const auto txt = txt_at(cluster.dns_port(i));
    BOOST_TEST(txt == std::vector<std::string>{"once"}, boost::test_tools::per_element());
  }

  // 3. A different message with the same id from the same socket is a new request: executed,
  //    and its prerequisite fails now.
  const Bytes other = client.sign(UpdateBuilder(zone)
                                      .require_absent(rname, type_txt)
                                      .add(rname, type_txt, 300, txt_rdata("twice"))
                                      .build(id));
  const UpdateResult different = client.send(other, {b}, 5000ms);
  BOOST_TEST(different.rcode == rcode_yxrrset, "different message, same id: rcode " << different.rcode);

  // 4. Proof the dedupe identity includes the source port: the identical bytes from another
  //    socket are another client's request, executed again, and fail the prerequisite.
  UpdateClient stranger(key);
  const UpdateResult foreign = stranger.send(once, {a}, 5000ms);
  BOOST_TEST(foreign.rcode == rcode_yxrrset, "same bytes, other port: rcode " << foreign.rcode);

  BOOST_REQUIRE_MESSAGE(cluster.wait_converged(10s), cluster.last_statuses());
  for (int i = 0; i < cluster.size(); ++i) {
    BOOST_TEST(query_serial(cluster.dns_port(i), zone).value_or(0) == *serial0 + 1);
    BOOST_TEST(txt_at(cluster.dns_port(i)) == std::vector<std::string>{"once"},
               boost::test_tools::per_element());
  }
  // The query helper's TCP fallback: ~2 kB of TXT is truncated over UDP (TC), read over TCP.
  BOOST_TEST(query(a, "bigtxt.example.test.", type_txt).rdatas.size() == 5u);
  BOOST_TEST(cluster.terminate_all() == 0, cluster.error());
}
