// What the differential test compares in a reply, and how two replies differ.
//
// A reply is reduced to a Digest: rcode (with the EDNS extended bits), the header flags that
// matter for an authoritative answer, the question, the three sections as multisets of RRs
// in canonical form (owner and RDATA names lower-cased, RFC 4034 §6.2; TTL kept), and
// whether an OPT record is present (and its version). Order within a section and name
// compression are not compared: neither carries meaning (RFC 2181 §5).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "tests/diff/wire_client.hpp"

namespace vrdns::difftest {

struct Digest {
  bool replied = false;    ///< false: no reply at all (dropped / connection closed)
  bool parsed = false;     ///< ldns could parse it; otherwise only `header` is meaningful
  std::string header;      ///< "id-ok qr opcode rcode flags" in words
  std::string question;    ///< as echoed, case kept (servers must echo the case received)
  std::vector<std::string> answer, authority, additional;   ///< sorted canonical RRs
  std::string opt;         ///< "" (no OPT) or "OPT version N"
  std::vector<std::size_t> counts;   ///< section sizes, for shape-only comparisons
};

Digest digest(const Bytes& query, const Reply& reply);

/// Human-readable differences ("" if equal). `shape_only` compares header, OPT and section
/// sizes but not the records themselves (for identity-dependent CH TXT answers).
std::string difference(const Digest& want, const Digest& got, bool shape_only);

/// The whole digest, for printing.
std::string to_text(const Digest& d);

}  // namespace vrdns::difftest
