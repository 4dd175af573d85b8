// NOTIFY (RFC 1996): dns/notify's messages, parsed by ldns, and net/notifier against a stand-in
// secondary on 127.0.0.1: one NOTIFY per target for each new serial, none for a state that is
// not vouched for or a serial already notified, retransmission until an answer (or the
// attempts run out), and a signed NOTIFY when a signer is given.
#define BOOST_TEST_MODULE test_notify
#include <boost/test/unit_test.hpp>

#include <netinet/in.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>

#include <chrono>
#include <ctime>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <set>

#include "dns/name.hpp"
#include "dns/notify.hpp"
#include "dns/responder.hpp"
#include "dns/tsig.hpp"
#include "dns/zone.hpp"
#include "net/notifier.hpp"
#include "net/socket.hpp"

#include <stdbool.h>
#include <ldns/ldns.h>

using namespace std::chrono_literals;
using namespace vrdns;
using Bytes = std::vector<uint8_t>;

namespace {

dns::ZonePtr zone_with_serial(uint32_t serial) {
  return dns::load_zone_text("$ORIGIN Example.TEST.\n$TTL 300\n@ SOA ns1 hostmaster " +
                                 std::to_string(serial) + " 1 2 3 4\n@ NS ns1\nns1 A 192.0.2.1\n",
                             "example.test.");
}

dns::ServingState state_of(dns::ZonePtr zone, bool has_state = true) {
  auto zones = std::make_shared<dns::ZoneSet>();
  zones->zones.push_back(std::move(zone));
  dns::ServingState s;
  s.zones = zones;
  s.has_state = has_state;
  return s;
}

// A stand-in secondary: a UDP socket on 127.0.0.1 that receives NOTIFYs and may answer.
struct Secondary {
  net::Fd fd = net::open_udp_socket(*net::parse_endpoint("127.0.0.1:0"), 100);
  net::Endpoint endpoint() const {
    return *net::parse_endpoint("127.0.0.1:" + std::to_string(net::bound_port(fd.get())));
  }
  // The next datagram within `wait` (empty if none), and where it came from.
  Bytes receive(std::chrono::milliseconds wait, sockaddr_storage* from = nullptr) {
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, int(wait.count())) != 1) return {};
    Bytes b(4096);
    sockaddr_storage f{};
    socklen_t fl = sizeof f;
    const ssize_t n = ::recvfrom(fd.get(), b.data(), b.size(), 0, reinterpret_cast<sockaddr*>(&f), &fl);
    if (n <= 0) return {};
    b.resize(std::size_t(n));
    if (from) *from = f;
    return b;
  }
  void answer(const Bytes& request, const sockaddr_storage& to, uint8_t rcode = 0) {
    Bytes r(request.begin(), request.begin() + 12);
    r[2] = uint8_t(r[2] | 0x80);
    r[3] = rcode;
    for (int i = 4; i < 12; ++i) r[std::size_t(i)] = 0;
    ::sendto(fd.get(), r.data(), r.size(), 0, reinterpret_cast<const sockaddr*>(&to),
             sizeof(sockaddr_in));
  }
};

uint32_t notified_serial(const Bytes& m) {
  ldns_pkt* p = nullptr;
  BOOST_REQUIRE(ldns_wire2pkt(&p, m.data(), m.size()) == LDNS_STATUS_OK);
  BOOST_TEST(ldns_pkt_get_opcode(p) == LDNS_PACKET_NOTIFY);
  BOOST_TEST(!ldns_pkt_qr(p));
  BOOST_TEST(ldns_pkt_aa(p));
  BOOST_REQUIRE_EQUAL(ldns_pkt_qdcount(p), 1u);
  const ldns_rr* q = ldns_rr_list_rr(ldns_pkt_question(p), 0);
  BOOST_TEST(ldns_rr_get_type(q) == LDNS_RR_TYPE_SOA);
  char* owner = ldns_rdf2str(ldns_rr_owner(q));
  BOOST_TEST(strcasecmp(owner, "example.test.") == 0, owner);
  free(owner);
  BOOST_REQUIRE_EQUAL(ldns_pkt_ancount(p), 1u);
  const ldns_rr* soa = ldns_rr_list_rr(ldns_pkt_answer(p), 0);
  const uint32_t serial = ldns_rdf2native_int32(ldns_rr_rdf(soa, 2));
  ldns_pkt_free(p);
  return serial;
}

// Waits (bounded: 5 s) until the notifier has taken `n` answers. The answers travel through
// the notifier's own thread; a serial published before it took them replaces them unanswered.
bool answered_at_least(const net::Notifier& n, uint64_t count) {
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (n.answered() < count) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_notify_names_the_zone_and_carries_its_soa) {
  const Bytes m = dns::make_notify(0x4242, *zone_with_serial(77));
  BOOST_REQUIRE(m.size() > 12u);
  BOOST_TEST(((m[0] << 8) | m[1]) == 0x4242);
  BOOST_TEST(notified_serial(m) == 77u);
  Bytes reply(m.begin(), m.begin() + 12);
  uint8_t rcode = 0xFF;
  BOOST_TEST(!dns::answers_notify(reply.data(), reply.size(), m, rcode));   // QR clear
  reply[2] |= 0x80;
  reply[3] = 5;
  BOOST_TEST(dns::answers_notify(reply.data(), reply.size(), m, rcode));
  BOOST_TEST(rcode == 5);
  reply[1] ^= 1;   // another ID
  BOOST_TEST(!dns::answers_notify(reply.data(), reply.size(), m, rcode));
  BOOST_TEST(!dns::answers_notify(reply.data(), 5, m, rcode));   // short: never read past
}

BOOST_AUTO_TEST_CASE(each_new_serial_is_notified_once_per_target_when_answered) {
  Secondary a, b;
  net::NotifyOptions o;
  o.targets = {a.endpoint(), b.endpoint()};
  o.retry = 100ms;
  o.min_interval = 0ms;
  net::Notifier n(o);
  n.published(state_of(zone_with_serial(1), false));   // not vouched for: nothing
  n.published(state_of(zone_with_serial(1)));
  for (Secondary* s : {&a, &b}) {
    sockaddr_storage from{};
    const Bytes m = s->receive(3000ms, &from);
    BOOST_REQUIRE(!m.empty());
    BOOST_TEST(notified_serial(m) == 1u);
    s->answer(m, from);
  }
  BOOST_REQUIRE(answered_at_least(n, 2));
  n.published(state_of(zone_with_serial(1)));   // the same serial again: nothing new
  sockaddr_storage from{};
  n.published(state_of(zone_with_serial(2)));
  const Bytes m = a.receive(3000ms, &from);
  BOOST_REQUIRE(!m.empty());
  BOOST_TEST(notified_serial(m) == 2u);          // serial 1 answered: not sent again
  a.answer(m, from);
  BOOST_REQUIRE(!b.receive(3000ms, &from).empty());   // b does not answer serial 2
  BOOST_TEST(!b.receive(3000ms).empty());              // so it gets it again
  // Answered ones are not repeated: nothing more reaches a within several retry periods.
  BOOST_TEST(answered_at_least(n, 3));
  BOOST_TEST(a.receive(400ms).empty());
  BOOST_TEST(n.answered() == 3u);
}

// Under a steady UPDATE load the serial changes with every commit: rounds for a zone start at
// most once per min_interval, each with the newest serial, instead of one NOTIFY per commit.
BOOST_AUTO_TEST_CASE(a_burst_of_serials_makes_few_notifies_and_the_last_has_the_newest) {
  Secondary s;
  net::NotifyOptions o;
  o.targets = {s.endpoint()};
  o.min_interval = 300ms;
  net::Notifier n(o);
  const auto start = std::chrono::steady_clock::now();
  for (uint32_t serial = 1; serial <= 50; ++serial) {
    n.published(state_of(zone_with_serial(serial)));
    std::this_thread::sleep_for(10ms);   // the load: a commit every 10 ms for 0.5 s
  }
  std::vector<uint32_t> got;
  sockaddr_storage from{};
  for (Bytes m; !(m = s.receive(1000ms, &from)).empty();) {
    got.push_back(notified_serial(m));
    s.answer(m, from);
  }
  const auto took = std::chrono::steady_clock::now() - start;
  BOOST_REQUIRE(!got.empty());
  BOOST_TEST(got.back() == 50u);       // the newest serial is always told
  // 0.5 s of commits, rounds 300 ms apart: 2 or 3 rounds, not 50 (4 if this machine stalled).
  BOOST_TEST(got.size() <= 4u, got.size() << " NOTIFYs in " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
}

BOOST_AUTO_TEST_CASE(an_unanswered_notify_is_sent_attempts_times_then_given_up) {
  Secondary s;
  std::vector<std::string> logs;
  std::mutex m;
  net::NotifyOptions o;
  o.targets = {s.endpoint()};
  o.retry = 50ms;
  o.attempts = 3;
  o.log = [&](const std::string& line) {
    std::lock_guard lock(m);
    logs.push_back(line);
  };
  o.counters = std::make_shared<net::NotifyCounters>();
  net::Notifier n(o);
  n.published(state_of(zone_with_serial(9)));
  int got = 0;
  while (!s.receive(1000ms).empty()) ++got;   // ends 1 s after the last one
  BOOST_TEST(got == 3);
  BOOST_TEST(n.sent() == 3u);
  BOOST_TEST(o.counters->sent.load() == 3u);   // the node's statistics count the same
  BOOST_TEST(o.counters->given_up.load() == 1u);   // logged below, after the last send
  BOOST_TEST(o.counters->answered.load() == 0u);
  std::lock_guard lock(m);
  BOOST_REQUIRE_EQUAL(logs.size(), 1u);
  BOOST_TEST(logs[0].find("no answer after 3 tries") != std::string::npos, logs[0]);
}

BOOST_AUTO_TEST_CASE(a_signer_signs_every_notify) {
  Secondary s;
  auto keys = std::make_shared<dns::Keyring>();
  BOOST_REQUIRE(keys->add("notify-key.", "hmac-sha256", "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="));
  net::NotifyOptions o;
  o.targets = {s.endpoint()};
  o.sign = [keys](Bytes& msg) {
    dns::sign_request(msg, dns::name_key(*dns::name_from_text("notify-key.")), *keys,
                      int64_t(std::time(nullptr)));
  };
  net::Notifier n(o);
  n.published(state_of(zone_with_serial(5)));
  const Bytes m = s.receive(3000ms);
  BOOST_REQUIRE(!m.empty());
  const auto verdict = dns::verify_request(m.data(), m.size(), *keys, int64_t(std::time(nullptr)));
  BOOST_TEST(dns::to_string(verdict.status) == std::string("ok"));
}

// With TSIG, only an answer signed over the NOTIFY's MAC ends it (RFC 8945 §5.4): an unsigned
// answer (forged, or from a secondary that does not know the key) is ignored and logged, and
// the NOTIFY is sent again until a signed answer comes.
BOOST_AUTO_TEST_CASE(a_signed_notify_is_answered_only_by_a_signed_answer) {
  Secondary s;
  auto keys = std::make_shared<dns::Keyring>();
  BOOST_REQUIRE(keys->add("notify-key.", "hmac-sha256", "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="));
  std::vector<std::string> logs;
  std::mutex m;
  net::NotifyOptions o;
  o.targets = {s.endpoint()};
  o.retry = 1000ms;   // long enough that no resend races the answers on a loaded machine
  o.sign = [keys](Bytes& msg) {
    dns::sign_request(msg, dns::name_key(*dns::name_from_text("notify-key.")), *keys,
                      int64_t(std::time(nullptr)));
  };
  o.verify = [keys](const uint8_t* reply, std::size_t length, const Bytes& request,
                    std::string& why) {
    const auto v = dns::verify_reply_to(request, reply, length, *keys, int64_t(std::time(nullptr)));
    why = v ? dns::to_string(v->status) : "request not signed";
    return v && v->status == dns::TsigStatus::ok;
  };
  o.log = [&](const std::string& line) {
    std::lock_guard lock(m);
    logs.push_back(line);
  };
  o.counters = std::make_shared<net::NotifyCounters>();
  net::Notifier n(o);
  n.published(state_of(zone_with_serial(5)));
  sockaddr_storage from{};
  const Bytes first = s.receive(3000ms, &from);
  BOOST_REQUIRE(!first.empty());
  for (int i = 0; i < 3; ++i) s.answer(first, from);   // unsigned, three times: logged once
  const Bytes again = s.receive(3000ms, &from);
  BOOST_REQUIRE_MESSAGE(!again.empty(), "the NOTIFY was not sent again after an unsigned answer");
  BOOST_TEST(n.answered() == 0u);
  // Now as a secondary with the key answers: signed over the request's MAC.
  const int64_t now = int64_t(std::time(nullptr));
  const auto verdict = dns::verify_request(again.data(), again.size(), *keys, now);
  BOOST_REQUIRE(dns::to_string(verdict.status) == std::string("ok"));
  Bytes reply(again.begin(), again.begin() + std::ptrdiff_t(verdict.unsigned_length));
  reply[2] = uint8_t(reply[2] | 0x80);
  reply[10] = 0;   // ARCOUNT without the request's TSIG
  reply[11] = 0;
  BOOST_REQUIRE(dns::sign_reply(reply, verdict, *keys, now));
  ::sendto(s.fd.get(), reply.data(), reply.size(), 0, reinterpret_cast<const sockaddr*>(&from),
           sizeof(sockaddr_in));
  BOOST_TEST(answered_at_least(n, 1));
  BOOST_TEST(s.receive(300ms).empty());   // answered: no more sends
  BOOST_TEST(o.counters->ignored.load() == 3u);   // every unsigned answer, though logged once
  BOOST_TEST(o.counters->answered.load() == 1u);
  std::lock_guard lock(m);
  BOOST_REQUIRE_EQUAL(logs.size(), 1u);
  BOOST_TEST(logs[0].find("answer ignored (rcode 0), unsigned") != std::string::npos, logs[0]);
}

// Of many zones, only the one that changed is notified: unchanged zone objects are passed over
// by identity (the notifier holds the last set), and a new list falls back to the serials.
BOOST_AUTO_TEST_CASE(only_changed_zones_of_many_are_notified) {
  auto zone = [](int i, uint32_t serial) {
    std::string apex = "z";
    apex += std::to_string(i);
    apex += ".test.";
    std::string text = "$TTL 300\n@ SOA ns1 hostmaster ";
    text += std::to_string(serial);
    text += " 1 2 3 4\n@ NS ns1\nns1 A 192.0.2.1\n";
    return dns::load_zone_text(text, apex);
  };
  // The owner of a NOTIFY's question, and its SOA serial.
  auto what = [](const Bytes& m) {
    ldns_pkt* p = nullptr;
    BOOST_REQUIRE(ldns_wire2pkt(&p, m.data(), m.size()) == LDNS_STATUS_OK);
    char* owner = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(p), 0)));
    std::string out = owner;
    free(owner);
    out += ' ';
    const ldns_rr* soa = ldns_rr_list_rr(ldns_pkt_answer(p), 0);
    out += std::to_string(ldns_rdf2native_int32(ldns_rr_rdf(soa, 2)));
    ldns_pkt_free(p);
    return out;
  };
  Secondary a;
  net::NotifyOptions o;
  o.targets = {a.endpoint()};
  o.retry = 100ms;
  o.min_interval = 0ms;
  net::Notifier n(o);
  auto set = std::make_shared<dns::ZoneSet>();
  for (int i = 0; i < 30; ++i) set->zones.push_back(zone(i, 1));
  dns::ServingState s;
  s.zones = set;
  n.published(s);
  std::set<std::string> first;
  for (int i = 0; i < 30; ++i) {
    sockaddr_storage from{};
    const Bytes m = a.receive(3000ms, &from);
    BOOST_REQUIRE(!m.empty());
    first.insert(what(m));
    a.answer(m, from);
  }
  BOOST_TEST(first.size() == 30u);
  BOOST_REQUIRE(answered_at_least(n, 30));
  // The next state: zone 7 has a new version, every other zone is the same object.
  auto next = std::make_shared<dns::ZoneSet>(*set);
  next->zones[7] = zone(7, 2);
  s.zones = next;
  n.published(s);
  sockaddr_storage from{};
  const Bytes m = a.receive(3000ms, &from);
  BOOST_REQUIRE(!m.empty());
  BOOST_TEST(what(m) == "z7.test. 2");
  a.answer(m, from);
  BOOST_REQUIRE(answered_at_least(n, 31));
  // A new list (a zone gone, the others new objects with the serials already notified): none.
  auto fewer = std::make_shared<dns::ZoneSet>();
  for (int i = 1; i < 30; ++i) fewer->zones.push_back(zone(i, i == 7 ? 2 : 1));
  s.zones = fewer;
  n.published(s);
  BOOST_TEST(a.receive(400ms).empty());
}
