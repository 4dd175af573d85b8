// vrdns command line: run a node, check a config, or run a local cluster for trying it out.
#include <malloc.h>
#include <stdlib.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "app/node.hpp"
#include "app/zone_command.hpp"
#include "config/config.hpp"
#include "dns/master_file.hpp"
#include "dns/zone.hpp"

namespace {

constexpr const char* usage_text =
    "usage:\n"
    "  vrdns --config FILE.toml       run one node in the foreground (SIGTERM/SIGINT stop it,\n"
    "                                 SIGHUP reloads keys, access lists, notify and zones)\n"
    "  vrdns check-config FILE.toml   validate a configuration (zones included); prints ok\n"
    "  vrdns check-zone NAME FILE [--print]\n"
    "                                 load a master file as a node would ($INCLUDE,\n"
    "                                 $GENERATE, validation); --print writes the zone as\n"
    "                                 checkpoints hold it, one record per line\n"
    "  vrdns local [--replicas N] [--zone FILE] [--origin NAME] [--dns-port P]\n"
    "                                 a whole cluster on 127.0.0.1, DNS on ports P..P+N-1,\n"
    "                                 replicas on 7301..7300+N, statistics on 9301..9300+N,\n"
    "                                 UPDATE key as configs/node0.toml\n"
    "                                 (defaults: N=3, P=5301, configs/example.test.zone;\n"
    "                                 origin: the zone file name without .zone)\n"
    "  vrdns zone remove|readmit NAME --config FILE [--key KEY] [--server HOST:PORT]\n"
    "                                 remove a zone from the running cluster (every node),\n"
    "                                 or let a removed one be added again; signed with a key\n"
    "                                 of [control] allow, sent to the node's DNS address\n"
    "  vrdns --help | --version\n";

// The TSIG key of configs/node*.toml, so the same nsupdate command works against vrdns local,
// and zone transfers from this machine (dig AXFR, a local secondary), as configs/node*.toml.
constexpr const char* local_key_config =
    "[[key]]\nname = \"update-key.\"\nalgorithm = \"hmac-sha256\"\n"
    "secret = \"uqjV+TYQBrS28PCMsYonX//TMmtt4GFvzp50/uVRovI=\"\n"
    "[[key]]\nname = \"admin-key.\"\nalgorithm = \"hmac-sha256\"\n"
    "secret = \"7xBvnyRGs3Hbd8Zl2c1Yq0KxWv0mQvGmKQmS9zUVUxQ=\"\n"
    "[update]\nallow = [\"update-key.\"]\n"
    "[control]\nallow = [\"admin-key.\"]\n"
    "[transfer]\nallow_addresses = [\"127.0.0.1\", \"::1\"]\n";

int usage_error(const std::string& message) {
  std::cerr << "vrdns: " << message << "\n" << usage_text;
  return 2;
}

std::optional<unsigned> parse_number(std::string_view s, unsigned lo, unsigned hi) {
  unsigned v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || v < lo || v > hi) return std::nullopt;
  return v;
}

/// configs/example.test.zone of the source tree: next to the binary's build dir
/// (<repo>/build*/vrdns -> <repo>/configs), else relative to the working directory.
std::string default_zone_file() {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    fs::path candidate = exe.parent_path().parent_path() / "configs" / "example.test.zone";
    if (fs::is_regular_file(candidate, ec)) return candidate.string();
  }
  return (fs::current_path(ec) / "configs" / "example.test.zone").string();
}

int run_local(const std::vector<std::string_view>& args) {
  unsigned replicas = 3, port = 5301;
  std::string zone_file, origin;
  for (std::size_t i = 0; i < args.size(); ++i) {
    auto value = [&]() -> std::optional<std::string_view> {
      if (i + 1 >= args.size()) return std::nullopt;
      return args[++i];
    };
    std::string_view opt = args[i];
    if (opt == "--replicas" || opt == "--dns-port" || opt == "--zone" || opt == "--origin") {
      auto v = value();
      if (!v) return usage_error(std::string(opt) + " needs a value");
      if (opt == "--replicas") {
        auto n = parse_number(*v, 1, 9);
        if (!n) return usage_error("--replicas: expected 1..9");
        replicas = *n;
      } else if (opt == "--dns-port") {
        auto n = parse_number(*v, 1, 65535);
        if (!n) return usage_error("--dns-port: expected 1..65535");
        port = *n;
      } else if (opt == "--zone") {
        zone_file = std::string(*v);
      } else {
        origin = std::string(*v);
      }
    } else {
      return usage_error("local: unknown option " + std::string(opt));
    }
  }
  if (port + replicas - 1 > 65535) return usage_error("--dns-port: ports P..P+N-1 exceed 65535");
  if (zone_file.empty()) zone_file = default_zone_file();
  zone_file = std::filesystem::absolute(zone_file).lexically_normal().string();
  if (origin.empty()) {
    origin = std::filesystem::path(zone_file).filename().string();
    if (origin.size() > 5 && origin.ends_with(".zone")) origin.resize(origin.size() - 5);
  }
  if (origin.empty() || origin.back() != '.') origin += '.';

  // A fresh state directory per run: a data_dir left by an earlier run would make every
  // replica start recovering (app/replica_node.hpp), with nobody normal to recover from.
  std::string data_root = (std::filesystem::temp_directory_path() / "vrdns-local-XXXXXX").string();
  if (::mkdtemp(data_root.data()) == nullptr) {
    std::cerr << "vrdns local: cannot create a state directory in /tmp" << std::endl;
    return 1;
  }
  std::cerr << "vrdns local: state in " << data_root << std::endl;

  // The local cluster is described as config texts, so it gets exactly the same checks.
  std::string cluster = "[cluster]\nreplicas = [";
  for (unsigned r = 0; r < replicas; ++r)
    cluster += (r ? ", " : "") + std::string("\"127.0.0.1:") + std::to_string(7301 + r) + "\"";
  cluster += "]\n";
  std::vector<vrdns::config::NodeConfig> cfgs;
  try {
    for (unsigned r = 0; r < replicas; ++r) {
      std::string toml = cluster + "[node]\nreplica = " + std::to_string(r) +
                         "\ndata_dir = \"" + data_root + "/n" + std::to_string(r) +
                         "\"\n[dns]\nlisten = [\"127.0.0.1:" + std::to_string(port + r) +
                         "\"]\nnsid = \"vrdns-" + std::to_string(r) +
                         "\"\n[stats]\nlisten = \"127.0.0.1:" + std::to_string(9301 + r) +
                         "\"\n[[zone]]\nname = \"" + origin + "\"\nfile = \"" + zone_file +
                         "\"\n" + local_key_config;
      cfgs.push_back(vrdns::config::parse_config(toml, "<vrdns local>"));
    }
  } catch (const std::exception& e) {
    std::cerr << "vrdns local: " << e.what() << std::endl;
    return 1;
  }
  int rc = vrdns::app::run_nodes(cfgs, false);   // no files: SIGHUP has nothing to reload
  std::error_code ec;
  std::filesystem::remove_all(data_root, ec);   // nothing in it outlives the run
  return rc;
}

// glibc gives the free top of a thread's heap back to the kernel as soon as it exceeds 128 KiB
// and grows it again (page faults, mprotect) on the next burst; under an UPDATE load every
// replication thread does that hundreds of times a second (sysmalloc, mprotect and page faults
// were ~10% of a node's CPU samples). Keeping up to 256 MiB of free heap costs resident memory
// only after a peak (a big zone load or transfer); the cluster took 3-10% less CPU per UPDATE
// in 6 of 7 A/B pairs (docs/pitfalls.md, session 10). Malloc settings in GLIBC_TUNABLES win.
void keep_freed_heap() {
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (tunables == nullptr ||
      std::string_view(tunables).find("glibc.malloc.") == std::string_view::npos) {
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    mallopt(M_TOP_PAD, 64 << 20);
  }
}

// `vrdns check-zone NAME FILE [--print]`: what named-checkzone and kzonecheck do for BIND and
// Knot, with vrdns' own loader, so an operator sees what a node would make of a file before
// it seeds a cluster or is added to one.
int check_zone(const std::vector<std::string_view>& args) {
  const bool print = args.size() == 3 && args[2] == "--print";
  if (args.size() != 2 && !print) return usage_error("check-zone takes NAME FILE [--print]");
  try {
    const vrdns::dns::ZonePtr zone =
        vrdns::dns::load_zone_file(std::string(args[1]), std::string(args[0]));
    if (print) {
      std::cout << vrdns::dns::write_master_file(*zone);
    } else {
      std::cout << "zone " << args[0] << ": serial " << zone->serial() << ", "
                << zone->record_count() << " records\nok" << std::endl;
    }
  } catch (const std::exception& e) {   // ZoneError's text starts with "<file>:<line>:"
    std::cerr << e.what() << std::endl;
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  keep_freed_heap();
  std::vector<std::string_view> args(argv + 1, argv + argc);
  if (args.empty()) return usage_error("missing command");
  std::string_view cmd = args[0];
  if (cmd == "--help" || cmd == "-h") {
    std::cout << usage_text;
    return 0;
  }
  if (cmd == "--version") {
    std::cout << "vrdns " << VRDNS_VERSION << std::endl;
    return 0;
  }
  if (cmd == "--config" || cmd == "check-config") {
    if (args.size() != 2) return usage_error(std::string(cmd) + " takes exactly one FILE");
    vrdns::config::NodeConfig cfg;
    try {
      // Running, the zone files are read only if data_dir holds no checkpoint (ReplicaNode).
      cfg = vrdns::config::load_config(std::string(args[1]), cmd == "check-config"
                                                                 ? vrdns::config::ZoneFiles::load
                                                                 : vrdns::config::ZoneFiles::defer);
    } catch (const std::exception& e) {
      std::cerr << e.what() << std::endl;
      return 1;
    }
    if (cmd == "check-config") {
      std::cout << "ok" << std::endl;
      return 0;
    }
    return vrdns::app::run_node(cfg);
  }
  if (cmd == "local") return run_local({args.begin() + 1, args.end()});
  if (cmd == "check-zone") return check_zone({args.begin() + 1, args.end()});
  if (cmd == "zone") return vrdns::app::run_zone_command({args.begin() + 1, args.end()});
  return usage_error("unknown command " + std::string(cmd));
}
