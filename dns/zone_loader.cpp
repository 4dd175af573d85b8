// Master files (RFC 1035 §5) into Zones, and the structural checks a served zone must pass.
//
// We drive ldns one RR at a time (ldns_rr_new_frm_fp_l) instead of ldns_zone_new_frm_fp_l:
// that gives a line number for every record (so class and placement errors can cite it),
// lets us follow $INCLUDE (relative to the including file), sees a second SOA (ldns_zone_new_frm_fp_l silently
// drops it) and never holds the whole file as ldns_rr objects (a 1M-record zone would
// otherwise cost ldns' footprint on top of ours).
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "dns/master_file.hpp"
#include "dns/zone.hpp"
#include "dns/zone_builder.hpp"
#include "dns/zone_generate.hpp"

#include <ldns/ldns.h>   // last: ldns #defines bool/true/false

namespace vrdns::dns {

namespace {

constexpr uint32_t default_ttl_without_dollar_ttl = 3600;

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};
using FilePtr = std::unique_ptr<FILE, FileCloser>;

struct RdfDeleter {
  void operator()(ldns_rdf* r) const { ldns_rdf_deep_free(r); }
};
using RdfPtr = std::unique_ptr<ldns_rdf, RdfDeleter>;

/// Line numbers of record starts. ldns' own counter is off for our purpose: it counts the
/// newline ending a record (so it names the next line) and skips newlines inside
/// parentheses. We take the offset where ldns starts reading, skip what ldns skips before a
/// record (blanks and ';' comments, which may span lines) and count the newlines before
/// that point.
class LineCounter {
 public:
  explicit LineCounter(std::string_view text) : text_(text) {}
  int record_line_from(long offset) {
    std::size_t end = std::min(text_.size(), std::size_t(std::max(offset, 0L)));
    while (end < text_.size()) {
      const char c = text_[end];
      if (c == ';') {
        while (end < text_.size() && text_[end] != '\n') ++end;
      } else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
        ++end;
      } else {
        break;
      }
    }
    for (; counted_ < end; ++counted_)
      if (text_[counted_] == '\n') ++newlines_;
    return newlines_ + 1;
  }

 private:
  std::string_view text_;
  std::size_t counted_ = 0;
  int newlines_ = 0;
};

// The whole file: the loader counts lines in memory (see LineCounter).
std::string read_whole_file(const std::string& path) {
  FilePtr fp(std::fopen(path.c_str(), "r"));
  if (!fp) throw ZoneError(path, 0, path + ": cannot open: " + std::strerror(errno));
  std::string text;
  char buf[65536];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, fp.get())) > 0) text.append(buf, n);
  if (std::ferror(fp.get())) throw ZoneError(path, 0, path + ": read error");
  return text;
}

// Where text[offset...] has its first character that is not blank or in a comment.
std::size_t skip_blank(std::string_view text, std::size_t offset) {
  while (offset < text.size()) {
    const char c = text[offset];
    if (c == ';') {
      while (offset < text.size() && text[offset] != '\n') ++offset;
    } else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      ++offset;
    } else {
      break;
    }
  }
  return offset;
}

// Master files $INCLUDE one another at most this deep, and at most this many files in all:
// a zone of includes that fan out cannot make the loader read without end.
constexpr int max_include_depth = 8;
constexpr int max_included_files = 4096;

// "$INCLUDE <file-name> [<domain-name>] [<comment>]" (RFC 1035 §5.1), the file name perhaps
// in double quotes. An error message if the line is not that ("" when it is).
std::string parse_include(std::string_view line, std::string& file, std::string& domain) {
  std::size_t i = std::string_view("$INCLUDE").size();
  // ldns takes any line that starts with the 8 letters ("$INCLUDEfoo") for the directive.
  if (i >= line.size() || (line[i] != ' ' && line[i] != '\t'))
    return "$INCLUDE without a file name";
  auto blank = [&] { while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i; };
  auto token = [&](std::string& out) {
    blank();
    out.clear();
    if (i >= line.size() || line[i] == ';' || line[i] == '\r') return true;
    if (line[i] == '"') {
      const std::size_t close = line.find('"', i + 1);
      if (close == std::string_view::npos) return false;
      out.assign(line.substr(i + 1, close - i - 1));
      i = close + 1;
      return true;
    }
    const std::size_t from = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != ';' &&
           line[i] != '\r')
      ++i;
    out.assign(line.substr(from, i - from));
    return true;
  };
  if (!token(file)) return "$INCLUDE: unterminated quote";
  if (file.empty()) return "$INCLUDE without a file name";
  if (!token(domain)) return "$INCLUDE: unterminated quote";
  blank();
  if (i < line.size() && line[i] != ';' && line[i] != '\r')
    return "$INCLUDE: unexpected '" + std::string(line.substr(i)) +
           "' after the domain name (at most a file name, a domain name and a comment)";
  return "";
}

// True if ldns takes `text` (absolute) as a name: it starts each file read at one.
bool valid_ldns_name(const std::string& text) {
  ldns_rdf* r = ldns_dname_new_frm_str(text.c_str());
  if (!r) return false;
  ldns_rdf_deep_free(r);
  return true;
}

// Where one master file is read from: its text, its name in errors, and the directory its
// $INCLUDEs are relative to (none: text that came from no file, where $INCLUDE is refused).
struct Source {
  std::string& text;
  const std::string& label;
  const std::string* directory;
};

// The files being read, outermost first (to name a cycle), and how many were read in all.
struct IncludeChain {
  std::vector<std::string> files;   // canonical paths
  int included = 0;
};

// The path as the chain compares it: the same file reached by two spellings is one file.
std::string canonical_path(const std::string& path) {
  std::error_code ec;
  const auto c = std::filesystem::weakly_canonical(path, ec);
  return ec ? path : c.string();
}

// A record as the loader takes it: ldns' RDATA checked by ldns' wire parser too, since its
// text parser can make RDATA the wire parser refuses ("SRV 0 5 \# 0 x" gave an SRV without a
// port). Such a record could not be read back from a checkpoint (nor parsed by a
// secondary): it is refused here, where the operator sees the line.
Record checked_record(const ldns_rr* rr, const std::string& label, int line) {
  Record r = record_from_ldns(rr);
  if (ldns_rr* wire_checked = record_to_ldns(r))
    ldns_rr_free(wire_checked);
  else
    throw_zone_error(label, line, "malformed " + type_mnemonic(r.type) + " data");
  return r;
}

// True if text[at...] is the directive `name` followed by a blank.
bool is_directive(std::string_view text, std::size_t at, std::string_view name) {
  return text.substr(at, name.size()) == name && at + name.size() < text.size() &&
         (text[at + name.size()] == ' ' || text[at + name.size()] == '\t');
}

// The records of a $GENERATE line (dns/zone_generate.hpp), as if each stood in the file at
// `line` with the current origin and $TTL.
void generate_into(ZoneBuilder& builder, std::string_view directive, const ldns_rdf* origin,
                   uint32_t default_ttl, const std::string& label, int line) {
  std::string error;
  const auto d = parse_generate(directive, error);
  if (!d) throw_zone_error(label, line, error);
  for (uint64_t v = d->start; v <= d->stop; v += d->step) {
    const auto text = expand_generate(d->record_template, uint32_t(v), error);
    if (!text) throw_zone_error(label, line, error);
    ldns_rr* raw = nullptr;
    const ldns_status s = ldns_rr_new_frm_str(&raw, text->c_str(), default_ttl, origin, nullptr);
    if (s != LDNS_STATUS_OK) {
      if (raw) ldns_rr_free(raw);
      throw_zone_error(label, line, "$GENERATE at " + std::to_string(v) + ": " +
                                        ldns_get_errorstr_by_id(s) + " in '" + *text + "'");
    }
    Record r;
    try {
      r = checked_record(raw, label, line);
    } catch (...) {
      ldns_rr_free(raw);
      throw;
    }
    ldns_rr_free(raw);
    builder.add(std::move(r), line);
  }
}

// Reads the records of `src` into `builder`, starting at `origin_str` (absolute, text) and
// `default_ttl`, following $INCLUDE. As RFC 1035 §5.1 says, an included file starts at the
// origin the directive names (else the includer's), and the includer's origin and owner are
// back afterwards; so is its $TTL.
void read_into(ZoneBuilder& builder, const Source& src, const std::string& origin_str,
               uint32_t default_ttl, IncludeChain& chain) {
  std::string& text = src.text;
  const std::string& label = src.label;
  // ldns reads a NUL as the end of a token and drops what follows in it ("v=spf\0x" became
  // "v=spf"): a file with one is not text, and changed data would be served without a word.
  if (const std::size_t nul = text.find('\0'); nul != std::string::npos)
    throw_zone_error(label, int(std::count(text.begin(), text.begin() + long(nul), '\n')) + 1,
                     "NUL byte in the file (not a text zone file)");
  // fmemopen wants a mutable buffer of non-zero size; a final newline also makes a last
  // line without one parse like any other.
  text += '\n';
  FilePtr fp(fmemopen(text.data(), text.size(), "r"));
  if (!fp) throw ZoneError(label, 0, label + ": fmemopen: " + std::strerror(errno));
  LineCounter lines(text);

  // ldns owns and replaces these as $ORIGIN lines and blank owners are read.
  ldns_rdf* origin = ldns_dname_new_frm_str(origin_str.c_str());
  if (!origin) throw_zone_error(label, 0, "invalid origin '" + origin_str + "'");
  ldns_rdf* prev = ldns_rdf_clone(origin);
  struct Cleanup {
    ldns_rdf** a;
    ldns_rdf** b;
    ~Cleanup() {
      if (*a) ldns_rdf_deep_free(*a);
      if (*b) ldns_rdf_deep_free(*b);
    }
  } cleanup{&origin, &prev};

  int ldns_line = 0;   // required by ldns, not used (see LineCounter)
  while (!std::feof(fp.get())) {
    const long at = std::ftell(fp.get());
    const int line = lines.record_line_from(at);
    // $GENERATE is BIND's, not ldns': the loader expands it and steps over its line.
    if (const std::size_t first = skip_blank(text, std::size_t(std::max(at, 0L)));
        is_directive(text, first, "$GENERATE")) {
      const std::size_t end = std::min(text.find('\n', first), text.size());
      generate_into(builder, std::string_view(text).substr(first, end - first), origin,
                    default_ttl, label, line);
      std::fseek(fp.get(), long(std::min(end + 1, text.size())), SEEK_SET);
      continue;
    }
    ldns_rr* raw = nullptr;
    const ldns_status s =
        ldns_rr_new_frm_fp_l(&raw, fp.get(), &default_ttl, &origin, &prev, &ldns_line);
    switch (s) {
      case LDNS_STATUS_OK:
        break;
      case LDNS_STATUS_SYNTAX_EMPTY:   // blank or comment-only line; also end of file
      case LDNS_STATUS_SYNTAX_TTL:     // ldns stored the new $TTL in default_ttl
      case LDNS_STATUS_SYNTAX_ORIGIN:  // ldns replaced `origin`
        continue;
      case LDNS_STATUS_SYNTAX_INCLUDE: {
        if (!src.directory)
          throw_zone_error(label, line, "$INCLUDE is not supported here (not a zone file)");
        // ldns read the directive and stopped after it: take its line from our copy. It
        // must have read that line alone (and perhaps blank lines after it); an unbalanced
        // parenthesis or quote makes it read on, and what it swallowed would be lost
        // without a word.
        const std::size_t from = skip_blank(text, std::size_t(std::max(at, 0L)));
        const std::size_t to = std::min(text.find('\n', from), text.size());
        if (const long end = std::ftell(fp.get());
            end < 0 || skip_blank(text, std::min(to + 1, text.size())) < std::size_t(end))
          throw_zone_error(label, line,
                           "$INCLUDE must stand on one line (an unbalanced parenthesis or "
                           "quote?)");
        std::string file, domain;
        if (const std::string bad =
                parse_include(std::string_view(text).substr(from, to - from), file, domain);
            !bad.empty())
          throw_zone_error(label, line, bad);
        std::string current_origin;
        {
          char* o = ldns_rdf2str(origin);
          current_origin = o ? o : "";
          std::free(o);
        }
        std::string included_origin = current_origin;
        if (!domain.empty() && domain != "@")
          included_origin = domain.back() == '.' ? domain
                            : current_origin == "." ? domain + "."
                                                    : domain + "." + current_origin;
        if (!name_from_text(included_origin) || !valid_ldns_name(included_origin))
          throw_zone_error(label, line, "$INCLUDE: invalid domain name '" + domain + "'");
        const std::string path =
            !file.empty() && file.front() == '/' ? file : *src.directory + "/" + file;
        const std::string canonical = canonical_path(path);
        if (std::find(chain.files.begin(), chain.files.end(), canonical) != chain.files.end()) {
          std::string cycle;
          for (const auto& f : chain.files) cycle += f + " -> ";
          throw_zone_error(label, line, "$INCLUDE: a file includes itself: " + cycle + canonical);
        }
        if (int(chain.files.size()) > max_include_depth)
          throw_zone_error(label, line, "$INCLUDE nested more than " +
                                            std::to_string(max_include_depth) + " deep");
        if (++chain.included > max_included_files)
          throw_zone_error(label, line, "$INCLUDE: more than " +
                                            std::to_string(max_included_files) +
                                            " files included in all");
        // A device or FIFO would be read without end (/dev/zero) or block (a FIFO).
        if (std::error_code ec; std::filesystem::exists(path, ec) &&
                                !std::filesystem::is_regular_file(path, ec))
          throw_zone_error(label, line, "$INCLUDE: " + path + " is not a regular file");
        std::string included;
        try {
          included = read_whole_file(path);
        } catch (const ZoneError& e) {
          throw_zone_error(label, line, std::string("$INCLUDE: ") + e.what());
        }
        const std::string directory = std::filesystem::path(path).parent_path().string();
        builder.set_label(path);
        chain.files.push_back(canonical);
        read_into(builder, Source{included, path, &directory}, included_origin, default_ttl,
                  chain);
        chain.files.pop_back();
        builder.set_label(label);
        continue;
      }
      default:
        throw_zone_error(label, line, ldns_get_errorstr_by_id(s));
    }
    Record r;
    try {
      r = checked_record(raw, label, line);
    } catch (...) {
      ldns_rr_free(raw);
      throw;
    }
    ldns_rr_free(raw);
    builder.add(std::move(r), line);
  }
}

ZonePtr load_from(std::string& text, std::string_view origin_text, const std::string& label,
                  const std::string* directory) {
  // The origin is always absolute; a missing final dot (as config files tend to write it)
  // is added.
  std::string origin_str(origin_text);
  if (origin_str.empty() || origin_str.back() != '.') origin_str += '.';
  const auto origin_wire = name_from_text(origin_str);
  if (!origin_wire)
    throw_zone_error(label, 0, "invalid zone origin '" + std::string(origin_text) + "'");
  ZoneBuilder builder(*origin_wire, label);
  IncludeChain chain;
  chain.files.push_back(canonical_path(label));   // a label, not a path, for text: harmless
  read_into(builder, Source{text, label, directory}, origin_str, default_ttl_without_dollar_ttl,
            chain);
  return builder.finish();
}

}  // namespace

ZonePtr load_zone_file(const std::string& path, std::string_view origin_text) {
  std::string text = read_whole_file(path);
  // $INCLUDE names files relative to the including file's directory (as Knot does; BIND
  // takes its working directory): a zone's files can then move together.
  const std::string directory = std::filesystem::path(path).parent_path().string();
  const std::string base = directory.empty() ? std::string(".") : directory;
  return load_from(text, origin_text, path, &base);
}

ZonePtr load_zone_text(std::string_view text, std::string_view origin_text,
                       const std::string& label) {
  std::string copy(text);
  return load_from(copy, origin_text, label, nullptr);
}

void validate_zone(const Zone& z, const std::string& label) {
  auto fail_at = [&](const std::string& owner, const std::string& what) {
    throw ZoneError(label, 0, label + ": " + what + " at " + name_to_text(owner));
  };
  const Node* apex = z.find(z.apex_key());
  if (apex == nullptr || apex->find(rrtype::SOA) == nullptr)
    fail_at(z.apex(), "no SOA record at the zone apex");
  if (apex->find(rrtype::SOA)->count != 1) fail_at(z.apex(), "more than one SOA record");
  if (apex->find(rrtype::NS) == nullptr) fail_at(z.apex(), "no NS records at the zone apex");

  z.for_each_node([&](const Node& n) {
    if (!name_is_at_or_below(n.owner, z.apex())) fail_at(n.owner, "name outside the zone");
    if (&n != apex && n.find(rrtype::SOA)) fail_at(n.owner, "SOA record below the zone apex");
    const RRset* cname = n.find(rrtype::CNAME);
    if (cname == nullptr) return;
    if (cname->count > 1) fail_at(n.owner, "more than one CNAME record");
    for (const RRset& rs : n.rrsets) {
      // RFC 2181 §10.1: a CNAME stands alone; DNSSEC records about it may sit beside it.
      if (rs.type == rrtype::CNAME || rs.type == rrtype::RRSIG || rs.type == rrtype::NSEC ||
          rs.type == rrtype::NSEC3)
        continue;
      fail_at(n.owner, "CNAME and other data");
    }
  });
}

}  // namespace vrdns::dns
