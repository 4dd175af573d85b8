// TSIG (RFC 8945) verification and reply signing, cross-checked against ldns's independent
// implementation (ldns_pkt_tsig_sign / ldns_pkt_tsig_verify) and against the real nsupdate.
#define BOOST_TEST_MODULE test_tsig
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "dns/name.hpp"
#include "dns/tsig.hpp"

// ldns's common.h redefines bool/true/false in C++ unless this is seen first.
#include <stdbool.h>
#include <ldns/ldns.h>

using namespace vrdns::dns;

namespace {

const char* const secret = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";          // 32 bytes
const char* const other_secret = "YW5vdGhlci1zZWNyZXQtYW5vdGhlci1zZWNyZXQhISE=";

Keyring make_keyring() {
  Keyring k;
  BOOST_REQUIRE(k.add("update-key.", "hmac-sha256", secret));
  BOOST_REQUIRE(k.add("sha1-key", "hmac-sha1", secret));
  BOOST_REQUIRE(k.add("md5-key.", "hmac-md5", secret));
  BOOST_REQUIRE(k.add("sha512-key.", "hmac-sha512", secret));
  return k;
}

std::string wire(const char* text) { return name_key(*name_from_text(text)); }

uint16_t get16(const std::vector<uint8_t>& m, std::size_t at) {
  return uint16_t((m[at] << 8) | m[at + 1]);
}
void set16(std::vector<uint8_t>& m, std::size_t at, uint16_t v) {
  m[at] = uint8_t(v >> 8);
  m[at + 1] = uint8_t(v);
}

// An RFC 2136 UPDATE for example.test. adding x.example.test. A 192.0.2.1, as an ldns packet.
ldns_pkt* make_update_pkt() {
  ldns_pkt* p = ldns_pkt_new();
  ldns_pkt_set_id(p, 0x1234);
  ldns_pkt_set_opcode(p, LDNS_PACKET_UPDATE);
  ldns_rr* zone = nullptr;
  BOOST_REQUIRE(ldns_rr_new_question_frm_str(&zone, "example.test. IN SOA", nullptr, nullptr) ==
                LDNS_STATUS_OK);
  ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, zone);
  ldns_rr* add = nullptr;
  BOOST_REQUIRE(ldns_rr_new_frm_str(&add, "x.example.test. 300 IN A 192.0.2.1", 0, nullptr,
                                    nullptr) == LDNS_STATUS_OK);
  ldns_pkt_push_rr(p, LDNS_SECTION_AUTHORITY, add);
  return p;
}

std::vector<uint8_t> to_wire(const ldns_pkt* p) {
  uint8_t* out = nullptr;
  std::size_t len = 0;
  BOOST_REQUIRE(ldns_pkt2wire(&out, p, &len) == LDNS_STATUS_OK);
  std::vector<uint8_t> v(out, out + len);
  free(out);
  return v;
}

// The UPDATE signed by ldns (time signed = time(nullptr)).
std::vector<uint8_t> ldns_signed_update(const char* key_name, const char* key_secret,
                                        const char* algorithm, uint16_t fudge = 300) {
  ldns_pkt* p = make_update_pkt();
  BOOST_REQUIRE(ldns_pkt_tsig_sign(p, key_name, key_secret, fudge, algorithm, nullptr) ==
                LDNS_STATUS_OK);
  std::vector<uint8_t> v = to_wire(p);
  ldns_pkt_free(p);
  return v;
}

std::vector<uint8_t> unsigned_update() {
  ldns_pkt* p = make_update_pkt();
  std::vector<uint8_t> v = to_wire(p);
  ldns_pkt_free(p);
  return v;
}

// A reply skeleton for `request`: same ID and opcode, QR set, the zone section echoed.
std::vector<uint8_t> reply_for(const uint8_t* req, std::size_t len, uint8_t rcode) {
  std::vector<uint8_t> r(req, req + std::min<std::size_t>(len, 12));
  if (r.size() < 12) return {};
  r[2] = uint8_t(0x80 | (req[2] & 0x78));   // QR, opcode
  r[3] = uint8_t(rcode & 0x0F);
  const uint16_t qd = uint16_t((req[4] << 8) | req[5]);
  std::size_t pos = 12;
  for (uint16_t i = 0; i < qd; ++i) {       // only uncompressed zone names (nsupdate's)
    while (pos < len && req[pos] != 0 && req[pos] < 64) pos += std::size_t(req[pos]) + 1;
    pos += 5;
  }
  if (qd != 1 || pos > len) {
    for (int i = 4; i < 12; ++i) r[std::size_t(i)] = 0;
    return r;
  }
  r.insert(r.end(), req + 12, req + pos);
  for (int i = 6; i < 12; ++i) r[std::size_t(i)] = 0;
  return r;
}

// Parses a reply with ldns; the TSIG RR (if any) is taken out by ldns_wire2pkt.
struct Parsed {
  ldns_pkt* pkt = nullptr;
  explicit Parsed(const std::vector<uint8_t>& w) {
    BOOST_REQUIRE(ldns_wire2pkt(&pkt, w.data(), w.size()) == LDNS_STATUS_OK);
  }
  ~Parsed() { ldns_pkt_free(pkt); }
  ldns_rr* tsig() const { return ldns_pkt_tsig(pkt); }
  // INT16_DATA rdfs (MAC, Other Data) are a 2-byte length then the bytes.
  std::size_t int16_data_size(std::size_t rdf) const {
    const ldns_rdf* r = ldns_rr_rdf(tsig(), rdf);
    return (std::size_t(ldns_rdf_data(r)[0]) << 8) | ldns_rdf_data(r)[1];
  }
  uint64_t time48(const uint8_t* d) const {
    uint64_t t = 0;
    for (int i = 0; i < 6; ++i) t = (t << 8) | d[i];
    return t;
  }
};

ldns_rdf* mac_rdf(const std::vector<uint8_t>& mac) {
  std::vector<uint8_t> d;
  d.push_back(uint8_t(mac.size() >> 8));
  d.push_back(uint8_t(mac.size()));
  d.insert(d.end(), mac.begin(), mac.end());
  return ldns_rdf_new_frm_data(LDNS_RDF_TYPE_INT16_DATA, d.size(), d.data());
}

bool ldns_verifies_reply(std::vector<uint8_t> reply, const std::vector<uint8_t>& request_mac,
                         const char* key_secret) {
  Parsed p(reply);
  if (!p.tsig()) return false;
  ldns_rdf* mac = mac_rdf(request_mac);
  const bool ok =
      ldns_pkt_tsig_verify(p.pkt, reply.data(), reply.size(), "update-key.", key_secret, mac);
  ldns_rdf_deep_free(mac);
  return ok;
}

// Tests compare `to_string(status) == "ok"`: BOOST_TEST compares C strings by content, and a
// failure then prints the status names.
TsigVerdict check(const std::vector<uint8_t>& m, const Keyring& k, int64_t now) {
  return verify_request(m.data(), m.size(), k, now);
}

}  // namespace

BOOST_AUTO_TEST_CASE(keyring_names_algorithms_and_secrets) {
  Keyring k;
  BOOST_TEST(k.add("Update-Key", "HMAC-SHA256", secret));
  BOOST_TEST(!k.add("update-key.", "hmac-sha256", secret));        // same name, other spelling
  BOOST_TEST(!k.add("bad-alg.", "hmac-sha3", secret));
  BOOST_TEST(!k.add("bad-secret.", "hmac-sha256", "not base64!"));
  BOOST_TEST(!k.add("bad-secret.", "hmac-sha256", "AQID="));      // length not a multiple of 4
  BOOST_TEST(!k.add("", "hmac-sha256", secret));
  BOOST_TEST(k.add("md5.", "hmac-md5.sig-alg.reg.int.", secret));
  BOOST_TEST(k.size() == 2u);
  BOOST_REQUIRE(k.find(wire("UPDATE-KEY.")) != nullptr);
  BOOST_TEST(k.find(wire("update-key.")) == k.find(wire("Update-Key.")));
  BOOST_TEST(k.find(wire("update-key.")) != k.find(wire("md5.")));
  BOOST_TEST(k.find(wire("other.")) == nullptr);
  BOOST_TEST(k.find(wire("update-key."))->secret.size() == 32u);
}

BOOST_AUTO_TEST_CASE(ldns_signed_requests_verify_for_every_algorithm) {
  const Keyring k = make_keyring();
  struct Case { const char* key; const char* alg; std::size_t mac; };
  for (const Case& c : {Case{"update-key.", "hmac-sha256.", 32},
                        Case{"sha1-key.", "hmac-sha1.", 20},
                        Case{"md5-key.", "hmac-md5.sig-alg.reg.int.", 16},
                        Case{"sha512-key.", "hmac-sha512.", 64}}) {
    BOOST_TEST_CONTEXT(c.alg) {
      const std::vector<uint8_t> m = ldns_signed_update(c.key, secret, c.alg);
      const TsigVerdict v = check(m, k, std::time(nullptr));
      BOOST_TEST(to_string(v.status) == "ok");
      BOOST_TEST(v.key_name == wire(c.key));
      BOOST_TEST(v.request_mac.size() == c.mac);
      BOOST_TEST(v.fudge == 300);
      BOOST_TEST(std::llabs(int64_t(v.time_signed) - int64_t(std::time(nullptr))) <= 2);
      // The TSIG RR is what follows unsigned_length: the update section is before it.
      BOOST_TEST(v.unsigned_length < m.size());
      BOOST_TEST(m.size() - v.unsigned_length > c.mac);
    }
  }
}

BOOST_AUTO_TEST_CASE(wrong_secret_unknown_key_and_algorithm_mismatch) {
  const Keyring k = make_keyring();
  const int64_t now = std::time(nullptr);
  const auto forged = ldns_signed_update("update-key.", other_secret, "hmac-sha256.");
  BOOST_TEST(to_string(check(forged, k, now).status) == "BADSIG");
  const TsigVerdict unknown = check(ldns_signed_update("nobody.", secret, "hmac-sha256."), k, now);
  BOOST_TEST(to_string(unknown.status) == "BADKEY");
  BOOST_TEST(unknown.key_name == wire("nobody."));   // echoed in the BADKEY reply
  // Right name and secret, but the key is configured for hmac-sha256.
  const auto sha1 = ldns_signed_update("update-key.", secret, "hmac-sha1.");
  BOOST_TEST(to_string(check(sha1, k, now).status) == "BADKEY");
}

BOOST_AUTO_TEST_CASE(time_window_is_time_signed_plus_minus_fudge) {
  const Keyring k = make_keyring();
  const std::vector<uint8_t> m = ldns_signed_update("update-key.", secret, "hmac-sha256.", 300);
  const int64_t t = int64_t(check(m, k, std::time(nullptr)).time_signed);
  BOOST_REQUIRE(t > 0);
  BOOST_TEST(to_string(check(m, k, t).status) == "ok");
  BOOST_TEST(to_string(check(m, k, t + 300).status) == "ok");
  BOOST_TEST(to_string(check(m, k, t - 300).status) == "ok");
  BOOST_TEST(to_string(check(m, k, t + 301).status) == "BADTIME");   // request from the past
  BOOST_TEST(to_string(check(m, k, t - 301).status) == "BADTIME");   // request from the future
  BOOST_TEST(to_string(check(m, k, t + 86400).status) == "BADTIME");
  // The MAC is checked first: a forged request is BADSIG whatever the clock says.
  const std::vector<uint8_t> forged =
      ldns_signed_update("update-key.", other_secret, "hmac-sha256.", 300);
  BOOST_TEST(to_string(check(forged, k, t + 86400).status) == "BADSIG");
}

BOOST_AUTO_TEST_CASE(any_modified_byte_but_the_id_breaks_the_signature) {
  const Keyring k = make_keyring();
  const std::vector<uint8_t> m = ldns_signed_update("update-key.", secret, "hmac-sha256.");
  const int64_t now = int64_t(check(m, k, std::time(nullptr)).time_signed);
  BOOST_REQUIRE(to_string(check(m, k, now).status) == std::string("ok"));

  // The last byte of the A record's address: the classic tampering case.
  const std::size_t tsig_at = check(m, k, now).unsigned_length;
  std::vector<uint8_t> tampered = m;
  tampered[tsig_at - 1] ^= 0x01;
  BOOST_TEST(to_string(check(tampered, k, now).status) == "BADSIG");

  // The header ID is replaced by the TSIG's Original ID in the digest (RFC 8945 §4.3.1), so
  // it may change; every other single-bit change must stop the message verifying.
  for (std::size_t i = 0; i < m.size(); ++i) {
    std::vector<uint8_t> x = m;
    x[i] ^= 0x01;
    const TsigStatus s = check(x, k, now).status;
    if (i < 2) {
      BOOST_TEST((s == TsigStatus::ok), "byte " << i);
    } else {
      BOOST_TEST((s != TsigStatus::ok), "byte " << i << " -> " << to_string(s));
    }
  }
}

BOOST_AUTO_TEST_CASE(misplaced_duplicated_or_malformed_tsig_is_formerr) {
  const Keyring k = make_keyring();
  const std::vector<uint8_t> m = ldns_signed_update("update-key.", secret, "hmac-sha256.");
  const TsigVerdict good = check(m, k, std::time(nullptr));
  BOOST_REQUIRE(to_string(good.status) == std::string("ok"));
  const int64_t now = int64_t(good.time_signed);
  const std::vector<uint8_t> tsig_rr(m.begin() + std::ptrdiff_t(good.unsigned_length), m.end());

  {  // an A record after the TSIG
    std::vector<uint8_t> x = m;
    const uint8_t a_rr[] = {0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 192, 0, 2, 1};
    x.insert(x.end(), std::begin(a_rr), std::end(a_rr));
    set16(x, 10, uint16_t(get16(x, 10) + 1));
    BOOST_TEST(to_string(check(x, k, now).status) == "FORMERR");
  }
  {  // two TSIG RRs
    std::vector<uint8_t> x = m;
    x.insert(x.end(), tsig_rr.begin(), tsig_rr.end());
    set16(x, 10, uint16_t(get16(x, 10) + 1));
    BOOST_TEST(to_string(check(x, k, now).status) == "FORMERR");
  }
  {  // the same bytes, but the TSIG now counted in the authority section (NS 2, AR 0)
    std::vector<uint8_t> x = m;
    set16(x, 8, 2);
    set16(x, 10, 0);
    BOOST_TEST(to_string(check(x, k, now).status) == "FORMERR");
  }
  {  // TSIG rdata cut short (RDLENGTH and message agree, the fields do not fit)
    std::vector<uint8_t> x = m;
    x.resize(x.size() - 4);
    const std::size_t rdlength_at = good.unsigned_length + wire("update-key.").size() + 8;
    set16(x, rdlength_at, uint16_t(get16(x, rdlength_at) - 4));
    BOOST_TEST(to_string(check(x, k, now).status) == "FORMERR");
  }
  {  // RDLENGTH running past the end of the message
    std::vector<uint8_t> x = m;
    x.pop_back();
    BOOST_TEST(to_string(check(x, k, now).status) == "FORMERR");
  }
  {  // TTL not 0
    std::vector<uint8_t> x = m;
    x[good.unsigned_length + wire("update-key.").size() + 7] = 1;
    BOOST_TEST(to_string(check(x, k, now).status) == "FORMERR");
  }
  {  // MAC longer than the hash: one extra octet, MAC size and RDLENGTH bumped
    std::vector<uint8_t> x = m;
    const std::size_t rdlength_at = good.unsigned_length + wire("update-key.").size() + 8;
    const std::size_t mac_size_at = rdlength_at + 2 + wire("hmac-sha256.").size() + 8;
    BOOST_REQUIRE(get16(x, mac_size_at) == 32);
    set16(x, mac_size_at, 33);
    set16(x, rdlength_at, uint16_t(get16(x, rdlength_at) + 1));
    x.insert(x.begin() + std::ptrdiff_t(mac_size_at + 2 + 32), uint8_t(0));
    BOOST_TEST(to_string(check(x, k, now).status) == "FORMERR");
  }
}

BOOST_AUTO_TEST_CASE(truncated_macs_down_to_the_rfc_minimum_are_accepted) {
  const Keyring k = make_keyring();
  const int64_t now = 1'700'000'000;
  auto signed_with = [&](const char* key, std::size_t mac_size) {
    std::vector<uint8_t> m = unsigned_update();
    BOOST_REQUIRE(sign_request(m, wire(key), k, now, 300, mac_size));
    return std::string(to_string(check(m, k, now).status));
  };
  // RFC 8945 §5.2.2.1: at least max(10, hash/2) octets.
  BOOST_TEST(signed_with("update-key.", 0) == "ok");
  BOOST_TEST(signed_with("update-key.", 16) == "ok");
  BOOST_TEST(signed_with("update-key.", 15) == "FORMERR");
  BOOST_TEST(signed_with("sha1-key.", 10) == "ok");
  BOOST_TEST(signed_with("sha1-key.", 9) == "FORMERR");
  BOOST_TEST(signed_with("md5-key.", 10) == "ok");
  BOOST_TEST(signed_with("md5-key.", 8) == "FORMERR");
  BOOST_TEST(signed_with("sha512-key.", 32) == "ok");
  BOOST_TEST(signed_with("sha512-key.", 31) == "FORMERR");
  // A wrong truncated MAC is still BADSIG.
  std::vector<uint8_t> m = unsigned_update();
  BOOST_REQUIRE(sign_request(m, wire("update-key."), k, now, 300, 16));
  m[m.size() - 7] ^= 0xFF;   // last MAC octet (then Original ID, Error, Other Len)
  BOOST_TEST(to_string(check(m, k, now).status) == "BADSIG");
}

BOOST_AUTO_TEST_CASE(sign_request_is_accepted_by_ldns) {
  const Keyring k = make_keyring();
  std::vector<uint8_t> m = unsigned_update();
  BOOST_REQUIRE(sign_request(m, wire("update-key."), k, std::time(nullptr)));
  Parsed p(m);
  BOOST_REQUIRE(p.tsig() != nullptr);
  BOOST_TEST(ldns_pkt_tsig_verify(p.pkt, m.data(), m.size(), "update-key.", secret, nullptr));
  BOOST_TEST(
      !ldns_pkt_tsig_verify(p.pkt, m.data(), m.size(), "update-key.", other_secret, nullptr));
}

BOOST_AUTO_TEST_CASE(unsigned_requests_are_reported_as_such) {
  const Keyring k = make_keyring();
  const std::vector<uint8_t> m = unsigned_update();
  const TsigVerdict v = check(m, k, std::time(nullptr));
  BOOST_TEST(to_string(v.status) == "unsigned");
  BOOST_TEST(v.unsigned_length == m.size());
  std::vector<uint8_t> reply = reply_for(m.data(), m.size(), 0);
  const std::vector<uint8_t> before = reply;
  BOOST_TEST(sign_reply(reply, v, k, std::time(nullptr)));
  BOOST_TEST((reply == before));
}

BOOST_AUTO_TEST_CASE(garbage_and_truncated_input_never_verifies_nor_crashes) {
  const Keyring k = make_keyring();
  const std::vector<uint8_t> m = ldns_signed_update("update-key.", secret, "hmac-sha256.");
  const int64_t now = int64_t(check(m, k, std::time(nullptr)).time_signed);
  for (std::size_t n = 0; n < m.size(); ++n)
    BOOST_TEST((verify_request(m.data(), n, k, now).status != TsigStatus::ok), "prefix " << n);

  std::mt19937 rng(20261126);
  std::size_t ok = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (int i = 0; i < 20000 && std::chrono::steady_clock::now() < deadline; ++i) {
    std::vector<uint8_t> x;
    if (i % 2 == 0) {   // pure noise, with a plausible header so the walker gets going
      x.resize(rng() % 300);
      for (auto& b : x) b = uint8_t(rng());
      if (x.size() >= 12) {   // QD, AN, AR in 0..2, NS 0
        for (int at : {4, 6, 8, 10}) x[std::size_t(at)] = 0;
        x[5] = uint8_t(rng() % 3);
        x[7] = uint8_t(rng() % 3);
        x[9] = 0;
        x[11] = uint8_t(rng() % 3);
      }
    } else {            // the signed message with a few bytes changed and maybe cut
      x = m;
      for (int j = 0, n = 1 + int(rng() % 4); j < n; ++j)
        x[2 + rng() % (x.size() - 2)] = uint8_t(rng());
      if (rng() % 2) x.resize(rng() % x.size());
    }
    const TsigVerdict v = check(x, k, now);
    if (v.status == TsigStatus::ok) ++ok;
    BOOST_REQUIRE(v.unsigned_length <= x.size());
    std::vector<uint8_t> reply = reply_for(x.data(), x.size(), 0);
    if (!reply.empty()) sign_reply(reply, v, k, now);   // must not crash either
  }
  // A random change only keeps the MAC valid if it changed a key-name letter's case, or
  // wrote the same byte back: rare, never the majority.
  BOOST_TEST(ok < 200u);
}

BOOST_AUTO_TEST_CASE(ok_reply_is_signed_with_the_request_mac) {
  const Keyring k = make_keyring();
  const std::vector<uint8_t> m = ldns_signed_update("update-key.", secret, "hmac-sha256.");
  const int64_t now = std::time(nullptr);
  const TsigVerdict v = check(m, k, now);
  BOOST_REQUIRE(to_string(v.status) == std::string("ok"));
  std::vector<uint8_t> reply = reply_for(m.data(), v.unsigned_length, 0);
  const std::size_t unsigned_size = reply.size();
  BOOST_REQUIRE(sign_reply(reply, v, k, now));
  BOOST_TEST(reply.size() > unsigned_size);
  BOOST_TEST(get16(reply, 10) == 1);          // ARCOUNT counts the TSIG
  BOOST_TEST((reply[3] & 0x0F) == 0);         // NOERROR kept
  BOOST_TEST(ldns_verifies_reply(reply, v.request_mac, secret));
  // The request MAC is part of the digest: a different one must not verify.
  std::vector<uint8_t> other_mac = v.request_mac;
  other_mac[0] ^= 1;
  BOOST_TEST(!ldns_verifies_reply(reply, other_mac, secret));
  BOOST_TEST(!ldns_verifies_reply(reply, v.request_mac, other_secret));
  Parsed p(reply);
  BOOST_TEST(p.int16_data_size(3) == 32u);
  BOOST_TEST(ldns_rdf2native_int16(ldns_rr_rdf(p.tsig(), 5)) == 0);
  BOOST_TEST(p.time48(ldns_rdf_data(ldns_rr_rdf(p.tsig(), 1))) == uint64_t(now));
}

// RFC 8945 §5.3.1, as a zone transfer uses it: the first message is signed over the request
// MAC, every later one over the previous message's MAC with the timers only. ldns's own
// implementation (ldns_pkt_tsig_verify_next) must accept each message with the MAC before it,
// and reject one taken out of order.
BOOST_AUTO_TEST_CASE(multi_message_replies_verify_in_order_with_ldns) {
  const Keyring k = make_keyring();
  const std::vector<uint8_t> m = ldns_signed_update("update-key.", secret, "hmac-sha256.");
  const int64_t now = std::time(nullptr);
  const TsigVerdict v = check(m, k, now);
  BOOST_REQUIRE(to_string(v.status) == std::string("ok"));
  std::vector<std::vector<uint8_t>> messages;
  std::vector<std::vector<uint8_t>> macs;   // macs[i]: what message i was signed over
  std::vector<uint8_t> mac;
  for (int i = 0; i < 4; ++i) {
    std::vector<uint8_t> reply = reply_for(m.data(), v.unsigned_length, 0);
    macs.push_back(i == 0 ? v.request_mac : mac);
    const bool ok = i == 0 ? sign_reply(reply, v, k, now, &mac)
                           : sign_next_reply(reply, v, k, macs.back(), now + i, mac);
    BOOST_REQUIRE(ok);
    BOOST_REQUIRE_EQUAL(mac.size(), 32u);
    messages.push_back(reply);
  }
  for (std::size_t i = 0; i < messages.size(); ++i) {
    Parsed p(messages[i]);
    BOOST_REQUIRE(p.tsig());
    ldns_rdf* prior = mac_rdf(macs[i]);
    BOOST_TEST(ldns_pkt_tsig_verify_next(p.pkt, messages[i].data(), messages[i].size(),
                                         "update-key.", secret, prior, i == 0 ? 0 : 1),
               "message " << i);
    ldns_rdf_deep_free(prior);
  }
  // Message 2 checked against the MAC before message 1 (a message dropped or reordered).
  Parsed p(messages[2]);
  ldns_rdf* wrong = mac_rdf(macs[1]);
  BOOST_TEST(!ldns_pkt_tsig_verify_next(p.pkt, messages[2].data(), messages[2].size(),
                                        "update-key.", secret, wrong, 1));
  ldns_rdf_deep_free(wrong);
  // Only an ok verdict can sign later messages.
  TsigVerdict not_signed;
  std::vector<uint8_t> reply = reply_for(m.data(), v.unsigned_length, 0);
  BOOST_TEST(!sign_next_reply(reply, not_signed, k, mac, now, mac));
}

BOOST_AUTO_TEST_CASE(badkey_and_badsig_replies_carry_the_error_and_no_mac) {
  const Keyring k = make_keyring();
  const int64_t now = std::time(nullptr);
  struct Case { const char* key; const char* secret; uint16_t error; };
  for (const Case& c : {Case{"nobody.", secret, tsig_error_badkey},
                        Case{"update-key.", other_secret, tsig_error_badsig}}) {
    BOOST_TEST_CONTEXT(c.key) {
      const std::vector<uint8_t> m = ldns_signed_update(c.key, c.secret, "hmac-sha256.");
      const TsigVerdict v = check(m, k, now);
      std::vector<uint8_t> reply = reply_for(m.data(), v.unsigned_length, 0);
      BOOST_REQUIRE(sign_reply(reply, v, k, now));
      Parsed p(reply);
      BOOST_TEST(ldns_pkt_get_rcode(p.pkt) == LDNS_RCODE_NOTAUTH);
      BOOST_REQUIRE(p.tsig() != nullptr);
      BOOST_TEST(name_key(std::string(reinterpret_cast<const char*>(
                     ldns_rdf_data(ldns_rr_owner(p.tsig()))),
                     ldns_rdf_size(ldns_rr_owner(p.tsig())))) == wire(c.key));
      BOOST_TEST(p.int16_data_size(3) == 0u);                            // MAC size 0
      BOOST_TEST(ldns_rdf2native_int16(ldns_rr_rdf(p.tsig(), 5)) == c.error);
      BOOST_TEST(ldns_rdf2native_int16(ldns_rr_rdf(p.tsig(), 4)) == 0x1234);   // Original ID
    }
  }
}

BOOST_AUTO_TEST_CASE(badtime_reply_is_signed_and_carries_the_server_time) {
  const Keyring k = make_keyring();
  const std::vector<uint8_t> m = ldns_signed_update("update-key.", secret, "hmac-sha256.");
  const int64_t t = int64_t(check(m, k, std::time(nullptr)).time_signed);
  const int64_t server_now = t + 1000;
  const TsigVerdict v = check(m, k, server_now);
  BOOST_REQUIRE(to_string(v.status) == std::string("BADTIME"));
  std::vector<uint8_t> reply = reply_for(m.data(), v.unsigned_length, 0);
  BOOST_REQUIRE(sign_reply(reply, v, k, server_now));
  Parsed p(reply);
  BOOST_TEST(ldns_pkt_get_rcode(p.pkt) == LDNS_RCODE_NOTAUTH);
  BOOST_REQUIRE(p.tsig() != nullptr);
  BOOST_TEST(ldns_rdf2native_int16(ldns_rr_rdf(p.tsig(), 5)) == tsig_error_badtime);
  BOOST_TEST(p.time48(ldns_rdf_data(ldns_rr_rdf(p.tsig(), 1))) == uint64_t(t));   // request's
  BOOST_REQUIRE(p.int16_data_size(6) == 6u);
  BOOST_TEST(p.time48(ldns_rdf_data(ldns_rr_rdf(p.tsig(), 6)) + 2) == uint64_t(server_now));
  BOOST_TEST(p.int16_data_size(3) == 32u);
  BOOST_TEST(ldns_verifies_reply(reply, v.request_mac, secret));
}

BOOST_AUTO_TEST_CASE(formerr_reply_is_unsigned_formerr) {
  const Keyring k = make_keyring();
  std::vector<uint8_t> m = ldns_signed_update("update-key.", secret, "hmac-sha256.");
  m.pop_back();
  const TsigVerdict v = check(m, k, std::time(nullptr));
  BOOST_REQUIRE(to_string(v.status) == std::string("FORMERR"));
  std::vector<uint8_t> reply = reply_for(m.data(), 12, 0);
  BOOST_REQUIRE(sign_reply(reply, v, k, std::time(nullptr)));
  BOOST_TEST((reply[3] & 0x0F) == 1);
  BOOST_TEST(get16(reply, 10) == 0);
  BOOST_TEST(reply.size() == 12u);
}

// ---------------------------------------------------------------------------------------
// The real client: nsupdate (BIND 9) against a UDP server thread that uses this code.

namespace {

class UpdateServer {
 public:
  UpdateServer(const Keyring& keys, int64_t clock_offset) : keys_(keys), offset_(clock_offset) {
    fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    stop_fd_ = eventfd(0, EFD_CLOEXEC);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t al = sizeof a;
    ok_ = fd_ >= 0 && stop_fd_ >= 0 &&
          bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
          getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &al) == 0;
    port_ = ntohs(a.sin_port);
    if (ok_) thread_ = std::thread([this] { run(); });
  }
  ~UpdateServer() {
    if (thread_.joinable()) {
      const uint64_t one = 1;
      (void)!write(stop_fd_, &one, sizeof one);
      thread_.join();
    }
    if (fd_ >= 0) close(fd_);
    if (stop_fd_ >= 0) close(stop_fd_);
  }
  bool ok() const { return ok_; }
  uint16_t port() const { return port_; }
  std::vector<TsigStatus> seen() {
    std::lock_guard<std::mutex> g(mutex_);
    return seen_;
  }

 private:
  void run() {
    std::vector<uint8_t> buf(65535);
    for (;;) {
      pollfd p[2] = {{fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
      if (poll(p, 2, -1) < 0) continue;
      if (p[1].revents) return;
      sockaddr_storage peer{};
      socklen_t pl = sizeof peer;
      const ssize_t n = recvfrom(fd_, buf.data(), buf.size(), 0,
                                 reinterpret_cast<sockaddr*>(&peer), &pl);
      if (n <= 0) continue;
      const int64_t now = int64_t(std::time(nullptr)) + offset_;
      const TsigVerdict v = verify_request(buf.data(), std::size_t(n), keys_, now);
      // Accept only signed updates; the UPDATE itself is not applied here.
      const uint8_t rcode = v.status == TsigStatus::not_signed ? 5 /* REFUSED */ : 0;
      std::vector<uint8_t> reply = reply_for(buf.data(), v.unsigned_length, rcode);
      if (reply.empty() || !sign_reply(reply, v, keys_, now)) continue;
      sendto(fd_, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&peer), pl);
      std::lock_guard<std::mutex> g(mutex_);
      seen_.push_back(v.status);
    }
  }

  const Keyring& keys_;
  int64_t offset_;
  int fd_ = -1;
  int stop_fd_ = -1;
  bool ok_ = false;
  uint16_t port_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  std::vector<TsigStatus> seen_;
};

struct ChildResult {
  int exit_code = -1;   // -1: did not exit normally (killed on timeout)
  bool timed_out = false;
  std::string output;   // stdout and stderr together
};

// Runs nsupdate with `key_arg` on the script, killing it after `timeout`.
ChildResult run_nsupdate(const std::string& key_arg, const std::string& script,
                         std::chrono::seconds timeout) {
  ChildResult r;
  char path[] = "/tmp/vrdns-tsig-XXXXXX";
  const int sfd = mkstemp(path);
  if (sfd < 0) return r;
  (void)!write(sfd, script.data(), script.size());
  close(sfd);

  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) { unlink(path); return r; }
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    dup2(out[1], 2);
    execlp("nsupdate", "nsupdate", "-y", key_arg.c_str(), "-t", "5", "-u", "1", "-r", "2", path,
           static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) { r.timed_out = true; break; }
    pollfd p{out[0], POLLIN, 0};
    if (poll(&p, 1, int(left.count())) <= 0) continue;
    const ssize_t n = read(out[0], buf, sizeof buf);
    if (n <= 0) break;   // EOF: the child closed its output
    r.output.append(buf, std::size_t(n));
  }
  if (r.timed_out && pid > 0) kill(pid, SIGKILL);
  close(out[0]);
  int status = 0;
  if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status))
    r.exit_code = WEXITSTATUS(status);
  unlink(path);
  return r;
}

std::string update_script(uint16_t port) {
  std::string s = "server 127.0.0.1 ";
  s += std::to_string(port);
  s += "\nzone example.test.\nupdate add x.example.test. 300 A 192.0.2.1\nsend\n";
  return s;
}

bool mentions(const std::string& text, const char* what) {
  return text.find(what) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_CASE(nsupdate_accepts_our_signed_reply_and_rejects_bad_keys) {
  Keyring k;
  BOOST_REQUIRE(k.add("update-key.", "hmac-sha256", secret));

  {  // the right key: our verdict is ok, and nsupdate verifies our signed NOERROR
    UpdateServer server(k, 0);
    BOOST_REQUIRE(server.ok());
    const ChildResult r = run_nsupdate(std::string("hmac-sha256:update-key.:") + secret,
                                       update_script(server.port()), std::chrono::seconds(20));
    BOOST_TEST_MESSAGE("nsupdate (right key): " << r.output);
    BOOST_TEST(!r.timed_out);
    BOOST_TEST(r.exit_code == 0, r.output);
    const auto seen = server.seen();
    BOOST_TEST(seen.size() == 1u);
    BOOST_TEST((!seen.empty() && seen[0] == TsigStatus::ok));
  }
  {  // a wrong secret: BADSIG, answered NOTAUTH with an unsigned TSIG
    UpdateServer server(k, 0);
    BOOST_REQUIRE(server.ok());
    const ChildResult r = run_nsupdate(std::string("hmac-sha256:update-key.:") + other_secret,
                                       update_script(server.port()), std::chrono::seconds(20));
    BOOST_TEST_MESSAGE("nsupdate (wrong secret): " << r.output);
    BOOST_TEST(!r.timed_out);
    BOOST_TEST(r.exit_code != 0);
    BOOST_TEST((mentions(r.output, "NOTAUTH") || mentions(r.output, "TSIG")), r.output);
    const auto seen = server.seen();
    BOOST_TEST((!seen.empty() && seen[0] == TsigStatus::badsig));
  }
  {  // the server's clock is 1000 s ahead: BADTIME, signed
    UpdateServer server(k, 1000);
    BOOST_REQUIRE(server.ok());
    const ChildResult r = run_nsupdate(std::string("hmac-sha256:update-key.:") + secret,
                                       update_script(server.port()), std::chrono::seconds(20));
    BOOST_TEST_MESSAGE("nsupdate (server clock ahead): " << r.output);
    BOOST_TEST(!r.timed_out);
    BOOST_TEST(r.exit_code != 0);
    BOOST_TEST((mentions(r.output, "NOTAUTH") || mentions(r.output, "BADTIME")), r.output);
    const auto seen = server.seen();
    BOOST_TEST((!seen.empty() && seen[0] == TsigStatus::badtime));
  }
}

BOOST_AUTO_TEST_CASE(strip_tsig_gives_the_message_as_before_signing) {
  const Keyring k = make_keyring();
  const int64_t now = std::time(nullptr);
  const std::vector<uint8_t> m = ldns_signed_update("update-key.", secret, "hmac-sha256.");
  const TsigVerdict v = check(m, k, now);
  BOOST_REQUIRE(std::string(to_string(v.status)) == "ok");
  const std::vector<uint8_t> body = strip_tsig(m.data(), m.size(), v);
  BOOST_REQUIRE(body.size() == v.unsigned_length);
  // ARCOUNT one lower, everything else byte for byte the same.
  const unsigned ar_signed = unsigned(m[10]) << 8 | m[11];
  const unsigned ar_body = unsigned(body[10]) << 8 | body[11];
  BOOST_TEST(ar_body + 1 == ar_signed);
  BOOST_TEST(std::equal(body.begin() + 12, body.end(), m.begin() + 12));
  BOOST_TEST(to_string(check(body, k, now).status) == "unsigned");
  // Not for verdicts other than ok.
  const TsigVerdict forged = check(ldns_signed_update("update-key.", other_secret, "hmac-sha256."), k, now);
  BOOST_TEST(strip_tsig(m.data(), m.size(), forged).empty());
}

// The client side (a NOTIFY sender, RFC 8945 §5.4): a reply signed by ldns over our request's
// MAC verifies; one over another MAC, with another secret, changed in any byte but the ID,
// unsigned, or reporting a TSIG error does not.
BOOST_AUTO_TEST_CASE(replies_to_our_requests_verify_only_when_signed_over_their_mac) {
  const Keyring k = make_keyring();
  const int64_t now = std::time(nullptr);
  std::vector<uint8_t> request = unsigned_update();
  BOOST_REQUIRE(sign_request(request, wire("update-key."), k, now));
  const TsigVerdict ours = check(request, k, now);
  BOOST_REQUIRE(to_string(ours.status) == std::string("ok"));
  const std::vector<uint8_t>& request_mac = ours.request_mac;

  // ldns signs a reply as a secondary would.
  auto ldns_reply = [&](const char* key_secret, const std::vector<uint8_t>& over_mac) {
    ldns_pkt* p = nullptr;
    const std::vector<uint8_t> body = reply_for(request.data(), ours.unsigned_length, 0);
    BOOST_REQUIRE(ldns_wire2pkt(&p, body.data(), body.size()) == LDNS_STATUS_OK);
    ldns_rdf* mac = mac_rdf(over_mac);
    BOOST_REQUIRE(ldns_pkt_tsig_sign(p, "update-key.", key_secret, 300, "hmac-sha256.", mac) ==
                  LDNS_STATUS_OK);
    ldns_rdf_deep_free(mac);
    std::vector<uint8_t> w = to_wire(p);
    ldns_pkt_free(p);
    return w;
  };
  auto status = [&](const std::vector<uint8_t>& reply) {
    return std::string(to_string(verify_reply(reply.data(), reply.size(), k, request_mac, now).status));
  };
  const std::vector<uint8_t> good = ldns_reply(secret, request_mac);
  BOOST_TEST(status(good) == "ok");
  std::vector<uint8_t> other_mac = request_mac;
  other_mac[3] ^= 0x10;
  BOOST_TEST(status(ldns_reply(secret, other_mac)) == "BADSIG");
  BOOST_TEST(status(ldns_reply(other_secret, request_mac)) == "BADSIG");
  // Our own sign_reply, as the far side, agrees.
  std::vector<uint8_t> ours_signed = reply_for(request.data(), ours.unsigned_length, 0);
  BOOST_REQUIRE(sign_reply(ours_signed, ours, k, now));
  BOOST_TEST(status(ours_signed) == "ok");
  // A request the reply does not answer: verify_request's digest has no request MAC.
  BOOST_TEST(to_string(check(good, k, now).status) == std::string("BADSIG"));
  std::size_t broken = 0;
  for (std::size_t i = 2; i < good.size(); ++i) {   // bytes 0-1: the ID, covered as Original ID
    std::vector<uint8_t> bad = good;
    bad[i] ^= 0x01;
    broken += status(bad) != "ok";
  }
  BOOST_TEST(broken == good.size() - 2);
  // The same reply with its MAC truncated to 16 bytes (valid for a request, RFC 8945 §5.2.2.1)
  // is weaker than the full MAC we sent: refused. TSIG RDATA ends with MAC size, MAC (32),
  // Original ID, Error, Other Len (0); the algorithm name hmac-sha256. takes 13 bytes.
  std::vector<uint8_t> truncated = good;
  const std::size_t n = truncated.size();
  BOOST_REQUIRE(get16(truncated, n - 63) == 61);   // RDLENGTH
  BOOST_REQUIRE(get16(truncated, n - 40) == 32);   // MAC size
  truncated.erase(truncated.begin() + std::ptrdiff_t(n - 38 + 16),
                  truncated.begin() + std::ptrdiff_t(n - 6));
  set16(truncated, n - 63, 61 - 16);
  set16(truncated, n - 40, 16);
  BOOST_TEST(status(truncated) == "BADSIG");
  const std::vector<uint8_t> unsigned_reply = reply_for(request.data(), ours.unsigned_length, 0);
  BOOST_TEST(status(unsigned_reply) == "unsigned");
  // The far side did not know the key: an unsigned NOTAUTH with BADKEY is no answer either.
  TsigVerdict unknown = ours;
  unknown.status = TsigStatus::badkey;
  std::vector<uint8_t> badkey = reply_for(request.data(), ours.unsigned_length, 0);
  BOOST_REQUIRE(sign_reply(badkey, unknown, k, now));
  BOOST_TEST(status(badkey) == "BADKEY");
  // A stale request: the far side answers BADTIME, signed over our MAC; no answer either.
  TsigVerdict stale = ours;
  stale.status = TsigStatus::badtime;
  std::vector<uint8_t> badtime = reply_for(request.data(), ours.unsigned_length, 0);
  BOOST_REQUIRE(sign_reply(badtime, stale, k, now));
  BOOST_TEST(status(badtime) == "BADTIME");
  // Out of its time window (a replayed old reply) it is badtime.
  BOOST_TEST(to_string(verify_reply(good.data(), good.size(), k, request_mac, now + 3600).status) ==
             std::string("BADTIME"));
}
