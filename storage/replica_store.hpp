// protocol::persistence over this layer: the replica's log in the write-ahead log (one WAL
// record per log entry) and its view promises in the view state file, both in one directory
// (the node's data_dir, or an in-memory disk in the simulator).
//
// open() reads back what an earlier incarnation saved:
// - nothing at all: a new replica (the caller decides whether that is a new cluster or a lost
//   disk);
// - a view record and a log: a restart on its own disk;
// - a corrupt log entry (checksum or chain) before the end: the entries from there on are
//   gone, and with them possibly PrepareOks this replica sent. It must not act on what is left,
//   so the store reports status recovering (VR §4.3: take part in nothing until the others
//   have supplied the state), which repairs the log from the peers.
// A view record that cannot be read at all, or one of another replica or cluster, fails open.
#pragma once

#include "protocol/persistence.hpp"
#include "storage/file.hpp"
#include "storage/view_state.hpp"
#include "storage/wal.hpp"

#include <memory>
#include <optional>
#include <string>

namespace vrdns::storage {

struct replica_store_report {
  bool found_state = false;        // a view record or log entries existed
  std::uint64_t torn_bytes = 0;    // a record cut at the end (expected after a crash)
  std::optional<wal_corruption> corruption;
};

class replica_store final : public protocol::persistence {
public:
  // `restored` is set when found_state. Fails (the node must not start) when the view record
  // is unreadable or belongs to another replica/cluster, or on an I/O error.
  static io_result<std::unique_ptr<replica_store>> open(
    directory& dir, std::uint32_t replica_number, std::uint64_t cluster_id,
    std::optional<protocol::restored_state>& restored, replica_store_report& report,
    wal_options options = {});

  bool save_log(const std::vector<protocol::log_entry>& log, std::uint64_t first_changed) override;
  bool save_view(const protocol::durable_view& v) override;
  std::string error() const override { return error_; }

  /// Keeps `owner` (the directory the store's files live in) alive as long as the store: the
  /// replica holding the store may outlive whoever opened it.
  void keep_alive(std::shared_ptr<void> owner) { owner_ = std::move(owner); }

private:
  replica_store(std::unique_ptr<wal> w, std::unique_ptr<view_state_store> v, std::uint32_t replica,
                std::uint64_t cluster)
    : wal_(std::move(w)), views_(std::move(v)), replica_number_(replica), cluster_id_(cluster) {}
  bool fail(const io_error& e);

  std::shared_ptr<void> owner_;   // declared first: released after the files are closed
  std::unique_ptr<wal> wal_;
  std::unique_ptr<view_state_store> views_;
  std::uint32_t replica_number_;
  std::uint64_t cluster_id_;
  std::string error_;
};

// One log entry as a WAL payload: u64 client_id, u64 request_number (little-endian), then the
// op bytes.
std::string encode_log_entry(const protocol::log_entry& e);
std::optional<protocol::log_entry> decode_log_entry(std::string_view payload);

} // namespace vrdns::storage
