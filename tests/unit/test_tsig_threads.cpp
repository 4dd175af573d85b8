// TSIG with one Keyring shared by several threads: each key's keyed HMAC template is only
// ever duplicated (EVP_MAC_CTX_dup), never updated, so concurrent signing and verifying must
// give exactly the single-threaded results. (test_tsig checks the MACs against ldns.)
#define BOOST_TEST_MODULE test_tsig_threads
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <cstdint>
#include <latch>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "dns/name.hpp"
#include "dns/tsig.hpp"

using namespace vrdns::dns;

namespace {

const char* const secret = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";   // 32 bytes
constexpr int64_t now = 1'700'000'000;

const char* const key_names[] = {"sha256-key.", "sha1-key.", "md5-key.", "sha512-key."};
const char* const algorithms[] = {"hmac-sha256", "hmac-sha1", "hmac-md5", "hmac-sha512"};

Keyring make_keyring() {
  Keyring k;
  for (int i = 0; i < 4; ++i) BOOST_REQUIRE(k.add(key_names[i], algorithms[i], secret));
  return k;
}

std::string wire(const char* text) { return name_key(*name_from_text(text)); }

/// A small UPDATE-like message (header + zone section) whose ID is `id`.
std::vector<uint8_t> message(uint16_t id) {
  std::vector<uint8_t> m{uint8_t(id >> 8), uint8_t(id), 0x28, 0, 0, 1, 0, 0, 0, 0, 0, 0};
  const std::string zone = wire("example.test.");
  m.insert(m.end(), zone.begin(), zone.end());
  m.insert(m.end(), {0, 6, 0, 1});
  return m;
}

/// The reply sign_reply completes for a verified request: the request's header with QR set
/// and no sections but the question.
std::vector<uint8_t> reply_to(const std::vector<uint8_t>& unsigned_request) {
  std::vector<uint8_t> r = unsigned_request;
  r[2] |= 0x80;
  return r;
}

struct Expected {
  std::vector<uint8_t> signed_request;
  std::vector<uint8_t> signed_reply;
};

/// Signs, verifies and answers message `id` with key `k`; nullopt if anything fails.
std::optional<Expected> round_trip(const Keyring& keys, int k, uint16_t id) {
  Expected e;
  e.signed_request = message(id);
  if (!sign_request(e.signed_request, wire(key_names[k]), keys, now)) return std::nullopt;
  const TsigVerdict v =
      verify_request(e.signed_request.data(), e.signed_request.size(), keys, now);
  if (v.status != TsigStatus::ok) return std::nullopt;
  // A flipped bit anywhere before the TSIG must break the MAC.
  std::vector<uint8_t> tampered = e.signed_request;
  tampered[14] ^= 0x01;
  if (verify_request(tampered.data(), tampered.size(), keys, now).status != TsigStatus::badsig)
    return std::nullopt;
  e.signed_reply = reply_to(message(id));
  if (!sign_reply(e.signed_reply, v, keys, now)) return std::nullopt;
  return e;
}

}  // namespace

BOOST_AUTO_TEST_CASE(concurrent_sign_and_verify_match_single_threaded) {
  const Keyring keys = make_keyring();
  constexpr int messages_per_key = 50;

  // Reference results, computed on this thread alone.
  std::vector<Expected> expected;
  for (int k = 0; k < 4; ++k)
    for (int i = 0; i < messages_per_key; ++i) {
      auto e = round_trip(keys, k, uint16_t(k * 1000 + i));
      BOOST_REQUIRE(e.has_value());
      expected.push_back(std::move(*e));
    }
  // Different messages and keys really give different MACs (the comparison below means
  // something).
  BOOST_REQUIRE(expected[0].signed_request != expected[1].signed_request);
  BOOST_REQUIRE(expected[0].signed_reply != expected[messages_per_key].signed_reply);

  constexpr int threads = 4;
  constexpr int rounds = 20;
  std::atomic<int> mismatches{0};
  std::atomic<int> checked{0};
  std::latch start(threads);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      start.arrive_and_wait();   // all threads hammer the same templates at once
      for (int r = 0; r < rounds; ++r)
        for (int n = 0; n < 4 * messages_per_key; ++n) {
          // Each thread walks the keys in a different order, so threads overlap on a key.
          const int idx = (n + t * messages_per_key) % (4 * messages_per_key);
          const int k = idx / messages_per_key, i = idx % messages_per_key;
          const auto got = round_trip(keys, k, uint16_t(k * 1000 + i));
          if (!got || got->signed_request != expected[std::size_t(idx)].signed_request ||
              got->signed_reply != expected[std::size_t(idx)].signed_reply)
            mismatches.fetch_add(1);
          checked.fetch_add(1);
        }
    });
  for (auto& th : pool) th.join();
  BOOST_CHECK_EQUAL(checked.load(), threads * rounds * 4 * messages_per_key);
  BOOST_CHECK_EQUAL(mismatches.load(), 0);
}

BOOST_AUTO_TEST_CASE(copied_keyring_outlives_the_original) {
  std::optional<Keyring> original(make_keyring());
  const auto reference = round_trip(*original, 0, 7);
  BOOST_REQUIRE(reference.has_value());
  const Keyring copy = *original;   // shares the keyed templates
  original.reset();
  const auto again = round_trip(copy, 0, 7);
  BOOST_REQUIRE(again.has_value());
  BOOST_CHECK(again->signed_request == reference->signed_request);
  BOOST_CHECK(again->signed_reply == reference->signed_reply);
}

BOOST_AUTO_TEST_CASE(keys_with_the_same_secret_but_other_digests_differ) {
  const Keyring keys = make_keyring();
  std::vector<std::vector<uint8_t>> macs;
  for (int k = 0; k < 4; ++k) {
    auto e = round_trip(keys, k, 1);
    BOOST_REQUIRE(e.has_value());
    macs.push_back(e->signed_request);
  }
  for (int a = 0; a < 4; ++a)
    for (int b = a + 1; b < 4; ++b) BOOST_CHECK(macs[std::size_t(a)] != macs[std::size_t(b)]);
}
