// Writing canonical master files (dns/master_file.hpp): the one line of each record.
#include <arpa/inet.h>

#include <charconv>
#include <cstdlib>
#include <optional>
#include <string>

#include "dns/hex.hpp"
#include "dns/master_file.hpp"
#include "dns/name.hpp"

// ldns last: its common.h #defines bool/true/false (see docs/pitfalls.md).
#include <ldns/ldns.h>

namespace vrdns::dns {

namespace {

void append_number(std::string& out, uint64_t v) {
  char buf[24];
  const auto res = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, res.ptr);
}

/// Reads the fields of one RDATA in order; each call appends the field's presentation to
/// `out` (after a space unless it is the first) or returns false if the bytes do not hold it.
class RdataFields {
 public:
  RdataFields(std::string_view rdata, std::string& out)
      : p_(reinterpret_cast<const uint8_t*>(rdata.data())), n_(rdata.size()), out_(out) {}

  bool name() {
    const std::size_t len = name_wire_length(p_ + off_, n_ - off_);
    if (len == 0) return false;
    // ldns reads an RDATA name whose first label is "@" as the origin, however escaped
    // ("\@.x." and "\064.x." both become "."): only the generic form can carry it.
    if (len >= 2 && p_[off_] == 1 && p_[off_ + 1] == '@') return false;
    separate();
    out_ += name_to_text(std::string_view(reinterpret_cast<const char*>(p_ + off_), len));
    off_ += len;
    return true;
  }
  bool u16() {
    if (n_ - off_ < 2) return false;
    separate();
    append_number(out_, uint64_t(p_[off_]) << 8 | p_[off_ + 1]);
    off_ += 2;
    return true;
  }
  bool u32() {
    if (n_ - off_ < 4) return false;
    separate();
    append_number(out_, uint64_t(p_[off_]) << 24 | uint64_t(p_[off_ + 1]) << 16 |
                            uint64_t(p_[off_ + 2]) << 8 | p_[off_ + 3]);
    off_ += 4;
    return true;
  }
  /// A <character-string> in quotes: printable ASCII as is, except '"' and '\' escaped with
  /// a backslash; every other byte as \DDD (never a raw tab: ldns drops it).
  bool char_string() {
    if (off_ >= n_ || n_ - off_ - 1 < p_[off_]) return false;
    separate();
    const std::size_t len = p_[off_++];
    out_ += '"';
    for (std::size_t i = 0; i < len; ++i) {
      const uint8_t c = p_[off_ + i];
      if (c == '"' || c == '\\') {
        out_ += '\\';
        out_ += char(c);
      } else if (c < 0x20 || c >= 0x7F) {
        const char esc[4] = {'\\', char('0' + c / 100), char('0' + c / 10 % 10),
                             char('0' + c % 10)};
        out_.append(esc, 4);
      } else {
        out_ += char(c);
      }
    }
    out_ += '"';
    off_ += len;
    return true;
  }
  bool done() const { return off_ == n_; }

 private:
  void separate() {
    if (any_) out_ += ' ';
    any_ = true;
  }

  const uint8_t* p_;
  std::size_t n_;
  std::size_t off_ = 0;
  std::string& out_;
  bool any_ = false;
};

/// Candidate 1: our presentation of the common types. Appends "<TYPE> <rdata>" and returns
/// true, or returns false (appending garbage the caller discards) if the RDATA does not
/// consist of exactly the type's fields.
bool append_native(uint16_t type, std::string_view rdata, std::string& out) {
  const auto* p = reinterpret_cast<const uint8_t*>(rdata.data());
  switch (type) {
    case rrtype::A: {
      if (rdata.size() != 4) return false;
      out += "A ";
      for (int i = 0; i < 4; ++i) {
        if (i > 0) out += '.';
        append_number(out, p[i]);
      }
      return true;
    }
    case rrtype::AAAA: {
      if (rdata.size() != 16) return false;
      char buf[INET6_ADDRSTRLEN];
      if (inet_ntop(AF_INET6, p, buf, sizeof buf) == nullptr) return false;
      out += "AAAA ";
      out += buf;
      return true;
    }
    case rrtype::NS: case rrtype::CNAME: case rrtype::PTR: case rrtype::DNAME: {
      out += type == rrtype::NS      ? "NS "
             : type == rrtype::CNAME ? "CNAME "
             : type == rrtype::PTR   ? "PTR "
                                       : "DNAME ";
      RdataFields f(rdata, out);
      return f.name() && f.done();
    }
    case rrtype::MX: {
      out += "MX ";
      RdataFields f(rdata, out);
      return f.u16() && f.name() && f.done();
    }
    case rrtype::SRV: {
      out += "SRV ";
      RdataFields f(rdata, out);
      return f.u16() && f.u16() && f.u16() && f.name() && f.done();
    }
    case rrtype::SOA: {
      out += "SOA ";
      RdataFields f(rdata, out);
      return f.name() && f.name() && f.u32() && f.u32() && f.u32() && f.u32() && f.u32() &&
             f.done();
    }
    case rrtype::TXT: {
      out += "TXT ";
      RdataFields f(rdata, out);
      if (rdata.empty()) return false;   // no string at all: generic form
      while (!f.done())
        if (!f.char_string()) return false;
      return true;
    }
    default:
      return false;
  }
}

bool is_generic_mnemonic(std::string_view m) { return m.starts_with("TYPE"); }

/// Types whose ldns presentation depends on the machine, which the same state on every
/// replica must not: WKS names its ports and protocol from /etc/services and /etc/protocols
/// (getservbyport for every bit, which is also slow).
bool ldns_text_is_portable(uint16_t type) { return type != 11; }   // WKS

/// ldns 1.8.3 leaks the field it parsed when it refuses a CERT whose certificate type is 0
/// (ldns_str2rdf_cert_alg returns CERT_BAD_ALGORITHM and nobody frees the rdf): such a record
/// would leak at every checkpoint, so it never goes to ldns (found by fuzz_update's
/// LeakSanitizer). It is written in RFC 3597 form, as ldns would refuse it anyway.
bool ldns_may_parse(uint16_t type, std::string_view rdata) {
  constexpr uint16_t cert = 37;
  return type != cert || (rdata.size() >= 2 && (rdata[0] != 0 || rdata[1] != 0));
}

/// True if ldns reads `tail` ("<TYPE> <RDATA>") as exactly `r`'s type and RDATA. The owner is
/// not ldns's to read (the reader parses it itself: ldns refuses owner text over 255
/// characters, which a valid name with escapes can need), so ldns sees a placeholder.
bool ldns_reads_back(const std::string& tail, const Record& r) {
  const std::string line = ". " + std::to_string(r.ttl) + " IN " + tail;
  ldns_rr* rr = nullptr;
  if (ldns_rr_new_frm_str(&rr, line.c_str(), 0, nullptr, nullptr) != LDNS_STATUS_OK) {
    if (rr) ldns_rr_free(rr);
    return false;
  }
  const Record back = record_from_ldns(rr);
  ldns_rr_free(rr);
  return back.type == r.type && back.rclass == rrclass::IN && back.ttl == r.ttl &&
         back.rdata == r.rdata;
}

/// Candidate 2: "<TYPE> <ldns presentation of the RDATA>", if ldns reads it back unchanged.
std::optional<std::string> ldns_line(const Record& r, const std::string& prefix,
                                     const std::string& mnemonic) {
  Record probe = r;
  probe.rclass = rrclass::IN;
  ldns_rr* rr = record_to_ldns(probe);
  if (rr == nullptr) return std::nullopt;
  std::string rdata_text;
  for (std::size_t i = 0; i < ldns_rr_rd_count(rr); ++i) {
    char* s = ldns_rdf2str(ldns_rr_rdf(rr, i));
    if (s == nullptr) {
      ldns_rr_free(rr);
      return std::nullopt;
    }
    if (i > 0) rdata_text += ' ';
    rdata_text += s;
    std::free(s);
  }
  ldns_rr_free(rr);
  while (!rdata_text.empty() && rdata_text.back() == ' ') rdata_text.pop_back();
  if (rdata_text.empty()) return std::nullopt;
  for (char c : rdata_text)   // one record, one line: no tabs, newlines or other controls
    if (uint8_t(c) < 0x20 || uint8_t(c) == 0x7F) return std::nullopt;
  std::string tail = mnemonic + ' ' + rdata_text;
  if (!ldns_reads_back(tail, r)) return std::nullopt;
  return prefix + tail;
}

/// Candidate 3: RFC 3597 §5, "TYPE<n> \# <length> <hex>".
void append_generic(const Record& r, std::string& out) {
  out += "TYPE";
  append_number(out, r.type);
  out += " \\# ";
  append_number(out, r.rdata.size());
  if (!r.rdata.empty()) out += ' ';
  append_hex(out, r.rdata);
}

}  // namespace

std::string type_mnemonic(uint16_t type) {
  char* s = ldns_rr_type2str(ldns_rr_type(type));
  std::string out = s ? s : "TYPE" + std::to_string(type);
  std::free(s);
  return out;
}

/// "<owner> <ttl> IN ": how every line starts.
void append_line_start(std::string& out, std::string_view owner_text, uint32_t ttl) {
  out += owner_text;
  out += ' ';
  append_number(out, ttl);
  out += " IN ";
}

std::string master_line(const Record& r) {
  std::string line;
  append_line_start(line, name_to_text(r.owner), r.ttl);
  const std::size_t prefix_size = line.size();
  if (append_native(r.type, r.rdata, line)) return line;
  line.resize(prefix_size);
  const std::string mnemonic = type_mnemonic(r.type);
  if (!is_generic_mnemonic(mnemonic) && ldns_text_is_portable(r.type) &&
      ldns_may_parse(r.type, r.rdata))
    if (auto text = ldns_line(r, line, mnemonic)) return std::move(*text);
  append_generic(r, line);
  return line;
}

std::string write_master_file(const Zone& z) {
  std::string out = "$ORIGIN " + name_to_text(z.apex()) + "\n";
  out.reserve(z.record_count() * 48);
  // The lines of master_line, written in place: a checkpoint writes the whole zone, so the
  // owner's text is made once per name and no Record is copied on the common path.
  const Node* owner_of_text = nullptr;
  std::string owner_text;
  z.for_each_record_canonical([&](const Node& n, const RRset& rs, std::string_view rdata) {
    if (&n != owner_of_text) {
      owner_text = name_to_text(n.owner);
      owner_of_text = &n;
    }
    const std::size_t start = out.size();
    append_line_start(out, owner_text, rs.ttl);
    if (!append_native(rs.type, rdata, out)) {   // the rare types: the careful general path
      out.resize(start);
      out += master_line(Record{n.owner, rs.type, rrclass::IN, rs.ttl, std::string(rdata)});
    }
    out += '\n';
  });
  out += "; end of zone, ";
  append_number(out, z.record_count());
  out += " records\n";
  return out;
}

}  // namespace vrdns::dns
