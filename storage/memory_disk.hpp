// An in-memory disk (storage/file.hpp) that remembers, per file and per directory entry, what is
// durable and what is still pending, so tests and the simulator can crash it and get exactly
// what a real disk may keep: only what was synced.
//
// Model:
//   * every file has a durable image and a current image; write_at/truncate change the current
//     image and queue a pending operation; file::sync() applies that file's pending operations to
//     its durable image (in order);
//   * the directory has a durable and a current name -> file map; open(create)/rename/remove
//     change the current map, directory::sync() makes it durable;
//   * crash(): every file's current image falls back to its durable image, the directory to its
//     durable map, pending operations are forgotten; handles opened before become stale (every
//     call on them fails with EIO), like file descriptors of a process that died.
//
// Faults:
//   * tear_last_write(keep): a crash during the last pending write: the pending operations
//     before it reach the disk in order, the first `keep` bytes of the last one too, the rest
//     is lost (the torn final write of a power cut); the directory still loses unsynced entries;
//   * corrupt(name, offset): flips a bit in the stored bytes (bit rot, a misdirected write);
//   * fail_writes_with_enospc(true, n): write_at fails with ENOSPC after writing (pending, like
//     any write) the first n bytes of what it was given: a short write on a full disk;
//   * fail_syncs_with_eio(true): file::sync() fails with EIO and, like Linux, forgets the
//     pending data of that file (it stays readable but a crash loses it even if a later sync
//     succeeds): the "fsyncgate" semantics callers must survive.
//
// Thread-safe: one mutex guards the whole disk (directory maps, inodes, pending operations), so
// the checkpoint writer thread and the replica's thread may use it at once, as they use one
// posix_directory. The disk must outlive the files opened on it.
#pragma once

#include "storage/file.hpp"

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace vrdns::storage {

class memory_disk final : public directory {
public:
  memory_disk() = default;
  memory_disk(const memory_disk&) = delete;
  memory_disk& operator=(const memory_disk&) = delete;

  io_result<std::unique_ptr<file>> open(const std::string& name, bool create) override;
  io_error rename(const std::string& from, const std::string& to) override;
  io_error remove(const std::string& name) override;
  io_result<std::vector<std::string>> list() override;
  io_error sync() override;

  // --- faults ---
  void crash();
  // False (and nothing happens) if the last pending operation is not a write.
  bool tear_last_write(std::size_t keep);
  // Flips bit `bit` (0..7) of byte `offset` of `name` in both its durable and current image.
  // False if there is no such file or byte.
  bool corrupt(const std::string& name, std::uint64_t offset, unsigned bit = 0);
  void fail_writes_with_enospc(bool on, std::size_t written_before_failure = 0) {
    std::lock_guard lock(mutex_);
    enospc_ = on;
    enospc_partial_ = written_before_failure;
  }
  void fail_syncs_with_eio(bool on) {
    std::lock_guard lock(mutex_);
    eio_on_sync_ = on;
  }

  // --- observation ---
  std::uint64_t file_syncs() const {
    std::lock_guard lock(mutex_);
    return file_syncs_;
  }
  std::uint64_t directory_syncs() const {
    std::lock_guard lock(mutex_);
    return directory_syncs_;
  }
  std::size_t pending_operations() const {
    std::lock_guard lock(mutex_);
    return pending_.size();
  }
  // What a reader sees now, or nullopt if there is no such file.
  std::optional<std::string> contents(const std::string& name) const;
  // What would be left after a crash now.
  std::optional<std::string> durable_contents(const std::string& name) const;

  struct inode {
    std::string durable;
    std::string current;
  };

private:
  class handle;
  friend class handle;

  struct pending_op {
    std::shared_ptr<inode> target;
    bool is_write = true;       // else a truncate to `offset`
    std::uint64_t offset = 0;
    std::string bytes;
  };
  static void apply(std::string& image, const pending_op& op, std::size_t keep);
  void crash_locked();

  // Guards every member below and the inodes they point to; handles lock it too.
  mutable std::mutex mutex_;

  using name_map = std::map<std::string, std::shared_ptr<inode>>;
  name_map current_dir_;
  name_map durable_dir_;
  std::vector<pending_op> pending_;
  std::uint64_t generation_ = 0; // bumped by every crash: handles of older generations are stale
  bool enospc_ = false;
  std::size_t enospc_partial_ = 0;
  bool eio_on_sync_ = false;
  std::uint64_t file_syncs_ = 0;
  std::uint64_t directory_syncs_ = 0;
};

} // namespace vrdns::storage
