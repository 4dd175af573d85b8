// A small DNS client for the chaos tests and the failover benchmark: RFC 2136 UPDATE messages
// built byte by byte, signed with our own TSIG (dns::sign_request), sent over UDP with
// retransmission to other nodes, and plain queries ("what does node k serve for name n").
//
// Why one socket per UpdateClient: a node deduplicates UPDATEs by (client address, port, DNS
// id, TSIG key, message bytes) (dns/update_request.hpp). A retransmission is only recognised
// as such if it leaves from the same port with the same bytes, so an UpdateClient keeps one
// UDP socket for its whole life and never re-signs a message it retransmits.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dns/tsig.hpp"
#include "tests/chaos/outcome.hpp"

namespace vrdns::chaos {

using Bytes = std::vector<uint8_t>;

/// One RR of an UPDATE message, as it goes on the wire (RFC 2136 §2.4, §2.5: the class and
/// TTL select the meaning).
struct WireRR {
  std::string owner;   ///< wire form (dns::name_from_text)
  uint16_t type = 0;
  uint16_t rclass = 1;
  uint32_t ttl = 0;
  std::string rdata;   ///< uncompressed wire RDATA
};

/// TXT RDATA with one character-string. Throws std::invalid_argument above 255 bytes.
std::string txt_rdata(const std::string& text);
/// A RDATA from dotted-quad text. Throws std::invalid_argument if it is not one.
std::string a_rdata(const std::string& dotted);
/// The concatenated character-strings of a TXT RDATA; nullopt if malformed.
std::optional<std::string> txt_text(const std::string& rdata);
/// Dotted quad of an A RDATA; empty if it is not 4 bytes.
std::string a_text(const std::string& rdata);

/// Builds one UPDATE (opcode 5) for one zone. Names are presentation form, absolute
/// ("cas.example.test."); invalid names throw std::invalid_argument.
class UpdateBuilder {
 public:
  explicit UpdateBuilder(const std::string& zone);

  /// prereq yxrrset name TYPE "value" (§2.4.2): the RRset equals exactly this one RR.
  UpdateBuilder& require_value(const std::string& name, uint16_t type, const std::string& rdata);
  /// prereq yxrrset name TYPE (§2.4.1): an RRset of this type exists.
  UpdateBuilder& require_exists(const std::string& name, uint16_t type);
  /// prereq nxrrset name TYPE (§2.4.3): no RRset of this type.
  UpdateBuilder& require_absent(const std::string& name, uint16_t type);
  /// update add (§2.5.1).
  UpdateBuilder& add(const std::string& name, uint16_t type, uint32_t ttl, const std::string& rdata);
  /// update delete name TYPE (§2.5.2): the whole RRset.
  UpdateBuilder& delete_rrset(const std::string& name, uint16_t type);
  /// update delete name TYPE rdata (§2.5.4): one RR.
  UpdateBuilder& delete_record(const std::string& name, uint16_t type, const std::string& rdata);

  /// The unsigned message with DNS id `id`.
  Bytes build(uint16_t id) const;

 private:
  std::string zone_;
  std::vector<WireRR> prereqs_;
  std::vector<WireRR> updates_;
};

struct UpdateResult {
  Outcome outcome = Outcome::unknown;
  int rcode = -1;          ///< rcode of the deciding reply; -1 if none came
  int answered_by = -1;    ///< index (into the ports given to send) of the node that answered
  int sends = 0;           ///< how many times the bytes went out
  int bad_tsig = 0;        ///< replies dropped because their TSIG did not verify
};

/// A TSIG key as the client holds it.
struct ClientKey {
  std::string name = "update-key.";   ///< presentation form
  std::string secret_base64;
};

class UpdateClient {
 public:
  /// Opens the one UDP socket (127.0.0.1, kernel-chosen port). Throws std::runtime_error on
  /// socket errors, std::invalid_argument on a bad key.
  explicit UpdateClient(const ClientKey& key);
  ~UpdateClient();
  UpdateClient(const UpdateClient&) = delete;
  UpdateClient& operator=(const UpdateClient&) = delete;

  /// Signs `unsigned_msg` now (hmac-sha256). Returns the signed bytes to pass to send().
  Bytes sign(const Bytes& unsigned_msg) const;

  /// Sends `signed_msg` to ports[0]; if no definite answer comes within `per_try`, or a
  /// SERVFAIL comes, sends the SAME bytes to ports[1], and so on. A reply from any node tried
  /// so far counts (it answers the same request). Replies must carry the request's id, QR,
  /// opcode UPDATE and a TSIG that verifies against the request MAC; others are dropped.
  UpdateResult send(const Bytes& signed_msg, const std::vector<uint16_t>& ports,
                    std::chrono::milliseconds per_try);

  uint16_t local_port() const { return local_port_; }

 private:
  int fd_ = -1;
  uint16_t local_port_ = 0;
  ClientKey key_;
  dns::Keyring keyring_;
  std::string key_wire_;
};

/// The answer of one node to one query.
struct QueryAnswer {
  bool answered = false;             ///< false: timeout or unparsable reply
  int rcode = -1;
  std::vector<std::string> rdatas;   ///< RDATA of the answer RRs of the asked type and name
};

/// Asks 127.0.0.1:`port` for `name` `type` (class IN, or CH for the status name), over UDP,
/// again over TCP if the reply is truncated. Bounded by `timeout` per transport.
QueryAnswer query(uint16_t port, const std::string& name, uint16_t type,
                  std::chrono::milliseconds timeout = std::chrono::milliseconds(1000),
                  uint16_t qclass = 1);

/// A node's VR status (CH TXT status.vrdns.), parsed.
struct NodeStatus {
  bool answered = false;
  std::string text;        ///< raw, for messages
  int replica = -1;
  uint64_t view = 0;
  std::string status;      ///< normal, view-change, recovering
  int primary = -1;
  uint64_t op = 0;
  uint64_t commit = 0;
};
NodeStatus query_status(uint16_t port, std::chrono::milliseconds timeout = std::chrono::milliseconds(500));

/// SOA serial a node serves for `zone`; nullopt if it did not answer with exactly one SOA.
std::optional<uint32_t> query_serial(uint16_t port, const std::string& zone);

}  // namespace vrdns::chaos
