#include "dns/cookie.hpp"

#include <cassert>
#include <cstring>
#include <random>
#include <stdexcept>

namespace vrdns::dns {

namespace {

constexpr uint8_t server_cookie_version = 1;   // RFC 9018 §4.2

uint32_t get32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}

/// SipHash-2-4 over client cookie | version | reserved | timestamp | address: the first 16
/// bytes come from `head` (the client cookie and the server cookie's first 8 bytes, as made
/// or as received: reserved bytes a client changed change the hash).
void hash_into(const CookieSecret& secret, const uint8_t* head, const ClientAddress& client,
               uint8_t* out) {
  uint8_t input[16 + sizeof client.bytes];
  std::memcpy(input, head, 16);
  std::memcpy(input + 16, client.bytes, client.length);
  const uint64_t h = siphash24(secret.data(), input, 16 + std::size_t(client.length));
  for (int i = 0; i < 8; ++i) out[i] = uint8_t(h >> (8 * i));   // as the reference writes it
}

/// RFC 1982 arithmetic on 32-bit seconds: how far `then` lies before `now` (negative: after).
int64_t age(uint32_t now, uint32_t then) { return int64_t(int32_t(now - then)); }

bool hash_matches(const CookieSecret& secret, const uint8_t* cookie, const ClientAddress& client) {
  uint8_t expected[8];
  hash_into(secret, cookie, client, expected);
  uint8_t differ = 0;   // in constant time: a forger learns nothing from how long we took
  for (int i = 0; i < 8; ++i) differ |= uint8_t(expected[i] ^ cookie[16 + i]);
  return differ == 0;
}

}  // namespace

CookieSecret random_cookie_secret() {
  std::random_device device;   // getrandom(2) on Linux; throws when no source is available
  CookieSecret secret{};
  for (std::size_t i = 0; i < secret.size(); i += 4) {
    const uint32_t v = device();
    for (std::size_t j = 0; j < 4; ++j) secret[i + j] = uint8_t(v >> (8 * j));
  }
  return secret;
}

void make_server_cookie(const CookieSecret& secret, const uint8_t* client_cookie,
                        const ClientAddress& client, uint32_t timestamp, uint8_t* out) {
  assert(client.length == 4 || client.length == 16);
  uint8_t head[16];
  std::memcpy(head, client_cookie, client_cookie_size);
  head[8] = server_cookie_version;
  head[9] = head[10] = head[11] = 0;
  head[12] = uint8_t(timestamp >> 24);
  head[13] = uint8_t(timestamp >> 16);
  head[14] = uint8_t(timestamp >> 8);
  head[15] = uint8_t(timestamp);
  std::memcpy(out, head + 8, 8);
  hash_into(secret, head, client, out + 8);
}

CookieCheck check_cookie(const CookieContext& context, const uint8_t* option, std::size_t length,
                         bool repeated) {
  CookieCheck c;
  if (context.secrets == nullptr || option == nullptr) return c;
  if (repeated || !cookie_length_ok(length)) {
    c.verdict = CookieVerdict::malformed;
    return c;
  }
  const CookieSecrets& secrets = *context.secrets;
  const ClientAddress& client = context.client;
  // No address to bind a cookie to (never so for UDP or TCP): answer as without cookies.
  if (client.length != 4 && client.length != 16) return c;
  c.verdict = CookieVerdict::client_only;
  bool echo = false;
  if (length > client_cookie_size) {
    c.verdict = CookieVerdict::invalid;
    if (length == reply_cookie_size && option[8] == server_cookie_version) {
      const int64_t issued_ago = age(context.now, get32(option + 12));
      if (issued_ago <= int64_t(cookie_lifetime_s) && issued_ago >= -int64_t(cookie_future_s)) {
        if (hash_matches(secrets.current, option, client)) {
          c.verdict = CookieVerdict::valid;
          echo = issued_ago < int64_t(cookie_renew_after_s);
        } else if (secrets.previous && hash_matches(*secrets.previous, option, client)) {
          c.verdict = CookieVerdict::valid;   // renewed below under the current secret
        }
      }
    }
  }
  std::memcpy(c.reply, option, client_cookie_size);
  if (echo) {
    std::memcpy(c.reply + client_cookie_size, option + client_cookie_size, server_cookie_size);
  } else {
    make_server_cookie(secrets.current, option, client, context.now, c.reply + client_cookie_size);
  }
  return c;
}

}  // namespace vrdns::dns
