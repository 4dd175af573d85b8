// Reading canonical master files (dns/master_file.hpp).
//
// The fast path parses each line itself and accepts it only if master_line() of the result
// gives back the very same line. So it accepts exactly the lines the writer can produce: the
// owner and TTL parsed here, the type and RDATA ones ldns reads to the same record (the writer
// checks candidates 2 and 3 against ldns; unit tests check candidate 1). It never accepts
// RDATA text ldns would reject, and a 1M-record zone loads without building a single ldns_rr
// for the common types. Owners never go through ldns (see ldns_parse).
#include <arpa/inet.h>

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dns/hex.hpp"
#include "dns/master_file.hpp"
#include "dns/name.hpp"
#include "dns/zone_builder.hpp"

// ldns last: its common.h #defines bool/true/false (see docs/pitfalls.md).
#include <ldns/ldns.h>

namespace vrdns::dns {

namespace {

constexpr std::string_view origin_directive = "$ORIGIN ";
constexpr std::string_view end_line_prefix = "; end of zone, ";
constexpr std::string_view end_line_suffix = " records";

/// Decimal digits only, no sign, at most `max`. Leading zeros are let through: the
/// canonical check (master_line) rejects them.
template <class T>
std::optional<T> parse_number(std::string_view s, uint64_t max) {
  uint64_t v = 0;
  if (s.empty() || s.size() > 20) return std::nullopt;
  const auto res = std::from_chars(s.data(), s.data() + s.size(), v);
  if (res.ec != std::errc() || res.ptr != s.data() + s.size() || v > max) return std::nullopt;
  return T(v);
}

/// Splits off the text up to the next space (or the end).
std::string_view next_field(std::string_view& rest) {
  const std::size_t sp = rest.find(' ');
  const std::string_view field = rest.substr(0, sp);
  rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
  return field;
}

/// Parses the space-separated RDATA fields of the native types (see master_file_writer.cpp)
/// into wire form.
class RdataText {
 public:
  explicit RdataText(std::string_view text) : rest_(text) {}

  bool name() {
    const std::string_view f = next_field(rest_);
    if (f.empty() || f.back() != '.') return false;   // canonical names are absolute
    const auto wire = name_from_text(f);
    if (!wire) return false;
    out_ += *wire;
    return true;
  }
  bool u16() {
    const auto v = parse_number<uint16_t>(next_field(rest_), 0xFFFF);
    if (!v) return false;
    out_ += char(*v >> 8);
    out_ += char(*v & 0xFF);
    return true;
  }
  bool u32() {
    const auto v = parse_number<uint32_t>(next_field(rest_), 0xFFFFFFFFu);
    if (!v) return false;
    for (int shift = 24; shift >= 0; shift -= 8) out_ += char((*v >> shift) & 0xFF);
    return true;
  }
  bool address(int family, std::size_t size) {
    const std::string f(next_field(rest_));   // inet_pton wants a C string
    unsigned char buf[16];
    if (inet_pton(family, f.c_str(), buf) != 1) return false;
    out_.append(reinterpret_cast<const char*>(buf), size);
    return true;
  }
  /// One quoted <character-string> with \X and \DDD escapes (spaces inside quotes are
  /// part of the string, so this does not use next_field).
  bool char_string() {
    if (rest_.empty() || rest_[0] != '"') return false;
    std::string s;
    std::size_t i = 1;
    for (;; ++i) {
      if (i >= rest_.size()) return false;
      const char c = rest_[i];
      if (c == '"') break;
      if (c != '\\') {
        s += c;
        continue;
      }
      if (i + 1 >= rest_.size()) return false;
      if (rest_[i + 1] >= '0' && rest_[i + 1] <= '9') {
        const auto v = parse_number<uint8_t>(rest_.substr(i + 1, 3), 255);
        if (!v || i + 3 >= rest_.size()) return false;
        s += char(*v);
        i += 3;
      } else {
        s += rest_[++i];
      }
    }
    if (s.size() > 255) return false;
    out_ += char(s.size());
    out_ += s;
    rest_.remove_prefix(i + 1);
    if (!rest_.empty()) {
      if (rest_[0] != ' ') return false;
      rest_.remove_prefix(1);
    }
    return true;
  }
  bool done() const { return rest_.empty(); }
  std::string take() { return std::move(out_); }

 private:
  std::string_view rest_;
  std::string out_;
};

/// RDATA of the types master_line writes itself; nullopt if `text` does not parse.
std::optional<std::string> parse_native_rdata(uint16_t type, std::string_view text) {
  RdataText t(text);
  bool ok = false;
  switch (type) {
    case rrtype::A: ok = t.address(AF_INET, 4); break;
    case rrtype::AAAA: ok = t.address(AF_INET6, 16); break;
    case rrtype::NS: case rrtype::CNAME: case rrtype::PTR: case rrtype::DNAME: ok = t.name(); break;
    case rrtype::MX: ok = t.u16() && t.name(); break;
    case rrtype::SRV: ok = t.u16() && t.u16() && t.u16() && t.name(); break;
    case rrtype::SOA:
      ok = t.name() && t.name() && t.u32() && t.u32() && t.u32() && t.u32() && t.u32();
      break;
    case rrtype::TXT:
      ok = t.char_string();
      while (ok && !t.done()) ok = t.char_string();
      break;
    default: return std::nullopt;
  }
  if (!ok || !t.done()) return std::nullopt;
  return t.take();
}

std::optional<uint16_t> native_type(std::string_view mnemonic) {
  static constexpr std::pair<std::string_view, uint16_t> types[] = {
      {"A", rrtype::A},     {"AAAA", rrtype::AAAA}, {"NS", rrtype::NS},   {"CNAME", rrtype::CNAME},
      {"PTR", rrtype::PTR}, {"DNAME", rrtype::DNAME}, {"MX", rrtype::MX}, {"SRV", rrtype::SRV},
      {"SOA", rrtype::SOA}, {"TXT", rrtype::TXT}};
  for (const auto& [m, t] : types)
    if (m == mnemonic) return t;
  return std::nullopt;
}

/// RFC 3597 "\# <length> <hex>" (one hex run, as the writer puts it).
std::optional<std::string> parse_generic_rdata(std::string_view text) {
  if (next_field(text) != "\\#") return std::nullopt;
  const auto len = parse_number<std::size_t>(next_field(text), 0xFFFF);
  if (!len || text.size() != 2 * *len) return std::nullopt;
  return hex_decode(text);
}

/// What ldns makes of a line's "<TYPE> <RDATA>" (`tail`, absolute names only: no origin)
/// under the owner and TTL we parsed; nullopt if it rejects it. ldns never sees the owner: it
/// reads an owner into a 255-character buffer, so a valid name whose escapes make its text
/// longer (up to 4 characters per byte) would fail, and a checkpoint holding one would not
/// load (session 18's UPDATE fuzzer found this).
std::optional<Record> ldns_parse(std::string owner, uint32_t ttl, std::string_view tail) {
  const std::string text = ". " + std::to_string(ttl) + " IN " + std::string(tail);
  ldns_rr* rr = nullptr;
  if (ldns_rr_new_frm_str(&rr, text.c_str(), 0, nullptr, nullptr) != LDNS_STATUS_OK) {
    if (rr) ldns_rr_free(rr);
    return std::nullopt;
  }
  Record r = record_from_ldns(rr);
  ldns_rr_free(rr);
  r.owner = std::move(owner);
  return r;
}

/// The record `line` describes, before the canonical check.
std::optional<Record> parse_line(std::string_view line) {
  std::string_view rest = line;
  const std::string_view owner_text = next_field(rest);
  const std::string_view ttl_text = next_field(rest);
  const std::string_view class_text = next_field(rest);
  const std::string_view type_text = next_field(rest);
  if (class_text != "IN" || owner_text.empty() || owner_text.back() != '.') return std::nullopt;
  Record r;
  auto owner = name_from_text(owner_text);
  const auto ttl = parse_number<uint32_t>(ttl_text, 0xFFFFFFFFu);
  if (!owner || !ttl) return std::nullopt;
  r.ttl = *ttl;
  const std::string_view tail = line.substr(std::size_t(type_text.data() - line.data()));

  if (const auto type = native_type(type_text)) {
    if (auto rdata = parse_native_rdata(*type, rest)) {
      r.owner = std::move(*owner);
      r.type = *type;
      r.rdata = std::move(*rdata);
      return r;
    }
  } else if (type_text.starts_with("TYPE")) {
    // Generic form: ldns must accept the line, but the bytes are the ones written (for a few
    // known types ldns drops trailing RDATA bytes it has no field for).
    const auto type = parse_number<uint16_t>(type_text.substr(4), 0xFFFF);
    auto rdata = parse_generic_rdata(rest);
    if (!type || !rdata || !ldns_parse(std::string(), *ttl, tail)) return std::nullopt;
    r.owner = std::move(*owner);
    r.type = *type;
    r.rdata = std::move(*rdata);
    return r;
  }
  return ldns_parse(std::move(*owner), *ttl, tail);
}

struct Lines {
  std::string_view first, body, last;   // body: the lines in between, each ending in '\n'
};

/// Splits off the $ORIGIN line and the end line; nullopt if either is missing.
std::optional<Lines> split(std::string_view text) {
  if (text.empty() || text.back() != '\n') return std::nullopt;
  const std::size_t first_end = text.find('\n');
  const std::size_t last_start = text.rfind('\n', text.size() - 2);
  if (last_start == std::string_view::npos || last_start < first_end) return std::nullopt;
  Lines l;
  l.first = text.substr(0, first_end);
  l.body = text.substr(first_end + 1, last_start - first_end);
  l.last = text.substr(last_start + 1, text.size() - last_start - 2);
  return l;
}

}  // namespace

std::optional<Record> parse_master_line(std::string_view line) {
  std::optional<Record> r = parse_line(line);
  if (!r || r->rclass != rrclass::IN ||
      name_wire_length(reinterpret_cast<const uint8_t*>(r->owner.data()), r->owner.size()) !=
          r->owner.size() ||
      r->rdata.size() > 0xFFFF || master_line(*r) != line)
    return std::nullopt;
  return r;
}

ZonePtr read_master_file(std::string_view text, const std::string& label) {
  const auto lines = split(text);
  if (!lines) throw_zone_error(label, 0, "no $ORIGIN line or no end line (truncated?)");
  if (!lines->first.starts_with(origin_directive))
    throw_zone_error(label, 1, "the first line must be $ORIGIN <apex>");
  const std::string_view origin_text = lines->first.substr(origin_directive.size());
  const auto apex = name_from_text(origin_text);
  if (origin_text.empty() || origin_text.back() != '.' || !apex)
    throw_zone_error(label, 1, "invalid $ORIGIN");
  std::string_view count_text = lines->last;
  if (!count_text.starts_with(end_line_prefix) || !count_text.ends_with(end_line_suffix))
    throw_zone_error(label, 0, "no end line (truncated?)");
  count_text.remove_prefix(end_line_prefix.size());
  count_text.remove_suffix(end_line_suffix.size());
  const auto count = parse_number<uint64_t>(count_text, UINT64_MAX);
  if (!count) throw_zone_error(label, 0, "invalid record count in the end line");

  ZonePtr zone;
  {
    ZoneBuilder builder(*apex, label);
    std::string_view body = lines->body;
    int line_number = 1;
    bool canonical = true;
    while (!body.empty()) {
      ++line_number;
      const std::size_t nl = body.find('\n');   // body ends in '\n': always found
      auto r = parse_master_line(body.substr(0, nl));
      body.remove_prefix(nl + 1);
      if (!r) {
        canonical = false;
        break;
      }
      builder.add(std::move(*r), line_number);
    }
    if (canonical) zone = builder.finish();
  }
  // Edited by hand: the general loader (comments, $TTL, relative names, parentheses, ...).
  if (!zone) zone = load_zone_text(text, origin_text, label);
  if (zone->record_count() != *count)
    throw_zone_error(label, 0, "the end line says " + std::to_string(*count) +
                                   " records, the zone has " +
                                   std::to_string(zone->record_count()));
  return zone;
}

}  // namespace vrdns::dns
