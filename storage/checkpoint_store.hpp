// Durable checkpoints (protocol/checkpoint.hpp) in the replica's data directory, next to the
// write-ahead log and the view record. Layout and crash rules: docs/storage.md, "Checkpoints".
//
// One checkpoint at op N is:
//   checkpoint-<20-digit N>-<part name>   one file per part, its bytes as they are (the DNS
//                                         service's parts are master files an operator can read)
//   checkpoint-<20-digit N>.meta          op_number, view_number, per part name, size, CRC32C;
//                                         the meta's own CRC32C at the end
// The parts are written first, then each fdatasynced (after one directory::flush_all(), syncfs,
// which makes those cheap: thousands of parts took seconds one write+fdatasync at a time), then
// the directory; the meta is built under
// `checkpoint-<N>.meta.tmp`, fsynced, renamed into place and the directory fsynced: that rename
// is the commit point. A checkpoint counts only if its meta is valid and every part it lists has
// the size and CRC32C it records, so a crash at any step leaves the previous checkpoint (removed
// only after the new one is durable) or the new one, never a mix. Parts are named with '-' and
// the meta with '.', so no part name can collide with the meta or its temporary file.
//
// Threads: write() runs on a checkpoint writer thread while the replica's thread uses the WAL
// and the view record in the same directory. The store shares nothing with them but the
// directory (posix_directory: *at() calls on one descriptor; memory_disk: its own mutex) and
// never calls directory::list() after open(), whose posix version shares a read position
// between callers. Its own state is guarded by a mutex.
#pragma once

#include "protocol/checkpoint.hpp"
#include "storage/file.hpp"

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vrdns::storage {

struct checkpoint_options {
  // Parts are written and read in pieces of this size, so a 100+ MB zone is never copied
  // whole into another buffer on its way to or from the disk.
  std::size_t piece_size = 1u << 20;
  // Bounds on what a meta file may claim, checked before anything is allocated from it.
  std::uint64_t max_meta_size = 16u << 20;
  std::uint32_t max_parts = 1u << 16;
};

// A checkpoint on disk that cannot be used: bit rot, a missing or short part, a bad meta.
struct checkpoint_problem {
  std::uint64_t op_number = 0;
  std::string file;    // the file found wrong
  std::string reason;
};

struct checkpoint_load_report {
  std::vector<checkpoint_problem> corrupt; // newer checkpoints passed over, newest first
  std::size_t leftovers_removed = 0;       // files of older, corrupt or unfinished checkpoints
};

class checkpoint_store {
public:
  // Loads the newest complete checkpoint into `latest` (nullopt: none), reports the corrupt
  // ones passed over, and removes every other checkpoint file: older checkpoints, corrupt ones,
  // parts without a meta, temporary files. Fails only on an I/O error.
  static io_result<std::unique_ptr<checkpoint_store>> open(
    directory& dir, std::optional<protocol::checkpoint>& latest, checkpoint_load_report& report,
    const checkpoint_options& options = {});

  // Read-only: the newest complete checkpoint in `dir` and the corrupt newer ones passed over.
  // Changes nothing on disk (open() uses it, then cleans up).
  static io_result<std::optional<protocol::checkpoint>> load_latest(
    directory& dir, const checkpoint_options& options, std::vector<checkpoint_problem>& corrupt);

  // Durably writes `c` as the latest checkpoint, then removes the previous one. On error the
  // previous checkpoint is still the latest (and the files of the failed attempt are removed,
  // or at the latest by the next write or open). Every attempt rewrites its files from
  // scratch, so a retry after a failed fsync never trusts pages of the failed attempt.
  //
  // A checkpoint whose op_number is <= the latest durable one's is a no-op that succeeds: the
  // durable one already covers every op `c` covers (checkpoints hold committed state only, so
  // the two agree up to c's op), and a writer thread that falls behind must not roll the
  // checkpoint back. Invalid or duplicate part names are a caller bug (std::logic_error).
  io_error write(const protocol::checkpoint& c);

  // The op_number of the latest durable checkpoint, if any.
  std::optional<std::uint64_t> latest_op() const;

  static std::string meta_name(std::uint64_t op);
  static std::string part_file_name(std::uint64_t op, std::string_view part);

private:
  checkpoint_store(directory& dir, const checkpoint_options& options)
    : dir_(dir), options_(options) {}

  io_error write_part(std::uint64_t op, const protocol::snapshot_part& part,
                      std::uint32_t& crc);
  /// Writes `bytes` as the whole of file `name`; fdatasyncs it if `sync`.
  io_error write_file(const std::string& name, std::string_view bytes, bool sync);
  void remove_quietly(const std::vector<std::string>& names);

  directory& dir_;
  const checkpoint_options options_;

  mutable std::mutex mutex_; // guards everything below; one write() at a time
  std::optional<std::uint64_t> latest_op_;
  std::vector<std::string> latest_files_; // the latest checkpoint's meta and part files
  std::vector<std::string> stale_;        // files of failed attempts not removed yet
};

// The meta file's contents (exposed for tests). Layout, little-endian:
//   "VRCM" u32 version(1) u64 op_number u64 view_number u32 part_count
//   part_count x { u16 name_length, name, u64 size, u32 crc32c }
//   u32 CRC32C of everything before it
struct checkpoint_meta {
  struct part {
    std::string name;
    std::uint64_t size = 0;
    std::uint32_t crc = 0;
    friend bool operator==(const part&, const part&) = default;
  };
  std::uint64_t op_number = 0;
  std::uint64_t view_number = 0;
  std::vector<part> parts;
  friend bool operator==(const checkpoint_meta&, const checkpoint_meta&) = default;
};

std::string encode_checkpoint_meta(const checkpoint_meta& m);
// nullopt (and why in `reason`) if the bytes are not a valid meta: bad checksum, a count or
// length beyond the bytes present or beyond max_parts, an invalid or duplicate part name.
std::optional<checkpoint_meta> decode_checkpoint_meta(std::string_view bytes,
                                                      std::uint32_t max_parts,
                                                      std::string& reason);

} // namespace vrdns::storage
