// The authoritative answering algorithm (RFC 1034 §4.3.2 with RFC 2308 negative answers,
// RFC 4592 wildcards, RFC 6604 CNAME chains, RFC 6891 EDNS0, RFC 8482 minimal ANY).
//
// Hot path: the query is parsed in place (query_parser), names are folded into stack
// buffers, RRsets are copied from the zone's wire-ready RDATA straight into `out`
// (wire_writer). No allocation, no locks, no ldns.
#include "dns/responder.hpp"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <string_view>

#include "dns/name.hpp"
#include "dns/query_parser.hpp"
#include "dns/record.hpp"
#include "dns/rr_writer.hpp"
#include "dns/wire_writer.hpp"

namespace vrdns::dns {

namespace {

constexpr std::size_t min_udp_size = 512;
constexpr int max_cname_chain = 16;
constexpr std::size_t max_tracked_rrsets = 64;
constexpr std::size_t max_labels = 128;   // a 255-byte name has at most 127 labels

/// A key-form (lower-case) name in a stack buffer.
struct KeyName {
  uint8_t bytes[max_name_length];
  std::size_t len = 0;

  void set_folded(const uint8_t* src, std::size_t n) {
    assert(n >= 1 && n <= max_name_length);
    name_fold(src, n, bytes);
    len = n;
  }
  std::string_view view() const { return {reinterpret_cast<const char*>(bytes), len}; }
};

unsigned label_count(std::string_view name) {
  unsigned n = 0;
  for (std::size_t at = 0; at < name.size() && name[at] != 0; at += uint8_t(name[at]) + 1) ++n;
  return n;
}

/// Both names in key form: true if `name` equals `apex` or lies below it, label-aligned.
bool key_at_or_below(std::string_view name, std::string_view apex) {
  std::size_t at = 0;
  while (name.size() - at > apex.size()) at += uint8_t(name[at]) + 1;
  return name.size() - at == apex.size() && name.compare(at, apex.size(), apex) == 0;
}

uint32_t soa_minimum(const RRset& soa) {
  const auto* p = reinterpret_cast<const uint8_t*>(soa.rdatas.data());
  const std::size_t end = soa.rdatas.size();   // one record: MINIMUM is its last 4 bytes
  assert(soa.count == 1 && end >= 4);
  return (uint32_t(p[end - 4]) << 24) | (uint32_t(p[end - 3]) << 16) |
         (uint32_t(p[end - 2]) << 8) | p[end - 1];
}

/// Where a name landed in a zone.
struct Lookup {
  enum Kind { exact, wildcard, nxdomain, referral } kind;
  const Node* node;   ///< exact: the node; wildcard: the source of synthesis; referral: the cut
};

/// RFC 1034 §4.3.2 step 3 and RFC 4592: walk down from the apex; the first node with NS
/// below the apex is a zone cut (unless it is the qname and the qtype is DS, which the
/// parent side answers). A missing name falls back to "*." + closest encloser, where empty
/// non-terminals count as existing.
Lookup lookup(const Zone& zone, const KeyName& name, unsigned apex_labels, uint16_t qtype) {
  std::size_t starts[max_labels + 1];   // starts[i]: offset of label i; starts[n]: root byte
  unsigned n = 0;
  for (std::size_t at = 0; name.bytes[at] != 0; at += name.bytes[at] + 1) starts[n++] = at;
  starts[n] = name.len - 1;
  assert(n >= apex_labels);

  const Node* closest = &zone.apex_node();
  std::size_t closest_at = starts[n - apex_labels];
  for (unsigned depth = apex_labels + 1; depth <= n; ++depth) {
    const std::size_t at = starts[n - depth];
    const Node* node = zone.find(std::string_view(
        reinterpret_cast<const char*>(name.bytes) + at, name.len - at));
    if (node == nullptr) {
      KeyName source;   // "*." + closest encloser; fits since the missing label had >= 2 bytes
      source.bytes[0] = 1;
      source.bytes[1] = '*';
      std::memcpy(source.bytes + 2, name.bytes + closest_at, name.len - closest_at);
      source.len = 2 + name.len - closest_at;
      assert(source.len <= max_name_length);
      if (const Node* w = zone.find(source.view())) return {Lookup::wildcard, w};
      return {Lookup::nxdomain, closest};
    }
    if (node->find(rrtype::NS) != nullptr && (depth < n || qtype != rrtype::DS)) {
      return {Lookup::referral, node};
    }
    closest = node;
    closest_at = at;
  }
  return {Lookup::exact, closest};
}

/// One reply under construction.
class ReplyBuilder {
 public:
  ReplyBuilder(const ServingState& state, const ParsedQuery& q, const CookieCheck& cookie,
               Transport transport, WireWriter& w, std::size_t limit, bool nsid)
      : state_(state),
        q_(q),
        cookie_(cookie),
        transport_(transport),
        w_(w),
        limit_(limit),
        nsid_(nsid) {}

  AnswerResult build();

 private:
  AnswerResult finish(uint16_t rcode, Disposition what = Disposition::reply);
  /// False (and nothing counted) when the question does not fit the size limit.
  bool put_question();
  /// A header with TC and `rcode` (and the OPT): the question did not fit.
  AnswerResult finish_without_question(uint16_t rcode);
  /// An UPDATE's fallback: FORMERR or BADVERS when its EDNS is wrong, otherwise REFUSED.
  uint16_t update_fallback_rcode() const;
  AnswerResult answer_chaos();
  AnswerResult answer_in();
  void resolve(const Zone& zone);
  void put_negative(const Zone& zone, uint16_t& section_count);
  void put_additional(const Zone& zone);
  void put_tracked(std::string_view owner, const RRset& rrset, uint16_t& section_count);
  bool tracked(const RRset* rrset) const;

  const ServingState& state_;
  const ParsedQuery& q_;
  const CookieCheck& cookie_;
  const Transport transport_;
  WireWriter& w_;
  const std::size_t limit_;   // the reply's size limit, OPT included
  const bool nsid_;           // send the NSID option (answer() kept room for it)
  std::size_t question_end_ = header_size;
  uint16_t ede_ = 0;   // an Extended DNS Error info code (RFC 8914) to send; 0: none
  int zone_index_ = -1;   // the zone answered from, by position in the state's zone set
  uint16_t an_ = 0, ns_ = 0, ar_ = 0;
  bool aa_ = false, tc_ = false, wildcard_ = false;
  uint8_t rcode_ = rcode::NOERROR;
  KeyName qkey_;
  // RRsets already placed, so the additional section neither repeats them nor misses the
  // targets of NS/MX/SRV in the answer and authority sections.
  const RRset* placed_[max_tracked_rrsets];
  std::size_t n_placed_ = 0;
};

bool ReplyBuilder::tracked(const RRset* rrset) const {
  return std::find(placed_, placed_ + n_placed_, rrset) != placed_ + n_placed_;
}

void ReplyBuilder::put_tracked(std::string_view owner, const RRset& rrset,
                               uint16_t& section_count) {
  put_rrset(w_, owner, rrset, rrclass::IN, rrset.ttl);
  section_count = uint16_t(section_count + rrset.count);
  if (n_placed_ < max_tracked_rrsets) placed_[n_placed_++] = &rrset;
}

bool ReplyBuilder::put_question() {
  w_.put_name(q_.qname, q_.qname_len, true);   // case as received (and the first target)
  w_.put_u16(q_.qtype);
  w_.put_u16(q_.qclass);
  if (!w_.ok()) return false;
  question_end_ = w_.size();
  w_.patch_u16(4, 1);
  return true;
}

AnswerResult ReplyBuilder::finish_without_question(uint16_t rcode) {
  // Only a tiny size limit with a long name and a large TSIG: no room even for the question.
  // A header with TC (and the OPT, whose room is kept) sends the client to TCP, where it fits.
  w_.rollback(header_size);
  tc_ = true;
  return finish(rcode);
}

AnswerResult ReplyBuilder::finish(uint16_t rcode, Disposition what) {
  // The OPT record goes into the room kept free for it below the size limit.
  w_.set_limit(max_message_size);
  std::size_t opt_at = 0, cookie_at = 0;
  if (q_.edns) {
    const uint16_t udp_size = std::max<uint16_t>(state_.options.edns_udp_max, min_udp_size);
    const bool cookie = carries_cookie(cookie_.verdict);
    opt_at = w_.size();
    const std::size_t rdlength_at = begin_opt(w_, udp_size, rcode, q_.edns_do);
    const std::string& nsid = state_.options.nsid;
    if (nsid_) {   // room reserved by answer()
      put_edns_option(w_, edns_option_nsid, reinterpret_cast<const uint8_t*>(nsid.data()),
                      uint16_t(nsid.size()));
    }
    // Not reserved: it comes with errors, whose replies hold no records, so it fits in
    // practice; where it would not, the error goes without its explanation.
    const std::size_t cookie_room = cookie ? edns_option_head + reply_cookie_size : 0;
    if (ede_ != 0 && w_.size() + edns_option_head + 2 + cookie_room <= limit_) {
      const uint8_t info[2] = {uint8_t(ede_ >> 8), uint8_t(ede_)};
      put_edns_option(w_, edns_option_ede, info, 2);
    }
    if (cookie) {
      cookie_at = w_.size() + edns_option_head;
      put_edns_option(w_, edns_option_cookie, cookie_.reply, reply_cookie_size);
    }
    end_opt(w_, rdlength_at);
    ++ar_;
  }
  if (!w_.ok()) return {};   // only when `out` cannot hold even a minimal reply
  uint8_t* out = const_cast<uint8_t*>(w_.data());
  out[2] = uint8_t(0x80 | (q_.opcode << 3) | (aa_ ? 0x04 : 0) | (tc_ ? 0x02 : 0) | (q_.rd ? 1 : 0));
  out[3] = uint8_t(rcode & 0x0F);   // RA, AD, CD clear: NSD and Knot do not copy CD
  w_.patch_u16(6, an_);
  w_.patch_u16(8, ns_);
  w_.patch_u16(10, ar_);
  AnswerResult r{what, w_.size()};
  r.opcode = q_.opcode;
  r.rcode = rcode;
  r.qtype = q_.question_ok ? q_.qtype : 0;
  r.truncated = tc_;
  r.wildcard = wildcard_;
  r.cookie = cookie_.verdict;
  r.zone = zone_index_;
  r.opt_at = uint16_t(opt_at);
  r.cookie_at = uint16_t(cookie_at);
  return r;
}

uint16_t ReplyBuilder::update_fallback_rcode() const {
  // What is wrong with the message's EDNS is decided here, where the OPT was read, in the
  // order of the query path below; the update path answers with it (after TSIG, so that a
  // signed request's error is signed too).
  if (q_.qdcount == 1 && q_.question_ok && !q_.body_ok) return rcode::FORMERR;   // e.g. two OPTs
  if (cookie_.verdict == CookieVerdict::malformed) return rcode::FORMERR;   // RFC 7873 §5.2.2
  if (q_.edns && q_.edns_version > 0) return rcode::BADVERS;               // RFC 6891 §6.1.3
  return rcode::REFUSED;
}

AnswerResult ReplyBuilder::build() {
  w_.put_u16(q_.id);
  for (int i = 0; i < 5; ++i) w_.put_u16(0);   // flags and counts, set by finish()
  const bool one_question = q_.qdcount == 1 && q_.question_ok;

  if (q_.opcode != opcode::QUERY) {
    // UPDATE gets a REFUSED fallback; the front end may hand the query to the update path.
    if (one_question && !put_question()) {
      if (q_.opcode != opcode::UPDATE) return finish_without_question(rcode::NOTIMP);
      w_.rollback(header_size);   // the update path answers it, not this fallback
    }
    if (q_.opcode == opcode::UPDATE) return finish(update_fallback_rcode(), Disposition::update);
    return finish(rcode::NOTIMP);
  }
  // RFC 7873 §5.4: a query with a cookie and no question asks for a server cookie alone.
  if (q_.qdcount == 0 && q_.body_ok && q_.ancount == 0 && q_.nscount == 0 &&
      carries_cookie(cookie_.verdict)) {
    if (q_.edns_version > 0) return finish(rcode::BADVERS);
    return finish(cookie_.verdict == CookieVerdict::invalid ? rcode::BADCOOKIE : rcode::NOERROR);
  }
  if (!one_question) return finish(rcode::FORMERR);
  if (!put_question()) return finish_without_question(rcode::NOERROR);
  // Like NSD: a query carries no answer or authority records (IXFR: its SOA in authority).
  if (!q_.body_ok || q_.ancount != 0 || (q_.nscount != 0 && q_.qtype != rrtype::IXFR)) {
    return finish(rcode::FORMERR);
  }
  // RFC 7873 §5.2.2; checked before the version so that a BADVERS still carries a cookie.
  if (cookie_.verdict == CookieVerdict::malformed) return finish(rcode::FORMERR);
  if (q_.edns && q_.edns_version > 0) return finish(rcode::BADVERS);

  qkey_.set_folded(q_.qname, q_.qname_len);
  switch (q_.qclass) {
    case rrclass::IN:
    case rrclass::ANY:
      return answer_in();
    case rrclass::CH:
      return answer_chaos();
    default:
      return finish(rcode::REFUSED);
  }
}

// Server identification in class CH, as NSD does it: TXT (or ANY) at a few well-known
// names, TTL 0, no AA; anything else in CH is REFUSED.
AnswerResult ReplyBuilder::answer_chaos() {
  static constexpr std::string_view id_server("\2id\6server\0", 11);
  static constexpr std::string_view hostname_bind("\10hostname\4bind\0", 15);
  static constexpr std::string_view version_server("\7version\6server\0", 16);
  static constexpr std::string_view version_bind("\7version\4bind\0", 14);
  static constexpr std::string_view status_vrdns("\6status\5vrdns\0", 14);
  if (q_.qtype != rrtype::TXT && q_.qtype != rrtype::ANY) return finish(rcode::REFUSED);
  const std::string_view name = qkey_.view();
  const std::string* text = nullptr;
  if (name == id_server || name == hostname_bind) text = &state_.identity;
  else if (name == version_server || name == version_bind) text = &state_.version;
  else if (name == status_vrdns) text = &state_.status;
  else return finish(rcode::REFUSED);

  // TXT RDATA is <character-string>s of at most 255 bytes; keep RDLENGTH far below 65535.
  const std::string_view value = std::string_view(*text).substr(0, 8192);
  w_.put_name(qkey_.view(), true);
  w_.put_u16(rrtype::TXT);
  w_.put_u16(rrclass::CH);
  w_.put_u32(0);
  const std::size_t rdlength_at = w_.size();
  w_.put_u16(0);
  std::size_t at = 0;
  do {
    const std::size_t chunk = std::min<std::size_t>(255, value.size() - at);
    w_.put_u8(uint8_t(chunk));
    w_.put_bytes(value.data() + at, chunk);
    at += chunk;
  } while (at < value.size());
  if (w_.ok()) {
    w_.patch_u16(rdlength_at, uint16_t(w_.size() - rdlength_at - 2));
    an_ = 1;
  } else {
    w_.rollback(question_end_);
    tc_ = true;
  }
  return finish(rcode::NOERROR);
}

AnswerResult ReplyBuilder::answer_in() {
  // Zone transfers over TCP are the transfer path's (access control, TSIG, many messages):
  // REFUSED is only the fallback of a front end without one.
  if ((q_.qtype == rrtype::AXFR || q_.qtype == rrtype::IXFR) && transport_ == Transport::tcp)
    return finish(rcode::REFUSED, Disposition::transfer);
  zone_index_ = state_.zones ? state_.zones->find_zone_index(qkey_.view()) : -1;
  const Zone* zone =
      zone_index_ < 0 ? nullptr : state_.zones->zones[std::size_t(zone_index_)].get();
  if (zone == nullptr) {   // not ours: no AA (RFC 1034 §4.3.2)
    ede_ = ede::NOT_AUTHORITATIVE;
    return finish(rcode::REFUSED);
  }
  if (!state_.has_state) {   // ours, but nothing to vouch for
    ede_ = ede::NOT_READY;
    return finish(rcode::SERVFAIL);
  }
  // AXFR is defined over TCP only (RFC 5936 §4.2): over UDP it is NOTIMP, as NSD and Knot
  // answer. IXFR over UDP (RFC 1995 §2) is not offered: clients fall back to TCP.
  if (q_.qtype == rrtype::AXFR) return finish(rcode::NOTIMP);
  if (q_.qtype == rrtype::IXFR) return finish(rcode::REFUSED);
  // Other meta qtypes (OPT, TSIG, TKEY, MAILA, MAILB) are looked up like any type and so
  // end in NODATA/NXDOMAIN: what NSD 4.6 and Knot 3.2 answer (checked against both).

  resolve(*zone);
  if (!w_.ok()) {
    // The answer or authority does not fit: send header and question only, with TC
    // (RFC 2181 §9; what NSD and Knot do), so the client retries over TCP.
    w_.rollback(question_end_);
    an_ = ns_ = 0;
    n_placed_ = 0;
    tc_ = true;
    return finish(rcode_);
  }
  put_additional(*zone);
  return finish(rcode_);
}

void ReplyBuilder::put_negative(const Zone& zone, uint16_t& section_count) {
  // RFC 2308 §3: the SOA's TTL for negative caching is min(SOA TTL, SOA MINIMUM).
  const RRset& soa = zone.soa();
  assert(soa.count == 1);   // validate_zone: exactly one SOA
  if (soa.count != 1 || soa.rdatas.size() < 2 + 22) return;
  put_rrset(w_, zone.apex(), soa, rrclass::IN, std::min(soa.ttl, soa_minimum(soa)));
  section_count = uint16_t(section_count + 1);
  if (n_placed_ < max_tracked_rrsets) placed_[n_placed_++] = &soa;
}

void ReplyBuilder::resolve(const Zone& zone) {
  const unsigned apex_labels = label_count(zone.apex_key());
  const uint16_t qtype = q_.qtype;
  KeyName name;
  name.len = qkey_.len;
  std::memcpy(name.bytes, qkey_.bytes, qkey_.len);
  const Node* chain[max_cname_chain];   // CNAME owners followed so far (loop detection)
  int chain_length = 0;
  aa_ = true;

  for (;;) {
    const Lookup found = lookup(zone, name, apex_labels, qtype);
    const std::string_view owner = name.view();   // synthesized owner for wildcards
    switch (found.kind) {
      case Lookup::referral:
        // At the first step: a referral. Later, a CNAME chain has led into a delegation
        // and ends here (the resolver follows it); the answer so far stays authoritative.
        if (chain_length == 0) {
          aa_ = false;
          put_tracked(found.node->owner, *found.node->find(rrtype::NS), ns_);
        }
        return;
      case Lookup::nxdomain:
        rcode_ = rcode::NXDOMAIN;   // RFC 6604: the rcode is that of the last name
        return put_negative(zone, ns_);
      case Lookup::exact:
        break;
      case Lookup::wildcard:
        wildcard_ = true;
        break;
    }
    const Node& node = *found.node;
    if (qtype == rrtype::ANY) {
      // RFC 8482: one RRset stands for the whole name.
      if (node.rrsets.empty()) return put_negative(zone, ns_);
      return put_tracked(owner, node.rrsets.front(), an_);
    }
    if (const RRset* rrset = node.find(qtype)) return put_tracked(owner, *rrset, an_);
    const RRset* cname = qtype == rrtype::CNAME ? nullptr : node.find(rrtype::CNAME);
    if (cname == nullptr) return put_negative(zone, ns_);   // NODATA (also at ENTs)

    if (chain_length == max_cname_chain ||
        std::find(chain, chain + chain_length, &node) != chain + chain_length) {
      return;   // a loop, or too long: stop with what we have
    }
    chain[chain_length++] = &node;
    put_tracked(owner, *cname, an_);

    const auto* target = reinterpret_cast<const uint8_t*>(cname->rdatas.data()) + 2;
    const std::size_t target_size = cname->rdatas.size() - 2;   // one record (zone rule)
    if (cname->count != 1 || name_wire_length(target, target_size) != target_size) return;
    name.set_folded(target, target_size);
    if (!key_at_or_below(name.view(), zone.apex_key())) return;   // leaves the zone
  }
}

// Addresses of in-zone NS, MX and SRV targets (glue for referrals), as NSD and Knot add
// them. An RRset that does not fit is left out without TC (RFC 2181 §9).
void ReplyBuilder::put_additional(const Zone& zone) {
  const std::size_t n = n_placed_;
  for (std::size_t i = 0; i < n; ++i) {
    const RRset& rrset = *placed_[i];
    std::size_t name_at;
    switch (rrset.type) {
      case rrtype::NS: name_at = 0; break;
      case rrtype::MX: name_at = 2; break;
      case rrtype::SRV: name_at = 6; break;
      default: continue;
    }
    rrset.for_each_rdata([&](std::string_view rdata) {
      if (rdata.size() <= name_at) return;
      const auto* target = reinterpret_cast<const uint8_t*>(rdata.data()) + name_at;
      const std::size_t size = rdata.size() - name_at;
      if (name_wire_length(target, size) != size) return;
      KeyName key;
      key.set_folded(target, size);
      if (!key_at_or_below(key.view(), zone.apex_key())) return;
      const Node* node = zone.find(key.view());
      if (node == nullptr) return;
      for (uint16_t type : {rrtype::A, rrtype::AAAA}) {
        const RRset* address = node->find(type);
        if (address == nullptr || tracked(address) || n_placed_ == max_tracked_rrsets) continue;
        const std::size_t mark = w_.size();
        put_rrset(w_, node->owner, *address, rrclass::IN, address->ttl);
        if (!w_.ok()) {
          w_.rollback(mark);
          continue;
        }
        ar_ = uint16_t(ar_ + address->count);
        placed_[n_placed_++] = address;
      }
    });
  }
}

}  // namespace

AnswerResult answer(const ServingState& state, const uint8_t* query, std::size_t length,
                    Transport transport, uint8_t* out, std::size_t out_capacity,
                    std::size_t tail_reserve, const CookieContext* cookies) {
  ParsedQuery q;
  if (!parse_query(query, length, q)) return {};
  CookieCheck cookie;
  if (cookies && q.edns && q.cookie)
    cookie = check_cookie(*cookies, q.cookie, q.cookie_length, q.cookie_repeated);
  const std::size_t capacity = std::min(out_capacity, max_message_size);

  // RFC 6891 §6.2.5: below 512 counts as 512; our own cap bounds what a requestor asks.
  std::size_t limit = capacity;
  if (transport == Transport::udp) {
    limit = min_udp_size;
    if (q.edns) {
      limit = std::max<std::size_t>(
          min_udp_size, std::min<std::size_t>(q.edns_udp_size, state.options.edns_udp_max));
    }
    limit = std::min(limit, capacity);
  }
  const std::size_t requestor_limit = limit;
  limit = limit > tail_reserve ? limit - tail_reserve : 0;
  std::size_t reserve = q.edns ? opt_rr_size : 0;
  if (carries_cookie(cookie.verdict)) reserve += edns_option_head + reply_cookie_size;
  if (limit < header_size + reserve) return {};
  // NSID is kept room for too, unless that would leave none for the question (a small size
  // with a large TSIG): it is a diagnostic, the question is not.
  const std::size_t question_size = q.question_ok ? q.qname_len + 4 : 0;
  const std::size_t nsid_size = edns_option_head + state.options.nsid.size();
  const bool nsid = q.edns && q.nsid && !state.options.nsid.empty() &&
                    limit >= header_size + question_size + reserve + nsid_size;
  if (nsid) reserve += nsid_size;

  WireWriter w(out, capacity);
  w.set_limit(limit - reserve);
  ReplyBuilder builder(state, q, cookie, transport, w, limit, nsid);
  AnswerResult result = builder.build();
  assert(result.what == Disposition::drop || result.length <= limit);
  result.size_limit = uint16_t(std::min<std::size_t>(requestor_limit, max_message_size));
  // A signed query wants a signed answer (RFC 8945 §5.3): the front end's keys are needed.
  if (q.tsig && result.what == Disposition::reply) result.what = Disposition::signed_query;
  return result;
}

}  // namespace vrdns::dns
