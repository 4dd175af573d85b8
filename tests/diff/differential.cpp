// Differential test: the same zone served by vrdns, NSD and Knot DNS; every query of the
// corpus is sent to all three and the replies are compared (see compare.hpp for what is
// compared and docs/differential.md for the rules). vrdns passes a query if its reply
// equals NSD's or Knot's, or if the query is in allow.txt with an RFC reason.
//
// usage: differential BUILD_DIR SOURCE_DIR [--no-vrdns] [--verbose]
//   --no-vrdns  only start NSD and Knot and list where they disagree (harness development)
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <set>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/diff/compare.hpp"
#include "tests/diff/corpus.hpp"
#include "tests/diff/servers.hpp"

namespace fs = std::filesystem;
using namespace vrdns::difftest;

namespace {

constexpr std::size_t kMinQueries = 200;
// Replies on loopback take microseconds; the long timeout only matters when a server fails
// to answer. Malformed packets are often dropped on purpose, so they wait less.
constexpr std::chrono::milliseconds kQueryTimeout{3000};
constexpr std::chrono::milliseconds kMalformedTimeout{1000};

const char* kNsd = "/usr/sbin/nsd";
const char* kKnot = "/usr/sbin/knotd";

struct TempDir {
  std::string path;
  TempDir() {
    std::string t = (fs::temp_directory_path() / "vrdns-diff-XXXXXX").string();
    if (!mkdtemp(t.data())) throw std::runtime_error("mkdtemp failed");
    path = t;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

struct Tally {
  std::size_t total = 0, match_nsd = 0, match_knot = 0, allowed = 0, failed = 0;
  std::size_t known_bugs = 0;   ///< allowed by an entry whose reason starts with "BUG:"
};

int run(const std::string& build_dir, const std::string& source_dir, bool with_vrdns,
        bool verbose) {
  for (const char* bin : {kNsd, kKnot})
    if (access(bin, X_OK) != 0) {
      std::cerr << "differential: " << bin << " is missing: install Debian's nsd and knot "
                << "packages (apt-get install nsd knot)\n";
      return 1;
    }
  std::string vrdns_bin = build_dir + "/vrdns";
  if (with_vrdns && access(vrdns_bin.c_str(), X_OK) != 0) {
    std::cerr << "differential: " << vrdns_bin << " is missing: build the vrdns target\n";
    return 1;
  }

  // The example zone of the repository: the one the responder's unit tests use too.
  std::string zone_file = source_dir + "/configs/example.test.zone";
  if (!fs::exists(zone_file)) {
    std::cerr << "differential: " << zone_file << " is missing\n";
    return 1;
  }
  ServedZone zone{"example.test.", fs::weakly_canonical(fs::absolute(zone_file)).string()};
  std::cout << "differential: zone " << zone.file << "\n";

  std::string dir = source_dir + "/tests/diff";
  auto cases = load_queries(dir + "/queries.txt");
  if (cases.size() < kMinQueries) {
    std::cerr << "differential: queries.txt has " << cases.size() << " queries, need at least "
              << kMinQueries << "\n";
    return 1;
  }
  const std::size_t n_queries = cases.size();
  for (auto& m : load_malformed(dir + "/malformed.txt")) cases.push_back(std::move(m));
  auto allow = load_allow(dir + "/allow.txt");

  TempDir tmp;
  std::vector<Server> servers;
  servers.push_back(start_nsd(kNsd, tmp.path, zone));
  servers.push_back(start_knot(kKnot, tmp.path, zone));
  if (with_vrdns) servers.push_back(start_vrdns(vrdns_bin, tmp.path, zone));
  std::vector<uint16_t> ports;
  for (auto& s : servers) {
    ports.push_back(s.port);
    std::cout << "differential: " << s.name << " pid " << s.process->pid() << " on 127.0.0.1:"
              << s.port << "\n";
  }

  Tally t;
  std::set<std::string> used_allow;
  std::size_t refs_disagree = 0;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const TestCase& c = cases[i];
    const bool malformed = i >= n_queries;
    auto replies = c.tcp ? exchange_tcp(c.wire, ports, kQueryTimeout)
                         : exchange_udp(c.wire, ports,
                                        malformed ? kMalformedTimeout : kQueryTimeout);
    Digest nsd = digest(c.wire, replies[0]);
    Digest knot = digest(c.wire, replies[1]);
    ++t.total;
    // A well-formed query that a reference server does not answer means the harness or
    // the reference setup is broken; that must not pass silently.
    if (!malformed && (!nsd.replied || !knot.replied)) {
      ++t.failed;
      std::cout << "FAIL " << c.origin << "  `" << c.key << "`: a reference server did not "
                << "reply (nsd " << nsd.replied << ", knot " << knot.replied << ")\n";
      continue;
    }
    std::string refs = difference(nsd, knot, c.shape_only);
    if (!refs.empty()) {
      ++refs_disagree;
      if (verbose || !with_vrdns)
        std::cout << "note " << c.origin << "  `" << c.key << "`: nsd and knot differ\n"
                  << refs << "    nsd:\n" << to_text(nsd) << "    knot:\n" << to_text(knot);
    }
    if (!with_vrdns) continue;

    Digest ours = digest(c.wire, replies[2]);
    std::string vs_nsd = difference(nsd, ours, c.shape_only);
    std::string vs_knot = difference(knot, ours, c.shape_only);
    if (vs_nsd.empty()) ++t.match_nsd;
    if (vs_knot.empty()) ++t.match_knot;
    if (vs_nsd.empty() || vs_knot.empty()) {
      if (verbose && !refs.empty())
        std::cout << "  -> vrdns matches " << (vs_nsd.empty() ? "nsd" : "knot") << "\n";
      if (allow.count(c.key))
        std::cout << "note: allow.txt entry `" << c.key << "` is no longer needed\n";
      continue;
    }
    if (auto a = allow.find(c.key); a != allow.end()) {
      ++t.allowed;
      used_allow.insert(c.key);
      if (a->second.rfind("BUG:", 0) == 0) ++t.known_bugs;
      if (verbose)
        std::cout << "allowed " << c.origin << "  `" << c.key << "` (" << a->second << ")\n"
                  << "  vrdns vs nsd:\n" << vs_nsd << "  vrdns vs knot:\n" << vs_knot;
      continue;
    }
    ++t.failed;
    std::cout << "FAIL " << c.origin << "  `" << c.key << "`"
              << (c.tcp ? " (tcp)" : " (udp)") << "\n"
              << "  vrdns vs nsd (- nsd, + vrdns):\n" << vs_nsd
              << "  vrdns vs knot (- knot, + vrdns):\n" << vs_knot
              << "  vrdns replied:\n" << to_text(ours);
  }

  for (auto& [key, reason] : allow)
    if (with_vrdns && !used_allow.count(key)) {
      bool known = false;
      for (auto& c : cases) known = known || c.key == key;
      if (!known) std::cout << "note: allow.txt entry `" << key << "` matches no query\n";
    }

  // Every server must still be alive and stop cleanly: a crash mid-run shows up here even
  // if it happened on the last query.
  for (auto& s : servers) {
    int status = s.process->stop();
    bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!clean && s.name == "vrdns") {
      ++t.failed;
      std::cout << "FAIL vrdns did not exit cleanly on SIGTERM (wait status " << status
                << "). Its output:\n" << s.process->log();
    }
  }

  std::cout << "differential: nsd and knot disagree on " << refs_disagree << " of " << t.total
            << " queries\n";
  if (!with_vrdns) {
    std::cout << "differential: --no-vrdns: references only, nothing to judge\n";
    return 0;
  }
  std::cout << t.total << " queries, " << t.match_nsd << " match nsd, " << t.match_knot
            << " match knot, " << t.allowed << " allowed, " << t.failed << " failed\n";
  if (t.known_bugs > 0)
    std::cout << "differential: " << t.known_bugs << " of the allowed are known vrdns bugs "
              << "(allow.txt reasons starting with BUG:); --verbose shows them\n";
  return t.failed == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: differential BUILD_DIR SOURCE_DIR [--no-vrdns] [--verbose]\n";
    return 2;
  }
  bool with_vrdns = true, verbose = false;
  for (int i = 3; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--no-vrdns") with_vrdns = false;
    else if (a == "--verbose") verbose = true;
    else { std::cerr << "differential: unknown option " << a << "\n"; return 2; }
  }
  try {
    return run(argv[1], argv[2], with_vrdns, verbose);
  } catch (const std::exception& e) {
    std::cerr << "differential: " << e.what() << "\n";
    return 1;
  }
}
