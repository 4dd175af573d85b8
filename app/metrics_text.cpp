#include "app/metrics_text.hpp"

#include <cstdio>

#include "dns/master_file.hpp"
#include "dns/query_parser.hpp"
#include "dns/update.hpp"

namespace vrdns::app {

namespace {

/// A label value: backslash, double quote and newline escaped (exposition format 0.0.4).
std::string label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

class Writer {
 public:
  void family(const char* name, const char* type, const char* help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }
  /// `labels` is empty or `key="value",...` without braces, values already escaped.
  void sample(const char* name, const std::string& labels, uint64_t value) {
    start(name, labels);
    out_ += std::to_string(value);
    out_ += '\n';
  }
  void sample(const char* name, const std::string& labels, double value) {
    start(name, labels);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.3f", value);
    out_ += buf;
    out_ += '\n';
  }
  /// A family of one sample without labels.
  void single(const char* name, const char* type, const char* help, uint64_t value) {
    family(name, type, help);
    sample(name, "", value);
  }
  std::string take() { return std::move(out_); }

 private:
  void start(const char* name, const std::string& labels) {
    out_ += name;
    if (!labels.empty()) {
      out_ += '{';
      out_ += labels;
      out_ += '}';
    }
    out_ += ' ';
  }
  std::string out_;
};

/// One sample per non-zero count, plus `always` (so a series exists from the first scrape and
/// rate() has a start: Prometheus cannot rate a series that appears later at a count > 0).
template <std::size_t N, class Name>
void by_code(Writer& w, const char* metric, const char* key, const std::array<uint64_t, N>& counts,
             std::size_t always, Name name) {
  for (std::size_t i = 0; i < N; ++i) {
    if (counts[i] == 0 && i != always) continue;
    w.sample(metric, std::string(key) + "=\"" + label(name(i)) + "\"", counts[i]);
  }
}

}  // namespace

std::string rcode_mnemonic(uint16_t rcode) {
  static const char* const names[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
                                      "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
                                      "NXRRSET", "NOTAUTH", "NOTZONE"};
  if (rcode < std::size(names)) return names[rcode];
  if (rcode == dns::rcode::BADVERS) return "BADVERS";
  if (rcode == dns::rcode::BADCOOKIE) return "BADCOOKIE";
  return "RCODE" + std::to_string(rcode);
}

std::string opcode_mnemonic(uint8_t opcode) {
  switch (opcode) {
    case dns::opcode::QUERY: return "QUERY";
    case dns::opcode::IQUERY: return "IQUERY";
    case dns::opcode::STATUS: return "STATUS";
    case dns::opcode::NOTIFY: return "NOTIFY";
    case dns::opcode::UPDATE: return "UPDATE";
    case 6: return "DSO";   // RFC 8490
    default: return "OPCODE" + std::to_string(opcode);
  }
}

std::string render_metrics(const MetricsSnapshot& s) {
  Writer w;
  const ReplicaReading& r = s.replica;
  w.family("vrdns_info", "gauge", "The node's version, name and replica number (always 1).");
  w.sample("vrdns_info",
           "version=\"" + label(s.version) + "\",node=\"" + label(s.node_name) + "\",replica=\"" +
               std::to_string(r.replica) + "\"",
           uint64_t(1));
  w.family("process_start_time_seconds", "gauge", "When the process started, in Unix seconds.");
  w.sample("process_start_time_seconds", "", s.start_time_seconds);

  const net::QueryTotals& q = s.queries;
  w.family("vrdns_dns_requests_total", "counter",
           "DNS messages received: UDP datagrams and TCP messages.");
  w.sample("vrdns_dns_requests_total", "transport=\"udp\"", q.received_udp);
  w.sample("vrdns_dns_requests_total", "transport=\"tcp\"", q.received_tcp);
  w.single("vrdns_dns_dropped_total", "counter",
           "Messages not answered: no DNS header, a response, or longer than any DNS message.",
           q.dropped);
  w.family("vrdns_dns_opcodes_total", "counter", "Messages with a DNS header, by opcode.");
  by_code(w, "vrdns_dns_opcodes_total", "opcode", q.opcode, dns::opcode::QUERY,
          [](std::size_t i) { return opcode_mnemonic(uint8_t(i)); });
  w.family("vrdns_dns_query_types_total", "counter",
           "Queries (opcode QUERY) by the type of their question; TYPE511 counts every type "
           "from 511 up.");
  by_code(w, "vrdns_dns_query_types_total", "qtype", q.qtype, 1 /* A */,
          [](std::size_t i) { return dns::type_mnemonic(uint16_t(i)); });
  w.family("vrdns_dns_responses_total", "counter",
           "Answers the front end sent itself, by rcode (UPDATEs: vrdns_updates_total; zone "
           "transfers: vrdns_dns_transfers_total).");
  by_code(w, "vrdns_dns_responses_total", "rcode", q.rcode, dns::rcode::NOERROR,
          [](std::size_t i) { return rcode_mnemonic(uint16_t(i)); });
  w.single("vrdns_dns_truncated_total", "counter", "UDP answers sent with TC set.", q.truncated);
  w.single("vrdns_dns_signed_queries_total", "counter", "Queries carrying TSIG.", q.signed_queries);
  w.single("vrdns_dns_transfers_total", "counter",
           "AXFR and IXFR requests taken by the transfer path (refused ones included).",
           q.transfers);
  w.family("vrdns_dns_rate_limited_total", "counter",
           "UDP answers held back by response rate limiting ([rrl]): dropped, or sent "
           "truncated (slip).");
  w.sample("vrdns_dns_rate_limited_total", "action=\"drop\"", q.rate_limited_dropped);
  w.sample("vrdns_dns_rate_limited_total", "action=\"slip\"", q.rate_limited_slipped);
  w.family("vrdns_dns_cookies_total", "counter",
           "Queries with a DNS cookie (RFC 7873), by what it was: client_only (new client), "
           "valid (our server cookie: spared by [rrl]), invalid (expired, another secret or "
           "address: answered with a fresh one), malformed (FORMERR).");
  w.sample("vrdns_dns_cookies_total", "result=\"client_only\"",
           q.cookie[std::size_t(dns::CookieVerdict::client_only)]);
  w.sample("vrdns_dns_cookies_total", "result=\"valid\"",
           q.cookie[std::size_t(dns::CookieVerdict::valid)]);
  w.sample("vrdns_dns_cookies_total", "result=\"invalid\"",
           q.cookie[std::size_t(dns::CookieVerdict::invalid)]);
  w.sample("vrdns_dns_cookies_total", "result=\"malformed\"",
           q.cookie[std::size_t(dns::CookieVerdict::malformed)]);
  w.single("vrdns_dns_tcp_connections", "gauge", "TCP connections open now.",
           uint64_t(s.tcp_connections));

  w.family("vrdns_updates_total", "counter",
           "RFC 2136 UPDATEs answered, by rcode. NOERROR: committed by a quorum and served "
           "here; SERVFAIL: outcome unknown (no quorum in update_timeout_ms).");
  by_code(w, "vrdns_updates_total", "rcode", s.updates, dns::rcode::NOERROR,
          [](std::size_t i) { return rcode_mnemonic(uint16_t(i)); });

  w.family("vrdns_transfers_total", "counter",
           "AXFR/IXFR answers by outcome: full zone, incremental (IXFR differences), up_to_date "
           "(SOA only), refused (REFUSED, NOTAUTH, FORMERR: key, address, zone, TSIG), busy "
           "(SERVFAIL).");
  w.sample("vrdns_transfers_total", "outcome=\"full\"", s.transfers_full);
  w.sample("vrdns_transfers_total", "outcome=\"incremental\"", s.transfers_incremental);
  w.sample("vrdns_transfers_total", "outcome=\"up_to_date\"", s.transfers_up_to_date);
  w.sample("vrdns_transfers_total", "outcome=\"refused\"", s.transfers_refused);
  w.sample("vrdns_transfers_total", "outcome=\"busy\"", s.transfers_busy);
  w.single("vrdns_notify_sent_total", "counter", "NOTIFY datagrams sent, retries included.",
           s.notify_sent);
  w.single("vrdns_notify_answered_total", "counter", "NOTIFYs a secondary answered.",
           s.notify_answered);
  w.single("vrdns_notify_ignored_total", "counter",
           "Answers to signed NOTIFYs that did not verify (TSIG), so did not count.",
           s.notify_ignored);
  w.single("vrdns_notify_given_up_total", "counter",
           "NOTIFYs left unanswered after every attempt: a secondary that is down or refuses.",
           s.notify_given_up);

  w.single("vrdns_vr_replica", "gauge", "This node's replica number.", uint64_t(r.replica));
  w.single("vrdns_vr_view_number", "gauge", "The replica's view_number.", r.view_number);
  w.single("vrdns_vr_op_number", "gauge", "The replica's op_number: the latest op it holds.",
           r.op_number);
  w.single("vrdns_vr_commit_number", "gauge",
           "The replica's commit_number: the latest op it knows to be committed.", r.commit_number);
  w.single("vrdns_vr_primary", "gauge", "The primary of the replica's view (a replica number).",
           uint64_t(r.primary));
  w.family("vrdns_vr_is_primary", "gauge", "1 if this replica is the primary of its view.");
  w.sample("vrdns_vr_is_primary", "",
           uint64_t(r.status == protocol::replica_status::normal && r.primary == r.replica));
  w.family("vrdns_vr_status", "gauge", "1 for the replica's status, 0 for the others.");
  for (auto st : {protocol::replica_status::normal, protocol::replica_status::view_change,
                  protocol::replica_status::recovering}) {
    const char* name = st == protocol::replica_status::normal        ? "normal"
                       : st == protocol::replica_status::view_change ? "view-change"
                                                                     : "recovering";
    w.sample("vrdns_vr_status", std::string("status=\"") + name + "\"", uint64_t(r.status == st));
  }
  w.single("vrdns_vr_view_changes_total", "counter",
           "View changes this replica took part in since the process started.", r.view_changes);
  w.family("vrdns_serving", "gauge",
           "1 if the node answers from committed state; 0 while it answers SERVFAIL for its "
           "zones (restarting or recovering).");
  w.sample("vrdns_serving", "", uint64_t(r.has_state));
  w.single("vrdns_disk_writable", "gauge",
           "0 while data_dir cannot be written: the replica then acknowledges nothing.",
           uint64_t(!r.disk_error));

  w.family("vrdns_zone_serial", "gauge", "The SOA serial each zone is served with here.");
  for (const auto& z : s.zones)
    w.sample("vrdns_zone_serial", "zone=\"" + label(z.name) + "\"", uint64_t(z.serial));
  w.family("vrdns_zone_records", "gauge", "Records in each zone served here.");
  for (const auto& z : s.zones)
    w.sample("vrdns_zone_records", "zone=\"" + label(z.name) + "\"", z.records);
  w.family("vrdns_zone_queries_total", "counter",
           "Queries for names in each zone here (rate-limited ones included), since the "
           "process started (zone=\"(others)\": every zone beyond the first 4095 this node "
           "served).");
  for (const auto& z : s.zones)
    if (z.queries)
      w.sample("vrdns_zone_queries_total", "zone=\"" + label(z.name) + "\"", *z.queries);
  if (s.other_zone_queries > 0)
    w.sample("vrdns_zone_queries_total", "zone=\"(others)\"", s.other_zone_queries);
  return w.take();
}

}  // namespace vrdns::app
