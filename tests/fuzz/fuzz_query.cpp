// libFuzzer entry point for the query path: any byte string handed to dns::answer() over UDP
// and TCP, without and with DNS cookies (and NSID), must produce either no reply or a
// well-formed reply that fits, and never crash; a reply with a cookie must also give a
// well-formed BADCOOKIE slip (net::badcookie_to_question).
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "dns/cookie.hpp"
#include "dns/query_parser.hpp"
#include "dns/responder.hpp"
#include "dns/zone.hpp"
#include "net/rate_limiter.hpp"

namespace {

const vrdns::dns::ServingState& serving_state() {
  static const auto state = [] {
    auto s = std::make_shared<vrdns::dns::ServingState>();
    auto zones = std::make_shared<vrdns::dns::ZoneSet>();
    zones->zones.push_back(vrdns::dns::load_zone_file(
        VRDNS_SOURCE_DIR "/configs/example.test.zone", "example.test."));
    s->zones = zones;
    s->identity = "fuzz";
    s->version = "vrdns fuzz";
    s->status = "replica=0 view=0 status=normal primary=0 op=0 commit=0";
    return s;
  }();
  return *state;
}

/// The same zones, with an NSID to send.
const vrdns::dns::ServingState& serving_state_with_nsid() {
  static const auto state = [] {
    auto s = std::make_shared<vrdns::dns::ServingState>(serving_state());
    s->options.nsid = "fuzz-nsid";
    return s;
  }();
  return *state;
}

const vrdns::dns::CookieContext& cookie_context() {
  static const vrdns::dns::CookieSecrets secrets{
      vrdns::dns::CookieSecret{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
      std::nullopt};
  static const vrdns::dns::CookieContext context = [] {
    vrdns::dns::CookieContext c;
    c.secrets = &secrets;
    c.client.length = 4;
    c.client.bytes[0] = 192;
    c.client.bytes[3] = 7;
    c.now = 1800000000u;
    return c;
  }();
  return context;
}

uint16_t get16(const uint8_t* p) { return uint16_t((p[0] << 8) | p[1]); }

/// Walks the (possibly compressed) name at msg[pos]; false unless every label is in bounds,
/// every pointer goes strictly backwards (so no loop) and the name is at most 255 bytes.
bool walk_name(const uint8_t* msg, std::size_t length, std::size_t& pos) {
  std::size_t at = pos, total = 0;
  bool jumped = false;
  for (int hops = 0; hops < 128; ++hops) {
    if (at >= length) return false;
    const uint8_t len = msg[at];
    if ((len & 0xC0) == 0xC0) {
      if (at + 2 > length) return false;
      const std::size_t target = std::size_t((len & 0x3F) << 8) | msg[at + 1];
      if (target >= at) return false;
      if (!jumped) pos = at + 2;
      jumped = true;
      at = target;
      continue;
    }
    if (len > 63) return false;
    total += std::size_t(len) + 1;
    if (total > 255) return false;
    if (len == 0) {
      if (!jumped) pos = at + 1;
      return true;
    }
    at += std::size_t(len) + 1;
  }
  return false;
}

/// The reply is a complete DNS message: every section the header counts is present and
/// well formed, and nothing follows the last record.
bool well_formed(const uint8_t* msg, std::size_t length) {
  std::size_t pos = vrdns::dns::header_size;
  for (unsigned i = 0; i < get16(msg + 4); ++i) {
    if (!walk_name(msg, length, pos) || length - pos < 4) return false;
    pos += 4;
  }
  const unsigned rrs = unsigned(get16(msg + 6)) + get16(msg + 8) + get16(msg + 10);
  for (unsigned i = 0; i < rrs; ++i) {
    if (!walk_name(msg, length, pos) || length - pos < 10) return false;
    const std::size_t rdlength = get16(msg + pos + 8);
    pos += 10;
    if (length - pos < rdlength) return false;
    pos += rdlength;
  }
  return pos == length;
}

void check_reply(const uint8_t* query, size_t size, vrdns::dns::Transport transport,
                 const vrdns::dns::AnswerResult& r, const uint8_t* out, size_t capacity) {
  if (r.what == vrdns::dns::Disposition::drop) return;
  // A reply always carries at least a header that echoes the query's id with QR set.
  if (r.length < vrdns::dns::header_size || r.length > capacity) std::abort();
  if (size >= 2 && std::memcmp(out, query, 2) != 0) std::abort();
  if ((out[2] & 0x80) == 0) std::abort();
  if (!well_formed(out, r.length)) std::abort();
  // UDP: 512 bytes without EDNS0, else the advertised size capped at our 1232 (RFC 6891).
  if (transport == vrdns::dns::Transport::udp) {
    vrdns::dns::ParsedQuery q;
    if (!vrdns::dns::parse_query(query, size, q)) std::abort();   // answered, so parsable
    std::size_t limit = 512;
    if (q.edns) limit = std::max<std::size_t>(512, std::min<std::size_t>(q.edns_udp_size, 1232));
    if (r.length > limit) std::abort();
  }
}

/// A reply with a cookie: its COOKIE option is where cookie_at says, and its BADCOOKIE slip
/// is a well-formed message.
void check_cookie(const vrdns::dns::AnswerResult& r, uint8_t* out) {
  if (r.what == vrdns::dns::Disposition::drop || r.cookie_at == 0) return;
  if (r.cookie_at < 4 || r.cookie_at + vrdns::dns::reply_cookie_size > r.length) std::abort();
  if (get16(out + r.cookie_at - 4) != vrdns::dns::edns_option_cookie ||
      get16(out + r.cookie_at - 2) != vrdns::dns::reply_cookie_size)
    std::abort();
  const std::size_t n = vrdns::net::badcookie_to_question(out, r.length, r.opt_at, r.cookie_at);
  if (n == 0) return;   // no question to keep
  if (n > r.length || !well_formed(out, n)) std::abort();
  if ((out[3] & 0x0F) != (vrdns::dns::rcode::BADCOOKIE & 0x0F)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::vector<uint8_t> out(vrdns::dns::max_message_size);
  for (auto transport : {vrdns::dns::Transport::udp, vrdns::dns::Transport::tcp}) {
    auto r = vrdns::dns::answer(serving_state(), data, size, transport, out.data(), out.size());
    check_reply(data, size, transport, r, out.data(), out.size());
    r = vrdns::dns::answer(serving_state_with_nsid(), data, size, transport, out.data(),
                           out.size(), 0, &cookie_context());
    check_reply(data, size, transport, r, out.data(), out.size());
    check_cookie(r, out.data());
  }
  return 0;
}
