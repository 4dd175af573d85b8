#include "app/transfer_path.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <atomic>
#include <ctime>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "actors/log_line.hpp"
#include "actors/notice_budget.hpp"
#include "dns/error_reply.hpp"
#include "dns/name.hpp"
#include "dns/query_parser.hpp"
#include "dns/record.hpp"
#include "dns/serial.hpp"
#include "dns/tsig.hpp"
#include "dns/update.hpp"   // rcode::NOTAUTH
#include "dns/zone_transfer.hpp"

namespace vrdns::app {

namespace {

struct TransferPath {
  std::shared_ptr<const CurrentAccessPolicy> policy;   // keys, who may transfer, how many
  std::string label;
  std::shared_ptr<TransferCounters> counters;         // never null
  // Transfers being sent (not SOA-only answers): each holds a zone version and, while it lists
  // the zone, 8 bytes a name. At most max_transfers at once; more get SERVFAIL (try later).
  mutable std::atomic<uint32_t> active{0};
  // Refusals are logged within a budget: anyone who can reach the port could flood the log.
  mutable std::mutex refusals_mutex;
  mutable actors::notice_budget refusals{20, std::chrono::minutes(1)};

  // The versions of each zone this node sent lately (whole, as differences, or confirmed to an
  // up-to-date client): the versions secondaries have, so an IXFR from one of them gets only
  // the differences. Each old version keeps alive only what changed since (the zone store
  // shares the rest); in the worst case (every record rewritten between versions) that is
  // versions_kept times the zone. Not saved: after a restart IXFRs get whole zones first.
  static constexpr std::size_t versions_kept = 16;
  mutable std::mutex sent_mutex;
  mutable std::map<std::string, std::deque<dns::ZonePtr>> sent;   // apex key -> oldest first

  void remember(const dns::ZonePtr& zone) const {
    std::vector<dns::ZonePtr> dropped;   // freed after the lock: it may free many trie nodes
    std::lock_guard lock(sent_mutex);
    auto& versions = sent[zone->apex_key()];
    if (!versions.empty() && versions.back() == zone) return;
    // A serial may come back (RFC 1982 reset: two UPDATEs that each raise it): only the newest
    // version with a serial may answer for it. Versions not older than this one go, which also
    // drops the stale copy left when two workers remember in the other order.
    for (auto it = versions.begin(); it != versions.end();) {
      if (dns::serial_less((*it)->serial(), zone->serial())) {
        ++it;
      } else {
        dropped.push_back(std::move(*it));
        it = versions.erase(it);
      }
    }
    versions.push_back(zone);
    if (versions.size() > versions_kept) {
      dropped.push_back(std::move(versions.front()));
      versions.pop_front();
    }
  }
  /// Drops the versions of zones `zones` no longer has (removed from the cluster): nobody
  /// transfers them from here any more, and a readmitted zone starts afresh.
  void forget_others(const dns::ZoneSet& zones) const {
    std::vector<std::deque<dns::ZonePtr>> dropped;   // freed after the lock
    std::lock_guard lock(sent_mutex);
    for (auto it = sent.begin(); it != sent.end();) {
      const bool served =
          std::any_of(zones.zones.begin(), zones.zones.end(),
                      [&](const dns::ZonePtr& z) { return z->apex_key() == it->first; });
      if (served) {
        ++it;
      } else {
        dropped.push_back(std::move(it->second));
        it = sent.erase(it);
      }
    }
  }
  dns::ZonePtr version(const std::string& apex_key, uint32_t serial) const {
    std::lock_guard lock(sent_mutex);
    auto it = sent.find(apex_key);
    if (it == sent.end()) return nullptr;
    for (auto v = it->second.rbegin(); v != it->second.rend(); ++v)   // newest first
      if ((*v)->serial() == serial) return *v;
    return nullptr;
  }
};

std::string peer_text(const sockaddr_storage& peer) {
  char host[INET6_ADDRSTRLEN] = {};
  uint16_t port = 0;
  if (peer.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(peer);
    ::inet_ntop(AF_INET, &a.sin_addr, host, sizeof host);
    port = ntohs(a.sin_port);
  } else if (peer.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(peer);
    ::inet_ntop(AF_INET6, &a.sin6_addr, host, sizeof host);
    port = ntohs(a.sin6_port);
  }
  return std::string(host) + "#" + std::to_string(port);
}

/// One of TransferPath::max_transfers, held by a transfer for its lifetime.
class TransferSlot {
 public:
  explicit TransferSlot(std::shared_ptr<const TransferPath> path) : path_(std::move(path)) {}
  TransferSlot(TransferSlot&& other) noexcept = default;
  TransferSlot& operator=(TransferSlot&&) = delete;
  ~TransferSlot() {
    if (path_) path_->active.fetch_sub(1);
  }

 private:
  std::shared_ptr<const TransferPath> path_;
};

/// Takes a slot if fewer than `max_transfers` run; nullopt otherwise.
std::optional<TransferSlot> take_slot(const std::shared_ptr<const TransferPath>& path,
                                      uint32_t max_transfers) {
  if (path->active.fetch_add(1) >= max_transfers) {
    path->active.fetch_sub(1);
    return std::nullopt;
  }
  return TransferSlot(path);
}

/// Messages signed as RFC 8945 §5.3.1 asks (or not at all, for an unsigned request).
class SignedTransfer : public net::OutgoingTransfer {
 public:
  /// `slot`: held while the transfer lives (none for an SOA-only answer).
  /// `policy`: the one that verified the request; its keys sign every message.
  SignedTransfer(std::shared_ptr<const TransferPath> path, AccessPolicyPtr policy,
                 dns::TsigVerdict verdict, dns::ZoneTransferWriter writer,
                 std::optional<TransferSlot> slot = std::nullopt)
      : path_(std::move(path)),
        policy_(std::move(policy)),
        verdict_(std::move(verdict)),
        writer_(std::move(writer)),
        slot_(std::move(slot)) {}

  bool next(std::vector<uint8_t>& message) override {
    if (ended_) return false;
    const bool signed_request = verdict_.status == dns::TsigStatus::ok;
    message.resize(dns::max_message_size);
    const std::size_t room = signed_request ? dns::tsig_reply_size(verdict_) : 0;
    const std::size_t n = writer_.next(message.data(), message.size() - room);
    if (n == 0) {
      // A record too big for any message (the first message, header, question and SOA, always
      // fits): the worker closes the connection, so the client sees the cut.
      ended_ = true;
      failed_ = writer_.failed();
      if (failed_ && !path_->label.empty())
        actors::log_line(path_->label + "zone transfer of serial " +
                         std::to_string(writer_.serial()) +
                         " cut short: a record does not fit in a message");
      return false;
    }
    message.resize(n);
    const bool first = std::exchange(first_, false);
    if (!signed_request) return true;
    const int64_t now = int64_t(std::time(nullptr));
    const std::vector<uint8_t> prior = mac_;   // sign_next_reply overwrites mac_
    const bool ok = first ? dns::sign_reply(message, verdict_, policy_->keys, now, &mac_)
                          : dns::sign_next_reply(message, verdict_, policy_->keys, prior, now, mac_);
    if (!ok) {   // cannot sign (the keyring is this transfer's own): end rather than send unsigned
      ended_ = failed_ = true;
      return false;
    }
    return true;
  }

  bool failed() const override { return failed_; }

 private:
  std::shared_ptr<const TransferPath> path_;
  AccessPolicyPtr policy_;
  dns::TsigVerdict verdict_;
  dns::ZoneTransferWriter writer_;
  std::optional<TransferSlot> slot_;
  std::vector<uint8_t> mac_;   // of the previous message
  bool first_ = true;
  bool ended_ = false;
  bool failed_ = false;
};

/// A transfer of one message: the refusal or error that ends it.
class SingleMessage : public net::OutgoingTransfer {
 public:
  explicit SingleMessage(std::vector<uint8_t> message) : message_(std::move(message)) {}
  bool next(std::vector<uint8_t>& message) override {
    if (sent_) return false;
    sent_ = true;
    message = std::move(message_);
    return true;
  }

 private:
  std::vector<uint8_t> message_;
  bool sent_ = false;
};

/// The refusal or error that ends a transfer: header and question, signed as `verdict` requires.
std::unique_ptr<net::OutgoingTransfer> reply_only(const AccessPolicy& policy,
                                                  const dns::ParsedQuery& q,
                                                  const dns::TsigVerdict& verdict, uint8_t rcode) {
  std::vector<uint8_t> m = dns::make_error_reply(q, rcode);
  dns::sign_reply(m, verdict, policy.keys, int64_t(std::time(nullptr)));
  return std::make_unique<SingleMessage>(std::move(m));
}

bool address_allowed(const AccessPolicy& policy, std::string_view apex_key,
                     const sockaddr_storage& peer) {
  for (const auto& p : policy.transfer_addresses_of(apex_key))
    if (p.contains(peer)) return true;
  return false;
}

/// `answer`, counted in `counter`.
std::unique_ptr<net::OutgoingTransfer> count(std::atomic<uint64_t>& counter,
                                             std::unique_ptr<net::OutgoingTransfer> answer) {
  counter.fetch_add(1, std::memory_order_relaxed);
  return answer;
}

std::unique_ptr<net::OutgoingTransfer> handle(const std::shared_ptr<const TransferPath>& path,
                                              const net::TransferRequest& req) {
  dns::ParsedQuery q;
  if (!dns::parse_query(req.message, req.length, q)) return nullptr;   // not even a header
  const AccessPolicyPtr policy = path->policy->get();   // this transfer's, to its end
  const auto verdict = dns::verify_request(req.message, req.length, policy->keys,
                                           int64_t(std::time(nullptr)));
  const char* kind = q.qtype == dns::rrtype::IXFR ? "IXFR" : "AXFR";
  const std::string zone_text = q.question_ok ? dns::name_to_text(std::string_view(
                                                    reinterpret_cast<const char*>(q.qname),
                                                    q.qname_len))
                                              : std::string("?");
  auto note = [&](const std::string& what) {
    if (!path->label.empty())
      actors::log_line(path->label + kind + " of " + zone_text + " for " +
                       peer_text(req.peer) + ": " + what);
  };
  // Refusals within their budget; the next line let through says how many were left out.
  auto refusal = [&](const std::string& what) {
    std::uint64_t left_out = 0;
    {
      std::lock_guard lock(path->refusals_mutex);
      if (!path->refusals.admit(actors::notice_budget::clock::now())) return;
      left_out = std::exchange(path->refusals.left_out, 0);
    }
    note(what + (left_out ? " (" + std::to_string(left_out) + " refusals not logged before)"
                          : std::string()));
  };
  if (verdict.status == dns::TsigStatus::formerr || !q.question_ok || q.qdcount != 1)
    return count(path->counters->refused, reply_only(*policy, q, verdict, dns::rcode::FORMERR));
  if (verdict.status != dns::TsigStatus::ok && verdict.status != dns::TsigStatus::not_signed) {
    refusal(std::string("refused, TSIG ") + dns::to_string(verdict.status));
    // sign_reply sets the details (the TSIG error).
    return count(path->counters->refused, reply_only(*policy, q, verdict, dns::rcode::NOTAUTH));
  }
  const bool signed_ok = verdict.status == dns::TsigStatus::ok;
  // The zone: the question names its apex exactly.
  uint8_t key[dns::max_name_length];
  dns::name_fold(q.qname, q.qname_len, key);
  const std::string_view qkey(reinterpret_cast<const char*>(key), q.qname_len);
  // The zone's own key list ([[zone]] transfer_allow), or [transfer] allow.
  if (!(signed_ok && policy->transfer_keys(qkey).find(verdict.key_name)) &&
      !address_allowed(*policy, qkey, req.peer)) {
    const std::string zone_key(qkey);
    const bool own_keys = policy->zone_transfer_allowed.count(zone_key) > 0;
    const bool own_addresses = policy->zone_transfer_addresses.count(zone_key) > 0;
    refusal(!signed_ok
                ? (own_addresses
                       ? "refused, not signed and the address is not in the zone's "
                         "transfer_allow_addresses"
                       : "refused, not signed and the address is not in [transfer] allow_addresses")
            : own_keys ? "refused, key not in the zone's transfer_allow"
                       : "refused, key not in [transfer] allow");
    return count(path->counters->refused, reply_only(*policy, q, verdict, dns::rcode::REFUSED));
  }
  const dns::ServingState& state = *req.state;
  dns::ZonePtr zone;
  if (state.zones) {
    for (const auto& z : state.zones->zones)
      if (z->apex_key() == qkey) zone = z;
    if (state.has_state) path->forget_others(*state.zones);
  }
  if (!zone || (q.qclass != dns::rrclass::IN && q.qclass != dns::rrclass::ANY)) {
    refusal("refused, not a zone of this server");
    return count(path->counters->refused, reply_only(*policy, q, verdict, dns::rcode::NOTAUTH));
  }
  if (!state.has_state) {   // recovering: the zone it has is not one it can vouch for
    note("SERVFAIL, this replica has no committed state yet");
    return count(path->counters->busy, reply_only(*policy, q, verdict, dns::rcode::SERVFAIL));
  }
  // RFC 1995 §4: a client that already has this version (equal, or newer by RFC 1982) gets
  // the SOA alone. Two serials exactly 2^31 apart compare neither way: that client is not up
  // to date.
  const bool up_to_date = q.qtype == dns::rrtype::IXFR && q.has_ixfr_serial &&
                          (q.ixfr_serial == zone->serial() ||
                           dns::serial_less(zone->serial(), q.ixfr_serial));
  dns::TransferQuestion question;
  question.id = q.id;
  question.rd = q.rd;
  question.qname.assign(reinterpret_cast<const char*>(q.qname), q.qname_len);
  question.qtype = q.qtype;
  question.qclass = q.qclass;
  question.edns = q.edns;
  const std::string key_text =
      signed_ok ? ", key " + dns::name_to_text(verdict.key_name) : std::string(", unsigned");
  if (up_to_date) {
    // It holds this version (from another node, maybe): its next IXFR here can be incremental.
    if (q.ixfr_serial == zone->serial()) path->remember(zone);
    note("serial " + std::to_string(zone->serial()) + ", client up to date: SOA only" + key_text);
    path->counters->up_to_date.fetch_add(1, std::memory_order_relaxed);
    return std::make_unique<SignedTransfer>(
        path, policy, verdict, dns::ZoneTransferWriter(std::move(zone), std::move(question), true));
  }
  auto slot = take_slot(path, policy->max_transfers);
  if (!slot) {
    refusal("SERVFAIL, " + std::to_string(policy->max_transfers) +
            " transfers already running ([transfer] max_transfers)");
    return count(path->counters->busy, reply_only(*policy, q, verdict, dns::rcode::SERVFAIL));
  }
  path->remember(zone);
  // IXFR from a version this node sent (to this client or another): only the differences.
  if (q.qtype == dns::rrtype::IXFR && q.has_ixfr_serial) {
    if (dns::ZonePtr older = path->version(zone->apex_key(), q.ixfr_serial)) {
      dns::ZoneTransferWriter writer(zone, std::move(older), question);
      // RFC 1995 §4: a difference larger than the zone is better sent as the zone (below).
      if (writer.removed() + writer.added() <= zone->record_count()) {
        note("serial " + std::to_string(zone->serial()) + ", differences from " +
             std::to_string(q.ixfr_serial) + ": " + std::to_string(writer.removed()) +
             " removed, " + std::to_string(writer.added()) + " added" + key_text);
        path->counters->incremental.fetch_add(1, std::memory_order_relaxed);
        return std::make_unique<SignedTransfer>(path, policy, verdict, std::move(writer),
                                                std::move(slot));
      }
    }
  }
  note("serial " + std::to_string(zone->serial()) + ", " + std::to_string(zone->record_count()) +
       " records" + key_text);
  path->counters->full.fetch_add(1, std::memory_order_relaxed);
  return std::make_unique<SignedTransfer>(
      path, policy, verdict, dns::ZoneTransferWriter(std::move(zone), std::move(question), false),
      std::move(slot));
}

}  // namespace

net::TransferHandler make_transfer_handler(std::shared_ptr<const CurrentAccessPolicy> policy,
                                           std::string label,
                                           std::shared_ptr<TransferCounters> counters) {
  if (!policy) throw std::invalid_argument("transfer path: no policy");
  auto path = std::make_shared<TransferPath>();
  path->policy = std::move(policy);
  path->label = std::move(label);
  path->counters = counters ? std::move(counters) : std::make_shared<TransferCounters>();
  return [path = std::shared_ptr<const TransferPath>(path)](const net::TransferRequest& req) {
    return handle(path, req);
  };
}

}  // namespace vrdns::app
