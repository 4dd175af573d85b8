#include "net/rate_limiter.hpp"

#include <netinet/in.h>

#include <algorithm>
#include <cassert>
#include <cstring>
#include <ctime>
#include <random>

#include "dns/name.hpp"
#include "dns/cookie.hpp"
#include "dns/query_parser.hpp"
#include "dns/rr_writer.hpp"

namespace vrdns::net {

namespace {

// A bucket, packed into one word: tag (24 bits) | second (16) | tokens (16) | drops (8).
struct Bucket {
  uint32_t tag = 0, second = 0, tokens = 0, drops = 0;

  static Bucket unpack(uint64_t w) {
    return {uint32_t(w >> 40), uint32_t(w >> 24) & 0xFFFF, uint32_t(w >> 8) & 0xFFFF,
            uint32_t(w) & 0xFF};
  }
  uint64_t pack() const {
    return uint64_t(tag & 0xFFFFFF) << 40 | uint64_t(second & 0xFFFF) << 24 |
           uint64_t(tokens & 0xFFFF) << 8 | uint64_t(drops & 0xFF);
  }
};

uint64_t mix(uint64_t x) {   // splitmix64's finaliser
  x ^= x >> 30;
  x *= 0xBF58476D1CE4E5B9ull;
  x ^= x >> 27;
  x *= 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

/// The first `bits` bits of `bytes` (the rest zeroed) as a 128-bit pair.
void masked(const uint8_t* bytes, std::size_t size, unsigned bits, uint64_t& hi, uint64_t& lo) {
  uint8_t b[16] = {};
  std::memcpy(b, bytes, size);
  for (unsigned i = 0; i < 16; ++i) {
    const unsigned from = i * 8;
    if (from >= bits) b[i] = 0;
    else if (bits - from < 8) b[i] &= uint8_t(0xFF << (8 - (bits - from)));
  }
  std::memcpy(&hi, b, 8);
  std::memcpy(&lo, b + 8, 8);
}

}  // namespace

ResponseRateLimiter::ResponseRateLimiter(RateLimitOptions options) : options_(std::move(options)) {
  if (!enabled()) return;
  std::size_t size = 1;
  while (size < std::max<std::size_t>(options_.table_size, 64)) size <<= 1;
  table_ = std::make_unique<std::atomic<uint64_t>[]>(size);
  for (std::size_t i = 0; i < size; ++i) table_[i].store(0, std::memory_order_relaxed);
  mask_ = size - 1;
  std::random_device rd;
  seed_ = uint64_t(rd()) << 32 ^ rd();
  // Tokens live in 16 bits.
  options_.responses_per_second = std::min<uint32_t>(options_.responses_per_second, 0xFFFF);
}

std::shared_ptr<ResponseRateLimiter> make_rate_limiter(const RateLimitOptions& options) {
  if (options.responses_per_second == 0) return nullptr;
  return std::make_shared<ResponseRateLimiter>(options);
}

uint32_t ResponseRateLimiter::now() const {
  if (options_.now_seconds) return options_.now_seconds();
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return uint32_t(ts.tv_sec);
}

bool ResponseRateLimiter::exempt(const sockaddr_storage& client) const {
  for (const auto& p : options_.exempt)
    if (p.contains(client)) return true;
  return false;
}

uint64_t ResponseRateLimiter::key_of(const sockaddr_storage& client, ResponseKind kind,
                                     const uint8_t* name_key, std::size_t name_length) const {
  uint64_t hi = 0, lo = 0;
  if (client.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(client);
    masked(a.sin6_addr.s6_addr, 16, options_.ipv6_prefix, hi, lo);
    lo ^= 6;
  } else {
    const auto& a = reinterpret_cast<const sockaddr_in&>(client);
    masked(reinterpret_cast<const uint8_t*>(&a.sin_addr.s_addr), 4, options_.ipv4_prefix, hi, lo);
    lo ^= 4;
  }
  const uint64_t name = name_length ? dns::name_hash(name_key, name_length) : 0;
  return mix(mix(hi ^ mix(lo ^ seed_)) ^ name ^ (uint64_t(kind) << 56));
}

RateDecision ResponseRateLimiter::decide(const sockaddr_storage& client, ResponseKind kind,
                                         const uint8_t* name_key, std::size_t name_length,
                                         uint32_t now) {
  if (!enabled() || exempt(client)) return RateDecision::send;
  const uint64_t key = key_of(client, kind, name_key, name_length);
  std::atomic<uint64_t>& slot = table_[key & mask_];
  const uint32_t tag = uint32_t(key >> 40) & 0xFFFFFF;
  const uint32_t rate = options_.responses_per_second;
  uint64_t old_word = slot.load(std::memory_order_relaxed);
  while (true) {
    const Bucket old = Bucket::unpack(old_word);
    // Seconds since the slot was last charged, modulo 2^16. Workers read the clock once per
    // batch, so one may still be a second or two behind another: such a small negative
    // difference is no time at all (else the two would refill the bucket in turn at every
    // tick), and the newer second stays. Any other difference is time passed (a slot idle for
    // half of the 18-hour period must not look like one from the future).
    const uint16_t diff = uint16_t(now - old.second);
    const bool behind = diff >= uint16_t(-3);
    const uint32_t elapsed = behind ? 0 : diff;
    Bucket next{tag, behind ? old.second : (now & 0xFFFF), 0, 0};
    RateDecision decision = RateDecision::send;
    if (old_word == 0 || (old.tag != tag && elapsed > 0)) {
      next.tokens = rate - 1;   // a new key, or a slot idle since an earlier second: full
    } else {
      // The same key, or another one active this second on the same slot: they share.
      const uint64_t tokens = std::min<uint64_t>(rate, old.tokens + uint64_t(elapsed) * rate);
      if (tokens >= 1) {
        next.tokens = uint32_t(tokens - 1);
        next.drops = old.drops;
      } else {
        next.drops = (old.drops + 1) & 0xFF;
        const bool slip = options_.slip > 0 && next.drops % options_.slip == 0;
        decision = slip ? RateDecision::slip : RateDecision::drop;
      }
    }
    if (slot.compare_exchange_weak(old_word, next.pack(), std::memory_order_relaxed))
      return decision;
  }
}

std::size_t truncate_to_question(uint8_t* reply, std::size_t length) {
  if (length < dns::header_size) return 0;
  const uint16_t qdcount = uint16_t(reply[4] << 8 | reply[5]);
  std::size_t end = dns::header_size;
  if (qdcount == 1) {
    const std::size_t name = dns::name_wire_length(reply + end, length - end);
    if (name == 0 || length - end - name < 4) return 0;
    end += name + 4;
  } else if (qdcount != 0) {
    return 0;
  }
  reply[2] |= 0x02;   // TC
  for (std::size_t i = 6; i < 12; ++i) reply[i] = 0;   // no answer, authority or additional
  return end;
}

std::size_t badcookie_to_question(uint8_t* reply, std::size_t length, std::size_t opt_at,
                                  std::size_t cookie_at) {
  constexpr std::size_t option_size = dns::edns_option_head + dns::reply_cookie_size;
  auto get16 = [](const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); };
  // Both offsets come from the responder; check them against the bytes anyway.
  if (opt_at < dns::header_size || opt_at + dns::opt_rr_size + option_size > length ||
      cookie_at < opt_at + dns::opt_rr_size + dns::edns_option_head ||
      cookie_at + dns::reply_cookie_size > length)
    return 0;
  const uint8_t* opt = reply + opt_at;
  const uint8_t* option = reply + cookie_at - dns::edns_option_head;
  if (opt[0] != 0 || get16(opt + 1) != dns::rrtype::OPT ||
      get16(option) != dns::edns_option_cookie || get16(option + 2) != dns::reply_cookie_size)
    return 0;
  const std::size_t end = truncate_to_question(reply, length);
  if (end == 0 || end > opt_at) return 0;
  reply[2] &= uint8_t(~0x02);   // not truncated: the answer is "ask again with this cookie"
  reply[3] = uint8_t((reply[3] & 0xF0) | (dns::rcode::BADCOOKIE & 0x0F));
  reply[11] = 1;   // ARCOUNT: the OPT
  // The OPT's fixed part, then its cookie alone: moving left, each copy's source lies at or
  // after its destination and after everything written before it.
  std::memmove(reply + end, reply + opt_at, dns::opt_rr_size);
  std::memmove(reply + end + dns::opt_rr_size, reply + cookie_at - dns::edns_option_head,
               option_size);
  uint8_t* moved = reply + end;
  moved[5] = uint8_t(dns::rcode::BADCOOKIE >> 4);   // the extended rcode bits
  moved[9] = 0;                                     // RDLENGTH: the cookie option alone
  moved[10] = uint8_t(option_size);
  return end + dns::opt_rr_size + option_size;
}

}  // namespace vrdns::net
