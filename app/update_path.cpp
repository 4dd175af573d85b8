#include "app/update_path.hpp"

#include <caf/all.hpp>

#include <netinet/in.h>

#include <algorithm>
#include <cassert>
#include <chrono>
#include <ctime>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include "actors/vr_client.hpp"
#include "dns/name.hpp"
#include "dns/query_parser.hpp"
#include "dns/tsig.hpp"
#include "dns/update.hpp"
#include "dns/update_reply.hpp"
#include "dns/update_request.hpp"
#include "dns/zone_control.hpp"
#include "dns/zone_service.hpp"

namespace vrdns::app {

namespace {

// How long a committed UPDATE's answer waits for this node's front end to serve it. Normally a
// heartbeat or less; longer only if this replica is cut off, and then the answer goes anyway.
constexpr std::chrono::milliseconds local_serve_wait{1000};

struct UpdatePath {
  std::shared_ptr<const CurrentAccessPolicy> policy;
  std::shared_ptr<const ServedZones> zones;
  std::shared_ptr<actors::vr_submit_queue> submissions;
  std::chrono::milliseconds call_timeout{0};
  std::shared_ptr<CommitWaiters> waiters;
  std::shared_ptr<UpdateCounters> counters;
};

/// Answers with `rcode` (with the request's OPT, if it had one), signed as `verdict` requires
/// (see dns/tsig.hpp sign_reply) with the keys that verified the request, and counts the answer.
void answer(UpdateCounters& counters, const AccessPolicy& policy, const net::UpdateRequest& req,
            const dns::TsigVerdict& verdict, uint16_t rcode) {
  counters.count(rcode);
  const uint8_t* opt = req.opt.empty() ? nullptr : req.opt.data();
  const int64_t now = int64_t(std::time(nullptr));
  auto reply = dns::make_update_reply(req.message.data(), req.message.size(), rcode, opt,
                                      req.opt.size());
  dns::sign_reply(reply, verdict, policy.keys, now);
  if (reply.size() > req.max_reply_size) {
    // Long zone and key names, a large NSID, a client without EDNS: the header, COOKIE and
    // TSIG alone fit any size a client may ask for (512 at least).
    reply = dns::make_update_reply(req.message.data(), req.message.size(), rcode, opt,
                                   req.opt.size(), true);
    dns::sign_reply(reply, verdict, policy.keys, now);
  }
  if (reply.size() > req.max_reply_size) {
    // Only a TSIG error echoing a request's own huge key and algorithm names (up to 255
    // bytes each) is still too big: the header alone with TC, and the client may use TCP.
    reply.resize(12);
    reply[2] |= 0x02;
    std::fill(reply.begin() + 4, reply.end(), uint8_t(0));
  }
  req.reply(reply.data(), reply.size());
}

/// The client identity of RFC 2136 at-most-once execution: who sent which message.
dns::ClientIdentity identity_of(const net::UpdateRequest& req, const std::string& key_name) {
  dns::ClientIdentity id;
  if (req.peer.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(req.peer);
    id.address.assign(reinterpret_cast<const char*>(&a.sin_addr), 4);
    id.port = ntohs(a.sin_port);
  } else if (req.peer.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(req.peer);
    id.address.assign(reinterpret_cast<const char*>(&a.sin6_addr), 16);
    id.port = ntohs(a.sin6_port);
  }
  id.dns_id = uint16_t(req.message[0] << 8 | req.message[1]);
  id.key_name = key_name;
  id.message_hash = dns::request_hash(req.message.data(), req.message.size());
  return id;
}

uint64_t now_ms() {
  return uint64_t(std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count());
}

/// A zone removal or readmission (dns/zone_control.hpp), from a [control] allow key: proposed
/// through VR like an UPDATE and answered with its committed rcode. It is not in the UPDATE
/// dedupe table: a retransmission is proposed again, which is harmless (both actions are
/// idempotent, and the answer stays NOERROR).
void submit_zone_control(const std::shared_ptr<UpdatePath>& path, const AccessPolicyPtr& policy,
                         net::UpdateRequest req, dns::TsigVerdict verdict,
                         const dns::ZoneControlRequest& control) {
  auto shared_req = std::make_shared<net::UpdateRequest>(std::move(req));
  auto done = [path, policy, shared_req, verdict = std::move(verdict)](const std::string* result) {
    dns::UpdateReply r;
    const uint8_t rcode = result && dns::decode(*result, r) ? r.rcode : dns::rcode::SERVFAIL;
    answer(*path->counters, *policy, *shared_req, verdict, rcode);
  };
  path->submissions->push(dns::encode(control), actors::vr_completion{std::move(done)},
                          actors::vr_submit_queue::clock::now() + path->call_timeout);
}

void handle(const std::shared_ptr<UpdatePath>& path, net::UpdateRequest req) {
  const auto& msg = req.message;
  if (msg.size() < 12) return;   // the responder only hands over messages with a header
  const AccessPolicyPtr policy = path->policy->get();   // this UPDATE's, to its answer
  auto verdict = dns::verify_request(msg.data(), msg.size(), policy->keys,
                                     int64_t(std::time(nullptr)));
  if (verdict.status != dns::TsigStatus::ok && verdict.status != dns::TsigStatus::not_signed) {
    // sign_reply sets the real rcode (NOTAUTH, with the TSIG error).
    answer(*path->counters, *policy, req, verdict, dns::rcode::NOTAUTH);
    return;
  }
  // A malformed OPT or COOKIE, or an EDNS version we do not speak, is answered as such before
  // the UPDATE is looked at (RFC 6891 §7: BADVERS means "not processed"); signed if it was.
  if (req.edns_rcode != 0) {
    answer(*path->counters, *policy, req, verdict, req.edns_rcode);
    return;
  }
  if (verdict.status == dns::TsigStatus::not_signed) {
    answer(*path->counters, *policy, req, verdict, dns::rcode::REFUSED);
    return;
  }
  const std::vector<uint8_t> body = dns::strip_tsig(msg.data(), msg.size(), verdict);
  if (body.empty()) {   // verify_request said ok, so this cannot be; answer, don't crash
    answer(*path->counters, *policy, req, verdict, dns::rcode::FORMERR);
    return;
  }
  if (auto control = dns::parse_zone_control_message(body.data(), body.size())) {
    if (policy->control_allowed.find(verdict.key_name) == nullptr) {
      answer(*path->counters, *policy, req, verdict, dns::rcode::REFUSED);
      return;
    }
    submit_zone_control(path, policy, std::move(req), std::move(verdict), *control);
    return;
  }
  // A key allowed no UPDATE at all is refused before its message is looked at.
  if (!policy->may_update_any(verdict.key_name)) {
    answer(*path->counters, *policy, req, verdict, dns::rcode::REFUSED);
    return;
  }
  // The zone's own list ([[zone]] update_allow), checked on the zone section's name before the
  // message is parsed: a key learns nothing of zones it may not update (not even whether this
  // server has them), and costs no parse. (A malformed zone section is parsed and refused.)
  const uint8_t* zone_name = body.data() + dns::header_size;
  const std::size_t n = body.size() > dns::header_size
                            ? dns::name_wire_length(zone_name, body.size() - dns::header_size)
                            : 0;
  if (n > 0) {
    const std::string zone_key =
        dns::name_key(std::string_view(reinterpret_cast<const char*>(zone_name), n));
    if (policy->update_keys(zone_key).find(verdict.key_name) == nullptr) {
      answer(*path->counters, *policy, req, verdict, dns::rcode::REFUSED);
      return;
    }
  }
  dns::Update update;
  const dns::ZoneSetPtr zones = path->zones->get();
  uint8_t rc = dns::parse_update(body.data(), body.size(), *zones, update, verdict.key_name);
  if (rc != dns::rcode::NOERROR) {
    answer(*path->counters, *policy, req, verdict, rc);
    return;
  }
  // Checked again on the zone the parser settled on: the check above sees only an
  // uncompressed name at the zone section's offset, and an authorization must not rest on
  // two parsers agreeing.
  if (policy->update_keys(update.zone).find(verdict.key_name) == nullptr) {
    answer(*path->counters, *policy, req, verdict, dns::rcode::REFUSED);
    return;
  }

  dns::UpdateRequest op;
  op.client = identity_of(req, verdict.key_name);
  op.receive_time_ms = now_ms();
  op.update = dns::encode(update);

  // The vr_client calls back on its own thread with the committed result (or nullptr on
  // timeout), so neither this worker thread nor any actor blocks or waits per UPDATE. A
  // result is answered once this node's own front end serves it (read-your-writes), or after
  // local_serve_wait if this replica is cut off from the commits.
  auto shared_req = std::make_shared<net::UpdateRequest>(std::move(req));
  auto done = [path, policy, shared_req, verdict = std::move(verdict),
               key = dns::ZoneService::dedupe_key(op.client)](const std::string* result) {
    if (!result) {   // timeout: the outcome is unknown, and SERVFAIL says exactly that
      answer(*path->counters, *policy, *shared_req, verdict, dns::rcode::SERVFAIL);
      return;
    }
    dns::UpdateReply r;
    const uint8_t rcode = dns::decode(*result, r) ? r.rcode : dns::rcode::SERVFAIL;
    path->waiters->wait(
        key,
        [counters = path->counters, policy, shared_req, verdict, rcode] {
          answer(*counters, *policy, *shared_req, verdict, rcode);
        },
        CommitWaiters::clock::now() + local_serve_wait);
  };
  path->submissions->push(dns::encode(op), actors::vr_completion{std::move(done)},
                          actors::vr_submit_queue::clock::now() + path->call_timeout);
}

}  // namespace

net::UpdateHandler make_update_handler(std::shared_ptr<const CurrentAccessPolicy> policy,
                                       std::shared_ptr<const ServedZones> zones,
                                       std::shared_ptr<actors::vr_submit_queue> submissions,
                                       std::chrono::milliseconds call_timeout,
                                       std::shared_ptr<CommitWaiters> waiters,
                                       std::shared_ptr<UpdateCounters> counters) {
  if (!submissions || !zones || !policy)
    throw std::invalid_argument("update path: no clients, zones or policy");
  auto path = std::make_shared<UpdatePath>();
  path->policy = std::move(policy);
  path->zones = std::move(zones);
  path->counters = counters ? std::move(counters) : std::make_shared<UpdateCounters>();
  path->submissions = std::move(submissions);
  path->call_timeout = call_timeout;
  path->waiters = std::move(waiters);
  return [path](net::UpdateRequest req) { handle(path, std::move(req)); };
}

}  // namespace vrdns::app
