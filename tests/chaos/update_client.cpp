#include "tests/chaos/update_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <memory>
#include <random>
#include <sstream>
#include <stdexcept>

#include "dns/name.hpp"
#include "dns/record.hpp"

// ldns last: its common.h #defines bool/true/false (docs/pitfalls.md).
#include <ldns/ldns.h>

namespace vrdns::chaos {

namespace {

using Clock = std::chrono::steady_clock;

constexpr uint16_t type_soa = 6, type_txt = 16;
constexpr uint16_t class_in = 1, class_none = 254, class_any = 255;
constexpr uint8_t opcode_update = 5;
constexpr int rcode_formerr = 1, rcode_servfail = 2, rcode_notauth = 9;

struct PktDeleter {
  void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
using PktPtr = std::unique_ptr<ldns_pkt, PktDeleter>;
struct RdfDeleter {
  void operator()(ldns_rdf* r) const { ldns_rdf_deep_free(r); }
};
using RdfPtr = std::unique_ptr<ldns_rdf, RdfDeleter>;

/// Closes a socket on every path.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

sockaddr_in loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

std::string wire_name(const std::string& text) {
  auto n = dns::name_from_text(text);
  if (!n) throw std::invalid_argument("not a domain name: " + text);
  return *n;
}

void put16(Bytes& b, uint16_t v) {
  b.push_back(uint8_t(v >> 8));
  b.push_back(uint8_t(v));
}
void put32(Bytes& b, uint32_t v) {
  put16(b, uint16_t(v >> 16));
  put16(b, uint16_t(v));
}
void put_str(Bytes& b, const std::string& s) { b.insert(b.end(), s.begin(), s.end()); }

void put_rr(Bytes& b, const WireRR& rr) {
  put_str(b, rr.owner);
  put16(b, rr.type);
  put16(b, rr.rclass);
  put32(b, rr.ttl);
  put16(b, uint16_t(rr.rdata.size()));
  put_str(b, rr.rdata);
}

int ms_left(Clock::time_point deadline) {
  auto d = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return d.count() > 0 ? int(d.count()) : 0;
}

/// Waits until `fd` is readable or the deadline passes.
bool wait_readable(int fd, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    int r = poll(&p, 1, ms_left(deadline));
    if (r < 0 && errno == EINTR) continue;
    return r == 1;
  }
}

uint16_t random_id() {
  thread_local std::mt19937 rng{std::random_device{}()};
  return uint16_t(rng());
}

Bytes build_query(uint16_t id, const std::string& name, uint16_t type, uint16_t qclass) {
  Bytes q;
  put16(q, id);
  put16(q, 0);   // standard query, no RD: we ask the authoritative data only
  put16(q, 1);
  put16(q, 0);
  put16(q, 0);
  put16(q, 0);
  put_str(q, wire_name(name));
  put16(q, type);
  put16(q, qclass);
  return q;
}

/// One UDP exchange; the reply must come from `port` and carry `id`.
std::optional<Bytes> exchange_udp(const Bytes& q, uint16_t port, std::chrono::milliseconds timeout) {
  Fd s(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (s.fd < 0) return std::nullopt;
  auto to = loopback(port);
  if (sendto(s.fd, q.data(), q.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) < 0)
    return std::nullopt;
  const auto deadline = Clock::now() + timeout;
  Bytes buf(65535);
  while (wait_readable(s.fd, deadline)) {
    sockaddr_in from{};
    socklen_t flen = sizeof from;
    ssize_t n = recvfrom(s.fd, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &flen);
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::nullopt;   // e.g. ECONNREFUSED: nobody listens there (node killed)
    }
    if (from.sin_port != to.sin_port || n < 12 || buf[0] != q[0] || buf[1] != q[1]) continue;
    buf.resize(std::size_t(n));
    return buf;
  }
  return std::nullopt;
}

/// One TCP exchange (RFC 7766 framing), bounded by socket timeouts.
std::optional<Bytes> exchange_tcp(const Bytes& q, uint16_t port, std::chrono::milliseconds timeout) {
  Fd s(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (s.fd < 0) return std::nullopt;
  timeval tv{};
  tv.tv_sec = long(timeout.count() / 1000);
  tv.tv_usec = long(timeout.count() % 1000) * 1000;
  setsockopt(s.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(s.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  auto to = loopback(port);
  if (connect(s.fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) return std::nullopt;
  Bytes framed;
  put16(framed, uint16_t(q.size()));
  framed.insert(framed.end(), q.begin(), q.end());
  if (send(s.fd, framed.data(), framed.size(), MSG_NOSIGNAL) != ssize_t(framed.size()))
    return std::nullopt;
  auto read_exact = [&](uint8_t* p, std::size_t n) {
    while (n > 0) {
      ssize_t r = recv(s.fd, p, n, 0);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return false;   // closed, or SO_RCVTIMEO expired
      p += r;
      n -= std::size_t(r);
    }
    return true;
  };
  uint8_t len[2];
  if (!read_exact(len, 2)) return std::nullopt;
  Bytes reply((std::size_t(len[0]) << 8) | len[1]);
  if (reply.size() < 12 || !read_exact(reply.data(), reply.size())) return std::nullopt;
  if (reply[0] != q[0] || reply[1] != q[1]) return std::nullopt;
  return reply;
}

}  // namespace

// --- RDATA helpers -------------------------------------------------------------------------

std::string txt_rdata(const std::string& text) {
  if (text.size() > 255) throw std::invalid_argument("TXT string longer than 255 bytes");
  return std::string(1, char(text.size())) + text;
}

std::string a_rdata(const std::string& dotted) {
  in_addr a{};
  if (inet_pton(AF_INET, dotted.c_str(), &a) != 1) throw std::invalid_argument("not IPv4: " + dotted);
  return std::string(reinterpret_cast<const char*>(&a.s_addr), 4);
}

std::optional<std::string> txt_text(const std::string& rdata) {
  std::string out;
  std::size_t i = 0;
  while (i < rdata.size()) {
    const std::size_t n = uint8_t(rdata[i]);
    if (i + 1 + n > rdata.size()) return std::nullopt;   // the length byte lies
    out.append(rdata, i + 1, n);
    i += 1 + n;
  }
  return out;
}

std::string a_text(const std::string& rdata) {
  if (rdata.size() != 4) return {};
  char buf[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, rdata.data(), buf, sizeof buf);
  return buf;
}

// --- UpdateBuilder -------------------------------------------------------------------------

UpdateBuilder::UpdateBuilder(const std::string& zone) : zone_(wire_name(zone)) {}

UpdateBuilder& UpdateBuilder::require_value(const std::string& name, uint16_t type,
                                            const std::string& rdata) {
  prereqs_.push_back({wire_name(name), type, class_in, 0, rdata});
  return *this;
}
UpdateBuilder& UpdateBuilder::require_exists(const std::string& name, uint16_t type) {
  prereqs_.push_back({wire_name(name), type, class_any, 0, {}});
  return *this;
}
UpdateBuilder& UpdateBuilder::require_absent(const std::string& name, uint16_t type) {
  prereqs_.push_back({wire_name(name), type, class_none, 0, {}});
  return *this;
}
UpdateBuilder& UpdateBuilder::add(const std::string& name, uint16_t type, uint32_t ttl,
                                  const std::string& rdata) {
  updates_.push_back({wire_name(name), type, class_in, ttl, rdata});
  return *this;
}
UpdateBuilder& UpdateBuilder::delete_rrset(const std::string& name, uint16_t type) {
  updates_.push_back({wire_name(name), type, class_any, 0, {}});
  return *this;
}
UpdateBuilder& UpdateBuilder::delete_record(const std::string& name, uint16_t type,
                                            const std::string& rdata) {
  updates_.push_back({wire_name(name), type, class_none, 0, rdata});
  return *this;
}

Bytes UpdateBuilder::build(uint16_t id) const {
  Bytes m;
  put16(m, id);
  put16(m, uint16_t(opcode_update << 11));   // QR=0, opcode UPDATE, everything else clear
  put16(m, 1);                               // ZOCOUNT
  put16(m, uint16_t(prereqs_.size()));       // PRCOUNT
  put16(m, uint16_t(updates_.size()));       // UPCOUNT
  put16(m, 0);                               // ADCOUNT (the TSIG is added by signing)
  put_str(m, zone_);
  put16(m, type_soa);
  put16(m, class_in);
  for (const auto& rr : prereqs_) put_rr(m, rr);
  for (const auto& rr : updates_) put_rr(m, rr);
  return m;
}

// --- UpdateClient --------------------------------------------------------------------------

UpdateClient::UpdateClient(const ClientKey& key) : key_(key) {
  if (!keyring_.add(key.name, "hmac-sha256", key.secret_base64))
    throw std::invalid_argument("bad TSIG key " + key.name);
  key_wire_ = dns::name_key(wire_name(key.name));
  fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error("socket() failed");
  auto a = loopback(0);
  socklen_t len = sizeof a;
  if (bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    close(fd_);
    throw std::runtime_error("cannot bind the client socket");
  }
  local_port_ = ntohs(a.sin_port);
}

UpdateClient::~UpdateClient() {
  if (fd_ >= 0) close(fd_);
}

Bytes UpdateClient::sign(const Bytes& unsigned_msg) const {
  Bytes m = unsigned_msg;
  if (!dns::sign_request(m, key_wire_, keyring_, int64_t(std::time(nullptr))))
    throw std::invalid_argument("cannot sign the UPDATE");
  return m;
}

UpdateResult UpdateClient::send(const Bytes& signed_msg, const std::vector<uint16_t>& ports,
                                std::chrono::milliseconds per_try) {
  UpdateResult res;
  if (signed_msg.size() < 12 || ports.empty()) throw std::invalid_argument("nothing to send");

  // The request MAC, which every reply's TSIG covers (RFC 8945 §5.3): read back with ldns, an
  // implementation independent of ours, so the check is not circular.
  ldns_pkt* raw = nullptr;
  if (ldns_wire2pkt(&raw, signed_msg.data(), signed_msg.size()) != LDNS_STATUS_OK || !raw ||
      !ldns_pkt_tsig(raw) || ldns_rr_rd_count(ldns_pkt_tsig(raw)) < 4) {
    if (raw) ldns_pkt_free(raw);
    throw std::invalid_argument("send() needs a TSIG-signed message");
  }
  const PktPtr request(raw);
  const RdfPtr request_mac(ldns_rdf_clone(ldns_rr_rdf(ldns_pkt_tsig(request.get()), 3)));

  std::vector<in_port_t> tried;   // network order, as recvfrom reports them
  Bytes buf(65535);
  for (std::size_t attempt = 0; attempt < ports.size(); ++attempt) {
    auto to = loopback(ports[attempt]);
    tried.push_back(to.sin_port);
    // A failed sendto (e.g. ECONNREFUSED left over from an earlier ICMP) is just a lost packet.
    if (sendto(fd_, signed_msg.data(), signed_msg.size(), 0, reinterpret_cast<sockaddr*>(&to),
               sizeof to) >= 0)
      ++res.sends;
    const auto deadline = Clock::now() + per_try;
    bool servfail = false;
    while (!servfail && wait_readable(fd_, deadline)) {
      sockaddr_in from{};
      socklen_t flen = sizeof from;
      ssize_t n = recvfrom(fd_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &flen);
      if (n < 0) continue;   // EINTR, or a queued ICMP error (ECONNREFUSED from a dead node)
      int node = -1;
      for (std::size_t i = 0; i < tried.size(); ++i)
        if (tried[i] == from.sin_port) node = int(i);
      // Same id, QR set, opcode UPDATE: an answer to this request (or to an older one with
      // the same id, which the TSIG check below tells apart).
      if (node < 0 || n < 12 || buf[0] != signed_msg[0] || buf[1] != signed_msg[1] ||
          !(buf[2] & 0x80) || ((buf[2] >> 3) & 0x0F) != opcode_update)
        continue;
      const int rcode = buf[3] & 0x0F;
      ldns_pkt* rp = nullptr;
      if (ldns_wire2pkt(&rp, buf.data(), std::size_t(n)) != LDNS_STATUS_OK || !rp) {
        if (rp) ldns_pkt_free(rp);
        ++res.bad_tsig;
        continue;
      }
      const PktPtr reply(rp);
      bool trusted = false;
      if (ldns_pkt_tsig(reply.get()) != nullptr) {
        trusted = ldns_pkt_tsig_verify(reply.get(), buf.data(), std::size_t(n), key_.name.c_str(),
                                       key_.secret_base64.c_str(), request_mac.get());
      } else {
        // RFC 8945 §5.3.2 / dns/tsig.hpp: FORMERR and BADKEY/BADSIG answers are unsigned.
        trusted = rcode == rcode_formerr || rcode == rcode_notauth;
      }
      if (!trusted) {
        ++res.bad_tsig;
        continue;
      }
      res.rcode = rcode;
      res.answered_by = node;
      if (rcode == rcode_servfail) {
        servfail = true;   // unknown: try the next node at once
        continue;
      }
      res.outcome = rcode == 0 ? Outcome::acked : Outcome::failed;
      return res;
    }
  }
  res.outcome = Outcome::unknown;
  return res;
}

// --- queries -------------------------------------------------------------------------------

QueryAnswer query(uint16_t port, const std::string& name, uint16_t type,
                  std::chrono::milliseconds timeout, uint16_t qclass) {
  QueryAnswer out;
  const Bytes q = build_query(random_id(), name, type, qclass);
  auto reply = exchange_udp(q, port, timeout);
  if (reply && ((*reply)[2] & 0x02)) reply = exchange_tcp(q, port, timeout);   // TC: retry on TCP
  if (!reply) return out;
  ldns_pkt* raw = nullptr;
  if (ldns_wire2pkt(&raw, reply->data(), reply->size()) != LDNS_STATUS_OK || !raw) {
    if (raw) ldns_pkt_free(raw);
    return out;
  }
  const PktPtr pkt(raw);
  out.answered = true;
  out.rcode = int(ldns_pkt_get_rcode(pkt.get()));
  const std::string want = dns::name_key(wire_name(name));
  const ldns_rr_list* answer = ldns_pkt_answer(pkt.get());
  for (std::size_t i = 0; answer && i < ldns_rr_list_rr_count(answer); ++i) {
    const dns::Record r = dns::record_from_ldns(ldns_rr_list_rr(answer, i));
    if (r.type == type && dns::name_key(r.owner) == want) out.rdatas.push_back(r.rdata);
  }
  return out;
}

NodeStatus query_status(uint16_t port, std::chrono::milliseconds timeout) {
  constexpr uint16_t class_ch = 3;
  NodeStatus st;
  const QueryAnswer a = query(port, "status.vrdns.", type_txt, timeout, class_ch);
  if (!a.answered || a.rdatas.size() != 1) return st;
  const auto text = txt_text(a.rdatas[0]);
  if (!text) return st;
  st.text = *text;
  // "replica=0 view=3 status=normal primary=0 op=12 commit=12" (app/replica_node.cpp)
  std::istringstream in(*text);
  std::string tok;
  int fields = 0;
  while (in >> tok) {
    const auto eq = tok.find('=');
    if (eq == std::string::npos) continue;
    const std::string k = tok.substr(0, eq), v = tok.substr(eq + 1);
    try {
      if (k == "replica") st.replica = std::stoi(v), ++fields;
      else if (k == "view") st.view = std::stoull(v), ++fields;
      else if (k == "status") st.status = v, ++fields;
      else if (k == "primary") st.primary = std::stoi(v), ++fields;
      else if (k == "op") st.op = std::stoull(v), ++fields;
      else if (k == "commit") st.commit = std::stoull(v), ++fields;
    } catch (const std::exception&) {
      return st;   // not a number: treat as no answer
    }
  }
  st.answered = fields == 6;
  return st;
}

std::optional<uint32_t> query_serial(uint16_t port, const std::string& zone) {
  const QueryAnswer a = query(port, zone, type_soa);
  if (!a.answered || a.rcode != 0 || a.rdatas.size() != 1) return std::nullopt;
  // SOA RDATA: MNAME, RNAME (uncompressed here: record_from_ldns writes wire names), then
  // SERIAL REFRESH RETRY EXPIRE MINIMUM.
  const std::string& rd = a.rdatas[0];
  if (rd.size() < 20) return std::nullopt;
  const std::size_t off = rd.size() - 20;
  uint32_t serial = 0;
  for (int i = 0; i < 4; ++i) serial = serial << 8 | uint8_t(rd[off + std::size_t(i)]);
  return serial;
}

}  // namespace vrdns::chaos
