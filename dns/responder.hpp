// The query path: one DNS message in, one DNS message out, no allocation, no locks.
//
// Everything a query needs is in one immutable ServingState that the front end swaps as a
// unit when the replica commits a change (new zones) or its VR status changes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "dns/cookie.hpp"
#include "dns/zone.hpp"

namespace vrdns::dns {

struct ResponderOptions {
  uint16_t edns_udp_max = 1232;   ///< cap on the requestor's advertised EDNS0 UDP size
  /// RFC 5001: sent in the NSID option to clients that ask (dig +nsid); empty: never.
  std::string nsid;
  /// DNS cookies (RFC 7873, dns/cookie.hpp) of the front ends that answer from this state;
  /// null: cookies are off. Part of the state, not of the servers, so that a reload (SIGHUP,
  /// RFC 9018's secret roll) reaches every worker with its next state, lock-free.
  std::shared_ptr<const CookieSecrets> cookies;
};
inline constexpr std::size_t max_nsid_length = 128;

struct ServingState {
  ZoneSetPtr zones;
  std::string identity;   ///< CH TXT id.server. / hostname.bind.
  std::string version;    ///< CH TXT version.server. / version.bind.
  std::string status;     ///< CH TXT status.vrdns. ("replica=0 view=0 status=normal ...")
  /// False while this node has no committed state to answer from (a restarted replica still
  /// recovering): queries for its zones get SERVFAIL rather than the zone files' old contents,
  /// which would make the zone go back in time. `zones` then only says which apexes are ours.
  bool has_state = true;
  ResponderOptions options;
  /// The front end's statistics slot of each zone, by position in zones->zones
  /// (net/zone_slots.hpp); null: zones are not counted apart.
  std::shared_ptr<const std::vector<uint16_t>> zone_slots;
};
using ServingStatePtr = std::shared_ptr<const ServingState>;

enum class Transport { udp, tcp };

enum class Disposition {
  reply,    ///< send out[0, length)
  drop,     ///< send nothing (not even a header could be parsed, or a response came in)
  update,   ///< opcode UPDATE: out holds a fallback reply; a front end with an update path
            ///< hands the query there instead, with the fallback's OPT and, when the request's
            ///< EDNS is wrong, its rcode (FORMERR: a malformed OPT or COOKIE; BADVERS)
  transfer, ///< AXFR or IXFR over TCP: out holds a fallback reply (REFUSED); a front end with
            ///< a transfer path hands the query there instead
  signed_query,   ///< a query carrying TSIG: out holds the unsigned answer as a fallback; a
                  ///< front end with keys verifies the query and sends a signed answer instead
};

struct AnswerResult {
  Disposition what = Disposition::drop;
  std::size_t length = 0;
  // What the reply says, for the front end's statistics (net/query_stats.hpp); meaningless
  // when `what` is drop.
  uint8_t opcode = 0;
  uint16_t rcode = 0;      ///< the full rcode (BADVERS is 16: header nibble + OPT's upper bits)
  uint16_t qtype = 0;      ///< of the first question; 0 when there is no well-formed one
  bool truncated = false;  ///< TC set
  bool wildcard = false;   ///< the answer was synthesized from a wildcard (RFC 4592)
  CookieVerdict cookie = CookieVerdict::none;   ///< what the query's COOKIE option was
  int32_t zone = -1;   ///< the position in state.zones->zones of the zone answered from; -1: none
  /// Where the reply's OPT RR starts, and its COOKIE option's data (reply_cookie_size bytes);
  /// 0: none.
  uint16_t opt_at = 0;
  uint16_t cookie_at = 0;
  /// The most the requestor takes: over UDP 512 or its EDNS size (capped by edns_udp_max);
  /// over TCP the largest message. For answers written elsewhere (an UPDATE's).
  uint16_t size_limit = 0;
};

/// Minimum `out` capacity answer() needs: a TCP reply may be 65535 bytes.
inline constexpr std::size_t max_message_size = 65535;

/// Answers one query. For UDP the reply is cut to the requestor's size (512, or the EDNS0
/// size capped by options.edns_udp_max) with TC set when it does not fit. `tail_reserve` bytes
/// of that size are left free (for a TSIG RR the caller appends). With `cookies`, a query's
/// COOKIE option is checked and answered (dns/cookie.hpp); without, it is ignored.
AnswerResult answer(const ServingState& state, const uint8_t* query, std::size_t length,
                    Transport transport, uint8_t* out, std::size_t out_capacity,
                    std::size_t tail_reserve = 0, const CookieContext* cookies = nullptr);

}  // namespace vrdns::dns
