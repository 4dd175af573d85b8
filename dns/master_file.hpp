// Zones as canonical RFC 1035 master files: the text form of a zone inside a checkpoint
// (issue #5), readable by an operator and by any tool that reads zone files.
//
// A canonical file is
//     $ORIGIN <apex>
//     <owner> <ttl> IN <type> <rdata>        one line per record, Zone::records() order
//     ...
//     ; end of zone, <n> records
// with absolute names, single spaces and no other lines, so that the same zone gives the
// same bytes on every replica. The end line makes a truncated file detectable: a file cut
// anywhere, even between two records, lacks it.
//
// Each record has exactly one canonical line (master_line), chosen so that ldns reads the
// line back to the very same record (same RDATA bytes, TTL and owner case):
//   1. our own presentation of the common types (A AAAA NS CNAME PTR DNAME MX TXT SOA SRV);
//   2. else ldns' presentation of the RDATA, if ldns parses it back to the same bytes (it
//      prints some RDATA lossily) and does not depend on the machine (WKS does: its ports
//      are named from /etc/services);
//   3. else RFC 3597 generic form: TYPE<n> \# <length> <hex>.
//
// Reading takes a fast path for canonical lines (no ldns for types 1.) and hands any file
// with a single non-canonical line (hand edited: comments, $TTL, relative names, ...) to the
// ldns zone-file loader as a whole. Both build the zone with the same rules (ZoneBuilder).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "dns/record.hpp"
#include "dns/zone.hpp"

namespace vrdns::dns {

/// The canonical line of `r` (class IN assumed, no newline). `r.owner` and `r.rdata` as the
/// zone store holds them (valid owner name, RDATA at most 65535 bytes).
std::string master_line(const Record& r);

/// ldns' mnemonic for `type` ("AAAA"), or "TYPE<n>" (RFC 3597) when it has none.
std::string type_mnemonic(uint16_t type);

/// The record whose canonical line is exactly `line`; nullopt for any other text (including
/// text ldns rejects). Never throws on bad input.
std::optional<Record> parse_master_line(std::string_view line);

/// The canonical master file of `z`.
std::string write_master_file(const Zone& z);

/// Reads a master file: the first line must be "$ORIGIN <apex>" and the last the end line
/// with the right record count. Throws ZoneError (naming `label`) if the text is malformed,
/// truncated, or does not make a valid zone (validate_zone).
ZonePtr read_master_file(std::string_view text, const std::string& label);

}  // namespace vrdns::dns
