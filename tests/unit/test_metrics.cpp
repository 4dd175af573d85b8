// The statistics endpoint: per-worker query counters (net/query_stats), the replica's gauges
// (app/node_stats), the Prometheus text (app/metrics_text) and the HTTP server that serves it
// (net/metrics_server), the last over real sockets on 127.0.0.1.
#define BOOST_TEST_MODULE test_metrics
#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

#include "app/metrics_text.hpp"
#include "app/node_stats.hpp"
#include "dns/query_parser.hpp"
#include "dns/update.hpp"
#include "net/metrics_server.hpp"
#include "net/query_stats.hpp"
#include "net/socket.hpp"

using namespace vrdns;
using namespace std::chrono_literals;

namespace {

dns::AnswerResult result(dns::Disposition what, uint8_t opcode, uint16_t rcode, uint16_t qtype,
                         bool tc = false) {
  dns::AnswerResult r;
  r.what = what;
  r.length = 12;
  r.opcode = opcode;
  r.rcode = rcode;
  r.qtype = qtype;
  r.truncated = tc;
  return r;
}

/// A TCP connection to 127.0.0.1:port with a receive timeout.
net::Fd connect_to(uint16_t port, std::chrono::milliseconds timeout = 5000ms) {
  net::Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  BOOST_REQUIRE(fd);
  timeval tv{};
  tv.tv_sec = timeout.count() / 1000;
  tv.tv_usec = (timeout.count() % 1000) * 1000;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  BOOST_REQUIRE(::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  return fd;
}

/// Everything the server sends until it closes (or the receive timeout passes).
std::string read_all(int fd) {
  std::string out;
  char buf[4096];
  while (true) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, std::size_t(n));
  }
  return out;
}

std::string exchange(uint16_t port, const std::string& request) {
  net::Fd fd = connect_to(port);
  std::size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n =
        ::send(fd.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;   // the server may answer (431) and close before taking it all
    sent += std::size_t(n);
  }
  return read_all(fd.get());
}

std::string status_line(const std::string& response) {
  return response.substr(0, response.find("\r\n"));
}

std::string body_of(const std::string& response) {
  const auto at = response.find("\r\n\r\n");
  return at == std::string::npos ? "" : response.substr(at + 4);
}

net::Endpoint any_port() { return *net::parse_endpoint("127.0.0.1:0"); }

/// The samples of a text exposition: "name{labels}" -> value. Checks the format on the way:
/// every sample's family was introduced by HELP and TYPE lines, and no series repeats.
std::map<std::string, std::string> samples(const std::string& text) {
  std::map<std::string, std::string> out;
  std::set<std::string> typed;
  const std::regex sample_re(R"(^([a-z_]+)(\{[^}]*\})? ([0-9]+(\.[0-9]+)?)$)");
  const std::regex type_re(R"(^# TYPE ([a-z_]+) (counter|gauge)$)");
  std::istringstream in(text);
  std::string line, last_help;
  while (std::getline(in, line)) {
    std::smatch m;
    if (line.rfind("# HELP ", 0) == 0) {
      last_help = line.substr(7, line.find(' ', 7) - 7);
    } else if (std::regex_match(line, m, type_re)) {
      BOOST_TEST(m[1].str() == last_help);
      typed.insert(m[1].str());
    } else {
      BOOST_TEST_INFO("line: " << line);
      BOOST_REQUIRE(std::regex_match(line, m, sample_re));
      BOOST_TEST(typed.count(m[1].str()) == 1u);
      BOOST_TEST(out.emplace(m[1].str() + m[2].str(), m[3].str()).second);
    }
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(query_counters_sum_over_workers) {
  net::FrontEndStats stats;
  net::QueryCounters& udp = stats.add_worker(dns::Transport::udp);
  net::QueryCounters& udp2 = stats.add_worker(dns::Transport::udp);
  net::QueryCounters& tcp = stats.add_worker(dns::Transport::tcp);
  udp.received.add(3);
  udp.count_request(result(dns::Disposition::reply, dns::opcode::QUERY, 0, 1 /* A */, true));
  udp.count_answer(0);
  udp.count_request(result(dns::Disposition::drop, 0, 0, 0));
  udp.count_request(result(dns::Disposition::update, dns::opcode::UPDATE, 5, 0));
  udp2.received.add();
  udp2.count_request(result(dns::Disposition::reply, dns::opcode::QUERY, 3, 28 /* AAAA */));
  udp2.count_answer(3);
  tcp.received.add();
  tcp.count_request(result(dns::Disposition::transfer, dns::opcode::QUERY, 5, 252 /* AXFR */));
  tcp.transfers.add();
  tcp.count_request(result(dns::Disposition::reply, dns::opcode::QUERY, 0, 65000));
  tcp.count_answer(16);   // BADVERS
  tcp.count_answer(4000); // beyond the slots: the last one

  const net::QueryTotals t = stats.totals();
  BOOST_TEST(t.received_udp == 4u);
  BOOST_TEST(t.received_tcp == 1u);
  BOOST_TEST(t.dropped == 1u);
  BOOST_TEST(t.truncated == 1u);
  BOOST_TEST(t.transfers == 1u);
  BOOST_TEST(t.opcode[dns::opcode::QUERY] == 4u);
  BOOST_TEST(t.opcode[dns::opcode::UPDATE] == 1u);
  BOOST_TEST(t.qtype[1] == 1u);
  BOOST_TEST(t.qtype[28] == 1u);
  BOOST_TEST(t.qtype[252] == 1u);
  BOOST_TEST(t.qtype[net::qtype_slots - 1] == 1u);   // 65000 shares the last slot
  BOOST_TEST(t.qtype[0] == 0u);                       // UPDATE has no qtype counted
  BOOST_TEST(t.rcode[0] == 1u);
  BOOST_TEST(t.rcode[3] == 1u);
  BOOST_TEST(t.rcode[16] == 1u);
  BOOST_TEST(t.rcode[net::rcode_slots - 1] == 1u);
  BOOST_TEST(t.rcode[5] == 0u);   // a handed-on message is answered (and counted) elsewhere
}

BOOST_AUTO_TEST_CASE(replica_gauges_count_entered_view_changes) {
  app::ReplicaGauges g(2);
  protocol::replica_state vr(3, 2);
  vr.status = protocol::replica_status::normal;
  vr.view_number = 4;
  vr.op_number = 9;
  vr.commit_number = 7;
  g.record(vr, true, false);
  app::ReplicaReading r = g.read();
  BOOST_TEST(r.replica == 2u);
  BOOST_TEST(r.view_number == 4u);
  BOOST_TEST(r.op_number == 9u);
  BOOST_TEST(r.commit_number == 7u);
  BOOST_TEST(r.primary == 1u);   // view 4 of 3 replicas
  BOOST_TEST(r.has_state);
  BOOST_TEST(!r.disk_error);
  BOOST_TEST(r.view_changes == 0u);

  vr.status = protocol::replica_status::view_change;
  vr.view_number = 5;
  g.record(vr, true, true);
  g.record(vr, true, true);   // still the same view change
  BOOST_TEST(g.read().view_changes == 1u);
  BOOST_TEST(g.read().disk_error);
  vr.view_number = 6;   // that one failed: a view change to the next view
  g.record(vr, true, false);
  BOOST_TEST(g.read().view_changes == 2u);
  vr.status = protocol::replica_status::normal;
  g.record(vr, true, false);
  vr.status = protocol::replica_status::view_change;
  vr.view_number = 7;
  g.record(vr, false, false);
  r = g.read();
  BOOST_TEST(r.view_changes == 3u);
  BOOST_TEST(r.primary == 1u);   // view 7 of 3 replicas
  BOOST_TEST(!r.has_state);
  BOOST_TEST(int(r.status) == int(protocol::replica_status::view_change));
}

BOOST_AUTO_TEST_CASE(prometheus_text) {
  app::MetricsSnapshot s;
  s.node_name = "ns\"1\\";
  s.version = "0.16.0";
  s.start_time_seconds = 1700000000.25;
  s.queries.received_udp = 10;
  s.queries.received_tcp = 2;
  s.queries.dropped = 1;
  s.queries.opcode[dns::opcode::QUERY] = 9;
  s.queries.opcode[dns::opcode::UPDATE] = 2;
  s.queries.qtype[28] = 4;
  s.queries.qtype[257] = 1;
  s.queries.qtype[net::qtype_slots - 1] = 3;
  s.queries.rcode[dns::rcode::NXDOMAIN] = 5;
  s.queries.rcode[dns::rcode::BADVERS] = 1;
  s.queries.truncated = 6;
  s.queries.rate_limited_dropped = 11;
  s.queries.rate_limited_slipped = 12;
  s.queries.cookie[std::size_t(dns::CookieVerdict::client_only)] = 13;
  s.queries.cookie[std::size_t(dns::CookieVerdict::valid)] = 14;
  s.queries.cookie[std::size_t(dns::CookieVerdict::invalid)] = 15;
  s.queries.cookie[std::size_t(dns::CookieVerdict::malformed)] = 16;
  s.queries.rcode[dns::rcode::BADCOOKIE] = 17;
  s.updates[dns::rcode::NOTAUTH] = 7;
  s.tcp_connections = 3;
  s.replica.replica = 1;
  s.replica.primary = 1;
  s.replica.status = protocol::replica_status::normal;
  s.replica.view_number = 4;
  s.replica.op_number = 120;
  s.replica.commit_number = 119;
  s.replica.has_state = true;
  s.replica.view_changes = 2;
  s.notify_sent = 5;
  s.notify_answered = 4;
  s.notify_given_up = 1;
  s.transfers_incremental = 8;
  s.transfers_refused = 2;
  s.zones.push_back({"example.test.", 2026112701, 42, 19});
  s.zones.push_back({"we\\\"ird.test.", 7, 3, std::nullopt});   // beyond the slots
  s.other_zone_queries = 23;

  const auto m = samples(app::render_metrics(s));
  auto value = [&](const std::string& series) {
    BOOST_TEST_INFO("series " << series);
    auto it = m.find(series);
    BOOST_REQUIRE(it != m.end());
    return it->second;
  };
  BOOST_TEST(value(R"(vrdns_info{version="0.16.0",node="ns\"1\\",replica="1"})") == "1");
  BOOST_TEST(value("process_start_time_seconds") == "1700000000.250");
  BOOST_TEST(value(R"(vrdns_dns_requests_total{transport="udp"})") == "10");
  BOOST_TEST(value(R"(vrdns_dns_requests_total{transport="tcp"})") == "2");
  BOOST_TEST(value("vrdns_dns_dropped_total") == "1");
  BOOST_TEST(value(R"(vrdns_dns_opcodes_total{opcode="QUERY"})") == "9");
  BOOST_TEST(value(R"(vrdns_dns_opcodes_total{opcode="UPDATE"})") == "2");
  BOOST_TEST(m.count(R"(vrdns_dns_opcodes_total{opcode="NOTIFY"})") == 0u);   // zero: left out
  BOOST_TEST(value(R"(vrdns_dns_query_types_total{qtype="AAAA"})") == "4");
  BOOST_TEST(value(R"(vrdns_dns_query_types_total{qtype="CAA"})") == "1");
  BOOST_TEST(value(R"(vrdns_dns_query_types_total{qtype="TYPE511"})") == "3");
  BOOST_TEST(value(R"(vrdns_dns_query_types_total{qtype="A"})") == "0");   // always there
  BOOST_TEST(value(R"(vrdns_dns_responses_total{rcode="NOERROR"})") == "0");
  BOOST_TEST(value(R"(vrdns_dns_responses_total{rcode="NXDOMAIN"})") == "5");
  BOOST_TEST(value(R"(vrdns_dns_responses_total{rcode="BADVERS"})") == "1");
  BOOST_TEST(value("vrdns_dns_truncated_total") == "6");
  BOOST_TEST(value(R"(vrdns_dns_rate_limited_total{action="drop"})") == "11");
  BOOST_TEST(value(R"(vrdns_dns_rate_limited_total{action="slip"})") == "12");
  BOOST_TEST(value(R"(vrdns_dns_cookies_total{result="client_only"})") == "13");
  BOOST_TEST(value(R"(vrdns_dns_cookies_total{result="valid"})") == "14");
  BOOST_TEST(value(R"(vrdns_dns_cookies_total{result="invalid"})") == "15");
  BOOST_TEST(value(R"(vrdns_dns_cookies_total{result="malformed"})") == "16");
  BOOST_TEST(value(R"(vrdns_dns_responses_total{rcode="BADCOOKIE"})") == "17");
  BOOST_TEST(value("vrdns_dns_tcp_connections") == "3");
  BOOST_TEST(value(R"(vrdns_updates_total{rcode="NOERROR"})") == "0");
  BOOST_TEST(value(R"(vrdns_updates_total{rcode="NOTAUTH"})") == "7");
  BOOST_TEST(value("vrdns_notify_sent_total") == "5");
  BOOST_TEST(value("vrdns_notify_answered_total") == "4");
  BOOST_TEST(value("vrdns_notify_ignored_total") == "0");
  BOOST_TEST(value("vrdns_notify_given_up_total") == "1");
  BOOST_TEST(value(R"(vrdns_transfers_total{outcome="incremental"})") == "8");
  BOOST_TEST(value(R"(vrdns_transfers_total{outcome="refused"})") == "2");
  BOOST_TEST(value(R"(vrdns_transfers_total{outcome="full"})") == "0");
  BOOST_TEST(value("vrdns_vr_view_number") == "4");
  BOOST_TEST(value("vrdns_vr_op_number") == "120");
  BOOST_TEST(value("vrdns_vr_commit_number") == "119");
  BOOST_TEST(value("vrdns_vr_primary") == "1");
  BOOST_TEST(value("vrdns_vr_is_primary") == "1");
  BOOST_TEST(value(R"(vrdns_vr_status{status="normal"})") == "1");
  BOOST_TEST(value(R"(vrdns_vr_status{status="view-change"})") == "0");
  BOOST_TEST(value(R"(vrdns_vr_status{status="recovering"})") == "0");
  BOOST_TEST(value("vrdns_vr_view_changes_total") == "2");
  BOOST_TEST(value("vrdns_serving") == "1");
  BOOST_TEST(value("vrdns_disk_writable") == "1");
  BOOST_TEST(value(R"(vrdns_zone_serial{zone="example.test."})") == "2026112701");
  BOOST_TEST(value(R"(vrdns_zone_records{zone="example.test."})") == "42");
  BOOST_TEST(value(R"(vrdns_zone_serial{zone="we\\\"ird.test."})") == "7");
  BOOST_TEST(value(R"(vrdns_zone_queries_total{zone="example.test."})") == "19");
  BOOST_TEST(!m.count(R"(vrdns_zone_queries_total{zone="we\\\"ird.test."})"));
  BOOST_TEST(value(R"x(vrdns_zone_queries_total{zone="(others)"})x") == "23");

  // A backup in a view change is not the primary, whatever the view's primary number says.
  s.replica.status = protocol::replica_status::view_change;
  s.replica.disk_error = true;
  const auto m2 = samples(app::render_metrics(s));
  BOOST_TEST(m2.at("vrdns_vr_is_primary") == "0");
  BOOST_TEST(m2.at(R"(vrdns_vr_status{status="view-change"})") == "1");
  BOOST_TEST(m2.at("vrdns_disk_writable") == "0");
}

BOOST_AUTO_TEST_CASE(mnemonics) {
  BOOST_TEST(app::rcode_mnemonic(0) == "NOERROR");
  BOOST_TEST(app::rcode_mnemonic(10) == "NOTZONE");
  BOOST_TEST(app::rcode_mnemonic(16) == "BADVERS");
  BOOST_TEST(app::rcode_mnemonic(12) == "RCODE12");
  BOOST_TEST(app::opcode_mnemonic(4) == "NOTIFY");
  BOOST_TEST(app::opcode_mnemonic(9) == "OPCODE9");
}

BOOST_AUTO_TEST_CASE(http_answers) {
  int renders = 0;
  const net::MetricsServer::Render render = [&] {
    ++renders;
    return std::string("x 1\n");
  };
  const std::string ok =
      net::metrics_http_answer("GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n", render);
  BOOST_TEST(status_line(ok) == "HTTP/1.1 200 OK");
  BOOST_TEST(ok.find("Content-Length: 4\r\n") != std::string::npos);
  BOOST_TEST(ok.find("Content-Type: text/plain; version=0.0.4") != std::string::npos);
  BOOST_TEST(body_of(ok) == "x 1\n");
  BOOST_TEST(renders == 1);

  const std::string head = net::metrics_http_answer("HEAD /metrics?x=1 HTTP/1.0\n\n", render);
  const std::string head404 = net::metrics_http_answer("HEAD /x HTTP/1.1\r\n\r\n", render);
  BOOST_TEST(status_line(head404) == "HTTP/1.1 404 Not Found");
  BOOST_TEST(body_of(head404).empty());   // HEAD: never a body
  BOOST_TEST(status_line(head) == "HTTP/1.1 200 OK");
  BOOST_TEST(head.find("Content-Length: 4\r\n") != std::string::npos);
  BOOST_TEST(body_of(head).empty());

  BOOST_TEST(status_line(net::metrics_http_answer("GET / HTTP/1.1\r\n\r\n", render)) ==
             "HTTP/1.1 404 Not Found");
  const std::string post = net::metrics_http_answer("POST /metrics HTTP/1.1\r\n\r\n", render);
  BOOST_TEST(status_line(post) == "HTTP/1.1 405 Method Not Allowed");
  BOOST_TEST(post.find("Allow: GET, HEAD\r\n") != std::string::npos);
  for (const char* bad : {"GET /metrics\r\n\r\n", "GET  /metrics HTTP/1.1\r\n\r\n",
                          "GET /metrics HTTP/2\r\n\r\n", "\r\n\r\n",
                          "GET /metrics HTTP/1.1 extra\r\n\r\n"}) {
    BOOST_TEST_INFO("request " << bad);
    BOOST_TEST(status_line(net::metrics_http_answer(bad, render)) == "HTTP/1.1 400 Bad Request");
  }
  BOOST_TEST(renders == 2);   // only GET and HEAD of /metrics render

  const std::string failed = net::metrics_http_answer(
      "GET /metrics HTTP/1.1\r\n\r\n", []() -> std::string { throw std::runtime_error("no"); });
  BOOST_TEST(status_line(failed) == "HTTP/1.1 500 Internal Server Error");
}

BOOST_AUTO_TEST_CASE(server_answers_over_tcp) {
  std::atomic<int> renders{0};
  net::MetricsServer server(any_port(), [&] {
    return "vrdns_test_total " + std::to_string(++renders) + "\n";
  });
  server.start();
  const uint16_t port = server.endpoint().port;
  BOOST_REQUIRE(port != 0);

  std::string r = exchange(port, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  BOOST_TEST(status_line(r) == "HTTP/1.1 200 OK");
  BOOST_TEST(body_of(r) == "vrdns_test_total 1\n");
  r = exchange(port, "GET /metrics HTTP/1.1\r\n\r\n");
  BOOST_TEST(body_of(r) == "vrdns_test_total 2\n");   // rendered afresh for every request
  BOOST_TEST(status_line(exchange(port, "DELETE /metrics HTTP/1.1\r\n\r\n")) ==
             "HTTP/1.1 405 Method Not Allowed");
  // A head that never ends within the limit is refused, not buffered without bound.
  const std::string huge = "GET /metrics HTTP/1.1\r\nX: " + std::string(20000, 'a');
  BOOST_TEST(status_line(exchange(port, huge)) == "HTTP/1.1 431 Request Header Fields Too Large");
  // A client that closes halfway through its head gets a 400.
  {
    net::Fd fd = connect_to(port);
    const std::string part = "GET /metr";
    BOOST_REQUIRE(::send(fd.get(), part.data(), part.size(), MSG_NOSIGNAL) == ssize_t(part.size()));
    ::shutdown(fd.get(), SHUT_WR);
    BOOST_TEST(status_line(read_all(fd.get())) == "HTTP/1.1 400 Bad Request");
  }
  BOOST_TEST(renders.load() == 2);
}

BOOST_AUTO_TEST_CASE(a_silent_client_is_dropped_after_the_timeout) {
  net::MetricsServer server(any_port(), [] { return std::string("up 1\n"); }, 300ms);
  server.start();
  const uint16_t port = server.endpoint().port;
  net::Fd silent = connect_to(port);
  // Served after the silent one's time ran out, not never.
  BOOST_TEST(status_line(exchange(port, "GET /metrics HTTP/1.1\r\n\r\n")) == "HTTP/1.1 200 OK");
  BOOST_TEST(read_all(silent.get()).empty());   // closed by the server with nothing sent
}

BOOST_AUTO_TEST_CASE(stop_does_not_wait_for_a_slow_client) {
  auto server = std::make_unique<net::MetricsServer>(
      any_port(), [] { return std::string("up 1\n"); }, 60s);
  server->start();
  net::Fd silent = connect_to(server->endpoint().port);
  // A request that is never finished keeps the server in serve() with this connection.
  BOOST_REQUIRE(::send(silent.get(), "GET", 3, MSG_NOSIGNAL) == 3);
  // Wait (bounded) until the server has taken it, so that stop() meets serve(), not run().
  for (int i = 0; i < 5000 && server->accepted() == 0; ++i) std::this_thread::sleep_for(1ms);
  BOOST_REQUIRE(server->accepted() == 1u);
  const auto start = std::chrono::steady_clock::now();
  server->stop();
  BOOST_TEST((std::chrono::steady_clock::now() - start < 30s));   // not the 60 s io timeout
}

BOOST_AUTO_TEST_CASE(a_port_in_use_is_an_error_naming_it) {
  net::MetricsServer first(any_port(), [] { return std::string(); });
  const net::Endpoint taken = first.endpoint();
  try {
    net::MetricsServer second(taken, [] { return std::string(); });
    BOOST_FAIL("two servers bound " << taken.to_string());
  } catch (const std::runtime_error& e) {
    BOOST_TEST(std::string(e.what()).find("cannot bind stats " + taken.to_string()) == 0u);
  }
}
