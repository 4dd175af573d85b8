// Records: canonical RDATA (RFC 4034 §6.2 / RFC 6840 §5.1) and conversion to/from ldns.
#include "dns/record.hpp"

#include <cstdio>
#include <cstdlib>

#include "dns/name.hpp"

// ldns comes last: its common.h #defines bool/true/false, which breaks <optional>'s
// operator<=> (C++20) when a standard header is included after it.
#include <ldns/ldns.h>

namespace vrdns::dns {

namespace {

// Where the embedded domain names sit in the RDATA of the RFC 4034 §6.2 types. A layout is a
// sequence of steps applied from the start of the RDATA; names after the last step's fields
// are not folded (the rest of the RDATA is opaque bytes).
enum class Step : uint8_t { name, skip2, skip6, skip18, charstr, a6_prefix, end };

struct Layout {
  Step steps[6];
};

const Layout* layout_for(uint16_t type) {
  static constexpr Layout one_name{{Step::name, Step::end}};
  static constexpr Layout two_names{{Step::name, Step::name, Step::end}};
  static constexpr Layout pref_name{{Step::skip2, Step::name, Step::end}};
  static constexpr Layout pref_two_names{{Step::skip2, Step::name, Step::name, Step::end}};
  static constexpr Layout srv{{Step::skip6, Step::name, Step::end}};
  static constexpr Layout sig{{Step::skip18, Step::name, Step::end}};
  static constexpr Layout naptr{{Step::skip2, Step::skip2, Step::charstr, Step::charstr,
                                 Step::charstr, Step::name}};
  static constexpr Layout a6{{Step::a6_prefix, Step::end}};
  switch (type) {
    case 2: case 3: case 4: case 5: case 7: case 8: case 9: case 12:   // NS MD MF CNAME MB MG MR PTR
    case 39:                                                           // DNAME
    case 30: case 47:                                                  // NXT NSEC (name, then bitmap)
      return &one_name;
    case 6:                                                            // SOA (then 20 fixed bytes)
    case 14: case 17:                                                  // MINFO RP
      return &two_names;
    case 15: case 18: case 21: case 36:                                // MX AFSDB RT KX
      return &pref_name;
    case 26:                                                           // PX
      return &pref_two_names;
    case 33:                                                           // SRV
      return &srv;
    case 24: case 46:                                                  // SIG RRSIG
      return &sig;
    case 35:                                                           // NAPTR
      return &naptr;
    case 38:                                                           // A6
      return &a6;
    default:
      return nullptr;
  }
}

// Folds the embedded names of `out` in place. Malformed RDATA is left as it is from the
// first field that does not fit: canonical form of garbage is the garbage itself.
void fold_embedded_names(const Layout& layout, std::string& out) {
  auto* p = reinterpret_cast<uint8_t*>(out.data());
  const std::size_t n = out.size();
  std::size_t off = 0;
  for (Step step : layout.steps) {
    switch (step) {
      case Step::end:
        return;
      case Step::skip2: off += 2; break;
      case Step::skip6: off += 6; break;
      case Step::skip18: off += 18; break;
      case Step::charstr:
        if (off >= n) return;
        off += 1 + std::size_t(p[off]);
        break;
      case Step::a6_prefix: {
        // A6 (RFC 2874): prefix length, address suffix of ceil((128-len)/8) bytes, then the
        // prefix name only when len > 0.
        if (off >= n) return;
        const unsigned plen = p[off];
        if (plen == 0 || plen > 128) return;
        off += 1 + (128 - plen + 7) / 8;
        if (off > n) return;
        const std::size_t len = name_wire_length(p + off, n - off);
        if (len == 0) return;
        name_fold(p + off, len, p + off);
        return;
      }
      case Step::name: {
        if (off > n) return;
        const std::size_t len = name_wire_length(p + off, n - off);
        if (len == 0) return;
        name_fold(p + off, len, p + off);
        off += len;
        break;
      }
    }
  }
}

}  // namespace

std::string rdata_canonical(uint16_t type, std::string_view rdata) {
  std::string out(rdata);
  if (const Layout* l = layout_for(type)) fold_embedded_names(*l, out);
  return out;
}

bool rdata_equal(uint16_t type, std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;   // folding never changes the length
  if (a == b) return true;
  if (!layout_for(type)) return false;
  return rdata_canonical(type, a) == rdata_canonical(type, b);
}

Record record_from_ldns(const ldns_struct_rr* rr_const) {
  // ldns' accessors take non-const pointers but do not modify.
  auto* rr = const_cast<ldns_rr*>(rr_const);
  Record r;
  if (const ldns_rdf* owner = ldns_rr_owner(rr)) {
    r.owner.assign(reinterpret_cast<const char*>(ldns_rdf_data(owner)), ldns_rdf_size(owner));
  } else {
    r.owner.assign(1, '\0');
  }
  r.type = uint16_t(ldns_rr_get_type(rr));
  r.rclass = uint16_t(ldns_rr_get_class(rr));
  r.ttl = ldns_rr_ttl(rr);
  // Every ldns_rdf keeps its wire form in ldns_rdf_data (also STR, which already carries its
  // length byte, and DNAME, which is uncompressed); ldns' own rr2wire just concatenates them.
  for (std::size_t i = 0; i < ldns_rr_rd_count(rr); ++i) {
    const ldns_rdf* f = ldns_rr_rdf(rr, i);
    if (f == nullptr) continue;
    r.rdata.append(reinterpret_cast<const char*>(ldns_rdf_data(f)), ldns_rdf_size(f));
  }
  return r;
}

ldns_struct_rr* record_to_ldns(const Record& r) {
  if (r.rdata.size() > 0xFFFF) return nullptr;
  if (name_wire_length(reinterpret_cast<const uint8_t*>(r.owner.data()), r.owner.size()) !=
      r.owner.size())
    return nullptr;
  // Synthesize one uncompressed RR and let ldns parse it with its per-type descriptors.
  std::string wire = r.owner;
  auto put16 = [&](uint16_t v) {
    wire += char(v >> 8);
    wire += char(v & 0xFF);
  };
  put16(r.type);
  put16(r.rclass);
  put16(uint16_t(r.ttl >> 16));
  put16(uint16_t(r.ttl & 0xFFFF));
  put16(uint16_t(r.rdata.size()));
  wire += r.rdata;
  ldns_rr* rr = nullptr;
  std::size_t pos = 0;
  const ldns_status s = ldns_wire2rr(&rr, reinterpret_cast<const uint8_t*>(wire.data()),
                                     wire.size(), &pos, LDNS_SECTION_ANSWER);
  if (s != LDNS_STATUS_OK || pos != wire.size()) {
    if (rr) ldns_rr_free(rr);
    return nullptr;
  }
  return rr;
}

std::string record_to_text(const Record& r) {
  if (ldns_rr* rr = record_to_ldns(r)) {
    char* s = ldns_rr2str(rr);
    ldns_rr_free(rr);
    if (s) {
      std::string out(s);
      std::free(s);
      while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
      // ldns separates fields with tabs; inside RDATA, tabs would be printed as \009, so
      // every raw tab is a field separator.
      for (char& c : out)
        if (c == '\t') c = ' ';
      return out;
    }
  }
  // ldns could not parse the RDATA: RFC 3597 generic form.
  std::string out = name_to_text(r.owner) + " " + std::to_string(r.ttl) + " CLASS" +
                    std::to_string(r.rclass) + " TYPE" + std::to_string(r.type) + " \\# " +
                    std::to_string(r.rdata.size());
  if (!r.rdata.empty()) out += ' ';
  for (unsigned char c : r.rdata) {
    char buf[3];
    std::snprintf(buf, sizeof buf, "%02X", unsigned(c));
    out += buf;
  }
  return out;
}

}  // namespace vrdns::dns
