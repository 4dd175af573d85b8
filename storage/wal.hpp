// The write-ahead log of a replica: the VR log entries (opaque payloads) in the order of their
// op_number, each record checksummed (CRC32C) and chained to its predecessor, in segment files
// `wal-<20-digit first op>.log` of one directory. File format and recovery rules: docs/storage.md.
//
// Contract with the replica (group commit): append() only buffers; sync() writes everything
// buffered and makes it durable with one fsync, and returns the op_number durable up to. A
// replica may send PrepareOk(op) only after sync() returned a value >= op. Callers append many
// entries (every Prepare that arrived meanwhile), then sync once.
//
// Pure and synchronous: no threads, no CAF. Errors of the disk are io_error values; misuse by the
// caller (non-consecutive op numbers, truncating what does not exist) throws std::logic_error,
// in every build type, because it means the replica's bookkeeping is broken.
#pragma once

#include "storage/file.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vrdns::storage {

struct wal_options {
  // A segment is closed when the next record would take it past this size (a record larger
  // than a whole segment gets a segment of its own).
  std::uint64_t segment_size = 64ull << 20;
  // A payload_length above this in a header is treated as a corrupt header, never allocated.
  std::uint32_t max_payload = 16u << 20;
  // The op_number of the first entry of a log that has none yet.
  std::uint64_t first_op = 1;
  // The active segment's file is kept extended with zero bytes (written, not fallocate'd or
  // sparse) up to the next multiple of this size past its data, never past segment_size. A
  // sync() then mostly overwrites allocated, zeroed space and the fdatasync need not also
  // write the inode (its size changes once per chunk, not once per sync). 0 = off: the file
  // grows with every sync. Recovery reads an all-zero tail as the end of the data
  // (docs/storage.md "Zero tail").
  std::uint64_t preallocate_chunk = 1u << 20;
};

struct wal_entry {
  std::uint64_t op_number = 0;
  std::uint64_t view_number = 0;
  std::string payload;
  friend bool operator==(const wal_entry&, const wal_entry&) = default;
};

// A record that cannot be read back although later data proves it was written completely: a
// bad checksum or a broken chain before the end of the log. Never skipped silently: the caller
// repairs (truncate_after(op_number - 1), then fetch the rest from peers) or stops.
struct wal_corruption {
  std::uint64_t op_number = 0; // the first op that is lost; every op before it was recovered
  std::string segment;
  std::uint64_t offset = 0;
  std::string reason;
};

struct wal_recovery {
  std::vector<wal_entry> entries; // consecutive op_numbers, oldest first
  // Bytes cut off the end of the last segment: a record that was being written when the node
  // stopped (never synced, so never acknowledged). Expected after a crash; not an error.
  // Counted up to the last non-zero byte: the zero preallocation after it is not torn data.
  std::uint64_t torn_bytes = 0;
  std::string torn_reason;
  std::optional<wal_corruption> corruption;
};

class wal {
public:
  // Opens the log in `dir` (empty or missing segments: an empty log), reads it back into
  // `recovered` and cuts a torn tail. A corruption does not fail the open: the log is opened in
  // repair state, in which append() is refused until truncate_after() drops the corrupt op.
  // Fails only on an I/O error.
  static io_result<std::unique_ptr<wal>> open(directory& dir, const wal_options& options,
                                               wal_recovery& recovered);

  // Buffers one entry; op_number must be last_op() + 1.
  void append(std::uint64_t op_number, std::uint64_t view_number, std::string_view payload);
  // Writes every buffered entry and fsyncs once (a segment roll adds the fsyncs of the closed
  // segment and of the directory). Returns durable_op(). On error nothing new is reported
  // durable; ENOSPC keeps the buffer so a later sync can succeed; a failed fsync makes the log
  // fail every later call (the written data may be gone: see file.hpp), the node must restart.
  io_result<std::uint64_t> sync();
  // Drops every entry after `op` (first_op() - 1 <= op), buffered or on disk; durable before it
  // returns. Used where VR replaces the uncommitted suffix (a view change). Any error here
  // (as in truncate_before) makes the log fail every later call: the node must restart.
  io_error truncate_after(std::uint64_t op);
  // Deletes whole segments whose entries are all below `op` (after a checkpoint that covers
  // them). Entries from first_op() on stay readable and chained; first_op() may stay below op.
  // A failed unlink changes nothing (the segment stays, the log stays usable); a failed
  // directory fsync poisons the log like any failed fsync.
  io_error truncate_before(std::uint64_t op);
  // Discards the whole log (written, buffered, or set aside after a corruption) and restarts it
  // empty after `after_op`: the next entry is after_op + 1. Used when a checkpoint was installed
  // past the end of the log, so the old entries no longer connect to the new ones. Atomic across
  // a crash: a reopen finds either the old log or the new empty one, never a mix. The commit
  // point is a marker file `wal-reset-<20-digit after_op + 1>` (docs/storage.md); open()
  // finishes a reset it finds half done. Clears the repair state. Any error poisons the log.
  io_error reset(std::uint64_t after_op);

  std::uint64_t first_op() const { return first_op_; }
  std::uint64_t last_op() const { return first_op_ + index_.size() + pending_.size() - 1; }
  std::uint64_t durable_op() const { return durable_op_; }
  bool needs_repair() const { return repair_op_.has_value(); }
  std::size_t segment_count() const { return segments_.size(); }
  // Entries the in-memory index holds room for: it follows first_op()..last_op(), so dropping
  // segments (truncate_before, reset) releases it (tests check this).
  std::size_t index_capacity() const { return index_.capacity(); }

  static std::string segment_name(std::uint64_t first_op);
  static std::string reset_marker_name(std::uint64_t first_op);

private:
  struct segment {
    std::uint64_t first_op = 0;
    std::string name;
    // Bytes of whole records written to it: where the next record goes.
    std::uint64_t data_size = 0;
    // Bytes in the file: data_size plus the zero preallocation after it (>= data_size). Past
    // data_size the file holds only zeros, except for what a failed write left (trim_needed_).
    std::uint64_t file_size = 0;
  };
  struct record_location {
    std::uint64_t offset = 0; // in the segment holding the record
    std::uint32_t size = 0;
    std::uint32_t checksum = 0;
  };

  wal(directory& dir, const wal_options& options) : dir_(dir), options_(options) {}

  io_error recover(wal_recovery& out);
  io_error finish_reset(std::uint64_t first_op, const std::vector<std::string>& names);
  void release_index_memory();
  std::uint64_t written_op() const { return first_op_ + index_.size() - 1; }
  std::size_t segment_of(std::uint64_t op) const; // the segment op is or would be in
  io_error open_active();
  io_error create_segment(std::uint64_t first_op);
  void preallocate(segment& seg);
  io_error remove_segment_file(const std::string& name);
  io_error poison(io_error e);
  std::uint32_t tail_checksum() const; // checksum of last_op(), from the buffer or the index

  directory& dir_;
  wal_options options_;
  std::vector<segment> segments_; // sorted by first_op, contiguous
  std::unique_ptr<file> active_;  // the last segment, opened when first needed
  std::uint64_t first_op_ = 1;    // op of index_[0], or of the next entry when there is none
  std::vector<record_location> index_; // written records: first_op_ .. written_op()
  std::vector<std::string> pending_;   // encoded, not written yet: written_op()+1 .. last_op()
  std::uint32_t last_checksum_ = 0;    // checksum of last_op(): the next record's prev_checksum
  std::uint32_t base_checksum_ = 0;    // prev_checksum of first_op_ (the chain's anchor)
  std::uint64_t durable_op_ = 0;
  // A failed (short) write may have left records of the buffer past the last segment's data_size.
  // Harmless while the buffer stays (a retry rewrites the same bytes in place); truncate_after
  // cuts them durably, or they could resurface after a crash behind the replacing records.
  bool trim_needed_ = false;
  io_error failed_;          // sticky, after an fsync failed
  std::optional<std::uint64_t> repair_op_;
  // Segments found past a corruption at open(): not part of the log, deleted (newest first)
  // by the truncate_after that repairs it.
  std::vector<std::string> stray_segments_;
};

} // namespace vrdns::storage
