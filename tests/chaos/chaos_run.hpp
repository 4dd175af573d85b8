// The chaos workload: client threads sending UPDATEs to random nodes while a nemesis thread
// kills, restarts, pauses and resumes nodes, one at a time (f = 1). Produces the history that
// chaos_main.cpp checks once the cluster has healed.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "tests/chaos/cluster.hpp"
#include "tests/chaos/outcome.hpp"

namespace vrdns::chaos {

inline const std::string chaos_zone = "example.test.";
inline const std::string cas_name = "cas.example.test.";
inline const std::string cas_initial = "init";

enum class OpKind { add, cas };

/// One UPDATE as the client saw it. Times are microseconds since the run started.
struct OpRecord {
  OpKind kind = OpKind::add;
  int client = 0;
  int first_node = -1;    ///< the node it was sent to first
  int answered_by = -1;   ///< node index of the deciding reply, -1 if none
  int64_t start_us = 0;   ///< just before the first send
  int64_t end_us = 0;     ///< when the outcome was decided
  Outcome outcome = Outcome::unknown;
  int rcode = -1;
  int sends = 0;
  std::string name;       ///< add: owner of the A record; cas: cas_name
  std::string value;      ///< add: the address; cas: the new TXT value
  std::string old_value;  ///< cas: the value it expects
};

struct NemesisAction {
  int64_t at_us = 0;
  int node = -1;
  std::string what;   ///< "kill", "restart", "pause", "resume", or a warning
};

struct History {
  std::vector<OpRecord> ops;
  std::vector<NemesisAction> nemesis;
  int bad_tsig = 0;        ///< replies whose TSIG did not verify (must stay 0)
  int skipped_reads = 0;   ///< CAS rounds skipped because no node answered the read
};

struct RunOptions {
  std::chrono::seconds duration{60};
  uint64_t seed = 1;
  int adders = 3;
  int cas_clients = 3;
  std::chrono::milliseconds per_try{1000};     ///< client wait before trying the next node
  /// Client 0 of each kind sends to one node only and waits this long: without retransmission
  /// its ops end "unknown" when that node is down, so the checks see unknown outcomes too.
  std::chrono::milliseconds single_try{400};
  std::chrono::milliseconds think_time{15};    ///< pause between a client's ops (bounds the load)
  int max_ops_per_client = 4000;
  bool crash_all = true;   ///< the nemesis may also kill every node at once (durable state)
};

/// Runs the workload and the nemesis for `opt.duration`; on return every node is running
/// and resumed. The CAS register must already hold `cas_initial`.
History run_chaos(Cluster& cluster, const ClientKey& key, const RunOptions& opt);

/// One line per op / action, for the history file.
std::string to_text(const OpRecord& op);
std::string to_text(const NemesisAction& a);

}  // namespace vrdns::chaos
