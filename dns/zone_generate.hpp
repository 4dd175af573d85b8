// BIND's $GENERATE directive (BIND 9 ARM, "The $GENERATE Directive"), which many zone files
// moved from BIND use for runs of similar records (reverse zones, DHCP pools):
//
//     $GENERATE <start>-<stop>[/<step>] <lhs> [<ttl>] [<class>] <type> <rhs> [; comment]
//
// makes one record per value from start to stop, with every `$` in the template replaced by
// the value, `${offset[,width[,base]]}` by value + offset, zero-padded to width, in base d
// (decimal), o (octal), x or X (hex), n or N (nibbles, reversed and dot-separated as in
// ip6.arpa names), `$$` and `\$` by a literal `$`. The zone loader (dns/zone_loader.cpp) turns
// each expanded line into a record with the current origin and $TTL, as if it stood in the
// file. Pure text here: no ldns, no zone.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vrdns::dns {

/// At most this many records from one directive: a typo in the range ("1-2000000000") must
/// be an error, not a loader that fills memory.
inline constexpr uint64_t max_generated_records = 1u << 20;

struct GenerateDirective {
  uint32_t start = 0, stop = 0, step = 1;
  std::string record_template;   ///< "<lhs> [<ttl>] [<class>] <type> <rhs>", comment cut
};

/// Parses a "$GENERATE ..." line (no newline). nullopt with `error` set when it is not one:
/// a range that is not numbers, start above stop, a step of 0, more than
/// max_generated_records values, or no template.
std::optional<GenerateDirective> parse_generate(std::string_view line, std::string& error);

/// The template with `value` put in as described above. nullopt with `error` set on a
/// malformed `${...}` (an unknown base, a width over 255, no closing brace) or a value + offset
/// below zero or above 2^31 - 1.
std::optional<std::string> expand_generate(std::string_view record_template, uint32_t value,
                                           std::string& error);

}  // namespace vrdns::dns
