#define BOOST_TEST_MODULE test_net
#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "actors/dns_frontend.hpp"
#include "dns/rr_writer.hpp"
#include "dns/query_parser.hpp"
#include "dns/responder.hpp"
#include "dns/zone.hpp"
#include "net/zone_slots.hpp"
#include "net/dns_server.hpp"
#include "net/socket.hpp"
#include "net/transfer_hook.hpp"

// ldns/common.h #defines bool/true/false in C++ unless __bool_true_false_are_defined is
// set, which breaks later standard headers (e.g. <optional>'s `bool(x) <=> false`).
// <stdbool.h> sets it.
#include "ldns_wire.hpp"

using namespace std::chrono_literals;
using Bytes = std::vector<uint8_t>;
using vrdns::dns::Transport;
using Clock = std::chrono::steady_clock;

namespace {

// ---- serving states ----------------------------------------------------------------

vrdns::dns::ServingStatePtr make_state(vrdns::dns::ZonePtr zone, const std::string& status) {
  auto zones = std::make_shared<vrdns::dns::ZoneSet>();
  zones->zones.push_back(std::move(zone));
  auto s = std::make_shared<vrdns::dns::ServingState>();
  s->zones = zones;
  s->identity = "test-node";
  s->version = "vrdns test";
  s->status = status;
  return s;
}

/// The shipped example zone (state "A").
vrdns::dns::ServingStatePtr state_a() {
  static auto s = make_state(
      vrdns::dns::load_zone_file(std::string(VRDNS_SOURCE_DIR) + "/configs/example.test.zone",
                                 "example.test."),
      "state=a");
  return s;
}

/// Same apex, different data for www (state "B"): lets tests see which state answered.
vrdns::dns::ServingStatePtr state_b() {
  static auto s = make_state(vrdns::dns::load_zone_text("$ORIGIN example.test.\n$TTL 60\n"
                                                         "@ IN SOA ns1 host 2 7200 3600 1209600 300\n"
                                                         "@ IN NS ns1\nns1 IN A 192.0.2.53\n"
                                                         "www IN A 192.0.2.111\n",
                                                         "example.test.", "state-b"),
                             "state=b");
  return s;
}

// ---- DNS messages ---------------------------------------------------------------------

Bytes make_query(const char* name, ldns_rr_type type, uint16_t id, bool edns = false,
                 ldns_pkt_opcode opcode = LDNS_PACKET_QUERY) {
  ldns_pkt* p = ldns_pkt_query_new(ldns_dname_new_frm_str(name), type, LDNS_RR_CLASS_IN, LDNS_RD);
  BOOST_REQUIRE(p);
  ldns_pkt_set_id(p, id);
  ldns_pkt_set_opcode(p, opcode);
  if (edns) ldns_pkt_set_edns_udp_size(p, 1232);
  return wire_of(p);
}

/// What the query engine itself says; the front end must send exactly this.
Bytes expected(const vrdns::dns::ServingStatePtr& state, const Bytes& q, Transport t) {
  Bytes out(vrdns::dns::max_message_size);
  auto r = vrdns::dns::answer(*state, q.data(), q.size(), t, out.data(), out.size());
  BOOST_REQUIRE(r.what != vrdns::dns::Disposition::drop);
  out.resize(r.length);
  return out;
}

uint16_t rcode_of(const Bytes& m) { return m.size() >= 4 ? m[3] & 0x0f : 0xffff; }
bool tc_of(const Bytes& m) { return m.size() >= 3 && (m[2] & 0x02); }

// ---- sockets ------------------------------------------------------------------------

sockaddr_in loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

void set_timeout(int fd, std::chrono::milliseconds t) {
  timeval tv{};
  tv.tv_sec = t.count() / 1000;
  tv.tv_usec = (t.count() % 1000) * 1000;
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

struct UdpClient {
  vrdns::net::Fd fd{::socket(AF_INET, SOCK_DGRAM, 0)};
  sockaddr_in server;
  explicit UdpClient(uint16_t port) : server(loopback(port)) { set_timeout(fd.get(), 2000ms); }
  // Boost.Test macros are not thread-safe: the *_raw members report by return value, for
  // use on helper threads; the others check with BOOST_REQUIRE on the test thread.
  bool send_raw(const Bytes& m) {
    return ::sendto(fd.get(), m.data(), m.size(), 0, reinterpret_cast<const sockaddr*>(&server),
                    sizeof server) == ssize_t(m.size());
  }
  void send(const Bytes& m) { BOOST_REQUIRE(send_raw(m)); }
  /// Empty on timeout.
  Bytes receive() {
    Bytes buf(65535);
    ssize_t n = ::recv(fd.get(), buf.data(), buf.size(), 0);
    buf.resize(n > 0 ? std::size_t(n) : 0);
    return buf;
  }
  Bytes ask(const Bytes& m) {
    send(m);
    return receive();
  }
  Bytes ask_raw(const Bytes& m) { return send_raw(m) ? receive() : Bytes{}; }
};

struct TcpClient {
  vrdns::net::Fd fd{::socket(AF_INET, SOCK_STREAM, 0)};
  explicit TcpClient(uint16_t port, std::chrono::milliseconds timeout = 3000ms) {
    auto a = loopback(port);
    BOOST_REQUIRE(::connect(fd.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0);
    int one = 1;
    setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    set_timeout(fd.get(), timeout);
  }
  bool write_raw(const uint8_t* p, std::size_t n) {
    while (n > 0) {
      ssize_t k = ::send(fd.get(), p, n, MSG_NOSIGNAL);
      if (k <= 0) return false;
      p += k;
      n -= std::size_t(k);
    }
    return true;
  }
  void write(const uint8_t* p, std::size_t n) { BOOST_REQUIRE(write_raw(p, n)); }
  static Bytes frame(const Bytes& m) {
    Bytes f;
    f.reserve(2 + m.size());   // grown in one step: avoids a GCC 12 -Warray-bounds false positive
    f.push_back(uint8_t(m.size() >> 8));
    f.push_back(uint8_t(m.size()));
    f.insert(f.end(), m.begin(), m.end());
    return f;
  }
  bool send_raw(const Bytes& m) {
    auto f = frame(m);
    return write_raw(f.data(), f.size());
  }
  void send(const Bytes& m) { BOOST_REQUIRE(send_raw(m)); }
  /// Reads exactly n bytes; false on EOF, error or timeout.
  bool read_exact(uint8_t* p, std::size_t n) {
    while (n > 0) {
      ssize_t k = ::recv(fd.get(), p, n, 0);
      if (k <= 0) return false;
      p += k;
      n -= std::size_t(k);
    }
    return true;
  }
  /// One framed message; empty on EOF/timeout.
  Bytes receive() {
    uint8_t len[2];
    if (!read_exact(len, 2)) return {};
    Bytes m((std::size_t(len[0]) << 8) | len[1]);
    if (!read_exact(m.data(), m.size())) return {};
    return m;
  }
  /// True if the server closed the connection (EOF or reset) within the receive timeout.
  bool closed_by_server() {
    uint8_t b;
    ssize_t k = ::recv(fd.get(), &b, 1, 0);
    return k == 0 || (k < 0 && errno == ECONNRESET);
  }
};

struct Server {
  std::unique_ptr<vrdns::net::DnsServer> server;
  explicit Server(vrdns::net::ServerOptions o = {},
                  vrdns::dns::ServingStatePtr initial = state_a(),
                  vrdns::net::UpdateHandler update = {}) {
    if (o.listen.empty()) o.listen = {*vrdns::net::parse_endpoint("127.0.0.1:0")};
    server = std::make_unique<vrdns::net::DnsServer>(o, initial, std::move(update));
    server->start();
  }
  uint16_t port() const { return server->endpoints().at(0).port; }
};

}  // namespace

BOOST_AUTO_TEST_CASE(udp_answers_match_responder) {
  Server s;
  UdpClient c(s.port());
  struct Case { const char* name; ldns_rr_type type; bool edns; uint16_t rcode; bool tc; };
  const Case cases[] = {
      {"www.example.test.", LDNS_RR_TYPE_A, false, 0, false},
      {"nothere.example.test.", LDNS_RR_TYPE_A, true, 3, false},     // NXDOMAIN
      {"www.example.org.", LDNS_RR_TYPE_A, false, 5, false},         // REFUSED: not our zone
      {"big.example.test.", LDNS_RR_TYPE_A, false, 0, true},         // > 512: TC
      {"big.example.test.", LDNS_RR_TYPE_A, true, 0, false},         // fits EDNS 1232
  };
  uint16_t id = 100;
  for (const auto& k : cases) {
    BOOST_TEST_INFO(k.name << " edns=" << k.edns);
    auto q = make_query(k.name, k.type, ++id, k.edns);
    auto reply = c.ask(q);
    BOOST_REQUIRE(!reply.empty());
    BOOST_TEST(reply == expected(state_a(), q, Transport::udp));
    BOOST_TEST(rcode_of(reply) == k.rcode);
    BOOST_TEST(tc_of(reply) == k.tc);
  }
}

BOOST_AUTO_TEST_CASE(udp_garbage_is_ignored) {
  Server s;
  UdpClient c(s.port());
  c.send(Bytes{0x01});                        // not even a header
  c.send(Bytes(11, 0xff));
  auto q = make_query("www.example.test.", LDNS_RR_TYPE_A, 7);
  auto reply = c.ask(q);   // the worker survived and answers the next query
  BOOST_TEST(reply == expected(state_a(), q, Transport::udp));
}

// The statistics endpoint's numbers (net/query_stats.hpp): each worker counts before it
// sends, so once a client has its answers the totals include them exactly.
BOOST_AUTO_TEST_CASE(front_end_counts_what_it_answers) {
  Server s;
  {
    UdpClient u(s.port());
    u.send(Bytes{0x01});   // no header: dropped
    BOOST_REQUIRE(!u.ask(make_query("www.example.test.", LDNS_RR_TYPE_A, 1)).empty());
    BOOST_REQUIRE(!u.ask(make_query("nothere.example.test.", LDNS_RR_TYPE_AAAA, 2)).empty());
    BOOST_REQUIRE(!u.ask(make_query("www.example.org.", LDNS_RR_TYPE_A, 3)).empty());
    BOOST_REQUIRE(tc_of(u.ask(make_query("big.example.test.", LDNS_RR_TYPE_A, 4))));
  }
  TcpClient t(s.port());
  t.send(make_query("www.example.test.", LDNS_RR_TYPE_MX, 5));
  BOOST_REQUIRE(!t.receive().empty());

  const vrdns::net::QueryTotals q = s.server->stats().totals();
  BOOST_TEST(q.received_udp == 5u);
  BOOST_TEST(q.received_tcp == 1u);
  BOOST_TEST(q.dropped == 1u);
  BOOST_TEST(q.truncated == 1u);
  BOOST_TEST(q.opcode[0] == 5u);   // QUERY
  BOOST_TEST(q.qtype[LDNS_RR_TYPE_A] == 3u);
  BOOST_TEST(q.qtype[LDNS_RR_TYPE_AAAA] == 1u);
  BOOST_TEST(q.qtype[LDNS_RR_TYPE_MX] == 1u);
  BOOST_TEST(q.rcode[0] == 3u);   // NOERROR: www A, big A (truncated), www MX over TCP
  BOOST_TEST(q.rcode[3] == 1u);   // NXDOMAIN
  BOOST_TEST(q.rcode[5] == 1u);   // REFUSED: not our zone
  BOOST_TEST(s.server->stats().tcp_connections.load() == 1u);
}

// Response rate limiting (net/rate_limiter.hpp) on the real UDP path, with the clock held
// still: 3 answers a second for one name, then every second limited one slips out truncated.
// A query for another name (its own bucket) marks the end: one client's datagrams reach one
// worker, in order, so its answer comes after every earlier verdict.
BOOST_AUTO_TEST_CASE(udp_answers_are_rate_limited) {
  vrdns::net::ServerOptions o;
  o.rate_limit.responses_per_second = 3;
  o.rate_limit.slip = 2;
  o.rate_limit.now_seconds = [] { return uint32_t(1000); };
  Server s(o);
  UdpClient u(s.port());
  for (uint16_t id = 1; id <= 10; ++id) u.send(make_query("www.example.test.", LDNS_RR_TYPE_A, id));
  u.send(make_query("mail.example.test.", LDNS_RR_TYPE_A, 99));
  int full = 0, truncated = 0;
  bool marker = false;
  while (!marker) {
    const Bytes r = u.receive();
    BOOST_REQUIRE_MESSAGE(!r.empty(), "the marker's answer never came");
    if (((r[0] << 8) | r[1]) == 99) {
      marker = true;
    } else if (tc_of(r)) {
      ++truncated;
      BOOST_TEST(((r[6] << 8) | r[7]) == 0);   // no answer: the question alone
    } else {
      ++full;
    }
  }
  BOOST_TEST(full == 3);
  BOOST_TEST(truncated == 3);   // 7 limited: drop, slip, drop, slip, drop, slip, drop
  const vrdns::net::QueryTotals q = s.server->stats().totals();
  BOOST_TEST(q.rate_limited_dropped == 4u);
  BOOST_TEST(q.rate_limited_slipped == 3u);
  // Random names under one zone share its bucket: NXDOMAIN ones, and answers synthesized
  // from a wildcard (two kinds, two buckets), while each real name has one of its own.
  auto full_answers = [&](const std::vector<std::string>& names, uint16_t marker_id) {
    uint16_t id = 200;
    for (const auto& n : names) u.send(make_query(n.c_str(), LDNS_RR_TYPE_A, ++id));
    u.send(make_query("ns1.example.test.", LDNS_RR_TYPE_AAAA, marker_id));
    int n_full = 0;
    while (true) {
      const Bytes r = u.receive();
      BOOST_REQUIRE_MESSAGE(!r.empty(), "the marker's answer never came");
      if (((r[0] << 8) | r[1]) == marker_id) return n_full;
      if (!tc_of(r)) ++n_full;
    }
  };
  std::vector<std::string> missing, wild;
  for (int i = 0; i < 6; ++i) {   // appended piecewise: GCC 12 -O3 warns on "x" + ...
    missing.push_back("nothere");
    missing.back() += std::to_string(i);
    missing.back() += ".example.test.";
    wild.push_back("x");
    wild.back() += std::to_string(i);
    wild.back() += ".wild.example.test.";
  }
  BOOST_TEST(full_answers(missing, 301) == 3);
  BOOST_TEST(full_answers(wild, 302) == 3);
  // TCP is never limited: its source address cannot be forged.
  TcpClient t(s.port());
  for (uint16_t id = 1; id <= 5; ++id) {
    t.send(make_query("www.example.test.", LDNS_RR_TYPE_A, id));
    const Bytes r = t.receive();
    BOOST_REQUIRE(!r.empty());
    BOOST_TEST(((r[6] << 8) | r[7]) > 0);
  }
}

/// `q` (made with edns = true: its OPT is last, without options) with a COOKIE option.
Bytes with_cookie(Bytes q, const Bytes& cookie) {
  BOOST_REQUIRE(q.size() > 2 && q[q.size() - 1] == 0 && q[q.size() - 2] == 0);
  q[q.size() - 1] = uint8_t(4 + cookie.size());
  q.push_back(0);
  q.push_back(uint8_t(vrdns::dns::edns_option_cookie));
  q.push_back(0);
  q.push_back(uint8_t(cookie.size()));
  q.insert(q.end(), cookie.begin(), cookie.end());
  return q;
}

/// `state` answering with DNS cookies under `secrets` (ResponderOptions::cookies).
vrdns::dns::ServingStatePtr with_secrets(const vrdns::dns::ServingStatePtr& state,
                                         std::shared_ptr<const vrdns::dns::CookieSecrets> secrets) {
  auto s = std::make_shared<vrdns::dns::ServingState>(*state);
  s->options.cookies = std::move(secrets);
  return s;
}

std::shared_ptr<const vrdns::dns::CookieSecrets> new_secrets(
    std::optional<vrdns::dns::CookieSecret> previous = std::nullopt) {
  auto secrets = std::make_shared<vrdns::dns::CookieSecrets>();
  secrets->current = vrdns::dns::random_cookie_secret();
  secrets->previous = previous;
  return secrets;
}

/// The COOKIE option data at the end of reply `r` (the responder writes the OPT last).
Bytes cookie_of(const Bytes& r) {
  const std::size_t n = vrdns::dns::reply_cookie_size;
  if (r.size() < n + 4 || r[r.size() - n - 3] != vrdns::dns::edns_option_cookie) return {};
  return Bytes(r.end() - std::ptrdiff_t(n), r.end());
}

// A reload replaces the limiter of a running server (DnsServer::set_rate_limiter): limiting
// turned on, an exempt list, off, and on again with every bucket full. Each round is ten
// queries for one name and a marker query for another (its own bucket) that ends it.
BOOST_AUTO_TEST_CASE(udp_rate_limit_is_replaced_at_run_time) {
  Server s;
  UdpClient u(s.port());
  uint16_t id = 0;
  auto round = [&]() -> std::pair<int, int> {   // full and truncated answers of ten
    for (int i = 0; i < 10; ++i) u.send(make_query("www.example.test.", LDNS_RR_TYPE_A, ++id));
    const uint16_t marker_id = ++id;
    u.send(make_query("mail.example.test.", LDNS_RR_TYPE_A, marker_id));
    int full = 0, truncated = 0;
    for (;;) {
      const Bytes r = u.receive();
      BOOST_REQUIRE_MESSAGE(!r.empty(), "the marker's answer never came");
      if (((r[0] << 8) | r[1]) == marker_id) break;
      (tc_of(r) ? truncated : full)++;
    }
    return {full, truncated};
  };
  auto limited = [](std::vector<vrdns::net::AddressPrefix> exempt = {}) {
    vrdns::net::RateLimitOptions o;
    o.responses_per_second = 3;
    o.slip = 2;
    o.now_seconds = [] { return uint32_t(1000); };   // held still: no refill
    o.exempt = std::move(exempt);
    return o;
  };
  BOOST_TEST((round() == std::pair<int, int>{10, 0}));   // none at start
  s.server->set_rate_limiter(vrdns::net::make_rate_limiter(limited()));
  BOOST_TEST((round() == std::pair<int, int>{3, 3}));    // 7 limited: every second slips
  s.server->set_rate_limiter(vrdns::net::make_rate_limiter(
      limited({*vrdns::net::AddressPrefix::parse("127.0.0.0/8")})));
  BOOST_TEST((round() == std::pair<int, int>{10, 0}));   // exempt
  s.server->set_rate_limiter(vrdns::net::make_rate_limiter(vrdns::net::RateLimitOptions{}));
  BOOST_TEST((round() == std::pair<int, int>{10, 0}));   // off
  s.server->set_rate_limiter(vrdns::net::make_rate_limiter(limited()));
  BOOST_TEST((round() == std::pair<int, int>{3, 3}));    // on again, a fresh limiter
  const vrdns::net::QueryTotals q = s.server->stats().totals();
  BOOST_TEST(q.rate_limited_slipped == 6u);
  BOOST_TEST(q.rate_limited_dropped == 8u);
}

// Per-zone query counts (net/zone_slots.hpp): each answer from a zone counted under its
// slot, over UDP and TCP; answers from no zone (REFUSED) under none.
BOOST_AUTO_TEST_CASE(queries_are_counted_by_zone) {
  auto zones = std::make_shared<vrdns::dns::ZoneSet>();
  zones->zones.push_back(state_a()->zones->zones.at(0));   // example.test.
  zones->zones.push_back(vrdns::dns::load_zone_text(
      "$ORIGIN other.test.\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.9\n", "other.test."));
  auto state = std::make_shared<vrdns::dns::ServingState>(*state_a());
  state->zones = zones;
  vrdns::net::ZoneSlots slots;
  state->zone_slots = slots.slots_for(*zones);
  Server s({}, state);
  UdpClient u(s.port());
  for (uint16_t id = 1; id <= 3; ++id)
    BOOST_REQUIRE(!u.ask(make_query("www.example.test.", LDNS_RR_TYPE_A, id)).empty());
  BOOST_REQUIRE(!u.ask(make_query("nothere.other.test.", LDNS_RR_TYPE_A, 4)).empty());
  BOOST_REQUIRE(!u.ask(make_query("www.example.org.", LDNS_RR_TYPE_A, 5)).empty());   // REFUSED
  TcpClient t(s.port());
  t.send(make_query("ns1.other.test.", LDNS_RR_TYPE_A, 6));
  BOOST_REQUIRE(!t.receive().empty());
  const vrdns::net::QueryTotals q = s.server->stats().totals();
  const auto slot_of = [&](const char* apex) {
    return *slots.find(vrdns::dns::name_key(*vrdns::dns::name_from_text(apex)));
  };
  BOOST_TEST(q.zone[slot_of("example.test.")] == 3u);
  BOOST_TEST(q.zone[slot_of("other.test.")] == 2u);
  uint64_t all = 0;
  for (uint64_t n : q.zone) all += n;
  BOOST_TEST(all == 5u);   // the REFUSED one is nobody's
}

// DNS cookies on the real UDP and TCP paths, with response rate limiting: a client that sent
// only its client cookie and is limited gets BADCOOKIE with our server cookie instead of a
// truncated answer; once it sends that server cookie back, it is never limited.
BOOST_AUTO_TEST_CASE(udp_cookies_are_answered_and_spare_the_limit) {
  vrdns::net::ServerOptions o;
  o.rate_limit.responses_per_second = 3;
  o.rate_limit.slip = 2;
  o.rate_limit.now_seconds = [] { return uint32_t(1000); };
  Server s(o, with_secrets(state_a(), new_secrets()));
  UdpClient u(s.port());
  const Bytes client_cookie = {1, 2, 3, 4, 5, 6, 7, 8};
  for (uint16_t id = 1; id <= 10; ++id)
    u.send(with_cookie(make_query("www.example.test.", LDNS_RR_TYPE_A, id, true), client_cookie));
  u.send(make_query("mail.example.test.", LDNS_RR_TYPE_A, 99));
  int full = 0, badcookie = 0;
  Bytes server_cookie;
  for (;;) {
    const Bytes r = u.receive();
    BOOST_REQUIRE_MESSAGE(!r.empty(), "the marker's answer never came");
    if (((r[0] << 8) | r[1]) == 99) break;
    const Bytes cookie = cookie_of(r);
    BOOST_REQUIRE_EQUAL(cookie.size(), vrdns::dns::reply_cookie_size);
    BOOST_TEST(std::equal(client_cookie.begin(), client_cookie.end(), cookie.begin()));
    BOOST_TEST(!tc_of(r));
    if (rcode_of(r) == (vrdns::dns::rcode::BADCOOKIE & 0x0F)) {
      ++badcookie;
      BOOST_TEST(((r[6] << 8) | r[7]) == 0);   // the question and the OPT alone
      server_cookie = cookie;
    } else {
      BOOST_TEST(rcode_of(r) == vrdns::dns::rcode::NOERROR);
      ++full;
    }
  }
  BOOST_TEST(full == 3);
  BOOST_TEST(badcookie == 3);   // 7 limited: drop, slip, drop, slip, drop, slip, drop
  BOOST_REQUIRE(!server_cookie.empty());
  // The same name, same client, same second: only the cookie differs, and nothing is limited.
  for (uint16_t id = 101; id <= 110; ++id)
    u.send(with_cookie(make_query("www.example.test.", LDNS_RR_TYPE_A, id, true), server_cookie));
  for (int i = 0; i < 10; ++i) {
    const Bytes r = u.receive();
    BOOST_REQUIRE_MESSAGE(!r.empty(), "an answer to a query with a valid cookie went missing");
    BOOST_TEST(rcode_of(r) == vrdns::dns::rcode::NOERROR);
    BOOST_TEST(((r[6] << 8) | r[7]) > 0);
    BOOST_TEST(cookie_of(r) == server_cookie);   // young: echoed as it came
  }
  // TCP answers cookies too, and this client's cookie is valid there (the same address).
  TcpClient t(s.port());
  t.send(with_cookie(make_query("www.example.test.", LDNS_RR_TYPE_A, 7, true), server_cookie));
  const Bytes r = t.receive();
  BOOST_TEST(cookie_of(r) == server_cookie);
  // A malformed cookie: FORMERR, and no cookie back.
  const Bytes bad = u.ask(with_cookie(make_query("www.example.test.", LDNS_RR_TYPE_A, 8, true),
                                      Bytes{1, 2, 3}));
  BOOST_TEST(rcode_of(bad) == vrdns::dns::rcode::FORMERR);
  BOOST_TEST(cookie_of(bad).empty());

  const vrdns::net::QueryTotals q = s.server->stats().totals();
  using vrdns::dns::CookieVerdict;
  BOOST_TEST(q.cookie[std::size_t(CookieVerdict::client_only)] == 10u);
  BOOST_TEST(q.cookie[std::size_t(CookieVerdict::valid)] == 11u);
  BOOST_TEST(q.cookie[std::size_t(CookieVerdict::malformed)] == 1u);
  BOOST_TEST(q.cookie[std::size_t(CookieVerdict::invalid)] == 0u);
  BOOST_TEST(q.rcode[vrdns::dns::rcode::BADCOOKIE] == 3u);
  BOOST_TEST(q.rate_limited_slipped == 3u);
  BOOST_TEST(q.rate_limited_dropped == 4u);
  BOOST_TEST(q.truncated == 0u);
}

BOOST_AUTO_TEST_CASE(tcp_answers_and_pipelining) {
  Server s;
  TcpClient c(s.port());
  // Several queries in ONE write; answers come back complete, in order.
  std::vector<Bytes> queries = {
      make_query("www.example.test.", LDNS_RR_TYPE_A, 1),
      make_query("big.example.test.", LDNS_RR_TYPE_A, 2),        // no TC over TCP
      make_query("nothere.example.test.", LDNS_RR_TYPE_A, 3),
      make_query("bigtxt.example.test.", LDNS_RR_TYPE_TXT, 4),
      make_query("mail.example.test.", LDNS_RR_TYPE_AAAA, 5),
  };
  Bytes all;
  for (const auto& q : queries) {
    auto f = TcpClient::frame(q);
    all.insert(all.end(), f.begin(), f.end());
  }
  c.write(all.data(), all.size());
  for (const auto& q : queries) {
    auto reply = c.receive();
    BOOST_REQUIRE(!reply.empty());
    BOOST_TEST(reply == expected(state_a(), q, Transport::tcp));
    BOOST_TEST(!tc_of(reply));
  }
}

BOOST_AUTO_TEST_CASE(tcp_split_frames) {
  Server s;
  TcpClient c(s.port());
  auto q1 = make_query("www.example.test.", LDNS_RR_TYPE_A, 11);
  auto q2 = make_query("ns1.example.test.", LDNS_RR_TYPE_AAAA, 12);
  auto f1 = TcpClient::frame(q1), f2 = TcpClient::frame(q2);
  Bytes all = f1;
  all.insert(all.end(), f2.begin(), f2.end());
  // Cut points: inside the first length prefix, inside the first message, inside the
  // second length prefix. The pauses only make separate TCP segments likely; correctness
  // does not depend on them.
  std::vector<std::size_t> cuts = {1, 7, f1.size() + 1, all.size()};
  std::size_t from = 0;
  for (auto cut : cuts) {
    c.write(all.data() + from, cut - from);
    from = cut;
    std::this_thread::sleep_for(20ms);
  }
  BOOST_TEST(c.receive() == expected(state_a(), q1, Transport::tcp));
  BOOST_TEST(c.receive() == expected(state_a(), q2, Transport::tcp));
}

BOOST_AUTO_TEST_CASE(tcp_garbage_frame_then_valid_query) {
  Server s;
  TcpClient c(s.port());
  Bytes junk = {0x00, 0x03, 0xde, 0xad, 0xbe};   // a 3-byte "message": no header
  c.write(junk.data(), junk.size());
  auto q = make_query("www.example.test.", LDNS_RR_TYPE_A, 21);
  c.send(q);
  BOOST_TEST(c.receive() == expected(state_a(), q, Transport::tcp));
}

BOOST_AUTO_TEST_CASE(tcp_idle_timeout_closes) {
  vrdns::net::ServerOptions o;
  o.tcp.idle_timeout = 300ms;
  Server s(o);
  TcpClient active(s.port());
  auto q = make_query("www.example.test.", LDNS_RR_TYPE_A, 31);
  active.send(q);
  BOOST_REQUIRE(!active.receive().empty());
  auto start = Clock::now();
  BOOST_TEST(active.closed_by_server());   // blocks until the server closes (or 3 s)
  auto waited = Clock::now() - start;
  BOOST_TEST((waited >= 250ms));
  BOOST_TEST((waited < 2500ms));
}

BOOST_AUTO_TEST_CASE(tcp_max_connections) {
  vrdns::net::ServerOptions o;
  o.tcp.max_connections = 2;
  Server s(o);
  auto q = make_query("www.example.test.", LDNS_RR_TYPE_A, 41);
  auto c1 = std::make_unique<TcpClient>(s.port());
  TcpClient c2(s.port());
  // A round trip on each proves the server accepted (and counted) them.
  c1->send(q);
  BOOST_REQUIRE(c1->receive() == expected(state_a(), q, Transport::tcp));
  c2.send(q);
  BOOST_REQUIRE(c2.receive() == expected(state_a(), q, Transport::tcp));
  BOOST_TEST(s.server->tcp_connections() == 2u);
  TcpClient c3(s.port());   // the kernel completes the handshake; the server then closes it
  BOOST_TEST(c3.closed_by_server());
  // Closing one frees a slot. Wait (bounded) for the server to see the close.
  c1.reset();
  auto deadline = Clock::now() + 3s;
  while (s.server->tcp_connections() != 1u && Clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  BOOST_REQUIRE(s.server->tcp_connections() == 1u);
  TcpClient c4(s.port());
  c4.send(q);
  BOOST_TEST(c4.receive() == expected(state_a(), q, Transport::tcp));
}

BOOST_AUTO_TEST_CASE(tcp_backpressure_keeps_every_answer) {
  vrdns::net::ServerOptions o;
  o.tcp.max_buffered_output = 16 * 1024;   // far below the ~1 MB of answers below
  Server s(o);
  TcpClient c(s.port());
  constexpr int n = 500;
  auto q = make_query("bigtxt.example.test.", LDNS_RR_TYPE_TXT, 51);
  auto want = expected(state_a(), q, Transport::tcp);
  // The writer may block while the server holds back (it stops reading us): own thread.
  std::atomic<bool> written{true};
  std::thread writer([&] {
    auto f = TcpClient::frame(q);
    for (int i = 0; i < n && written; ++i) written = c.write_raw(f.data(), f.size());
  });
  int ok = 0;
  for (int i = 0; i < n; ++i) {
    auto reply = c.receive();
    if (reply.empty()) { BOOST_TEST_MESSAGE("empty at " << i << " errno " << errno); break; }
    if (reply != want) BOOST_TEST_MESSAGE("mismatch at " << i << " size " << reply.size());
    ok += reply == want;
  }
  writer.join();
  BOOST_TEST(written.load());
  BOOST_TEST(ok == n);
}

BOOST_AUTO_TEST_CASE(swapping_state_under_load) {
  Server s;
  auto q = make_query("www.example.test.", LDNS_RR_TYPE_A, 61);
  const auto want_a_udp = expected(state_a(), q, Transport::udp);
  const auto want_b_udp = expected(state_b(), q, Transport::udp);
  const auto want_a_tcp = expected(state_a(), q, Transport::tcp);
  const auto want_b_tcp = expected(state_b(), q, Transport::tcp);
  BOOST_REQUIRE(want_a_udp != want_b_udp);

  // Each client asks at least per_client times, and goes on (bounded in time) until both
  // states were seen: on a loaded machine the publishing thread may sit out a whole thousand
  // queries (all 3,000 once came from one state).
  constexpr int per_client = 1000;
  const auto load_deadline = Clock::now() + 15s;
  std::atomic<int> bad{0}, seen_a{0}, seen_b{0}, asked{0}, running{3};
  auto count = [&](bool a, bool b) {
    if (a) ++seen_a;
    else if (b) ++seen_b;
    else ++bad;
  };
  auto more = [&](int i) {
    return (i < per_client || seen_a == 0 || seen_b == 0) && Clock::now() < load_deadline;
  };
  UdpClient u1(s.port()), u2(s.port());
  TcpClient tc(s.port());
  auto udp_load = [&](UdpClient& c) {
    for (int i = 0; more(i); ++i) {
      ++asked;
      auto r = c.ask_raw(q);
      count(r == want_a_udp, r == want_b_udp);
    }
    --running;
  };
  auto tcp_load = [&](TcpClient& c) {
    for (int i = 0; more(i); ++i) {
      ++asked;
      auto r = c.send_raw(q) ? c.receive() : Bytes{};
      count(r == want_a_tcp, r == want_b_tcp);
    }
    --running;
  };
  std::thread t1(udp_load, std::ref(u1)), t2(udp_load, std::ref(u2)), t3(tcp_load, std::ref(tc));
  // Publish alternately for as long as the clients run (bounded in time). Each publish is a
  // new state object, as the replica's are: republishing the two static ones would keep every
  // replaced pointer retired (the statics hold them), and the publisher's list of retired
  // states, scanned under its lock, would grow without bound (it starved the workers for
  // seconds here).
  auto deadline = Clock::now() + 20s;
  long publishes = 0;
  while (running > 0 && Clock::now() < deadline) {
    s.server->publish(
        std::make_shared<vrdns::dns::ServingState>(++publishes % 2 ? *state_b() : *state_a()));
  }
  t1.join();
  t2.join();
  t3.join();
  BOOST_TEST_MESSAGE("publishes " << publishes << " a " << seen_a << " b " << seen_b);
  BOOST_TEST(bad.load() == 0);
  BOOST_TEST(asked >= 3 * per_client);
  BOOST_TEST(seen_a + seen_b == asked);
  BOOST_TEST(seen_a > 0);   // both states really served while swapping
  BOOST_TEST(seen_b > 0);

  // After a publish, the very next query sees the new state (checked once per batch).
  UdpClient c(s.port());
  TcpClient t(s.port());
  s.server->publish(state_b());
  BOOST_TEST(c.ask(q) == want_b_udp);
  t.send(q);
  BOOST_TEST(t.receive() == want_b_tcp);
  s.server->publish(state_a());
  BOOST_TEST(c.ask(q) == want_a_udp);
  t.send(q);
  BOOST_TEST(t.receive() == want_a_tcp);
}

BOOST_AUTO_TEST_CASE(update_hook_answers_later_from_another_thread) {
  std::mutex mutex;
  std::vector<std::thread> repliers;
  std::atomic<int> handed{0};
  // A stand-in for the replicated update path: answers with the query, QR set and
  // RCODE 9 (NOTAUTH), from another thread.
  vrdns::net::UpdateHandler handler = [&](vrdns::net::UpdateRequest req) {
    ++handed;
    std::lock_guard lock(mutex);
    repliers.emplace_back([r = std::move(req)] {
      Bytes m = r.message;
      m[2] |= 0x80;
      m[3] = uint8_t((m[3] & 0xf0) | 9);
      r.reply(m.data(), m.size());
    });
  };
  Server s({}, state_a(), handler);
  auto upd = make_query("example.test.", LDNS_RR_TYPE_SOA, 71, false, LDNS_PACKET_UPDATE);
  UdpClient u(s.port());
  auto r1 = u.ask(upd);
  BOOST_REQUIRE(r1.size() == upd.size());
  BOOST_TEST(rcode_of(r1) == 9);
  TcpClient t(s.port());
  t.send(upd);
  auto r2 = t.receive();
  BOOST_REQUIRE(r2.size() == upd.size());
  BOOST_TEST(rcode_of(r2) == 9);
  BOOST_TEST(handed.load() == 2);
  // Queries still go the normal way.
  auto q = make_query("www.example.test.", LDNS_RR_TYPE_A, 72);
  t.send(q);
  BOOST_TEST(t.receive() == expected(state_a(), q, Transport::tcp));
  s.server->stop();
  for (auto& th : repliers) th.join();
}

namespace {

// An update hook that keeps every request and answers it (NOTAUTH, as above) only when told:
// the replicated path answers once the UPDATE has committed, which takes a while.
struct LateReplies {
  std::mutex mutex;
  std::condition_variable arrived;
  std::vector<vrdns::net::UpdateRequest> held;
  vrdns::net::UpdateHandler handler() {
    return [this](vrdns::net::UpdateRequest req) {
      std::lock_guard lock(mutex);
      held.push_back(std::move(req));
      arrived.notify_all();
    };
  }
  bool wait_for(std::size_t n) {
    std::unique_lock lock(mutex);
    return arrived.wait_for(lock, 5s, [&] { return held.size() >= n; });
  }
  void answer_all() {
    std::lock_guard lock(mutex);
    for (auto& r : held) {
      Bytes m = r.message;
      m[2] |= 0x80;
      m[3] = uint8_t((m[3] & 0xf0) | 9);
      r.reply(m.data(), m.size());
    }
    held.clear();
  }
};

}  // namespace

// The cookie secrets come with the serving state, so a reload (RFC 9018's three-step roll)
// reaches the running workers without a restart: a cookie made under the old secret stays valid
// while that is the previous one (and is renewed under the new), and is refused once it is gone;
// a state without secrets turns cookies off.
BOOST_AUTO_TEST_CASE(cookie_secrets_follow_the_published_state) {
  using vrdns::dns::reply_cookie_size;
  const auto a = new_secrets();
  Server s({}, with_secrets(state_a(), a));
  UdpClient u(s.port());
  const Bytes client_cookie = {8, 7, 6, 5, 4, 3, 2, 1};
  auto ask = [&](uint16_t id, const Bytes& cookie) {
    const Bytes r = u.ask(with_cookie(make_query("www.example.test.", LDNS_RR_TYPE_A, id, true),
                                      cookie));
    BOOST_REQUIRE_MESSAGE(!r.empty(), "no answer to query " << id);
    BOOST_TEST(rcode_of(r) == vrdns::dns::rcode::NOERROR);
    return r;
  };
  const Bytes under_a = cookie_of(ask(1, client_cookie));
  BOOST_REQUIRE_EQUAL(under_a.size(), reply_cookie_size);
  BOOST_TEST(cookie_of(ask(2, under_a)) == under_a);   // valid and young: echoed

  // Step 2: B is issued, A still accepted; A's cookie is renewed under B.
  const auto a_then_b = new_secrets(a->current);
  s.server->publish(with_secrets(state_a(), a_then_b));
  const Bytes under_b = cookie_of(ask(3, under_a));
  BOOST_REQUIRE_EQUAL(under_b.size(), reply_cookie_size);
  BOOST_TEST(under_b != under_a);
  BOOST_TEST(std::equal(client_cookie.begin(), client_cookie.end(), under_b.begin()));

  // Step 3: A is gone. B's cookie is valid (echoed); A's is not, and a fresh one comes back.
  auto b_only = std::make_shared<vrdns::dns::CookieSecrets>();
  b_only->current = a_then_b->current;
  s.server->publish(with_secrets(state_a(), b_only));
  BOOST_TEST(cookie_of(ask(4, under_b)) == under_b);
  const Bytes fresh = cookie_of(ask(5, under_a));
  BOOST_REQUIRE_EQUAL(fresh.size(), reply_cookie_size);
  BOOST_TEST(fresh != under_a);
  // Over TCP too: the TCP worker reads the same state.
  TcpClient t(s.port());
  t.send(with_cookie(make_query("www.example.test.", LDNS_RR_TYPE_A, 6, true), under_b));
  BOOST_TEST(cookie_of(t.receive()) == under_b);

  // No secrets in the state: the option is not answered.
  s.server->publish(state_a());
  BOOST_TEST(cookie_of(ask(7, under_b)).empty());
  t.send(with_cookie(make_query("www.example.test.", LDNS_RR_TYPE_A, 8, true), under_b));
  BOOST_TEST(cookie_of(t.receive()).empty());

  using vrdns::dns::CookieVerdict;
  const vrdns::net::QueryTotals q = s.server->stats().totals();
  BOOST_TEST(q.cookie[std::size_t(CookieVerdict::client_only)] == 1u);
  BOOST_TEST(q.cookie[std::size_t(CookieVerdict::valid)] == 4u);   // queries 2, 3, 4, 6
  BOOST_TEST(q.cookie[std::size_t(CookieVerdict::invalid)] == 1u);   // query 5
}

// The front ends hand an UPDATE over with the OPT its answer must carry (the reply cookie in
// it) and with the EDNS error it must get (BADVERS, FORMERR), over UDP and TCP alike.
BOOST_AUTO_TEST_CASE(updates_are_handed_over_with_their_opt) {
  LateReplies late;
  Server s({}, with_secrets(state_a(), new_secrets()), late.handler());
  const Bytes client_cookie = {1, 2, 3, 4, 5, 6, 7, 8};
  const auto update = [](uint16_t id, bool edns) {
    return make_query("example.test.", LDNS_RR_TYPE_SOA, id, edns, LDNS_PACKET_UPDATE);
  };
  UdpClient u(s.port());
  u.send(with_cookie(update(1, true), client_cookie));
  Bytes v1 = update(2, true);
  v1[v1.size() - 5] = 1;   // the OPT's version (it is last, without options)
  u.send(v1);
  u.send(with_cookie(update(3, true), Bytes{1, 2, 3}));   // a malformed COOKIE
  u.send(update(4, false));
  TcpClient t(s.port());
  t.send(with_cookie(update(5, true), client_cookie));
  BOOST_REQUIRE(late.wait_for(5));
  std::map<uint16_t, vrdns::net::UpdateRequest> by_id;
  {
    std::lock_guard lock(late.mutex);
    for (auto& r : late.held) by_id[uint16_t(r.message[0] << 8 | r.message[1])] = r;
  }
  BOOST_REQUIRE(by_id.size() == 5u);
  for (uint16_t id : {1, 5}) {
    BOOST_TEST_INFO("id " << id);
    const auto& r = by_id[id];
    BOOST_TEST(r.edns_rcode == 0u);
    BOOST_REQUIRE(r.opt.size() == vrdns::dns::opt_rr_size + 4 + vrdns::dns::reply_cookie_size);
    BOOST_TEST(((r.opt[1] << 8) | r.opt[2]) == 41);   // OPT
    const Bytes cookie = cookie_of(r.opt);
    BOOST_TEST(std::equal(client_cookie.begin(), client_cookie.end(), cookie.begin()));
  }
  BOOST_TEST(by_id[2].edns_rcode == vrdns::dns::rcode::BADVERS);
  BOOST_TEST(by_id[2].opt.size() == vrdns::dns::opt_rr_size);
  BOOST_TEST(by_id[3].edns_rcode == vrdns::dns::rcode::FORMERR);
  BOOST_TEST(by_id[4].edns_rcode == 0u);
  BOOST_TEST(by_id[4].opt.empty());
  late.answer_all();
}

// A client that sends its UPDATE over TCP and then shuts down its sending side still gets the
// answer, which comes after the server has seen the end of its input.
BOOST_AUTO_TEST_CASE(tcp_update_answer_reaches_a_half_closed_client) {
  LateReplies late;
  Server s({}, state_a(), late.handler());   // one TCP worker: it handles both connections
  TcpClient t(s.port());
  TcpClient other(s.port());
  auto q = make_query("www.example.test.", LDNS_RR_TYPE_A, 90);
  other.send(q);
  BOOST_REQUIRE(!other.receive().empty());   // accepted and served
  auto upd = make_query("example.test.", LDNS_RR_TYPE_SOA, 91, false, LDNS_PACKET_UPDATE);
  t.send(upd);
  BOOST_REQUIRE(late.wait_for(1));
  BOOST_REQUIRE(::shutdown(t.fd.get(), SHUT_WR) == 0);
  // The end of t's input was queued before this query, so once the worker has answered the
  // query it has read that end too (and, before the fix, closed t's connection). The commit
  // comes only after that.
  other.send(q);
  BOOST_REQUIRE(!other.receive().empty());
  late.answer_all();
  auto r = t.receive();
  BOOST_REQUIRE(r.size() == upd.size());
  BOOST_TEST(rcode_of(r) == 9);
  BOOST_TEST(t.closed_by_server());   // and then the server closes: the client is done
}

// The idle timeout does not close a connection whose UPDATE is still waiting for its answer.
BOOST_AUTO_TEST_CASE(tcp_update_answer_outlives_the_idle_timeout) {
  LateReplies late;
  vrdns::net::ServerOptions o;
  o.tcp.idle_timeout = 100ms;
  Server s(o, state_a(), late.handler());
  TcpClient t(s.port());
  auto upd = make_query("example.test.", LDNS_RR_TYPE_SOA, 92, false, LDNS_PACKET_UPDATE);
  t.send(upd);
  BOOST_REQUIRE(late.wait_for(1));
  // A connection opened after t's last activity is closed by the idle sweep (the worker's only
  // other connection): by then t has been idle longer than the timeout as well, and before the
  // fix the sweep had closed it. The commit comes only after that.
  TcpClient idle(s.port());
  BOOST_REQUIRE(idle.closed_by_server());
  late.answer_all();
  auto r = t.receive();
  BOOST_REQUIRE(r.size() == upd.size());
  BOOST_TEST(rcode_of(r) == 9);
  // Answered and idle again: now the timeout applies.
  BOOST_TEST(t.closed_by_server());
}

BOOST_AUTO_TEST_CASE(update_without_hook_sends_fallback) {
  Server s;
  auto upd = make_query("example.test.", LDNS_RR_TYPE_SOA, 81, false, LDNS_PACKET_UPDATE);
  UdpClient u(s.port());
  BOOST_TEST(u.ask(upd) == expected(state_a(), upd, Transport::udp));
}

// ---- zone transfers (net/transfer_hook.hpp) -------------------------------------------

// A stand-in transfer: `count` messages of `size` bytes, each carrying its index in bytes 2-3
// (where a DNS header has its flags: the test only reads them back). Counts what it produced.
struct NumberedTransfer : vrdns::net::OutgoingTransfer {
  int count, size;
  int produced = 0;
  std::shared_ptr<std::atomic<int>> made;
  NumberedTransfer(int c, int sz, std::shared_ptr<std::atomic<int>> m)
      : count(c), size(sz), made(std::move(m)) {}
  bool next(Bytes& message) override {
    if (produced == count) return false;
    message.assign(std::size_t(size), 0xAB);
    message[2] = uint8_t(produced >> 8);
    message[3] = uint8_t(produced);
    ++produced;
    ++*made;
    return true;
  }
};

int index_of(const Bytes& m) { return m.size() >= 4 ? (m[2] << 8) | m[3] : -1; }

// A big transfer streams under backpressure: it is produced only as fast as the client reads
// (not queued whole), the worker answers another connection while this one is stalled, and a
// query sent behind the AXFR on the same connection is answered after its last message.
BOOST_AUTO_TEST_CASE(tcp_transfer_streams_at_the_clients_pace_then_answers_what_followed) {
  // 30 MB in all: far more than the loopback socket buffers hold (a few MB), so the check that
  // production was held back means something.
  constexpr int messages = 1000, size = 30000;
  auto made = std::make_shared<std::atomic<int>>(0);
  std::atomic<int> asked{0};
  vrdns::net::ServerOptions o;
  o.tcp.max_buffered_output = 64 * 1024;
  o.tcp.transfer_handler = [&](const vrdns::net::TransferRequest& r) {
    ++asked;
    BOOST_CHECK(r.state != nullptr);   // from the worker thread: BOOST_CHECK only counts
    return std::make_unique<NumberedTransfer>(messages, size, made);
  };
  Server s(o);
  TcpClient c(s.port());
  const auto axfr = make_query("example.test.", LDNS_RR_TYPE_AXFR, 90);
  const auto soa = make_query("example.test.", LDNS_RR_TYPE_SOA, 91);
  Bytes both = TcpClient::frame(axfr);
  const Bytes second = TcpClient::frame(soa);
  both.insert(both.end(), second.begin(), second.end());
  c.write(both.data(), both.size());
  // Not reading: the server stops producing once its buffer and the socket's are full.
  TcpClient other(s.port());
  const auto a = make_query("www.example.test.", LDNS_RR_TYPE_A, 92);
  other.send(a);
  BOOST_TEST(other.receive() == expected(state_a(), a, Transport::tcp));   // not blocked
  BOOST_TEST(made->load() < messages / 2);   // held back, not produced at once
  for (int i = 0; i < messages; ++i) {
    const Bytes m = c.receive();
    BOOST_REQUIRE_MESSAGE(m.size() == std::size_t(size), "message " << i << " size " << m.size());
    BOOST_REQUIRE_EQUAL(index_of(m), i);
  }
  BOOST_TEST(c.receive() == expected(state_a(), soa, Transport::tcp));
  BOOST_TEST(asked.load() == 1);
}

// An UPDATE answer that comes back while a transfer is being sent on the same connection waits
// for the transfer's last message (a client reads a transfer as one run of messages), and does
// not stall the transfer either.
BOOST_AUTO_TEST_CASE(tcp_update_answer_during_a_transfer_follows_its_last_message) {
  constexpr int messages = 300, size = 30000;
  auto made = std::make_shared<std::atomic<int>>(0);
  LateReplies late;
  vrdns::net::ServerOptions o;
  o.tcp.max_buffered_output = 64 * 1024;
  o.tcp.transfer_handler = [&](const vrdns::net::TransferRequest&) {
    return std::make_unique<NumberedTransfer>(messages, size, made);
  };
  Server s(o, state_a(), late.handler());
  TcpClient c(s.port());
  const auto upd = make_query("example.test.", LDNS_RR_TYPE_SOA, 94, false, LDNS_PACKET_UPDATE);
  const auto axfr = make_query("example.test.", LDNS_RR_TYPE_AXFR, 95);
  Bytes both = TcpClient::frame(upd);
  const Bytes second = TcpClient::frame(axfr);
  both.insert(both.end(), second.begin(), second.end());
  c.write(both.data(), both.size());
  BOOST_REQUIRE(late.wait_for(1));
  const Bytes first = c.receive();   // the transfer has begun
  BOOST_REQUIRE_EQUAL(index_of(first), 0);
  late.answer_all();                 // the UPDATE's answer arrives mid-transfer
  for (int i = 1; i < messages; ++i) {
    const Bytes m = c.receive();
    BOOST_REQUIRE_MESSAGE(m.size() == std::size_t(size), "message " << i << " size " << m.size());
    BOOST_REQUIRE_EQUAL(index_of(m), i);
  }
  const Bytes answer = c.receive();
  BOOST_REQUIRE(answer.size() >= 12u);
  BOOST_TEST(((answer[0] << 8) | answer[1]) == 94);
  BOOST_TEST((answer[3] & 0x0F) == 9);
}

// A transfer that cannot finish (OutgoingTransfer::failed) closes the connection once what it
// queued is out: the client sees the cut instead of waiting for the rest.
BOOST_AUTO_TEST_CASE(tcp_failed_transfer_closes_the_connection_after_its_messages) {
  struct Failing : NumberedTransfer {
    using NumberedTransfer::NumberedTransfer;
    bool failed() const override { return true; }
  };
  auto made = std::make_shared<std::atomic<int>>(0);
  vrdns::net::ServerOptions o;
  o.tcp.transfer_handler = [&](const vrdns::net::TransferRequest&) {
    return std::make_unique<Failing>(3, 100, made);
  };
  Server s(o);
  TcpClient c(s.port());
  c.send(make_query("example.test.", LDNS_RR_TYPE_AXFR, 96));
  c.send(make_query("example.test.", LDNS_RR_TYPE_SOA, 97));   // never answered: cut first
  for (int i = 0; i < 3; ++i) BOOST_TEST(index_of(c.receive()) == i);
  BOOST_TEST(c.closed_by_server());
}

BOOST_AUTO_TEST_CASE(tcp_transfer_without_a_handler_gets_the_fallback) {
  Server s;
  TcpClient c(s.port());
  const auto axfr = make_query("example.test.", LDNS_RR_TYPE_AXFR, 93);
  c.send(axfr);
  const Bytes r = c.receive();
  BOOST_REQUIRE(r.size() >= 12u);
  BOOST_TEST((r[3] & 0x0F) == LDNS_RCODE_REFUSED);
  BOOST_TEST(r == expected(state_a(), axfr, Transport::tcp));
}

BOOST_AUTO_TEST_CASE(taken_port_fails_clearly) {
  // A plain socket (no SO_REUSEPORT) holds the port.
  vrdns::net::Fd holder(::socket(AF_INET, SOCK_DGRAM, 0));
  auto a = loopback(0);
  BOOST_REQUIRE(::bind(holder.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  uint16_t port = vrdns::net::bound_port(holder.get());
  // TCP on the same number may be free; UDP is not.
  vrdns::net::ServerOptions o;
  o.listen = {*vrdns::net::parse_endpoint("127.0.0.1:" + std::to_string(port))};
  try {
    vrdns::net::DnsServer server(o, state_a());
    BOOST_FAIL("bind succeeded on a taken port");
  } catch (const std::runtime_error& e) {
    std::string msg = e.what();
    BOOST_TEST_INFO(msg);
    BOOST_TEST(msg.find("cannot bind") != std::string::npos);
    BOOST_TEST(msg.find("127.0.0.1:" + std::to_string(port)) != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(stop_is_prompt_and_releases_ports) {
  Server s;
  uint16_t port = s.port();
  { UdpClient c(port); BOOST_REQUIRE(!c.ask(make_query("www.example.test.", LDNS_RR_TYPE_A, 91)).empty()); }
  auto start = Clock::now();
  s.server.reset();
  BOOST_TEST((Clock::now() - start < 1s));
  // Ports are free again: a socket without SO_REUSEPORT can bind them.
  vrdns::net::Fd u(::socket(AF_INET, SOCK_DGRAM, 0));
  auto a = loopback(port);
  BOOST_TEST(::bind(u.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  vrdns::net::Fd t(::socket(AF_INET, SOCK_STREAM, 0));
  BOOST_TEST(::bind(t.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
}

BOOST_AUTO_TEST_CASE(frontend_actor_publishes_and_owns_sockets) {
  caf::actor_system_config cfg;
  caf::actor_system system{cfg};
  vrdns::net::ServerOptions o;
  o.listen = {*vrdns::net::parse_endpoint("127.0.0.1:0")};
  auto fe = vrdns::actors::spawn_dns_frontend(system, o, state_a());
  BOOST_REQUIRE(fe.endpoints.size() == 1u);
  uint16_t port = fe.endpoints[0].port;
  BOOST_REQUIRE(port != 0);

  auto q = make_query("www.example.test.", LDNS_RR_TYPE_A, 101);
  UdpClient c(port);
  BOOST_TEST(c.ask(q) == expected(state_a(), q, Transport::udp));

  caf::scoped_actor self{system};
  bool published = false;
  // A request (not a send) so we know the actor handled it before we query again.
  self->request(fe.actor, 2s, vrdns::actors::publish_atom::value, state_b())
      .receive([&] { published = true; },
               [&](caf::error& e) { BOOST_FAIL("publish failed: " << system.render(e)); });
  BOOST_REQUIRE(published);
  BOOST_TEST(c.ask(q) == expected(state_b(), q, Transport::udp));
  // The direct publish swaps at once, on this thread.
  fe.publish(state_a());
  BOOST_TEST(c.ask(q) == expected(state_a(), q, Transport::udp));

  // Exiting the actor stops the workers and closes the sockets.
  self->monitor(fe.actor);
  caf::anon_send_exit(fe.actor, caf::exit_reason::user_shutdown);
  bool down = false;
  self->receive([&](caf::down_msg&) { down = true; });
  BOOST_REQUIRE(down);
  fe.actor = nullptr;
  fe.publish(state_b());   // the server is gone: nothing to do, and no crash
  vrdns::net::Fd u(::socket(AF_INET, SOCK_DGRAM, 0));
  auto a = loopback(port);
  BOOST_TEST(::bind(u.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
}

BOOST_AUTO_TEST_CASE(frontend_spawn_fails_on_taken_port) {
  caf::actor_system_config cfg;
  caf::actor_system system{cfg};
  vrdns::net::Fd holder(::socket(AF_INET, SOCK_STREAM, 0));
  auto a = loopback(0);
  BOOST_REQUIRE(::bind(holder.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  BOOST_REQUIRE(::listen(holder.get(), 1) == 0);
  uint16_t port = vrdns::net::bound_port(holder.get());
  vrdns::net::ServerOptions o;
  o.listen = {*vrdns::net::parse_endpoint("127.0.0.1:" + std::to_string(port))};
  BOOST_CHECK_THROW(vrdns::actors::spawn_dns_frontend(system, o, state_a()), std::runtime_error);
}
