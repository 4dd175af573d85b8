// The disk as storage/ sees it: one flat directory of files, with exactly the operations the
// write-ahead log and the view state need. Two implementations: posix_file.hpp (the real disk)
// and memory_disk.hpp (in memory, with crash and fault injection, for tests and the simulator).
//
// Durability contract (POSIX, and what memory_disk models):
//   * file::write_at / file::truncate change the file at once for readers, but survive a crash
//     only after file::sync() returned success;
//   * directory::flush_all() durably guarantees nothing: it is a hint (syncfs) that writes
//     back everything at once, after which each file::sync() finds little left to do;
//   * directory::open(create) / rename / remove survive a crash only after directory::sync();
//   * a failed file::sync() means the written data may be lost even if a later sync succeeds
//     (Linux drops the dirty pages and clears the error: "fsyncgate"), so callers must treat it
//     as fatal for what they wrote, never retry it and carry on.
//
// Errors are values, not exceptions: a full disk is an expected condition the replica must
// survive (stop acknowledging, report), not a bug.
#pragma once

#include <cerrno>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vrdns::storage {

struct io_error {
  int code = 0;        // errno value; 0 means success
  std::string message; // "pwrite wal-...log: No space left on device"

  bool ok() const { return code == 0; }
  // A full disk is the one error that goes away by itself (space is freed): the log keeps what
  // it buffered and a later sync can succeed.
  bool no_space() const { return code == ENOSPC; }

  static io_error success() { return {}; }
};

// A value or the error that prevented it.
template <class T>
struct io_result {
  T value{};
  io_error error;

  bool ok() const { return error.ok(); }
  static io_result failure(io_error e) {
    io_result r;
    r.error = std::move(e);
    return r;
  }
};

class file {
public:
  virtual ~file() = default;

  // Writes all of `bytes` at `offset` (extending the file, zero-filling any gap). On error some
  // prefix may have been written.
  virtual io_error write_at(std::uint64_t offset, std::string_view bytes) = 0;
  // Reads up to `size` bytes at `offset`; fewer only at end of file.
  virtual io_result<std::string> read_at(std::uint64_t offset, std::size_t size) = 0;
  virtual io_result<std::uint64_t> size() = 0;
  virtual io_error truncate(std::uint64_t size) = 0;
  // fdatasync: makes this file's data and size durable (not its directory entry).
  virtual io_error sync() = 0;
};

class directory {
public:
  virtual ~directory() = default;

  // Opens `name` for reading and writing; creates it (empty) when missing if `create`, else a
  // missing file is the error ENOENT.
  virtual io_result<std::unique_ptr<file>> open(const std::string& name, bool create) = 0;
  // Atomically replaces `to` by `from` (POSIX rename).
  virtual io_error rename(const std::string& from, const std::string& to) = 0;
  virtual io_error remove(const std::string& name) = 0;
  // Names of the regular files, in no particular order.
  virtual io_result<std::vector<std::string>> list() = 0;
  // fsync of the directory itself: makes creates, renames and removes durable.
  virtual io_error sync() = 0;
  // A hint before many file::sync() calls: write everything back in one go. Guarantees
  // nothing and reports nothing (its errors may be other files'); file::sync() still does.
  virtual void flush_all() {}
};

} // namespace vrdns::storage
