// The replica's durable VR promises: the view it is in and what it told others about it. VR
// is only safe if a replica that restarts never goes back to an older view (it could otherwise
// ack a Prepare of a deposed primary, or send a second, different DoViewChange for a view), so
// the replica writes this record *before* it acts on a new view: before it sends
// StartViewChange, DoViewChange or StartView, and before it accepts a Prepare of a higher view.
//
// Crash safety (the layout is in docs/storage.md): one file `view_state` holds two copies of
// the record, in different 512-byte sectors, each with a CRC32C and a sequence number. A write
// rewrites copy A, fsyncs, rewrites copy B, fsyncs. A crash during A leaves B with the previous
// record; a crash during B leaves A with the new one; a read takes the valid copy with the
// highest sequence number, so it returns either the previous or the new record, never a
// mixture. Afterwards both copies are equal, so bit rot in one copy still leaves the latest
// record readable from the other (which a scheme alternating A/B per write would not). The very
// first write goes to `view_state.tmp`, then fsync, rename, directory fsync, so a crash during
// it leaves no file at all (= nothing promised yet) rather than an unreadable one.
#pragma once

#include "storage/file.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace vrdns::storage {

// protocol::replica_status, repeated here so storage/ does not depend on protocol/.
enum class durable_status : std::uint8_t { normal = 0, view_change = 1, recovering = 2 };

struct view_state {
  std::uint32_t replica_number = 0;
  std::uint64_t cluster_id = 0;     // cluster_identity() of the configuration
  std::uint64_t view_number = 0;    // never decreases
  std::uint64_t last_normal_view = 0;
  durable_status status = durable_status::normal;
  // Highest op known committed when written. Not a promise, a hint: after a restart the
  // replica knows that much of its log is committed without asking.
  std::uint64_t commit_number = 0;
  friend bool operator==(const view_state&, const view_state&) = default;
};

// A 64-bit identity of the configuration (the ordered replica address list), stored with the
// view state so a node started on another cluster's or another replica's data refuses to run.
std::uint64_t cluster_identity(const std::vector<std::string>& replica_addresses);

inline constexpr std::size_t view_state_copy_size = 512; // one copy per sector

class view_state_store {
public:
  // Reads the current record into `current` (nullopt: nothing was ever written). Fails with
  // EBADMSG if the file exists but neither copy is valid (the node must not start: it cannot
  // know what it promised), and with EINVAL if the record belongs to another replica or cluster.
  static io_result<std::unique_ptr<view_state_store>> open(directory& dir,
                                                           std::uint32_t replica_number,
                                                           std::uint64_t cluster_id,
                                                           std::optional<view_state>& current);

  // Durably replaces the record; returns only after both copies are synced. Throws
  // std::logic_error if `next` would break a promise (a lower view, another identity). On an
  // error the previous record or `next` may be on disk; the caller must not act on `next`.
  io_error write(const view_state& next);

  const std::optional<view_state>& current() const { return current_; }

  static constexpr const char* file_name = "view_state";
  static constexpr const char* temp_name = "view_state.tmp";

private:
  view_state_store(directory& dir, std::uint32_t replica, std::uint64_t cluster)
    : dir_(dir), replica_number_(replica), cluster_id_(cluster) {}

  directory& dir_;
  std::uint32_t replica_number_;
  std::uint64_t cluster_id_;
  std::optional<view_state> current_;
  std::uint64_t sequence_ = 0;
  std::unique_ptr<file> file_;
  io_error failed_; // sticky after an fsync failed
};

// Encoding of one copy (exposed for tests): `view_state_copy_size` bytes.
std::string encode_view_state_copy(const view_state& s, std::uint64_t sequence);
// The record and its sequence number, or nullopt if the copy is not valid.
std::optional<std::pair<view_state, std::uint64_t>> decode_view_state_copy(std::string_view bytes);

} // namespace vrdns::storage
