#include "dns/tsig.hpp"

#include "dns/base64.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <cctype>
#include <new>
#include <optional>

#include "dns/name.hpp"

namespace vrdns::dns {

struct TsigHmacTemplate {
  /// Keyed (EVP_MAC_init done) and never updated: only ever the source of EVP_MAC_CTX_dup,
  /// which reads it, so concurrent messages on several threads can share it.
  EVP_MAC_CTX* ctx = nullptr;
  std::size_t hash_size = 0;

  TsigHmacTemplate() = default;
  TsigHmacTemplate(const TsigHmacTemplate&) = delete;
  TsigHmacTemplate& operator=(const TsigHmacTemplate&) = delete;
  ~TsigHmacTemplate() { EVP_MAC_CTX_free(ctx); }
};

namespace {

constexpr std::size_t header_size = 12;
constexpr uint16_t class_any = 255;
constexpr uint8_t rcode_formerr = 1;
constexpr uint8_t rcode_notauth = 9;
constexpr uint64_t time_mask = (uint64_t(1) << 48) - 1;

struct AlgorithmInfo {
  TsigAlgorithm id;
  std::string_view config_name;   // as in the config file
  std::string_view wire_name;     // RFC 8945 §6 table, uncompressed wire form
  const char* digest;              // OpenSSL digest name for the HMAC
  std::size_t hash_size;
};

// The wire names are written out as length-prefixed labels so no parsing happens at startup.
constexpr std::array<AlgorithmInfo, 6> algorithms{{
    {TsigAlgorithm::hmac_md5, "hmac-md5",
     std::string_view("\x08hmac-md5\x07sig-alg\x03reg\x03int\x00", 26), "MD5", 16},
    {TsigAlgorithm::hmac_sha1, "hmac-sha1", std::string_view("\x09hmac-sha1\x00", 11), "SHA1",
     20},
    {TsigAlgorithm::hmac_sha224, "hmac-sha224", std::string_view("\x0bhmac-sha224\x00", 13),
     "SHA224", 28},
    {TsigAlgorithm::hmac_sha256, "hmac-sha256", std::string_view("\x0bhmac-sha256\x00", 13),
     "SHA256", 32},
    {TsigAlgorithm::hmac_sha384, "hmac-sha384", std::string_view("\x0bhmac-sha384\x00", 13),
     "SHA384", 48},
    {TsigAlgorithm::hmac_sha512, "hmac-sha512", std::string_view("\x0bhmac-sha512\x00", 13),
     "SHA512", 64},
}};

const AlgorithmInfo& info(TsigAlgorithm a) {
  for (const auto& i : algorithms)
    if (i.id == a) return i;
  assert(false && "every TsigAlgorithm has a table row");
  return algorithms[0];
}

uint16_t get16(const uint8_t* p) { return uint16_t((p[0] << 8) | p[1]); }
uint32_t get32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}
void put16(std::vector<uint8_t>& v, uint16_t x) {
  v.push_back(uint8_t(x >> 8));
  v.push_back(uint8_t(x));
}
void put48(std::vector<uint8_t>& v, uint64_t x) {
  for (int shift = 40; shift >= 0; shift -= 8) v.push_back(uint8_t(x >> shift));
}
void append(std::vector<uint8_t>& v, std::string_view s) { v.insert(v.end(), s.begin(), s.end()); }
void append(std::vector<uint8_t>& v, const uint8_t* p, std::size_t n) {
  v.insert(v.end(), p, p + n);
}

void set_rcode(uint8_t* msg, uint8_t rcode) { msg[3] = uint8_t((msg[3] & 0xF0) | (rcode & 0x0F)); }
void bump_arcount(uint8_t* msg) {
  const uint16_t ar = uint16_t(get16(msg + 10) + 1);
  msg[10] = uint8_t(ar >> 8);
  msg[11] = uint8_t(ar);
}

uint64_t to_time48(int64_t seconds) { return seconds < 0 ? 0 : uint64_t(seconds) & time_mask; }

/// Skips a possibly compressed name at `pos`; false if it runs past `len` or is malformed.
bool skip_name(const uint8_t* m, std::size_t len, std::size_t& pos) {
  while (pos < len) {
    const uint8_t b = m[pos];
    if (b == 0) { ++pos; return true; }
    if ((b & 0xC0) == 0xC0) {
      if (pos + 2 > len) return false;
      pos += 2;
      return true;
    }
    if (b & 0xC0) return false;              // 0x40/0x80 label types are not defined
    pos += std::size_t(b) + 1;
  }
  return false;
}

/// Reads the name at `pos` (following compression pointers) into lower-cased uncompressed
/// wire form; `pos` moves past the name's bytes in place. Pointers may only go backwards,
/// which bounds the loop.
bool read_name(const uint8_t* m, std::size_t len, std::size_t& pos, std::string& out) {
  out.clear();
  std::size_t p = pos;
  std::optional<std::size_t> end_in_place;
  while (true) {
    if (p >= len) return false;
    const uint8_t b = m[p];
    if (b == 0) {
      out.push_back('\0');
      if (out.size() > max_name_length) return false;
      pos = end_in_place.value_or(p + 1);
      return true;
    }
    if ((b & 0xC0) == 0xC0) {
      if (p + 2 > len) return false;
      const std::size_t target = std::size_t(get16(m + p) & 0x3FFF);
      if (target >= p) return false;          // forward or self pointer: refuse (no loops)
      if (!end_in_place) end_in_place = p + 2;
      p = target;
      continue;
    }
    if (b & 0xC0) return false;
    if (p + 1 + b > len) return false;
    out.push_back(char(b));
    for (std::size_t i = 0; i < b; ++i) out.push_back(char(fold(m[p + 1 + i])));
    if (out.size() + 1 > max_name_length) return false;
    p += std::size_t(b) + 1;
  }
}

std::string to_lower(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = char(std::tolower(uint8_t(c)));
  return r;
}

/// The "TSIG variables" of RFC 8945 §4.3.3, appended to a digest input.
void append_variables(std::vector<uint8_t>& d, std::string_view key_name,
                      std::string_view algorithm, uint64_t time_signed, uint16_t fudge,
                      uint16_t error, const std::vector<uint8_t>& other) {
  append(d, key_name);       // both already lower-cased uncompressed wire form
  put16(d, class_any);
  put16(d, 0);               // TTL, 32 bits of zero
  put16(d, 0);
  append(d, algorithm);
  put48(d, time_signed);
  put16(d, fudge);
  put16(d, error);
  put16(d, uint16_t(other.size()));
  append(d, other.data(), other.size());
}

/// One MAC computation: a duplicate of the key's keyed template, fed in pieces so the
/// message never has to be copied into one digest buffer.
class Mac {
 public:
  explicit Mac(const TsigKeyEntry& key);
  ~Mac() { EVP_MAC_CTX_free(ctx_); }
  Mac(const Mac&) = delete;
  Mac& operator=(const Mac&) = delete;

  void update(const uint8_t* p, std::size_t n) {
    const int ok = EVP_MAC_update(ctx_, p, n);
    assert(ok == 1);
    (void)ok;
  }
  void update(const std::vector<uint8_t>& v) { update(v.data(), v.size()); }
  /// The full MAC; the Mac must not be used afterwards.
  std::vector<uint8_t> final();

 private:
  EVP_MAC_CTX* ctx_;
  std::size_t hash_size_;
};

Mac::Mac(const TsigKeyEntry& key) {
  assert(key.hmac && "TsigKeyEntry made by Keyring::add");
  ctx_ = EVP_MAC_CTX_dup(key.hmac->ctx);
  // Only a failed allocation gets here; the caller cannot answer anything sensible then.
  if (ctx_ == nullptr) throw std::bad_alloc();
  hash_size_ = key.hmac->hash_size;
}

std::vector<uint8_t> Mac::final() {
  std::vector<uint8_t> mac(EVP_MAX_MD_SIZE);
  std::size_t mac_len = 0;
  const int ok = EVP_MAC_final(ctx_, mac.data(), &mac_len, mac.size());
  assert(ok == 1 && mac_len == hash_size_);
  (void)ok;
  mac.resize(mac_len);
  return mac;
}

/// The keyed HMAC for `secret` with `a`'s digest; nullptr if OpenSSL refuses (e.g. a
/// provider without that digest).
std::shared_ptr<const TsigHmacTemplate> make_template(const AlgorithmInfo& a,
                                                      const std::string& secret) {
  auto t = std::make_shared<TsigHmacTemplate>();
  t->hash_size = a.hash_size;
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr);
  if (mac == nullptr) return nullptr;
  t->ctx = EVP_MAC_CTX_new(mac);
  EVP_MAC_free(mac);   // the context holds its own reference
  if (t->ctx == nullptr) return nullptr;
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(a.digest), 0),
      OSSL_PARAM_construct_end()};
  if (EVP_MAC_init(t->ctx, reinterpret_cast<const unsigned char*>(secret.data()), secret.size(),
                   params) != 1 ||
      EVP_MAC_CTX_get_mac_size(t->ctx) != a.hash_size)
    return nullptr;
  return t;
}

/// Appends a TSIG RR (RFC 8945 §4.2) and counts it in ARCOUNT. `msg` has a full header.
void append_tsig(std::vector<uint8_t>& msg, std::string_view key_name, std::string_view algorithm,
                 uint64_t time_signed, uint16_t fudge, const std::vector<uint8_t>& mac,
                 uint16_t error, const std::vector<uint8_t>& other) {
  const uint16_t original_id = get16(msg.data());
  std::vector<uint8_t> rdata;
  append(rdata, algorithm);
  put48(rdata, time_signed);
  put16(rdata, fudge);
  put16(rdata, uint16_t(mac.size()));
  append(rdata, mac.data(), mac.size());
  put16(rdata, original_id);
  put16(rdata, error);
  put16(rdata, uint16_t(other.size()));
  append(rdata, other.data(), other.size());

  append(msg, key_name);
  put16(msg, rr_type_tsig);
  put16(msg, class_any);
  put16(msg, 0);
  put16(msg, 0);
  put16(msg, uint16_t(rdata.size()));
  append(msg, rdata.data(), rdata.size());
  bump_arcount(msg.data());
}

TsigVerdict formerr(std::size_t len) {
  TsigVerdict v;
  v.status = TsigStatus::formerr;
  v.unsigned_length = len;
  return v;
}

}  // namespace

const char* to_string(TsigStatus status) {
  switch (status) {
    case TsigStatus::not_signed: return "unsigned";
    case TsigStatus::ok: return "ok";
    case TsigStatus::badkey: return "BADKEY";
    case TsigStatus::badsig: return "BADSIG";
    case TsigStatus::badtime: return "BADTIME";
    case TsigStatus::formerr: return "FORMERR";
  }
  return "?";
}

bool Keyring::add(std::string_view name, std::string_view algorithm,
                  std::string_view secret_base64) {
  std::string text(name);
  if (text.empty() || text.back() != '.') text += '.';
  const auto wire = name_from_text(text);
  if (!wire || *wire == std::string(1, '\0')) return false;   // the root is no key name
  const std::string key = name_key(*wire);
  if (find(key)) return false;

  std::string alg = to_lower(algorithm);
  if (!alg.empty() && alg.back() == '.') alg.pop_back();
  if (alg == "hmac-md5.sig-alg.reg.int") alg = "hmac-md5";
  const AlgorithmInfo* found = nullptr;
  for (const auto& a : algorithms)
    if (a.config_name == alg) found = &a;
  if (!found) return false;

  std::string secret;
  if (!base64_decode(secret_base64, secret) || secret.empty()) return false;
  auto hmac = make_template(*found, secret);
  if (!hmac) return false;
  keys_.push_back(TsigKeyEntry{key, found->id, std::move(secret), std::move(hmac)});
  return true;
}

const TsigKeyEntry* Keyring::find(std::string_view wire_name) const {
  for (const auto& k : keys_)
    if (name_equal(k.name, wire_name)) return &k;
  return nullptr;
}

namespace {

/// verify_request and verify_reply: the same walk and checks; a reply's digest starts with the
/// request's MAC (RFC 8945 §4.3.1), a request's does not.
TsigVerdict verify_message(const uint8_t* msg, std::size_t len, const Keyring& keys,
                           int64_t now_seconds, const std::vector<uint8_t>* request_mac) {
  if (len < header_size) return formerr(len);
  const std::size_t qdcount = get16(msg + 4);
  const std::size_t rrcount = std::size_t(get16(msg + 6)) + get16(msg + 8) + get16(msg + 10);
  const uint16_t arcount = get16(msg + 10);

  // Walk every section to find TSIG RRs: the only legal one is the last additional RR.
  std::size_t pos = header_size;
  for (std::size_t i = 0; i < qdcount; ++i) {
    if (!skip_name(msg, len, pos) || pos + 4 > len) return formerr(len);
    pos += 4;
  }
  std::optional<std::size_t> tsig_start;
  for (std::size_t i = 0; i < rrcount; ++i) {
    const std::size_t start = pos;
    if (!skip_name(msg, len, pos) || pos + 10 > len) return formerr(len);
    const uint16_t type = get16(msg + pos);
    const std::size_t rdlength = get16(msg + pos + 8);
    pos += 10;
    if (rdlength > len - pos) return formerr(len);
    pos += rdlength;
    if (type == rr_type_tsig) {
      const bool last_additional = arcount > 0 && i + 1 == rrcount;
      if (!last_additional || tsig_start) return formerr(len);   // §5.1 (duplicates included)
      tsig_start = start;
    }
  }
  if (!tsig_start) {
    TsigVerdict v;
    v.unsigned_length = len;
    return v;
  }
  if (pos != len) return formerr(len);   // bytes after the TSIG RR: it is not last

  // Parse the TSIG RR itself (RFC 8945 §4.2). All lengths were bounded by the walk above.
  TsigVerdict v;
  v.unsigned_length = *tsig_start;
  std::size_t p = *tsig_start;
  if (!read_name(msg, len, p, v.key_name)) return formerr(len);
  if (get16(msg + p + 2) != class_any || get32(msg + p + 4) != 0) return formerr(len);
  const std::size_t rdata_end = p + 10 + get16(msg + p + 8);
  p += 10;
  if (!read_name(msg, rdata_end, p, v.algorithm)) return formerr(len);
  if (rdata_end - p < 10) return formerr(len);
  v.time_signed = (uint64_t(get16(msg + p)) << 32) | get32(msg + p + 2);
  v.fudge = get16(msg + p + 6);
  const std::size_t mac_size = get16(msg + p + 8);
  p += 10;
  if (rdata_end - p < mac_size + 6) return formerr(len);
  v.request_mac.assign(msg + p, msg + p + mac_size);
  p += mac_size;
  const uint16_t original_id = get16(msg + p);
  const uint16_t error = get16(msg + p + 2);
  const std::size_t other_len = get16(msg + p + 4);
  p += 6;
  if (rdata_end - p != other_len) return formerr(len);   // rdata must end with Other Data
  const std::vector<uint8_t> other(msg + p, msg + p + other_len);

  // §5.2.1 key check: unknown name, or the packet's algorithm is not the key's.
  const TsigKeyEntry* key = keys.find(v.key_name);
  if (!key || info(key->algorithm).wire_name != v.algorithm) {
    v.status = TsigStatus::badkey;
    return v;
  }

  // A reply saying that the other side could not verify our request carries no MAC (§5.3.2):
  // its error is all there is to report.
  if (request_mac && mac_size == 0 && error != 0) {
    v.status = error == tsig_error_badkey    ? TsigStatus::badkey
               : error == tsig_error_badtime ? TsigStatus::badtime
                                             : TsigStatus::badsig;
    return v;
  }

  // §5.2.2.1 MAC size bounds: never longer than the hash, never shorter than
  // max(10, hash/2) octets.
  const std::size_t hash_size = info(key->algorithm).hash_size;
  if (mac_size > hash_size || mac_size < std::max<std::size_t>(10, hash_size / 2))
    return formerr(len);
  // A reply's MAC is not truncated below our request's (as BIND checks too): a shorter one
  // would be easier to forge than what we sent.
  if (request_mac && mac_size < request_mac->size()) {
    v.status = TsigStatus::badsig;
    return v;
  }

  // §5.2.2 / §4.3.3: the digest covers the message without its TSIG RR, with ARCOUNT one
  // less and the ID replaced by the Original ID, then the TSIG variables.
  // The header is the only part that differs from the received bytes, so only it is
  // copied; the rest is fed to the MAC in place.
  uint8_t header[header_size];
  std::copy(msg, msg + header_size, header);
  header[0] = uint8_t(original_id >> 8);
  header[1] = uint8_t(original_id);
  header[10] = uint8_t((arcount - 1) >> 8);
  header[11] = uint8_t(arcount - 1);
  std::vector<uint8_t> variables;
  append_variables(variables, v.key_name, v.algorithm, v.time_signed, v.fudge, error, other);
  Mac mac(*key);
  if (request_mac) {
    std::vector<uint8_t> prefix;
    put16(prefix, uint16_t(request_mac->size()));
    append(prefix, request_mac->data(), request_mac->size());
    mac.update(prefix);
  }
  mac.update(header, header_size);
  mac.update(msg + header_size, *tsig_start - header_size);
  mac.update(variables);
  const std::vector<uint8_t> expected = mac.final();
  if (CRYPTO_memcmp(expected.data(), v.request_mac.data(), mac_size) != 0) {
    v.status = TsigStatus::badsig;
    return v;
  }

  // §5.2.3 time check, only once the MAC is known to be genuine.
  const int64_t skew = now_seconds - int64_t(v.time_signed);
  v.status = (skew > v.fudge || -skew > v.fudge) ? TsigStatus::badtime : TsigStatus::ok;
  // A genuine reply that reports a TSIG error about our request (BADTIME is signed) is no
  // answer either.
  if (request_mac && v.status == TsigStatus::ok && error != 0)
    v.status = error == tsig_error_badtime  ? TsigStatus::badtime
               : error == tsig_error_badkey ? TsigStatus::badkey
                                            : TsigStatus::badsig;
  return v;
}

}  // namespace

TsigVerdict verify_request(const uint8_t* msg, std::size_t len, const Keyring& keys,
                           int64_t now_seconds) {
  return verify_message(msg, len, keys, now_seconds, nullptr);
}

TsigVerdict verify_reply(const uint8_t* msg, std::size_t len, const Keyring& keys,
                         const std::vector<uint8_t>& request_mac, int64_t now_seconds) {
  return verify_message(msg, len, keys, now_seconds, &request_mac);
}

std::optional<TsigVerdict> verify_reply_to(const std::vector<uint8_t>& request,
                                           const uint8_t* reply, std::size_t len,
                                           const Keyring& keys, int64_t now_seconds) {
  // Our own signature, checked only to read its MAC: its time is ours (a retry is seconds
  // old), so only a request signed with no key of `keys` fails here.
  const TsigVerdict sent = verify_request(request.data(), request.size(), keys, now_seconds);
  if (sent.status != TsigStatus::ok && sent.status != TsigStatus::badtime) return std::nullopt;
  return verify_reply(reply, len, keys, sent.request_mac, now_seconds);
}

bool sign_reply(std::vector<uint8_t>& reply, const TsigVerdict& verdict, const Keyring& keys,
                int64_t now_seconds, std::vector<uint8_t>* mac_out) {
  if (reply.size() < header_size) return false;
  const uint64_t now = to_time48(now_seconds);
  switch (verdict.status) {
    case TsigStatus::not_signed:
      return true;
    case TsigStatus::formerr:
      set_rcode(reply.data(), rcode_formerr);
      return true;
    case TsigStatus::badkey:
    case TsigStatus::badsig:
      // §5.3.2: errors about the key or MAC are answered unsigned (MAC size 0).
      set_rcode(reply.data(), rcode_notauth);
      append_tsig(reply, verdict.key_name, verdict.algorithm, now, tsig_fudge_default, {},
                  verdict.status == TsigStatus::badkey ? tsig_error_badkey : tsig_error_badsig,
                  {});
      return true;
    case TsigStatus::ok:
    case TsigStatus::badtime:
      break;
  }
  const TsigKeyEntry* key = keys.find(verdict.key_name);
  if (!key) return false;

  const bool badtime = verdict.status == TsigStatus::badtime;
  if (badtime) set_rcode(reply.data(), rcode_notauth);
  // §5.3.2: a BADTIME answer keeps the request's Time Signed and carries our clock in Other
  // Data, so the client can both verify it and learn the skew.
  const uint64_t time_signed = badtime ? verdict.time_signed : now;
  std::vector<uint8_t> other;
  if (badtime) put48(other, now);
  const uint16_t error = badtime ? tsig_error_badtime : 0;

  // §4.3.1: request MAC (with its size), the reply, then the TSIG variables.
  std::vector<uint8_t> prefix;
  put16(prefix, uint16_t(verdict.request_mac.size()));
  append(prefix, verdict.request_mac.data(), verdict.request_mac.size());
  std::vector<uint8_t> variables;
  append_variables(variables, verdict.key_name, verdict.algorithm, time_signed,
                   tsig_fudge_default, error, other);
  Mac mac(*key);
  mac.update(prefix);
  mac.update(reply);
  mac.update(variables);
  std::vector<uint8_t> digest = mac.final();
  append_tsig(reply, verdict.key_name, verdict.algorithm, time_signed, tsig_fudge_default,
              digest, error, other);
  if (mac_out) *mac_out = std::move(digest);
  return true;
}

bool sign_next_reply(std::vector<uint8_t>& reply, const TsigVerdict& verdict, const Keyring& keys,
                     const std::vector<uint8_t>& prior_mac, int64_t now_seconds,
                     std::vector<uint8_t>& mac_out) {
  if (reply.size() < header_size || verdict.status != TsigStatus::ok) return false;
  const TsigKeyEntry* key = keys.find(verdict.key_name);
  if (!key) return false;
  const uint64_t now = to_time48(now_seconds);
  // §5.3.1: prior MAC (with its size), this message, then the timers (Time Signed, Fudge).
  std::vector<uint8_t> prefix;
  put16(prefix, uint16_t(prior_mac.size()));
  append(prefix, prior_mac.data(), prior_mac.size());
  std::vector<uint8_t> timers;
  put48(timers, now);
  put16(timers, tsig_fudge_default);
  Mac mac(*key);
  mac.update(prefix);
  mac.update(reply);
  mac.update(timers);
  mac_out = mac.final();
  append_tsig(reply, verdict.key_name, verdict.algorithm, now, tsig_fudge_default, mac_out, 0,
              {});
  return true;
}

std::size_t tsig_reply_size(const TsigVerdict& verdict) {
  // owner, type, class, TTL, RDLENGTH; algorithm, Time Signed, Fudge, MAC size, MAC, Original
  // ID, Error, Other Len, Other Data (6 bytes: BADTIME's clock).
  return verdict.key_name.size() + 10 + verdict.algorithm.size() + 6 + 2 + 2 + EVP_MAX_MD_SIZE +
         2 + 2 + 2 + 6;
}

bool sign_request(std::vector<uint8_t>& msg, std::string_view key_wire_name, const Keyring& keys,
                  int64_t now_seconds, uint16_t fudge, std::size_t mac_size) {
  if (msg.size() < header_size) return false;
  const TsigKeyEntry* key = keys.find(key_wire_name);
  if (!key) return false;
  const AlgorithmInfo& a = info(key->algorithm);
  if (mac_size > a.hash_size) return false;
  const uint64_t now = to_time48(now_seconds);

  std::vector<uint8_t> variables;
  append_variables(variables, key->name, a.wire_name, now, fudge, 0, {});
  Mac computation(*key);
  computation.update(msg);
  computation.update(variables);
  std::vector<uint8_t> mac = computation.final();
  // No lower bound here: tests need too-short MACs to check that verify rejects them.
  if (mac_size != 0) mac.resize(mac_size);
  append_tsig(msg, key->name, a.wire_name, now, fudge, mac, 0, {});
  return true;
}

std::vector<uint8_t> strip_tsig(const uint8_t* msg, std::size_t len, const TsigVerdict& verdict) {
  const std::size_t n = verdict.unsigned_length;
  if (verdict.status != TsigStatus::ok || n < 12 || n > len) return {};
  std::vector<uint8_t> body(msg, msg + n);
  const unsigned arcount = unsigned(body[10]) << 8 | body[11];
  if (arcount == 0) return {};   // the TSIG was counted in ARCOUNT: cannot happen for `ok`
  body[10] = uint8_t((arcount - 1) >> 8);
  body[11] = uint8_t(arcount - 1);
  return body;
}

}  // namespace vrdns::dns
