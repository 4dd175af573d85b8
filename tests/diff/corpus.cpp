#include "tests/diff/corpus.hpp"

#include <fstream>
#include <ldns/ldns.h>
#include <sstream>
#include <stdexcept>

namespace vrdns::difftest {
namespace {

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return {};
  auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

// Lines without comments and blanks, with their line numbers. The key of a case is the
// line itself with runs of blanks collapsed, so allow.txt can quote it verbatim.
std::vector<std::pair<int, std::string>> read_lines(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open");
  std::vector<std::pair<int, std::string>> out;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    auto hash = line.find('#');
    std::string body = trim(hash == std::string::npos ? line : line.substr(0, hash));
    if (body.empty()) continue;
    std::istringstream ws(body);
    std::string tok, norm;
    while (ws >> tok) norm += (norm.empty() ? "" : " ") + tok;
    out.emplace_back(n, norm);
  }
  return out;
}

[[noreturn]] void bad(const std::string& origin, const std::string& what) {
  throw std::runtime_error(origin + ": " + what);
}

Bytes build_query(const std::string& origin, const std::vector<std::string>& tok,
                  bool& tcp, bool& shape, uint16_t id) {
  if (tok.size() < 2) bad(origin, "expected `qname qtype [class] [+flags]`");
  ldns_rdf* qname = ldns_dname_new_frm_str(tok[0].c_str());   // keeps the case as written
  if (!qname) bad(origin, "bad qname " + tok[0]);
  ldns_rr_type qtype = ldns_get_rr_type_by_name(tok[1].c_str());
  if (qtype == 0 && tok[1] != "TYPE0") { ldns_rdf_deep_free(qname); bad(origin, "bad qtype " + tok[1]); }
  std::size_t i = 2;
  ldns_rr_class qclass = LDNS_RR_CLASS_IN;
  if (i < tok.size() && tok[i][0] != '+') {
    qclass = ldns_get_rr_class_by_name(tok[i].c_str());
    if (qclass == 0) { ldns_rdf_deep_free(qname); bad(origin, "bad class " + tok[i]); }
    ++i;
  }
  int edns_size = 1232, edns_version = 0;
  bool edns = true, do_bit = false, rd = false;
  for (; i < tok.size(); ++i) {
    const std::string& f = tok[i];
    if (f == "+tcp") tcp = true;
    else if (f == "+noedns") edns = false;
    else if (f.rfind("+edns=", 0) == 0) edns_size = std::stoi(f.substr(6));
    else if (f.rfind("+ednsver=", 0) == 0) edns_version = std::stoi(f.substr(9));
    else if (f == "+dnssec") do_bit = true;
    else if (f == "+rd") rd = true;
    else if (f == "+shape") shape = true;
    else { ldns_rdf_deep_free(qname); bad(origin, "unknown flag " + f); }
  }
  ldns_pkt* q = ldns_pkt_query_new(qname, qtype, qclass, rd ? LDNS_RD : 0);   // owns qname
  ldns_pkt_set_id(q, id);
  if (edns) {
    ldns_pkt_set_edns_udp_size(q, uint16_t(edns_size));
    ldns_pkt_set_edns_version(q, uint8_t(edns_version));
    ldns_pkt_set_edns_do(q, do_bit);
    // pkt2wire writes an OPT only if ldns_pkt_edns() is true; size 0 would not count.
    if (!ldns_pkt_edns(q)) { ldns_pkt_free(q); bad(origin, "EDNS with size 0 not supported"); }
  }
  uint8_t* wire = nullptr;
  size_t len = 0;
  ldns_status s = ldns_pkt2wire(&wire, q, &len);
  ldns_pkt_free(q);
  if (s != LDNS_STATUS_OK) bad(origin, ldns_get_errorstr_by_id(s));
  Bytes out(wire, wire + len);
  free(wire);
  return out;
}

}  // namespace

std::vector<TestCase> load_queries(const std::string& path) {
  std::vector<TestCase> cases;
  uint16_t id = 0x1000;
  for (auto& [n, line] : read_lines(path)) {
    TestCase c;
    c.key = line;
    c.origin = path + ":" + std::to_string(n);
    std::istringstream ws(line);
    std::vector<std::string> tok;
    for (std::string t; ws >> t;) tok.push_back(t);
    c.wire = build_query(c.origin, tok, c.tcp, c.shape_only, id++);
    cases.push_back(std::move(c));
  }
  return cases;
}

std::vector<TestCase> load_malformed(const std::string& path) {
  std::vector<TestCase> cases;
  for (auto& [n, line] : read_lines(path)) {
    TestCase c;
    c.origin = path + ":" + std::to_string(n);
    std::istringstream ws(line);
    std::string label, tok, hex;
    ws >> label;
    c.key = "malformed:" + label;
    while (ws >> tok) {
      if (tok == "+tcp") c.tcp = true;
      else if (tok == "+shape") c.shape_only = true;
      else hex += tok;
    }
    if (hex.size() % 2 != 0) bad(c.origin, "odd number of hex digits");
    for (std::size_t i = 0; i < hex.size(); i += 2) {
      std::size_t used = 0;
      unsigned v = 0;
      try { v = unsigned(std::stoul(hex.substr(i, 2), &used, 16)); } catch (...) { used = 0; }
      if (used != 2) bad(c.origin, "bad hex near '" + hex.substr(i, 2) + "'");
      c.wire.push_back(uint8_t(v));
    }
    cases.push_back(std::move(c));
  }
  return cases;
}

std::map<std::string, std::string> load_allow(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open");
  std::map<std::string, std::string> allow;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;   // whole-line comment
    auto hash = t.find('#');
    if (hash == std::string::npos || trim(t.substr(hash + 1)).empty())
      throw std::runtime_error(path + ":" + std::to_string(n) + ": an entry needs `# reason`");
    std::istringstream ws(t.substr(0, hash));
    std::string tok, key;
    while (ws >> tok) key += (key.empty() ? "" : " ") + tok;
    allow[key] = trim(t.substr(hash + 1));
  }
  return allow;
}

}  // namespace vrdns::difftest
