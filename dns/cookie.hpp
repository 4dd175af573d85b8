// DNS Cookies (RFC 7873) with the interoperable server cookie of RFC 9018: a client sends an
// 8-byte client cookie; the server answers with it and a 16-byte server cookie
//   Version (1) | Reserved (3 zero bytes) | Timestamp (4, seconds) | Hash (8)
// where Hash = SipHash-2-4(secret; client cookie | version | reserved | timestamp | client IP).
// A client that sends the server cookie back proves it receives answers at its address, which
// is what lets rate limiting spare it (net/rate_limiter.hpp): spoofed sources cannot.
//
// Nodes that share a secret (behind one anycast address, or one cluster) accept each other's
// cookies. A rolled secret is kept as `previous` for a while: cookies made with it stay valid
// and are renewed with the current one.
//
// Everything here is allocation-free and runs on the query path.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "dns/siphash.hpp"

namespace vrdns::dns {

inline constexpr uint16_t edns_option_cookie = 10;   ///< RFC 7873 §4
inline constexpr std::size_t client_cookie_size = 8;
inline constexpr std::size_t server_cookie_size = 16;   ///< RFC 9018's
/// The option data of every reply cookie: the client cookie and a server cookie.
inline constexpr std::size_t reply_cookie_size = client_cookie_size + server_cookie_size;
/// RFC 9018 §4.3: a server cookie is valid for an hour, may come from up to 5 minutes in the
/// future (another server's clock), and is renewed once it is half an hour old.
inline constexpr uint32_t cookie_lifetime_s = 3600;
inline constexpr uint32_t cookie_future_s = 300;
inline constexpr uint32_t cookie_renew_after_s = 1800;

using CookieSecret = std::array<uint8_t, siphash_key_size>;

/// 16 bytes from the system's random source (throws std::runtime_error without one).
CookieSecret random_cookie_secret();

/// The server's secrets, fixed for the life of a serving state (a reload publishes new ones).
struct CookieSecrets {
  CookieSecret current{};
  std::optional<CookieSecret> previous;   ///< still accepted, never issued
};

/// The client's address as the hash sees it: 4 bytes for IPv4 (IPv4-mapped IPv6 included, so
/// a dual-stack socket makes the same cookie), 16 for IPv6; length 0 when unknown.
struct ClientAddress {
  uint8_t bytes[16] = {};
  uint8_t length = 0;
};

/// What a query's COOKIE option (RFC 7873 §5.2) turned out to be.
enum class CookieVerdict : uint8_t {
  none,          ///< no COOKIE option (or cookies are off)
  client_only,   ///< a client cookie alone: the client is new to us
  valid,         ///< a server cookie we made for this client cookie and address, not expired
  invalid,       ///< a server cookie that is not (expired, another secret, another address)
  malformed,     ///< a length no cookie has, or two COOKIE options: FORMERR (§5.2.2)
};
inline constexpr std::size_t cookie_verdicts = 5;

/// Whether a reply to a query with this verdict carries a COOKIE option (RFC 7873 §5.2).
constexpr bool carries_cookie(CookieVerdict v) {
  return v == CookieVerdict::client_only || v == CookieVerdict::valid ||
         v == CookieVerdict::invalid;
}

/// One query's view of cookies: the secrets, who asked, and when.
struct CookieContext {
  const CookieSecrets* secrets = nullptr;   ///< null: cookies are off
  ClientAddress client;
  uint32_t now = 0;   ///< seconds since the epoch (mod 2^32, as the timestamp field)
};

/// The classification of one COOKIE option and, unless none or malformed, the reply's
/// option data.
struct CookieCheck {
  CookieVerdict verdict = CookieVerdict::none;
  uint8_t reply[reply_cookie_size] = {};
};

/// The length rule of RFC 7873 §5.2.2: 8 bytes (a client cookie), or 16 to 40 (and a server
/// cookie of 8 to 32).
constexpr bool cookie_length_ok(std::size_t length) {
  return length == client_cookie_size || (length >= 16 && length <= 40);
}

/// The RFC 9018 server cookie for `client_cookie` from `client` at `timestamp`, under `secret`.
void make_server_cookie(const CookieSecret& secret, const uint8_t* client_cookie,
                        const ClientAddress& client, uint32_t timestamp, uint8_t* out);

/// Classifies the option data option[0, length) (`repeated`: the query had more than one
/// COOKIE option) and builds the reply cookie: the received one when it is valid under the
/// current secret and younger than cookie_renew_after_s, else a fresh one made now.
CookieCheck check_cookie(const CookieContext& context, const uint8_t* option, std::size_t length,
                         bool repeated = false);

}  // namespace vrdns::dns
