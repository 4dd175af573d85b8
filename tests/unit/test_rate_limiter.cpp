// net/rate_limiter: response rate limiting's buckets (per client network, kind and name), the
// refill, the slip, the exemptions, and the truncated form of a slipped answer. Time is given
// by the test.
#define BOOST_TEST_MODULE test_rate_limiter
#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <string>
#include <vector>

#include "dns/name.hpp"
#include "net/rate_limiter.hpp"

using namespace vrdns;
using net::RateDecision;
using net::ResponseKind;

namespace {

sockaddr_storage v4(const char* text) {
  sockaddr_storage s{};
  auto& a = reinterpret_cast<sockaddr_in&>(s);
  a.sin_family = AF_INET;
  BOOST_REQUIRE(::inet_pton(AF_INET, text, &a.sin_addr) == 1);
  return s;
}

sockaddr_storage v6(const char* text) {
  sockaddr_storage s{};
  auto& a = reinterpret_cast<sockaddr_in6&>(s);
  a.sin6_family = AF_INET6;
  BOOST_REQUIRE(::inet_pton(AF_INET6, text, &a.sin6_addr) == 1);
  return s;
}

net::RateLimitOptions options(uint32_t rate, uint32_t slip = 2) {
  net::RateLimitOptions o;
  o.responses_per_second = rate;
  o.slip = slip;
  o.table_size = 1024;
  return o;
}

struct Limiter {
  net::ResponseRateLimiter limiter;
  explicit Limiter(net::RateLimitOptions o) : limiter(std::move(o)) {}
  RateDecision ask(const sockaddr_storage& c, uint32_t now,
                   const std::string& name = "www.example.",
                   ResponseKind kind = ResponseKind::answer) {
    const std::string key = dns::name_key(*dns::name_from_text(name));
    return limiter.decide(c, kind, reinterpret_cast<const uint8_t*>(key.data()), key.size(), now);
  }
  /// The decisions of `n` answers at time `now`.
  std::vector<RateDecision> burst(const sockaddr_storage& c, int n, uint32_t now,
                                  const std::string& name = "www.example.",
                                  ResponseKind kind = ResponseKind::answer) {
    std::vector<RateDecision> out;
    for (int i = 0; i < n; ++i) out.push_back(ask(c, now, name, kind));
    return out;
  }
};

int count(const std::vector<RateDecision>& d, RateDecision what) {
  return int(std::count(d.begin(), d.end(), what));
}

}  // namespace

BOOST_AUTO_TEST_CASE(off_when_the_rate_is_zero) {
  Limiter l(options(0));
  BOOST_TEST(!l.limiter.enabled());
  BOOST_TEST(count(l.burst(v4("192.0.2.1"), 1000, 5), RateDecision::send) == 1000);
}

BOOST_AUTO_TEST_CASE(a_burst_over_the_rate_is_dropped_and_every_second_one_slips) {
  Limiter l(options(5, 2));
  const auto d = l.burst(v4("192.0.2.1"), 15, 100);
  // Five tokens, then 10 limited: drop, slip, drop, slip, ...
  BOOST_TEST(count(std::vector<RateDecision>(d.begin(), d.begin() + 5), RateDecision::send) == 5);
  for (std::size_t i = 5; i < d.size(); ++i) {
    BOOST_TEST_INFO("answer " << i);
    BOOST_TEST(int(d[i]) == int((i - 5) % 2 == 0 ? RateDecision::drop : RateDecision::slip));
  }
  // The next second brings five tokens again; two seconds later no more than five.
  BOOST_TEST(count(l.burst(v4("192.0.2.1"), 6, 101), RateDecision::send) == 5);
  BOOST_TEST(count(l.burst(v4("192.0.2.1"), 8, 103), RateDecision::send) == 5);
}

// UDP workers read the clock once per batch: one may be a second behind another. Answers
// charged alternately at seconds 100 and 99 must not refill the bucket at each turn.
BOOST_AUTO_TEST_CASE(a_worker_a_second_behind_does_not_refill) {
  Limiter l(options(4, 0));
  int sent = 0;
  for (int i = 0; i < 40; ++i)
    sent += l.ask(v4("192.0.2.1"), i % 2 ? 99 : 100) == RateDecision::send;
  BOOST_TEST(sent == 4);
  BOOST_TEST(count(l.burst(v4("192.0.2.1"), 8, 101), RateDecision::send) == 4);   // refilled
}

// The bucket keeps its second modulo 2^16 (about 18 hours): a slot idle for any part of that
// period (9 hours, say) is full again, not taken for one charged in the future.
BOOST_AUTO_TEST_CASE(a_long_idle_bucket_is_full_again) {
  // (Only 0 and the last 3 seconds of each period read as "no time": a worker a little
  // behind another.)
  for (uint32_t idle : {1u, 2u, 3u, 40000u, 65532u, 65536u + 5}) {
    Limiter fresh(options(4, 0));
    BOOST_TEST(count(fresh.burst(v4("192.0.2.1"), 8, 1000), RateDecision::send) == 4);
    BOOST_TEST_INFO("idle " << idle << " s");
    BOOST_TEST(count(fresh.burst(v4("192.0.2.1"), 8, 1000 + idle), RateDecision::send) == 4);
  }
}

// Keys that land on one slot share its tokens while both are active: a table far too small
// limits sooner, never later.
BOOST_AUTO_TEST_CASE(a_tiny_table_limits_sooner_never_later) {
  auto o = options(2, 0);
  o.table_size = 64;
  Limiter l(o);
  // 500 names at 2 a second share 64 slots: some share a slot, and then its tokens.
  int sent = 0;
  for (int i = 0; i < 500; ++i)
  {
    std::string name = "n";   // appended piecewise: GCC 12 -O3 warns on "n" + ...
    name += std::to_string(i);
    name += ".example.";
    sent += count(l.burst(v4("192.0.2.1"), 3, 50, name), RateDecision::send);
  }
  BOOST_TEST(sent <= 1000);   // never more than 2 per name
  BOOST_TEST(sent >= 64);     // and every slot gave some
}

BOOST_AUTO_TEST_CASE(slip_zero_drops_all_and_one_truncates_all) {
  Limiter none(options(2, 0));
  const auto d0 = none.burst(v4("192.0.2.1"), 10, 7);
  BOOST_TEST(count(d0, RateDecision::drop) == 8);
  Limiter all(options(2, 1));
  const auto d1 = all.burst(v4("192.0.2.1"), 10, 7);
  BOOST_TEST(count(d1, RateDecision::slip) == 8);
}

BOOST_AUTO_TEST_CASE(buckets_are_per_network_kind_and_name) {
  Limiter l(options(3));
  BOOST_TEST(count(l.burst(v4("192.0.2.1"), 5, 9), RateDecision::send) == 3);
  // The same /24: the same bucket.
  BOOST_TEST(count(l.burst(v4("192.0.2.200"), 2, 9), RateDecision::send) == 0);
  // Another network, another name, another kind: buckets of their own.
  BOOST_TEST(count(l.burst(v4("192.0.3.1"), 3, 9), RateDecision::send) == 3);
  BOOST_TEST(count(l.burst(v4("192.0.2.1"), 3, 9, "mail.example."), RateDecision::send) == 3);
  BOOST_TEST(count(l.burst(v4("192.0.2.1"), 3, 9, "www.example.", ResponseKind::nxdomain),
                   RateDecision::send) == 3);
  // Names are keys (folded): another spelling is the same bucket, spent by now.
  BOOST_TEST(count(l.burst(v4("192.0.2.1"), 1, 9, "WWW.example."), RateDecision::send) == 0);
  // IPv6: /56 by default (the first 7 bytes: 2001:db8:0:00xx::).
  BOOST_TEST(count(l.burst(v6("2001:db8:0:1::1"), 3, 9), RateDecision::send) == 3);
  BOOST_TEST(count(l.burst(v6("2001:db8:0:ff::9"), 1, 9), RateDecision::send) == 0);
  BOOST_TEST(count(l.burst(v6("2001:db8:0:100::1"), 1, 9), RateDecision::send) == 1);
}

BOOST_AUTO_TEST_CASE(prefix_lengths_and_exemptions) {
  auto o = options(1);
  o.ipv4_prefix = 32;
  o.exempt.push_back(*net::AddressPrefix::parse("198.51.100.0/24"));
  Limiter l(o);
  BOOST_TEST(count(l.burst(v4("192.0.2.1"), 2, 1), RateDecision::send) == 1);
  BOOST_TEST(count(l.burst(v4("192.0.2.2"), 2, 1), RateDecision::send) == 1);   // /32: its own
  BOOST_TEST(count(l.burst(v4("198.51.100.7"), 50, 1), RateDecision::send) == 50);
}

BOOST_AUTO_TEST_CASE(a_slipped_answer_keeps_the_header_and_question_only) {
  // id 0x1234, QR AA, rcode 0, one question www.example. A, one answer, one additional.
  std::vector<uint8_t> m = {0x12, 0x34, 0x84, 0x00, 0, 1, 0, 1, 0, 0, 0, 1};
  const std::string q = *dns::name_from_text("www.example.");
  m.insert(m.end(), q.begin(), q.end());
  const std::size_t question_end = m.size() + 4;
  for (uint8_t b : {0, 1, 0, 1}) m.push_back(b);
  for (int i = 0; i < 30; ++i) m.push_back(0xAB);   // the answer and additional, whatever
  const std::size_t n = net::truncate_to_question(m.data(), m.size());
  BOOST_TEST(n == question_end);
  BOOST_TEST((m[2] & 0x02) != 0);   // TC
  BOOST_TEST((m[2] & 0x04) != 0);   // AA kept
  for (std::size_t i = 6; i < 12; ++i) BOOST_TEST(m[i] == 0);
  BOOST_TEST(m[5] == 1);   // the question stays
  // A question cut short is not sent at all.
  std::vector<uint8_t> cut(m.begin(), m.begin() + 15);
  BOOST_TEST(net::truncate_to_question(cut.data(), cut.size()) == 0u);
  BOOST_TEST(net::truncate_to_question(cut.data(), 5) == 0u);
}
