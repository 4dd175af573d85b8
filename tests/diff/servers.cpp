#include "tests/diff/servers.hpp"

#include <chrono>
#include <fstream>
#include <set>
#include <stdexcept>
#include <sys/stat.h>

#include "tests/diff/wire_client.hpp"

namespace vrdns::difftest {
namespace {

constexpr std::chrono::seconds kStartTimeout{20};

// Distinct ports within one run: the kernel may hand out a just-released port again.
uint16_t fresh_port() {
  static std::set<uint16_t> used;
  for (int i = 0; i < 50; ++i) {
    uint16_t p = pick_free_port();
    if (used.insert(p).second) return p;
  }
  throw std::runtime_error("could not find distinct free ports");
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

// Starts a server on a fresh port; `prepare(port)` writes its config and returns its argv.
// Another process may grab the port between our probe and the server's bind, so a failed
// start is retried on a new port a few times before giving up.
template <class Prepare>
Server launch(const std::string& name, Prepare prepare, const std::string& ready,
              const std::vector<std::string>& failures) {
  std::string last_log;
  for (int attempt = 0; attempt < 3; ++attempt) {
    Server s{name, fresh_port(), nullptr};
    s.process = std::make_unique<ServerProcess>(name, prepare(s.port));
    if (s.process->wait_for_line(ready, failures, kStartTimeout)) return s;
    last_log = s.process->log();   // s's destructor stops the process
  }
  throw std::runtime_error(name + " did not become ready (waited for \"" + ready +
                           "\"). Its output:\n" + last_log);
}

}  // namespace

Server start_nsd(const std::string& binary, const std::string& dir, const ServedZone& zone) {
  std::string d = dir + "/nsd";
  mkdir(d.c_str(), 0700);
  auto prepare = [&](uint16_t port) {
    // No chroot, no privilege drop, no database, no remote control; RRL off so that the
    // corpus is never rate-limited (this nsd is built with --enable-ratelimit).
    write_file(d + "/nsd.conf",
               "server:\n"
               "  ip-address: 127.0.0.1\n"
               "  port: " + std::to_string(port) + "\n"
               "  do-ip6: no\n"
               "  server-count: 1\n"
               "  username: \"\"\n"
               "  chroot: \"\"\n"
               "  zonesdir: \"" + d + "\"\n"
               "  pidfile: \"" + d + "/nsd.pid\"\n"
               "  database: \"\"\n"
               "  xfrdfile: \"" + d + "/xfrd.state\"\n"
               "  zonelistfile: \"" + d + "/zone.list\"\n"
               "  xfrdir: \"" + d + "\"\n"
               "  verbosity: 1\n"
               "  rrl-ratelimit: 0\n"
               "  identity: \"nsd-diff\"\n"
               "remote-control:\n"
               "  control-enable: no\n"
               "zone:\n"
               "  name: \"" + zone.name + "\"\n"
               "  zonefile: \"" + zone.file + "\"\n");
    return std::vector<std::string>{binary, "-d", "-c", d + "/nsd.conf"};
  };
  // "nsd started" is logged after the zone was read and the sockets are open.
  return launch("nsd", prepare, "nsd started", {" errors", "error:"});
}

Server start_knot(const std::string& binary, const std::string& dir, const ServedZone& zone) {
  std::string d = dir + "/knot";
  mkdir(d.c_str(), 0700);
  auto prepare = [&](uint16_t port) {
    // Zone loaded whole from the file, never written back, no journal, no semantic checks.
    write_file(d + "/knot.conf",
               "server:\n"
               "  rundir: \"" + d + "\"\n"
               "  listen: 127.0.0.1@" + std::to_string(port) + "\n"
               "  identity: \"knot-diff\"\n"
               "  udp-workers: 1\n"
               "  tcp-workers: 1\n"
               "  background-workers: 1\n"
               "database:\n"
               "  storage: \"" + d + "\"\n"
               "log:\n"
               "  - target: stderr\n"
               "    any: info\n"
               "template:\n"
               "  - id: default\n"
               "    storage: \"" + d + "\"\n"
               "    semantic-checks: off\n"
               "    journal-content: none\n"
               "    zonefile-sync: -1\n"
               "    zonefile-load: whole\n"
               "zone:\n"
               "  - domain: \"" + zone.name + "\"\n"
               "    file: \"" + zone.file + "\"\n");
    return std::vector<std::string>{binary, "-c", d + "/knot.conf"};
  };
  // Knot loads zones in the background after binding; the zone's own "loaded" line is the
  // moment it answers for it.
  return launch("knot", prepare, "] loaded, serial",
               {"failed to load", "zone file error", "error:", "critical:"});
}

Server start_vrdns(const std::string& binary, const std::string& dir, const ServedZone& zone) {
  std::string d = dir + "/vrdns";
  mkdir(d.c_str(), 0700);
  auto prepare = [&](uint16_t port) {
    uint16_t replica_port = fresh_port();
    write_file(d + "/vrdns.toml",
               "[cluster]\n"
               "replicas = [\"127.0.0.1:" + std::to_string(replica_port) + "\"]\n"
               "[node]\n"
               "replica = 0\n"
               "data_dir = \"" + d + "/data\"\n"
               "[dns]\n"
               "listen = [\"127.0.0.1:" + std::to_string(port) + "\"]\n"
               "[[zone]]\n"
               "name = \"" + zone.name + "\"\n"
               "file = \"" + zone.file + "\"\n");
    return std::vector<std::string>{binary, "--config", d + "/vrdns.toml"};
  };
  return launch("vrdns", prepare, "vrdns: replica", {});
}

}  // namespace vrdns::difftest
