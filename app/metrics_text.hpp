// A node's statistics as Prometheus text exposition format (version 0.0.4), the body of
// GET /metrics (net/metrics_server.hpp). docs/operations.md lists every metric and what to
// alert on.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "app/node_stats.hpp"
#include "net/query_stats.hpp"

namespace vrdns::app {

struct ZoneReading {
  std::string name;   ///< presentation form, as served
  uint32_t serial = 0;
  uint64_t records = 0;
  std::optional<uint64_t> queries;   ///< none: counted with the other zones beyond the slots
};

/// Everything one scrape reports, gathered first so that rendering is a pure function.
struct MetricsSnapshot {
  std::string node_name;   ///< [node] name
  std::string version;     ///< "0.16.0"
  double start_time_seconds = 0;   ///< Unix time the process started
  net::QueryTotals queries;
  std::array<uint64_t, net::rcode_slots> updates{};
  uint32_t tcp_connections = 0;
  ReplicaReading replica;
  std::vector<ZoneReading> zones;   ///< what the front end serves now
  uint64_t other_zone_queries = 0;  ///< queries of zones beyond net::zone_slots - 1
  /// NOTIFY (net::NotifyCounters) and zone transfers (TransferCounters), read at one moment.
  uint64_t notify_sent = 0, notify_answered = 0, notify_ignored = 0, notify_given_up = 0;
  uint64_t transfers_full = 0, transfers_incremental = 0, transfers_up_to_date = 0,
           transfers_refused = 0, transfers_busy = 0;
};

std::string render_metrics(const MetricsSnapshot& s);

/// "NOERROR", "NOTAUTH", "BADVERS", ... or "RCODE<n>".
std::string rcode_mnemonic(uint16_t rcode);
/// "QUERY", "NOTIFY", "UPDATE", ... or "OPCODE<n>".
std::string opcode_mnemonic(uint8_t opcode);

}  // namespace vrdns::app
