// Response rate limiting (RRL) for UDP answers, as BIND, NSD and Knot do it: a server that
// answers anyone can be used to reflect traffic at a victim whose address the attacker forges.
// Each answer is charged to a bucket keyed by the client's network (/24 for IPv4, /56 for IPv6
// by default), the kind of answer and the name it is about; a bucket holds
// responses_per_second tokens and refills at that rate. An answer without a token is dropped,
// except every slip-th one, which goes out truncated (TC, question only): a real client behind
// that address retries over TCP, which cannot be forged, and gets its answer.
//
// The table is fixed at start (no allocation afterwards) and shared by the UDP workers without
// a lock: each bucket is one 64-bit word changed by compare-and-swap. Keys are hashed with a
// seed drawn at start, so nobody can pick names that collide. Two keys that still land on one
// slot share its tokens while both are active (both are limited sooner, never later); a slot
// idle for a second goes to the newcomer, with a full bucket.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "net/address_prefix.hpp"

namespace vrdns::net {

struct RateLimitOptions {
  uint32_t responses_per_second = 0;   ///< 0: no limiting
  uint32_t slip = 2;                   ///< every slip-th limited answer is sent truncated; 0: none
  uint8_t ipv4_prefix = 24;
  uint8_t ipv6_prefix = 56;
  std::vector<AddressPrefix> exempt;   ///< clients never limited
  std::size_t table_size = 1u << 17;   ///< buckets (rounded up to a power of two)
  /// Seconds on any monotonic scale; tests set a clock of their own.
  std::function<uint32_t()> now_seconds;
};

/// What a response is, for its bucket: answers about one name and type share one; NXDOMAIN,
/// empty answers and answers synthesized from a wildcard share one per kind and zone (so that
/// random names under a zone are one bucket); errors (REFUSED, FORMERR, ...) share one per
/// client network.
enum class ResponseKind : uint8_t {
  answer = 1, nxdomain = 2, nodata = 3, error = 4, wildcard = 5
};

enum class RateDecision { send, drop, slip };

class ResponseRateLimiter;

/// A limiter for `options`, or null when they turn limiting off (responses_per_second = 0).
/// Allocates its table: build it before committing to a change that needs it.
std::shared_ptr<ResponseRateLimiter> make_rate_limiter(const RateLimitOptions& options);

class ResponseRateLimiter {
 public:
  explicit ResponseRateLimiter(RateLimitOptions options);

  bool enabled() const { return options_.responses_per_second > 0; }

  /// The decision for one response to `client` of `kind` about `name_key` (a key-form name,
  /// or empty), at time `now` (seconds, see RateLimitOptions::now_seconds).
  RateDecision decide(const sockaddr_storage& client, ResponseKind kind, const uint8_t* name_key,
                      std::size_t name_length, uint32_t now);

  /// The clock of the options, or CLOCK_MONOTONIC_COARSE seconds.
  uint32_t now() const;

 private:
  /// The client's network, the kind and the name as one 64-bit hash.
  uint64_t key_of(const sockaddr_storage& client, ResponseKind kind, const uint8_t* name_key,
                  std::size_t name_length) const;
  bool exempt(const sockaddr_storage& client) const;

  RateLimitOptions options_;
  std::unique_ptr<std::atomic<uint64_t>[]> table_;
  std::size_t mask_ = 0;
  uint64_t seed_ = 0;
};

/// Rewrites the UDP answer in reply[0, length) into its slip form: the header with TC set and
/// the question alone. Returns the new length (0 if the answer has no question to keep).
std::size_t truncate_to_question(uint8_t* reply, std::size_t length);

/// The slip form for a client that sent a DNS cookie (RFC 7873 §5.2.3, as BIND slips): the
/// header with rcode BADCOOKIE, the question, and the reply's OPT (at reply[opt_at]) with only
/// its COOKIE option, whose data starts at reply[cookie_at] (dns::AnswerResult::opt_at and
/// cookie_at). The client can then ask again with that cookie, which the limiter spares,
/// instead of falling back to TCP. Returns the new length (0 if there is no question to keep,
/// or the offsets do not point at an OPT and a cookie).
std::size_t badcookie_to_question(uint8_t* reply, std::size_t length, std::size_t opt_at,
                                  std::size_t cookie_at);

}  // namespace vrdns::net
