// What the DNS front end answered, counted per worker thread for the statistics endpoint.
//
// The query path must not take a lock or share a written cache line with another thread, so
// every UDP and TCP worker owns one QueryCounters block and is its only writer: a count is a
// relaxed load and store of its own counter (no locked read-modify-write). A reader sums the
// blocks at any time and sees each counter at some recent value: totals may lag a query being
// answered, never run ahead of it, and each counter only grows.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "dns/responder.hpp"

namespace vrdns::net {

/// A counter with a single writer thread and any number of readers.
class StatCounter {
 public:
  void add(uint64_t n = 1) noexcept {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  uint64_t read() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

/// Slots of the by-qtype counts: types below it each have their own (every type in common
/// use, CAA's 257 included); the last slot holds all others.
inline constexpr std::size_t qtype_slots = 512;
inline constexpr std::size_t rcode_slots = 32;   ///< rcodes up to 31; larger ones share the last
/// Zones counted apart (net/zone_slots.hpp); the last slot is shared by any zones beyond.
inline constexpr std::size_t zone_slots = 4096;

/// One worker's counters. Aligned so that two workers' blocks never share a cache line.
struct alignas(64) QueryCounters {
  StatCounter received;        ///< UDP datagrams read, or TCP messages (frames) read
  StatCounter dropped;         ///< not answered: no DNS header, a response, or over-long
  StatCounter truncated;       ///< answered with TC set (UDP): the client should retry on TCP
  StatCounter signed_queries;  ///< queries with TSIG, answered by the signed-query hook
  StatCounter transfers;       ///< AXFR/IXFR handed to the transfer path
  StatCounter rate_limited_dropped;   ///< UDP answers not sent (net/rate_limiter.hpp)
  StatCounter rate_limited_slipped;   ///< UDP answers sent truncated instead
  std::array<StatCounter, 16> opcode;           ///< messages with a header, by opcode
  std::array<StatCounter, rcode_slots> rcode;   ///< answers the front end sent, by rcode
  std::array<StatCounter, qtype_slots> qtype;   ///< opcode QUERY with a question, by qtype
  /// Queries by what their DNS cookie was (dns::CookieVerdict; `none` is not counted).
  std::array<StatCounter, dns::cookie_verdicts> cookie;
  /// Queries answered from each zone, by the zone's slot (net/zone_slots.hpp).
  std::array<StatCounter, zone_slots> zone;

  /// Counts one message the responder looked at (`r.what` may be drop).
  void count_request(const dns::AnswerResult& r) noexcept;
  /// Counts the answer `r` under its zone's slot, if it came from a zone of `state`.
  void count_zone(const dns::ServingState& state, const dns::AnswerResult& r) noexcept {
    if (r.zone < 0 || !state.zone_slots) return;
    const auto& slots = *state.zone_slots;
    if (std::size_t(r.zone) < slots.size()) zone[slots[std::size_t(r.zone)]].add();
  }
  /// Counts an answer sent by the front end itself with this rcode (UPDATEs and zone
  /// transfers are answered elsewhere and counted there).
  void count_answer(uint16_t code) noexcept {
    rcode[code < rcode_slots ? code : rcode_slots - 1].add();
  }
};

/// The sum over every worker of one node. Plain numbers: a copy taken at one moment.
struct QueryTotals {
  uint64_t received_udp = 0, received_tcp = 0;
  uint64_t dropped = 0, truncated = 0, signed_queries = 0, transfers = 0;
  uint64_t rate_limited_dropped = 0, rate_limited_slipped = 0;
  std::array<uint64_t, 16> opcode{};
  std::array<uint64_t, rcode_slots> rcode{};
  std::array<uint64_t, qtype_slots> qtype{};
  std::array<uint64_t, dns::cookie_verdicts> cookie{};
  std::vector<uint64_t> zone = std::vector<uint64_t>(zone_slots);   ///< by slot
};

/// The blocks of one front end. Workers get theirs when the server is built; the statistics
/// endpoint sums them. The mutex guards the list only, never a count.
class FrontEndStats {
 public:
  /// A new zeroed block for one worker of `transport`; stays valid as long as this object.
  QueryCounters& add_worker(dns::Transport transport);
  QueryTotals totals() const;

  /// TCP connections open now; the front end's TcpServer keeps it (one per FrontEndStats).
  std::atomic<uint32_t> tcp_connections{0};

 private:
  mutable std::mutex mutex_;
  std::vector<std::pair<dns::Transport, std::unique_ptr<QueryCounters>>> blocks_;
};

}  // namespace vrdns::net
