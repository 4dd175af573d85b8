// Helpers shared by the tests/unit/test_storage_*.cpp tests (a header: only *.cpp files become
// test executables).
#pragma once

#include "storage/file.hpp"
#include "storage/wal.hpp"

#include <boost/test/unit_test.hpp>

#include <stdlib.h>

#include <cerrno>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace vrdns::storage::testing {

// A directory that loses power after a set number of further mutating operations (write,
// truncate, file or directory sync, create, rename, remove): from then on every call fails
// with EIO without reaching the disk underneath. With a memory_disk below, the test then
// crashes (or tears) that disk: this is how a crash *inside* wal::sync() or a view-state
// write is produced, e.g. after the write and before its fsync.
class power_cut_directory final : public directory {
public:
  explicit power_cut_directory(directory& inner) : inner_(inner) {}

  // Allow `n` more mutating operations; negative: unlimited.
  void cut_after(long n) { budget_ = n; }
  bool is_cut() const { return budget_ == 0; }

  io_result<std::unique_ptr<file>> open(const std::string& name, bool create) override {
    using result = io_result<std::unique_ptr<file>>;
    if (create && !spend())
      return result::failure(cut_error());
    auto f = inner_.open(name, create);
    if (!f.ok())
      return f;
    return {std::make_unique<cut_file>(*this, std::move(f.value)), {}};
  }
  io_error rename(const std::string& from, const std::string& to) override {
    return spend() ? inner_.rename(from, to) : cut_error();
  }
  io_error remove(const std::string& name) override {
    return spend() ? inner_.remove(name) : cut_error();
  }
  io_result<std::vector<std::string>> list() override {
    if (is_cut())
      return io_result<std::vector<std::string>>::failure(cut_error());
    return inner_.list();
  }
  io_error sync() override { return spend() ? inner_.sync() : cut_error(); }

private:
  class cut_file final : public file {
  public:
    cut_file(power_cut_directory& dir, std::unique_ptr<file> inner)
      : dir_(dir), inner_(std::move(inner)) {}
    io_error write_at(std::uint64_t offset, std::string_view bytes) override {
      return dir_.spend() ? inner_->write_at(offset, bytes) : cut_error();
    }
    io_result<std::string> read_at(std::uint64_t offset, std::size_t size) override {
      if (dir_.is_cut())
        return io_result<std::string>::failure(cut_error());
      return inner_->read_at(offset, size);
    }
    io_result<std::uint64_t> size() override {
      if (dir_.is_cut())
        return io_result<std::uint64_t>::failure(cut_error());
      return inner_->size();
    }
    io_error truncate(std::uint64_t size) override {
      return dir_.spend() ? inner_->truncate(size) : cut_error();
    }
    io_error sync() override { return dir_.spend() ? inner_->sync() : cut_error(); }

  private:
    power_cut_directory& dir_;
    std::unique_ptr<file> inner_;
  };

  static io_error cut_error() { return {EIO, "power cut (test)"}; }
  bool spend() {
    if (budget_ == 0)
      return false;
    if (budget_ > 0)
      --budget_;
    return true;
  }

  directory& inner_;
  long budget_ = -1;
};

// A deterministic payload of varying length (0..~300 bytes, binary) for op `op` of
// `generation` (different generations give different payloads for the same op).
inline std::string test_payload(std::uint64_t op, std::uint64_t generation = 0) {
  std::string p = "op" + std::to_string(op) + "g" + std::to_string(generation) + ":";
  const std::size_t extra = static_cast<std::size_t>((op * 37 + generation * 11) % 300);
  for (std::size_t i = 0; i < extra; ++i)
    p.push_back(static_cast<char>((op + i * 7 + generation) & 0xFF));
  if (op % 17 == 0)
    p.clear(); // empty payloads are legal
  return p;
}

// Appends ops from..to (payload generation `gen`, view `view`) without syncing.
inline void append_range(wal& log, std::uint64_t from, std::uint64_t to, std::uint64_t gen = 0,
                         std::uint64_t view = 1) {
  for (std::uint64_t op = from; op <= to; ++op)
    log.append(op, view, test_payload(op, gen));
}

// sync() that must succeed; its durable op.
inline std::uint64_t must_sync(wal& log) {
  auto r = log.sync();
  BOOST_REQUIRE_MESSAGE(r.ok(), r.error.message);
  return r.value;
}

// True if `got` is exactly ops from..to of payload generation `gen`.
inline bool is_run(const std::vector<wal_entry>& got, std::uint64_t from, std::uint64_t to,
                   std::uint64_t gen = 0) {
  if (got.size() != to + 1 - from)
    return false;
  for (std::uint64_t op = from; op <= to; ++op) {
    const wal_entry& e = got[op - from];
    if (e.op_number != op || e.payload != test_payload(op, gen))
      return false;
  }
  return true;
}

struct opened_wal {
  std::unique_ptr<wal> log;
  wal_recovery recovery;
};

inline opened_wal open_wal(directory& dir, const wal_options& options = {}) {
  opened_wal w;
  auto r = wal::open(dir, options, w.recovery);
  if (!r.ok())
    throw std::runtime_error("wal::open failed: " + r.error.message);
  w.log = std::move(r.value);
  return w;
}

// A fresh directory under the system's temporary directory, removed with everything in it at the
// end of the scope (for the tests on the real disk, storage/posix_file.hpp).
struct temp_dir {
  std::filesystem::path path;
  explicit temp_dir(const std::string& prefix = "vrdns-storage") {
    std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    BOOST_REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;   // never throw from a destructor
    std::filesystem::remove_all(path, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
};

} // namespace vrdns::storage::testing
