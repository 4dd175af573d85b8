#include "tests/chaos/cluster.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace vrdns::chaos {

namespace {

using Clock = std::chrono::steady_clock;

/// The lowest port the kernel hands out for bind(port 0) / outgoing connections.
int ephemeral_low() {
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  int low = 32768, high = 60999;
  in >> low >> high;
  return low > 11000 ? low : 32768;
}

bool can_bind(int type, uint16_t port) {
  int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

/// A port in [10000, ephemeral_low) free for UDP and TCP right now, and not in `taken`.
uint16_t pick_port(std::mt19937& rng, const std::vector<uint16_t>& taken) {
  std::uniform_int_distribution<int> dist(10000, ephemeral_low() - 1);
  for (int attempt = 0; attempt < 500; ++attempt) {
    const auto p = uint16_t(dist(rng));
    bool used = false;
    for (uint16_t t : taken) used = used || t == p;
    if (!used && can_bind(SOCK_DGRAM, p) && can_bind(SOCK_STREAM, p)) return p;
  }
  throw std::runtime_error("no free port below the ephemeral range");
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void append_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::app);
  out << text;
}

}  // namespace

Cluster::Cluster(ClusterOptions options) : opt_(std::move(options)) {
  if (opt_.nodes < 1 || opt_.work_dir.empty()) throw std::invalid_argument("cluster: bad options");
  nodes_.resize(std::size_t(opt_.nodes));
  for (int attempt = 1; attempt <= 5; ++attempt) {
    if (start_all()) return;
    const bool port_clash = error_.find("cannot bind") != std::string::npos;
    for (int i = 0; i < size(); ++i) kill(i);
    if (!port_clash) break;
  }
  const std::string why = error_;
  throw std::runtime_error("cluster did not start: " + why);
}

Cluster::~Cluster() {
  for (int i = 0; i < size(); ++i) kill(i);
}

std::vector<uint16_t> Cluster::dns_ports() const {
  std::vector<uint16_t> p;
  for (const Node& n : nodes_) p.push_back(n.dns_port);
  return p;
}

std::string Cluster::config_path(int i) const {
  return opt_.work_dir + "/node" + std::to_string(i) + ".toml";
}
std::string Cluster::log_path(int i) const {
  return opt_.work_dir + "/node" + std::to_string(i) + ".log";
}
std::string Cluster::log(int i) const { return read_file(log_path(i)); }

void Cluster::write_configs() {
  std::mt19937 rng{std::random_device{}()};
  std::vector<uint16_t> taken;
  for (Node& n : nodes_) {
    n.dns_port = pick_port(rng, taken);
    taken.push_back(n.dns_port);
    n.vr_port = pick_port(rng, taken);
    taken.push_back(n.vr_port);
  }
  std::string replicas;
  for (const Node& n : nodes_)
    replicas += (replicas.empty() ? "" : ", ") + std::string("\"127.0.0.1:") +
                std::to_string(n.vr_port) + "\"";
  for (int i = 0; i < size(); ++i) {
    std::ofstream out(config_path(i), std::ios::trunc);
    out << "[cluster]\nreplicas = [" << replicas << "]\n"
        << "[node]\nreplica = " << i << "\ndata_dir = \"" << opt_.work_dir << "/data" << i << "\"\n"
        << "[dns]\nlisten = [\"127.0.0.1:" << nodes_[std::size_t(i)].dns_port << "\"]\n"
        << "udp_workers = 1\ntcp_workers = 1\n"
        << "[replication]\nheartbeat_ms = " << opt_.heartbeat_ms
        << "\nprimary_timeout_ms = " << opt_.primary_timeout_ms
        << "\nupdate_timeout_ms = " << opt_.update_timeout_ms << "\n"
        << "[[zone]]\nname = \"" << opt_.zone << "\"\nfile = \"" << opt_.zone_file << "\"\n"
        << "[[key]]\nname = \"" << opt_.key.name << "\"\nalgorithm = \"hmac-sha256\"\n"
        << "secret = \"" << opt_.key.secret_base64 << "\"\n"
        << "[update]\nallow = [\"" << opt_.key.name << "\"]\n";
    if (!out) throw std::runtime_error("cannot write " + config_path(i));
  }
}

bool Cluster::start_all() {
  error_.clear();
  write_configs();
  for (int i = 0; i < size(); ++i) {
    // A fresh start: no data_dir, so the node does not take itself for a restarted one.
    std::error_code ec;
    std::filesystem::remove_all(opt_.work_dir + "/data" + std::to_string(i), ec);
    nodes_[std::size_t(i)].incarnation = 0;
    if (!spawn(i)) return false;
  }
  return true;
}

bool Cluster::spawn(int i) {
  Node& n = nodes_.at(std::size_t(i));
  if (n.pid > 0) throw std::logic_error("spawn: node already running");
  ++n.incarnation;
  append_file(log_path(i), "=== chaos: incarnation " + std::to_string(n.incarnation) + " ===\n");

  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);   // dup2 clears CLOEXEC on fd 1
  const std::string logp = log_path(i);
  posix_spawn_file_actions_addopen(&fa, 2, logp.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // The child starts with no blocked signals and default dispositions, whatever this thread
  // had (vrdns blocks SIGTERM/SIGINT itself for its sigwait).
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  const std::string cfg = config_path(i);
  std::vector<std::string> args = {opt_.vrdns, "--config", cfg};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, opt_.vrdns.c_str(), &fa, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  close(out[1]);
  if (rc != 0) {
    close(out[0]);
    error_ = "posix_spawn " + opt_.vrdns + ": " + std::to_string(rc);
    return false;
  }
  n.pid = pid;
  n.stdout_fd = out[0];
  n.paused = false;

  // The ready line is the event; the deadline only bounds a node that hangs.
  const std::string want = "vrdns: replica " + std::to_string(i) + " serving";
  std::string line;
  const auto deadline = Clock::now() + opt_.ready_timeout;
  while (line.find('\n') == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd p{n.stdout_fd, POLLIN, 0};
    const int r = poll(&p, 1, left.count() > 0 ? int(left.count()) : 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;   // timeout
    char buf[256];
    const ssize_t got = read(n.stdout_fd, buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;   // EOF: the node exited
    line.append(buf, std::size_t(got));
  }
  if (line.rfind(want, 0) != 0) {
    kill(i);
    error_ = "node " + std::to_string(i) + " gave no ready line (got '" + line + "'); log:\n" + log(i);
    return false;
  }
  return true;
}

void Cluster::reap(int i) {
  Node& n = nodes_.at(std::size_t(i));
  int status = 0;
  while (waitpid(n.pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (n.stdout_fd >= 0) close(n.stdout_fd);
  n.stdout_fd = -1;
  n.pid = -1;
  n.paused = false;
}

void Cluster::kill(int i) {
  Node& n = nodes_.at(std::size_t(i));
  if (n.pid <= 0) return;
  ::kill(n.pid, SIGKILL);
  reap(i);
}

bool Cluster::reload(int i) {
  const Node& n = nodes_.at(std::size_t(i));
  if (n.pid <= 0 || n.paused) return true;
  auto reloads = [&] {
    const std::string text = log(i);
    std::size_t count = 0;
    for (auto at = text.find("configuration reloaded from"); at != std::string::npos;
         at = text.find("configuration reloaded from", at + 1))
      ++count;
    return count;
  };
  const std::size_t before = reloads();
  ::kill(n.pid, SIGHUP);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    if (reloads() > before) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));   // poll interval of a bounded wait
  }
  error_ = "node " + std::to_string(i) + " logged no reload within 5 s of SIGHUP";
  return false;
}

void Cluster::pause(int i) {
  Node& n = nodes_.at(std::size_t(i));
  if (n.pid <= 0 || n.paused) return;
  ::kill(n.pid, SIGSTOP);
  n.paused = true;
}

void Cluster::resume(int i) {
  Node& n = nodes_.at(std::size_t(i));
  if (n.pid <= 0 || !n.paused) return;
  ::kill(n.pid, SIGCONT);
  n.paused = false;
}

bool Cluster::restart(int i) {
  kill(i);
  return spawn(i);
}

int Cluster::terminate_all(std::chrono::milliseconds grace) {
  int bad = 0;
  for (int i = 0; i < size(); ++i) {
    Node& n = nodes_[std::size_t(i)];
    if (n.pid <= 0) continue;
    ::kill(n.pid, SIGTERM);
    if (n.paused) ::kill(n.pid, SIGCONT);
    // The child's exit closes its stdout: EOF on our end is the event.
    const auto deadline = Clock::now() + grace;
    bool exited = false;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      pollfd p{n.stdout_fd, POLLIN, 0};
      const int r = poll(&p, 1, left.count() > 0 ? int(left.count()) : 0);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) break;
      char buf[256];
      const ssize_t got = read(n.stdout_fd, buf, sizeof buf);
      if (got == 0) {
        exited = true;
        break;
      }
      if (got < 0 && errno != EINTR) break;
    }
    if (!exited) {
      ++bad;
      error_ += "node " + std::to_string(i) + " still running after SIGTERM\n";
      kill(i);
      continue;
    }
    int status = 0;
    while (waitpid(n.pid, &status, 0) < 0 && errno == EINTR) {
    }
    close(n.stdout_fd);
    n.stdout_fd = -1;
    n.pid = -1;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      ++bad;
      error_ += "node " + std::to_string(i) + " exit status " + std::to_string(status) + "\n";
    }
  }
  return bad;
}

bool Cluster::wait_converged(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    std::vector<NodeStatus> st;
    std::string seen;
    for (int i = 0; i < size(); ++i) {
      st.push_back(query_status(dns_port(i)));
      seen += "node " + std::to_string(i) + ": " + (st.back().answered ? st.back().text : "(no answer)") + "\n";
    }
    last_statuses_ = seen;
    bool ok = true;
    for (const NodeStatus& s : st)
      ok = ok && s.answered && s.status == "normal" && s.view == st[0].view &&
           s.commit == st[0].commit && s.op == s.commit;
    if (ok) return true;
    if (Clock::now() >= deadline) return false;
    // No event tells us that a status changed: polling status.vrdns is the only way.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

bool Cluster::wait_all_normal(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    std::string seen;
    bool ok = true;
    uint64_t view = 0;
    for (int i = 0; i < size(); ++i) {
      const NodeStatus s = query_status(dns_port(i));
      seen += "node " + std::to_string(i) + ": " + (s.answered ? s.text : "(no answer)") + "\n";
      if (i == 0) view = s.view;
      ok = ok && s.answered && s.status == "normal" && s.view == view;
    }
    last_statuses_ = seen;
    if (ok) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));   // polling, as above
  }
}

int Cluster::primary() {
  std::map<std::pair<uint64_t, int>, int> votes;   // (view, primary) -> nodes saying so
  for (int i = 0; i < size(); ++i) {
    if (!running(i) || paused(i)) continue;
    const NodeStatus s = query_status(dns_port(i));
    if (s.answered && s.status == "normal") ++votes[{s.view, s.primary}];
  }
  for (const auto& [key, count] : votes)
    if (count * 2 > size()) return key.second;
  return -1;
}

}  // namespace vrdns::chaos
