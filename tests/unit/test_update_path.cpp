// app/update_path: the answers the UPDATE path gives at once (before VR), called as the front
// ends call it (net/update_hook.hpp). Here: an answer never exceeds the size the client takes.
// Long zone and key names over UDP without EDNS make the full answer (zone echoed, TSIG) too
// big for 512 bytes; it must shrink (no zone section) and stay signed, and a TSIG error that
// echoes a request's own huge names becomes a bare header with TC.
#define BOOST_TEST_MODULE test_update_path
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "actors/vr_submit_queue.hpp"
#include "app/access_policy.hpp"
#include "app/commit_waiters.hpp"
#include "app/served_zones.hpp"
#include "app/update_path.hpp"
#include "config/config.hpp"
#include "dns/name.hpp"
#include "dns/query_parser.hpp"
#include "dns/tsig.hpp"
#include "dns/update.hpp"
#include "dns/zone.hpp"

using namespace vrdns;
using Bytes = std::vector<uint8_t>;

namespace {

const char* const secret = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";

// A name of `length` bytes in wire form (at most 255): labels of up to 60 letters under `tail`.
std::string long_name(std::size_t length, const std::string& tail) {
  std::string name;
  const std::size_t text_length = length - 1;   // "a.b." is 5 bytes on the wire
  while (name.size() + tail.size() < text_length) {
    const std::size_t room = text_length - name.size() - tail.size();
    const std::size_t label = std::min<std::size_t>(60, room - 1);
    BOOST_REQUIRE(label > 0);
    name += std::string(label, 'l') + ".";
  }
  BOOST_REQUIRE(name.size() + tail.size() == text_length);
  return name + tail;
}

struct Path {
  std::string key = long_name(230, "update-key.");
  net::UpdateHandler handler;
  dns::Keyring keys;

  Path() {
    config::NodeConfig cfg;
    cfg.keys = {{key, "hmac-sha256", secret}};
    cfg.update_allow = {key};
    BOOST_REQUIRE(keys.add(key, "hmac-sha256", secret));
    auto zones = std::make_shared<dns::ZoneSet>();
    zones->zones.push_back(
        dns::load_zone_text("@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.1\n", "example.test."));
    handler = app::make_update_handler(
        std::make_shared<app::CurrentAccessPolicy>(app::access_policy_of(cfg)),
        std::make_shared<app::ServedZones>(*zones), std::make_shared<actors::vr_submit_queue>(),
        std::chrono::milliseconds(2000), std::make_shared<app::CommitWaiters>());
  }

  // The answer to `message`, for a client that takes `max_reply_size` bytes.
  Bytes ask(const Bytes& message, std::size_t max_reply_size) const {
    Bytes got;
    net::UpdateRequest req;
    req.message = message;
    req.max_reply_size = max_reply_size;
    req.reply = [&got](const uint8_t* data, std::size_t length) { got.assign(data, data + length); };
    handler(std::move(req));   // answered at once: it never reaches VR
    return got;
  }
};

// An UPDATE of zone `zone` (text), no other sections.
Bytes update_of(const std::string& zone) {
  Bytes m = {0x12, 0x34, 0x28, 0, 0, 1, 0, 0, 0, 0, 0, 0};
  const auto wire = dns::name_from_text(zone);
  BOOST_REQUIRE(wire);
  m.insert(m.end(), wire->begin(), wire->end());
  m.insert(m.end(), {0, 6, 0, 1});   // SOA IN
  return m;
}

unsigned rcode_of(const Bytes& r) { return r.at(3) & 0x0F; }
unsigned count(const Bytes& r, std::size_t at) { return unsigned(r.at(at)) << 8 | r.at(at + 1); }

}  // namespace

BOOST_AUTO_TEST_CASE(a_signed_answer_shrinks_to_the_clients_size_and_stays_signed) {
  const Path path;
  // A zone this node does not serve (NOTAUTH), with a 250-byte name: echoed, it and the
  // 230-byte key name make the signed answer ~570 bytes.
  Bytes m = update_of(long_name(250, "not-ours.test."));
  BOOST_REQUIRE(dns::sign_request(m, dns::name_key(*dns::name_from_text(path.key)), path.keys,
                                  int64_t(std::time(nullptr))));

  const Bytes full = path.ask(m, dns::max_message_size);   // TCP
  BOOST_REQUIRE(full.size() > 512u);
  BOOST_TEST(count(full, 4) == 1u);   // the zone echoed
  BOOST_TEST(rcode_of(full) == unsigned(dns::rcode::NOTAUTH));

  const Bytes small = path.ask(m, 512);   // UDP without EDNS
  BOOST_TEST(small.size() <= 512u);
  BOOST_TEST(count(small, 4) == 0u);   // no zone section
  BOOST_TEST(count(small, 10) == 1u);  // the TSIG
  BOOST_TEST(rcode_of(small) == rcode_of(full));
  BOOST_TEST((small[2] & 0x02) == 0);   // not truncated: complete as it is
  const auto verdict = dns::verify_reply_to(m, small.data(), small.size(), path.keys,
                                            int64_t(std::time(nullptr)));
  BOOST_REQUIRE(verdict);
  BOOST_TEST((verdict->status == dns::TsigStatus::ok));
}

BOOST_AUTO_TEST_CASE(a_tsig_error_too_big_for_the_client_is_a_header_with_tc) {
  const Path path;
  // An unknown key with a 250-byte name and a 250-byte algorithm name: BADKEY echoes both.
  Bytes m = update_of("example.test.");
  const auto key = *dns::name_from_text(long_name(250, "unknown-key."));
  const auto algorithm = *dns::name_from_text(long_name(250, "made-up-algorithm."));
  m.insert(m.end(), key.begin(), key.end());
  m.insert(m.end(), {0, 250, 0, 255, 0, 0, 0, 0});   // TSIG, ANY, TTL 0
  Bytes rdata(algorithm.begin(), algorithm.end());
  const int64_t now = std::time(nullptr);
  for (int shift = 40; shift >= 0; shift -= 8) rdata.push_back(uint8_t(now >> shift));
  rdata.insert(rdata.end(), {1, 44, 0, 4, 1, 2, 3, 4, 0x12, 0x34, 0, 0, 0, 0});
  m.push_back(uint8_t(rdata.size() >> 8));
  m.push_back(uint8_t(rdata.size()));
  m.insert(m.end(), rdata.begin(), rdata.end());
  m[11] = 1;   // ARCOUNT

  const Bytes full = path.ask(m, dns::max_message_size);
  BOOST_REQUIRE(full.size() > 512u);
  BOOST_TEST(rcode_of(full) == unsigned(dns::rcode::NOTAUTH));
  const Bytes small = path.ask(m, 512);
  BOOST_REQUIRE(small.size() == 12u);
  BOOST_TEST(small[0] == 0x12);
  BOOST_TEST(small[1] == 0x34);
  BOOST_TEST((small[2] & 0x02) != 0);   // TC: ask again over TCP
  BOOST_TEST(rcode_of(small) == unsigned(dns::rcode::NOTAUTH));
  for (std::size_t at = 4; at < 12; ++at) BOOST_TEST(small[at] == 0);
}
