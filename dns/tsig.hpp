// TSIG (RFC 8945): verifying signed requests and signing replies, on raw wire bytes.
//
// Used on the UPDATE path (RFC 2136), not on the query hot path. The MAC is computed here
// with OpenSSL 3's EVP_MAC HMAC (keyed once per key, duplicated per message, so one const
// Keyring may be used from several threads at once), not with ldns_pkt_tsig_*: ldns takes
// the time from time(), cannot write a TSIG error code, Other Data or an empty MAC, and does
// not check the time window.
// ldns is used by the tests as an independent implementation to cross-check against.
//
// Behaviour (RFC 8945 section numbers):
//   - Exactly one TSIG RR, last in the additional section, class ANY, TTL 0, rdata exactly
//     as long as its fields; anything else is FORMERR (§5.1, §4.2).
//   - Checks run in the RFC's order: key (§5.2.1), MAC (§5.2.2), time (§5.2.3). A key the
//     keyring lacks, or whose configured algorithm differs from the packet's, is BADKEY.
//   - MAC size: larger than the hash, or smaller than max(10, hash/2) octets, is FORMERR
//     (§5.2.2.1). Truncation down to that minimum is accepted (local policy = the RFC
//     minimum), so BADTRUNC (§5.2.4) is never produced.
//   - Time: |now - Time Signed| <= the request's Fudge, checked only after the MAC verified
//     (§5.2.3). No replay cache (the "SHOULD cache the most recent Time Signed" is not done).
//   - Replies (§5.3, §5.3.2): ok -> signed with the request MAC, Time Signed = now, Fudge 300.
//     BADKEY/BADSIG -> rcode NOTAUTH, TSIG with the error, MAC size 0 (unsigned: we must not
//     sign with a key we could not use). BADTIME -> rcode NOTAUTH, signed, Time Signed = the
//     request's (so the client's own window check passes), Other Data = our time (6 octets).
//     FORMERR -> rcode FORMERR, no TSIG (nothing trustworthy to echo).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vrdns::dns {

inline constexpr uint16_t rr_type_tsig = 250;
inline constexpr uint16_t tsig_fudge_default = 300;   // RFC 8945 §10 recommends 300 s

// TSIG error codes (RFC 8945 §3) carried in the TSIG RR's Error field.
inline constexpr uint16_t tsig_error_badsig = 16;
inline constexpr uint16_t tsig_error_badkey = 17;
inline constexpr uint16_t tsig_error_badtime = 18;

enum class TsigAlgorithm {
  hmac_md5, hmac_sha1, hmac_sha224, hmac_sha256, hmac_sha384, hmac_sha512
};

/// An HMAC already keyed with one TsigKeyEntry's secret and digest (defined in tsig.cpp).
/// Never updated itself: each message works on a duplicate, so threads may share it.
struct TsigHmacTemplate;

struct TsigKeyEntry {
  std::string name;          ///< wire form, lower-cased (key form)
  TsigAlgorithm algorithm;
  std::string secret;        ///< decoded bytes
  /// Set by Keyring::add. Keying an HMAC (fetching the digest, hashing the padded key) cost
  /// more than the MAC of a small UPDATE itself, so it is done once per key, not per message.
  std::shared_ptr<const TsigHmacTemplate> hmac;
};

/// The keys this server shares with its clients.
class Keyring {
 public:
  /// `name` in presentation form, with or without the trailing dot, any case. `algorithm` as
  /// in the config ("hmac-sha256"; "hmac-sha256." also accepted). `secret_base64` padded
  /// base64. Returns false (and adds nothing) if any of them is invalid or the name exists.
  bool add(std::string_view name, std::string_view algorithm, std::string_view secret_base64);

  /// Looks a key up by a wire-form name (any case); nullptr if unknown.
  const TsigKeyEntry* find(std::string_view wire_name) const;

  std::size_t size() const { return keys_.size(); }

 private:
  std::vector<TsigKeyEntry> keys_;   // a handful of keys: linear search is fine
};

enum class TsigStatus {
  not_signed,  ///< no TSIG RR at all: the caller decides whether unsigned UPDATEs are allowed
  ok,
  badkey,      ///< unknown key name or algorithm mismatch (RFC 8945 §5.2.1)
  badsig,      ///< the MAC does not verify (§5.2.2)
  badtime,     ///< MAC fine, but Time Signed is outside now ± Fudge (§5.2.3)
  formerr,     ///< TSIG misplaced, duplicated, malformed, or a MAC size out of bounds
};

const char* to_string(TsigStatus status);

/// What verify_request found, and what sign_reply needs to answer it.
struct TsigVerdict {
  TsigStatus status = TsigStatus::not_signed;
  std::string key_name;             ///< from the request, lower-cased uncompressed wire form
  std::string algorithm;            ///< from the request, lower-cased uncompressed wire form
  std::vector<uint8_t> request_mac; ///< as received (possibly truncated)
  uint64_t time_signed = 0;         ///< 48-bit, from the request
  uint16_t fudge = 0;               ///< from the request
  /// Length of the request without its TSIG RR (== the whole length when not signed or on
  /// formerr). Parsing the request's other sections should stop here, with ARCOUNT - 1.
  std::size_t unsigned_length = 0;
};

/// Verifies the TSIG of a request. Never reads outside [msg, msg + len). `now_seconds` is
/// seconds since the epoch (a parameter so tests can move the clock).
TsigVerdict verify_request(const uint8_t* msg, std::size_t len, const Keyring& keys,
                           int64_t now_seconds);

/// Verifies the TSIG of a reply to a request this side signed (RFC 8945 §5.4: as a client,
/// e.g. of a NOTIFY): `request_mac` is the MAC that request carried, which the reply's digest
/// covers first. Pass a keyring of the request's key alone: any key in `keys` is accepted.
/// A reply MAC shorter than `request_mac` is BADSIG. `ok` only for a reply signed with a key of `keys`, over that MAC, in time,
/// whose TSIG reports no error; an unsigned reply is `not_signed`, and a reply reporting that
/// the other side could not verify the request gets that error as its status (BADKEY, BADSIG:
/// unsigned; BADTIME: signed).
TsigVerdict verify_reply(const uint8_t* msg, std::size_t len, const Keyring& keys,
                         const std::vector<uint8_t>& request_mac, int64_t now_seconds);

/// verify_reply for a reply to `request`, a message this side signed with a key of `keys`: the
/// MAC it is checked against is read from `request` itself. nullopt if `request` carries no
/// TSIG of `keys` (it was not signed).
std::optional<TsigVerdict> verify_reply_to(const std::vector<uint8_t>& request,
                                           const uint8_t* reply, std::size_t len,
                                           const Keyring& keys, int64_t now_seconds);

/// The request as it was before signing: the bytes up to its TSIG RR, with ARCOUNT one lower,
/// ready for the parsers of the other sections. Only for an `ok` verdict of that message;
/// empty if the message does not fit the verdict.
std::vector<uint8_t> strip_tsig(const uint8_t* msg, std::size_t len, const TsigVerdict& verdict);

/// Completes `reply` (a whole DNS message whose ID and question are already set, rcode as
/// the caller wants it for an ok verdict) as RFC 8945 §5.3 requires for `verdict`: see the
/// file comment. not_signed: reply unchanged. Error verdicts overwrite the header's rcode.
/// Returns false only if `reply` is not even a header, or the key vanished from `keys`.
bool sign_reply(std::vector<uint8_t>& reply, const TsigVerdict& verdict, const Keyring& keys,
                int64_t now_seconds, std::vector<uint8_t>* mac_out = nullptr);

/// Signs a later message of a multi-message reply (a zone transfer), RFC 8945 §5.3.1: the
/// first message is signed with sign_reply (its MAC through `mac_out`), and each later one
/// over the previous message's MAC, the message and the TSIG timers only. Every message is
/// signed. `verdict` must be ok. Writes this message's MAC to `mac_out` (for the next).
/// False if the key vanished from `keys` or `reply` is not even a header.
bool sign_next_reply(std::vector<uint8_t>& reply, const TsigVerdict& verdict, const Keyring& keys,
                     const std::vector<uint8_t>& prior_mac, int64_t now_seconds,
                     std::vector<uint8_t>& mac_out);

/// An upper bound of the size of the TSIG RR that sign_reply or sign_next_reply appends for
/// `verdict` (names, fixed fields, the longest MAC, BADTIME's Other Data): the room a reply
/// must leave for it.
std::size_t tsig_reply_size(const TsigVerdict& verdict);

/// Signs a request (client side: tests, tools). `mac_size` 0 means the full MAC; other
/// values truncate it (RFC 8945 §5.2.2.1). False if the key is unknown or mac_size too big.
bool sign_request(std::vector<uint8_t>& msg, std::string_view key_wire_name, const Keyring& keys,
                  int64_t now_seconds, uint16_t fudge = tsig_fudge_default,
                  std::size_t mac_size = 0);

}  // namespace vrdns::dns
