// The inputs of the differential test: the query corpus (queries.txt), raw malformed packets
// (malformed.txt) and the allow-list (allow.txt). See docs/differential.md for the formats.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tests/diff/wire_client.hpp"

namespace vrdns::difftest {

struct TestCase {
  std::string key;        ///< how the case is named in reports and in allow.txt
  std::string origin;     ///< "file:line"
  Bytes wire;             ///< the query as sent
  bool tcp = false;
  bool shape_only = false;   ///< identity-dependent answer: compare rcode/flags/counts only
};

/// Parses queries.txt: `qname qtype [class] [+flag...]`, '#' starts a comment. Flags:
/// +tcp, +noedns, +edns=N (default 1232), +ednsver=N, +dnssec (DO bit), +rd, +shape.
/// Throws std::runtime_error naming file:line on a bad line.
std::vector<TestCase> load_queries(const std::string& path);

/// Parses malformed.txt: `label [+tcp] [+shape] HEX...` (hex digits, whitespace ignored).
std::vector<TestCase> load_malformed(const std::string& path);

/// Parses allow.txt: `key # RFC reason` where key is a TestCase::key. The reason is required.
std::map<std::string, std::string> load_allow(const std::string& path);

}  // namespace vrdns::difftest
