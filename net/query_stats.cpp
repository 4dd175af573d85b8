#include "net/query_stats.hpp"

#include "dns/query_parser.hpp"

namespace vrdns::net {

void QueryCounters::count_request(const dns::AnswerResult& r) noexcept {
  if (r.what == dns::Disposition::drop) {
    dropped.add();
    return;
  }
  opcode[r.opcode & 0x0F].add();
  if (r.opcode == dns::opcode::QUERY && r.qtype != 0)
    qtype[r.qtype < qtype_slots ? r.qtype : qtype_slots - 1].add();
  if (r.cookie != dns::CookieVerdict::none) cookie[std::size_t(r.cookie)].add();
  if (r.truncated) truncated.add();
}

QueryCounters& FrontEndStats::add_worker(dns::Transport transport) {
  std::lock_guard<std::mutex> lock(mutex_);
  blocks_.emplace_back(transport, std::make_unique<QueryCounters>());
  return *blocks_.back().second;
}

QueryTotals FrontEndStats::totals() const {
  QueryTotals t;
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& [transport, c] : blocks_) {
    (transport == dns::Transport::udp ? t.received_udp : t.received_tcp) += c->received.read();
    t.dropped += c->dropped.read();
    t.truncated += c->truncated.read();
    t.signed_queries += c->signed_queries.read();
    t.transfers += c->transfers.read();
    t.rate_limited_dropped += c->rate_limited_dropped.read();
    t.rate_limited_slipped += c->rate_limited_slipped.read();
    for (std::size_t i = 0; i < t.opcode.size(); ++i) t.opcode[i] += c->opcode[i].read();
    for (std::size_t i = 0; i < t.rcode.size(); ++i) t.rcode[i] += c->rcode[i].read();
    for (std::size_t i = 0; i < t.qtype.size(); ++i) t.qtype[i] += c->qtype[i].read();
    for (std::size_t i = 0; i < t.cookie.size(); ++i) t.cookie[i] += c->cookie[i].read();
    for (std::size_t i = 0; i < zone_slots; ++i) t.zone[i] += c->zone[i].read();
  }
  return t;
}

}  // namespace vrdns::net
