#include "tests/diff/compare.hpp"

#include <algorithm>
#include <ldns/ldns.h>
#include <sstream>

namespace vrdns::difftest {
namespace {

std::string owned(char* s) {
  std::string r = s ? s : "(null)";
  free(s);
  return r;
}

std::vector<std::string> section(const ldns_rr_list* list) {
  std::vector<std::string> out;
  for (size_t i = 0; i < ldns_rr_list_rr_count(list); ++i) {
    ldns_rr* rr = ldns_rr_clone(ldns_rr_list_rr(list, i));
    ldns_rr2canonical(rr);   // lower-cases the owner and the names inside RDATA
    std::string text = owned(ldns_rr2str(rr));
    ldns_rr_free(rr);
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    for (auto& c : text) if (c == '\t') c = ' ';
    out.push_back(text);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string header_words(const Bytes& query, const uint8_t* r, std::size_t n,
                         unsigned ext_rcode) {
  std::ostringstream h;
  bool id_ok = query.size() < 2 || (n >= 2 && r[0] == query[0] && r[1] == query[1]);
  h << (id_ok ? "id-ok" : "ID-MISMATCH");
  if (n < 4) return h.str() + " short(" + std::to_string(n) + ")";
  unsigned opcode = (r[2] >> 3) & 0xf;
  unsigned rcode = (r[3] & 0xf) | (ext_rcode << 4);
  char* rc = ldns_pkt_rcode2str(ldns_pkt_rcode(rcode & 0xf));
  h << ((r[2] & 0x80) ? " qr" : " QR=0") << " opcode=" << opcode << " rcode="
    << (rcode > 15 ? std::to_string(rcode) : owned(rc));
  if (rcode > 15) free(rc);
  h << " flags:";
  if (r[2] & 0x04) h << " aa";
  if (r[2] & 0x02) h << " tc";
  if (r[2] & 0x01) h << " rd";
  if (r[3] & 0x80) h << " ra";
  return h.str();
}

void diff_list(std::ostringstream& o, const char* name, const std::vector<std::string>& want,
               const std::vector<std::string>& got) {
  if (want == got) return;
  std::vector<std::string> missing, extra;
  std::set_difference(want.begin(), want.end(), got.begin(), got.end(),
                      std::back_inserter(missing));
  std::set_difference(got.begin(), got.end(), want.begin(), want.end(),
                      std::back_inserter(extra));
  o << "    " << name << ":\n";
  for (auto& m : missing) o << "      - " << m << "\n";
  for (auto& e : extra) o << "      + " << e << "\n";
}

}  // namespace

Digest digest(const Bytes& query, const Reply& reply) {
  Digest d;
  if (!reply) return d;
  d.replied = true;
  const Bytes& r = *reply;
  ldns_pkt* p = nullptr;
  if (ldns_wire2pkt(&p, r.data(), r.size()) != LDNS_STATUS_OK) {
    d.header = header_words(query, r.data(), r.size(), 0);
    return d;
  }
  d.parsed = true;
  d.header = header_words(query, r.data(), r.size(), ldns_pkt_edns_extended_rcode(p));
  const ldns_rr_list* q = ldns_pkt_question(p);
  for (size_t i = 0; i < ldns_rr_list_rr_count(q); ++i) {
    const ldns_rr* rr = ldns_rr_list_rr(q, i);
    d.question += (i ? " | " : "") + owned(ldns_rdf2str(ldns_rr_owner(rr))) + " " +
                  owned(ldns_rr_class2str(ldns_rr_get_class(rr))) + " " +
                  owned(ldns_rr_type2str(ldns_rr_get_type(rr)));
  }
  d.answer = section(ldns_pkt_answer(p));
  d.authority = section(ldns_pkt_authority(p));
  d.additional = section(ldns_pkt_additional(p));
  if (ldns_pkt_edns(p)) d.opt = "OPT version " + std::to_string(ldns_pkt_edns_version(p));
  if (ldns_pkt_tsig(p)) d.additional.push_back("(TSIG present)");
  d.counts = {ldns_rr_list_rr_count(q), d.answer.size(), d.authority.size(),
              d.additional.size()};
  ldns_pkt_free(p);
  return d;
}

std::string difference(const Digest& want, const Digest& got, bool shape_only) {
  std::ostringstream o;
  if (want.replied != got.replied) {
    o << "    reply: want " << (want.replied ? "a reply" : "no reply") << ", got "
      << (got.replied ? "a reply" : "no reply") << "\n";
    return o.str();
  }
  if (!want.replied) return "";
  if (want.header != got.header) o << "    header: want " << want.header << "\n"
                                   << "            got  " << got.header << "\n";
  if (want.parsed != got.parsed) {
    o << "    parse: want " << (want.parsed ? "parseable" : "unparseable") << ", got "
      << (got.parsed ? "parseable" : "unparseable") << "\n";
    return o.str();
  }
  if (want.question != got.question)
    o << "    question: want [" << want.question << "] got [" << got.question << "]\n";
  if (want.opt != got.opt)
    o << "    opt: want [" << want.opt << "] got [" << got.opt << "]\n";
  if (shape_only) {
    if (want.counts != got.counts) {
      o << "    section sizes (qd/an/ns/ar): want";
      for (auto c : want.counts) o << " " << c;
      o << ", got";
      for (auto c : got.counts) o << " " << c;
      o << "\n";
    }
    return o.str();
  }
  diff_list(o, "answer", want.answer, got.answer);
  diff_list(o, "authority", want.authority, got.authority);
  diff_list(o, "additional", want.additional, got.additional);
  return o.str();
}

std::string to_text(const Digest& d) {
  if (!d.replied) return "      (no reply)\n";
  std::ostringstream o;
  o << "      " << d.header << (d.parsed ? "" : " (unparseable)") << "\n";
  if (!d.parsed) return o.str();
  o << "      question: " << d.question << (d.opt.empty() ? "" : "  ; " + d.opt) << "\n";
  for (auto& r : d.answer) o << "      AN " << r << "\n";
  for (auto& r : d.authority) o << "      NS " << r << "\n";
  for (auto& r : d.additional) o << "      AR " << r << "\n";
  return o.str();
}

}  // namespace vrdns::difftest
