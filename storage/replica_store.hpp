// protocol::persistence over this layer: the replica's log in the write-ahead log (one WAL
// record per log entry), its view promises in the view state file and its latest checkpoint in
// the checkpoint files, all in one directory (the node's data_dir, or an in-memory disk in the
// simulator).
//
// open() reads back what an earlier incarnation saved:
// - nothing at all: a new replica (the caller decides whether that is a new cluster or a lost
//   disk);
// - a view record, maybe a checkpoint, and a log: a restart on its own disk. Entries at or
//   before the checkpoint's op are committed; if the whole log lies there, the log comes back
//   empty after the checkpoint (log_start = its op);
// - a log that cannot follow the checkpoint: a corrupt entry (checksum or chain) before the end,
//   or a hole (the log starts after op checkpoint+1, or after op 1 without a checkpoint: the
//   checkpoint that covered the gap was lost or is corrupt). Entries are gone, and with them
//   possibly PrepareOks this replica sent. It must not act on what is left, so the store reports
//   status recovering (VR §4.3: take part in nothing until the others have supplied the state),
//   keeps the checkpoint (committed state, still good) and empties the log after it. The
//   recovering status is written to the view record before the log is emptied, so a crash in
//   between cannot bring the replica back as normal with an empty log.
// A view record that cannot be read at all, or one of another replica or cluster, fails open.
//
// Threads: save_checkpoint() may run on a checkpoint writer thread while the replica's thread
// calls the rest; they share only the directory and the error text (under a mutex).
#pragma once

#include "protocol/persistence.hpp"
#include "storage/checkpoint_store.hpp"
#include "storage/file.hpp"
#include "storage/view_state.hpp"
#include "storage/wal.hpp"

#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace vrdns::storage {

struct replica_store_report {
  bool found_state = false;        // a view record, a checkpoint or log entries existed
  std::uint64_t torn_bytes = 0;    // a record cut at the end (expected after a crash)
  std::optional<wal_corruption> corruption;
  // The WAL starts after op `log_gap->first` but the checkpoint (if any) ends at op
  // `log_gap->second`: the ops between are lost. Reported like a corruption.
  std::optional<std::pair<std::uint64_t, std::uint64_t>> log_gap;
  std::optional<std::uint64_t> checkpoint_op;   // the checkpoint loaded
  std::vector<checkpoint_problem> corrupt_checkpoints; // newer ones passed over, for the log
  std::size_t checkpoint_leftovers_removed = 0;
};

class replica_store final : public protocol::persistence {
public:
  // `restored` is set when found_state. Fails (the node must not start) when the view record
  // is unreadable or belongs to another replica/cluster, or on an I/O error.
  static io_result<std::unique_ptr<replica_store>> open(
    directory& dir, std::uint32_t replica_number, std::uint64_t cluster_id,
    std::optional<protocol::restored_state>& restored, replica_store_report& report,
    wal_options options = {}, checkpoint_options checkpoints = {});

  bool save_log(std::uint64_t log_start, const std::vector<protocol::log_entry>& log,
                std::uint64_t first_changed) override;
  bool save_view(const protocol::durable_view& v) override;
  bool save_checkpoint(const protocol::checkpoint& c) override;
  bool discard_log_before(std::uint64_t op) override;
  // The log or view error if there is one (the replica cannot send), else the checkpoint error.
  std::string error() const override;

  /// Keeps `owner` (the directory the store's files live in) alive as long as the store: the
  /// replica holding the store may outlive whoever opened it.
  void keep_alive(std::shared_ptr<void> owner) { owner_ = std::move(owner); }

private:
  replica_store(std::unique_ptr<wal> w, std::unique_ptr<view_state_store> v,
                std::unique_ptr<checkpoint_store> c, std::uint32_t replica, std::uint64_t cluster)
    : wal_(std::move(w)), views_(std::move(v)), checkpoints_(std::move(c)),
      replica_number_(replica), cluster_id_(cluster) {}
  view_state record_of(const protocol::durable_view& v) const;
  bool fail(const io_error& e);              // replica's thread: log and view
  bool fail_checkpoint(const io_error& e);   // checkpoint writer
  void clear_error(bool checkpoint);

  std::shared_ptr<void> owner_;   // declared first: released after the files are closed
  std::unique_ptr<wal> wal_;
  std::unique_ptr<view_state_store> views_;
  std::unique_ptr<checkpoint_store> checkpoints_;
  std::uint32_t replica_number_;
  std::uint64_t cluster_id_;
  mutable std::mutex error_mutex_;   // error() may be called from any thread
  std::string log_error_;
  std::string checkpoint_error_;
};

// One log entry as a WAL payload: u64 client_id, u64 request_number (little-endian), then the
// op bytes.
std::string encode_log_entry(const protocol::log_entry& e);
std::optional<protocol::log_entry> decode_log_entry(std::string_view payload);

} // namespace vrdns::storage
