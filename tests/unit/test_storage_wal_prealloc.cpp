// Zero-filled preallocation of the active WAL segment (wal_options::preallocate_chunk) and the
// recovery rules for the zero tail it leaves (docs/storage.md "Zero tail").
#define BOOST_TEST_MODULE test_storage_wal_prealloc
#include <boost/test/unit_test.hpp>

#include "storage/memory_disk.hpp"
#include "storage/posix_file.hpp"
#include "storage/wal.hpp"
#include "storage/wal_record.hpp"
#include "storage_test_util.hpp"

#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <set>

using namespace vrdns::storage;
using namespace vrdns::storage::testing;
namespace fs = std::filesystem;

namespace {

// Bytes that records from..to of generation `gen` take (header + payload each).
std::uint64_t record_bytes(std::uint64_t from, std::uint64_t to, std::uint64_t gen = 0) {
  std::uint64_t n = 0;
  for (std::uint64_t op = from; op <= to; ++op)
    n += wal_header_size + test_payload(op, gen).size();
  return n;
}

bool all_zero(std::string_view bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](char c) { return c == '\0'; });
}

std::vector<std::string> segment_files(memory_disk& disk) {
  std::vector<std::string> names = disk.list().value;
  std::erase_if(names, [](const std::string& n) { return n.rfind("wal-", 0) != 0; });
  std::sort(names.begin(), names.end());
  return names;
}

wal_options chunked(std::uint64_t chunk, std::uint64_t segment_size = 64ull << 20) {
  wal_options o;
  o.preallocate_chunk = chunk;
  o.segment_size = segment_size;
  return o;
}

// Overwrites [offset, offset + n) of `name` with zeros, durably (a lost write, bit rot).
void zero_out(memory_disk& disk, const std::string& name, std::uint64_t offset, std::size_t n) {
  auto f = disk.open(name, false);
  BOOST_REQUIRE(f.ok());
  BOOST_REQUIRE(f.value->write_at(offset, std::string(n, '\0')).ok());
  BOOST_REQUIRE(f.value->sync().ok());
}

const std::string first_segment = wal::segment_name(1);

} // namespace

// One record per sync: the file grows a chunk at a time ahead of the data, its durable size
// changes once per chunk (not once per sync), and what lies past the data is zeros.
BOOST_AUTO_TEST_CASE(file_size_runs_ahead_of_the_data_in_chunks) {
  memory_disk disk;
  const std::uint64_t chunk = 4096;
  auto w = open_wal(disk, chunked(chunk));
  std::set<std::uint64_t> sizes_seen;
  int size_changes = 0;
  std::uint64_t last_size = 0;
  const std::uint64_t ops = 200;
  for (std::uint64_t op = 1; op <= ops; ++op) {
    append_range(*w.log, op, op);
    BOOST_REQUIRE_EQUAL(must_sync(*w.log), op);
    const std::string durable = *disk.durable_contents(first_segment);
    const std::uint64_t data = record_bytes(1, op);
    BOOST_TEST_CONTEXT("op " << op << " data " << data << " file " << durable.size()) {
      BOOST_REQUIRE_GT(durable.size(), data);
      BOOST_REQUIRE_LE(durable.size(), data + chunk);
      BOOST_REQUIRE_EQUAL(durable.size() % chunk, 0u);
      BOOST_REQUIRE(all_zero(std::string_view(durable).substr(data)));
    }
    if (durable.size() != last_size)
      ++size_changes;
    last_size = durable.size();
    sizes_seen.insert(durable.size());
  }
  const std::uint64_t data = record_bytes(1, ops);
  BOOST_TEST_MESSAGE(ops << " syncs, " << data << " bytes, " << size_changes << " size changes");
  BOOST_CHECK_EQUAL(size_changes, static_cast<int>(data / chunk + 1)); // one per chunk
  BOOST_CHECK_LT(size_changes, static_cast<int>(ops / 4));
  BOOST_CHECK_EQUAL(sizes_seen.size(), data / chunk + 1);
}

// The preallocation stops at segment_size, closed segments keep their zero tails, and each
// extension writes at most one chunk.
BOOST_AUTO_TEST_CASE(preallocation_never_passes_segment_size) {
  memory_disk disk;
  const std::uint64_t segment_size = 10000; // not a multiple of the chunk
  auto w = open_wal(disk, chunked(4096, segment_size));
  std::uint64_t op = 0;
  while (w.log->segment_count() < 4) {
    ++op;
    append_range(*w.log, op, op);
    must_sync(*w.log);
    for (const std::string& name : segment_files(disk))
      BOOST_REQUIRE_LE(disk.durable_contents(name)->size(), segment_size);
  }
  const auto names = segment_files(disk);
  int closed_at_segment_size = 0;
  for (std::size_t i = 0; i + 1 < names.size(); ++i)
    closed_at_segment_size += disk.contents(names[i])->size() == segment_size ? 1 : 0;
  BOOST_CHECK_EQUAL(closed_at_segment_size, static_cast<int>(names.size() - 1));
  disk.crash();
  auto again = open_wal(disk, chunked(4096, segment_size));
  BOOST_CHECK(is_run(again.recovery.entries, 1, op));
  BOOST_CHECK(!again.recovery.corruption);
  BOOST_CHECK_EQUAL(again.recovery.torn_bytes, 0u);
}

BOOST_AUTO_TEST_CASE(a_record_larger_than_a_segment_gets_no_preallocation) {
  memory_disk disk;
  wal_options o = chunked(4096, 1000);
  o.max_payload = 1 << 16;
  auto w = open_wal(disk, o);
  append_range(*w.log, 1, 2);
  must_sync(*w.log);
  const std::string big(3000, 'b');
  w.log->append(3, 1, big);
  w.log->append(4, 1, "after");
  must_sync(*w.log);
  const auto names = segment_files(disk);
  BOOST_REQUIRE_EQUAL(names.size(), 3u);
  BOOST_CHECK_EQUAL(names[1], wal::segment_name(3));
  // The big record alone, exactly: nothing past it (it is past segment_size already).
  BOOST_CHECK_EQUAL(disk.contents(names[1])->size(), wal_header_size + big.size());
  BOOST_CHECK_EQUAL(disk.contents(names[2])->size(), 1000u); // the next one is preallocated
  disk.crash();
  auto again = open_wal(disk, o);
  BOOST_REQUIRE_EQUAL(again.recovery.entries.size(), 4u);
  BOOST_CHECK(again.recovery.entries[2].payload == big);
  BOOST_CHECK(!again.recovery.corruption);
}

BOOST_AUTO_TEST_CASE(chunk_zero_turns_preallocation_off) {
  memory_disk disk;
  auto w = open_wal(disk, chunked(0));
  for (std::uint64_t op = 1; op <= 20; ++op) {
    append_range(*w.log, op, op);
    must_sync(*w.log);
    BOOST_REQUIRE_EQUAL(disk.durable_contents(first_segment)->size(), record_bytes(1, op));
  }
}

// After a clean stop and after a crash: every entry comes back, nothing is torn, the open keeps
// the preallocation, and appends continue at the end of the data, not of the file.
BOOST_AUTO_TEST_CASE(reopen_with_a_zero_tail_recovers_everything_and_appends_at_the_data_end) {
  for (const bool crash : {false, true}) {
    BOOST_TEST_CONTEXT((crash ? "crash" : "clean stop")) {
      memory_disk disk;
      const wal_options o = chunked(8192);
      {
        auto w = open_wal(disk, o);
        append_range(*w.log, 1, 30);
        must_sync(*w.log);
      }
      if (crash)
        disk.crash();
      const std::uint64_t data = record_bytes(1, 30);
      BOOST_REQUIRE_EQUAL(disk.contents(first_segment)->size(), 8192u);
      {
        auto w = open_wal(disk, o);
        BOOST_CHECK(is_run(w.recovery.entries, 1, 30));
        BOOST_CHECK_EQUAL(w.recovery.torn_bytes, 0u);
        BOOST_CHECK(!w.recovery.corruption);
        BOOST_CHECK_EQUAL(disk.durable_contents(first_segment)->size(), 8192u);
        append_range(*w.log, 31, 35, 1);
        must_sync(*w.log);
      }
      const std::string bytes = *disk.durable_contents(first_segment);
      BOOST_CHECK_EQUAL(bytes.size(), 8192u); // still inside the first chunk: no size change
      const wal_decoded d = decode_wal_record(std::string_view(bytes).substr(data), 1 << 20);
      BOOST_REQUIRE(d.status == wal_decode_status::ok);
      BOOST_CHECK_EQUAL(d.header.op_number, 31u);
      disk.crash();
      auto w = open_wal(disk, o);
      BOOST_REQUIRE_EQUAL(w.recovery.entries.size(), 35u);
      BOOST_CHECK(is_run({w.recovery.entries.begin(), w.recovery.entries.begin() + 30}, 1, 30));
      BOOST_CHECK(is_run({w.recovery.entries.begin() + 30, w.recovery.entries.end()}, 31, 35, 1));
      BOOST_CHECK_EQUAL(w.recovery.torn_bytes, 0u);
      BOOST_CHECK(!w.recovery.corruption);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_non_last_segment_with_a_zero_tail_recovers) {
  memory_disk disk;
  const wal_options o = chunked(1000, 3000);
  {
    auto w = open_wal(disk, o);
    append_range(*w.log, 1, 60);
    must_sync(*w.log);
  }
  const auto names = segment_files(disk);
  BOOST_REQUIRE_GT(names.size(), 2u);
  // Some closed segment ends in zeros (its data stopped short of segment_size, the
  // preallocation did not).
  int zero_tailed = 0;
  for (std::size_t i = 0; i + 1 < names.size(); ++i) {
    const std::string bytes = *disk.contents(names[i]);
    zero_tailed += !bytes.empty() && bytes.back() == '\0' ? 1 : 0;
  }
  BOOST_REQUIRE_GT(zero_tailed, 0);
  disk.crash();
  auto w = open_wal(disk, o);
  BOOST_CHECK(is_run(w.recovery.entries, 1, 60));
  BOOST_CHECK(!w.recovery.corruption);
  BOOST_CHECK_EQUAL(w.recovery.torn_bytes, 0u);
  BOOST_CHECK_EQUAL(w.log->segment_count(), names.size());
}

// A crash tore the write of 11..13 inside the preallocated space: record 11 whole, 10 bytes of
// record 12, then the zeros that were there. That is a torn tail (cut by zeroing the torn bytes,
// keeping the file size), not a clean end and not corruption.
BOOST_AUTO_TEST_CASE(a_torn_record_followed_by_zeros_is_a_torn_tail) {
  memory_disk disk;
  power_cut_directory dir(disk);
  const wal_options o = chunked(4096);
  {
    auto w = open_wal(dir, o);
    append_range(*w.log, 1, 10);
    must_sync(*w.log);
    append_range(*w.log, 11, 13);
    dir.cut_after(1); // the records' write (inside the chunk: no zero write), not the fsync
    BOOST_CHECK(!w.log->sync().ok());
  }
  const std::uint64_t data = record_bytes(1, 11);
  BOOST_REQUIRE(disk.tear_last_write(wal_header_size + test_payload(11).size() + 10));
  dir.cut_after(-1);
  {
    const std::string torn = *disk.durable_contents(first_segment);
    BOOST_REQUIRE_EQUAL(torn.size(), 4096u);
    BOOST_REQUIRE(!all_zero(std::string_view(torn).substr(data, 10)));
    BOOST_REQUIRE(all_zero(std::string_view(torn).substr(data + 10)));
  }
  {
    auto w = open_wal(disk, o);
    BOOST_CHECK(is_run(w.recovery.entries, 1, 11));
    BOOST_CHECK(!w.recovery.corruption);
    BOOST_CHECK_GT(w.recovery.torn_bytes, 0u);
    BOOST_CHECK_LE(w.recovery.torn_bytes, 10u);
    BOOST_CHECK(!w.recovery.torn_reason.empty());
    // Cut durably, the preallocation kept.
    const std::string cut = *disk.durable_contents(first_segment);
    BOOST_CHECK_EQUAL(cut.size(), 4096u);
    BOOST_CHECK(all_zero(std::string_view(cut).substr(data)));
    append_range(*w.log, 12, 14, 1);
    must_sync(*w.log);
  }
  disk.crash();
  auto w = open_wal(disk, o);
  BOOST_REQUIRE_EQUAL(w.recovery.entries.size(), 14u);
  BOOST_CHECK(w.recovery.entries[11].payload == test_payload(12, 1));
  BOOST_CHECK_EQUAL(w.recovery.torn_bytes, 0u);
  BOOST_CHECK(!w.recovery.corruption);
}

// Zeros where records should be, followed by a valid record: records were lost in the middle.
// Corruption, in the last segment as in an older one, whether the zeros cover a whole record
// or begin inside one.
BOOST_AUTO_TEST_CASE(zeros_then_a_valid_record_is_corruption) {
  struct zeroed_case {
    const char* what;
    std::uint64_t offset_in_record5;
    std::size_t length;
  };
  const std::uint64_t at5 = record_bytes(1, 4);
  const std::size_t len5 = static_cast<std::size_t>(record_bytes(5, 5));
  for (const zeroed_case& c : {zeroed_case{"record 5 zeroed", 0, len5},
                               zeroed_case{"records 5 and 6 zeroed", 0,
                                           static_cast<std::size_t>(record_bytes(5, 6))},
                               zeroed_case{"record 5 from byte 20 on", 20, len5 - 20}}) {
    BOOST_TEST_CONTEXT(c.what) {
      memory_disk disk;
      {
        auto w = open_wal(disk, chunked(4096));
        append_range(*w.log, 1, 10);
        must_sync(*w.log);
      }
      zero_out(disk, first_segment, at5 + c.offset_in_record5, c.length);
      auto w = open_wal(disk, chunked(4096));
      BOOST_CHECK(is_run(w.recovery.entries, 1, 4));
      BOOST_REQUIRE(w.recovery.corruption);
      BOOST_CHECK_EQUAL(w.recovery.corruption->op_number, 5u);
      BOOST_CHECK_EQUAL(w.recovery.corruption->offset, at5);
      BOOST_CHECK(w.log->needs_repair());
    }
  }
  // In a closed segment the same holds (and zeros at its very end would be its clean end).
  memory_disk disk;
  const wal_options o = chunked(1000, 3000);
  {
    auto w = open_wal(disk, o);
    append_range(*w.log, 1, 60);
    must_sync(*w.log);
  }
  BOOST_REQUIRE_GT(segment_files(disk).size(), 2u);
  zero_out(disk, first_segment, record_bytes(1, 2), static_cast<std::size_t>(record_bytes(3, 3)));
  auto w = open_wal(disk, o);
  BOOST_CHECK(is_run(w.recovery.entries, 1, 2));
  BOOST_REQUIRE(w.recovery.corruption);
  BOOST_CHECK_EQUAL(w.recovery.corruption->op_number, 3u);
}

// The known limit the zero tail brings: records at the end of the last segment replaced by
// zeros (a write the disk lost) look exactly like the clean end of the data, and are not even
// reported as torn. Documented in docs/storage.md; this test pins the behaviour down.
BOOST_AUTO_TEST_CASE(a_lost_last_record_in_preallocated_space_reads_as_the_end) {
  memory_disk disk;
  {
    auto w = open_wal(disk, chunked(4096));
    append_range(*w.log, 1, 10);
    must_sync(*w.log);
  }
  zero_out(disk, first_segment, record_bytes(1, 9), static_cast<std::size_t>(record_bytes(10, 10)));
  auto w = open_wal(disk, chunked(4096));
  BOOST_CHECK(is_run(w.recovery.entries, 1, 9));
  BOOST_CHECK(!w.recovery.corruption);
  BOOST_CHECK_EQUAL(w.recovery.torn_bytes, 0u);
}

// Garbage (no valid record) after a run of zeros at the end of the last segment: a bit flipped
// in the preallocation, or a write torn there. Torn, cut, nothing lost before it.
BOOST_AUTO_TEST_CASE(garbage_after_zeros_in_the_last_segment_is_torn) {
  memory_disk disk;
  {
    auto w = open_wal(disk, chunked(4096));
    append_range(*w.log, 1, 10);
    must_sync(*w.log);
  }
  const std::uint64_t flip = record_bytes(1, 10) + 700;
  BOOST_REQUIRE(disk.corrupt(first_segment, flip, 2));
  auto w = open_wal(disk, chunked(4096));
  BOOST_CHECK(is_run(w.recovery.entries, 1, 10));
  BOOST_CHECK(!w.recovery.corruption);
  BOOST_CHECK_EQUAL(w.recovery.torn_bytes, 701u);
  const std::string cut = *disk.durable_contents(first_segment);
  BOOST_CHECK_EQUAL(cut.size(), 4096u);
  BOOST_CHECK(all_zero(std::string_view(cut).substr(record_bytes(1, 10))));
}

// A view change drops 11..30, which lie in preallocated space; a crash before anything new is
// synced must not bring any of them back, at whatever step of truncate_after the power goes
// (the dropped records may survive only if truncate_after had not returned).
BOOST_AUTO_TEST_CASE(truncate_after_then_crash_does_not_resurrect_dropped_entries) {
  for (long budget = 0; budget <= 4; ++budget) {
    BOOST_TEST_CONTEXT("power cut after " << budget << " operations") {
      memory_disk disk;
      power_cut_directory dir(disk);
      const wal_options o = chunked(4096);
      bool truncated = false;
      {
        auto w = open_wal(dir, o);
        append_range(*w.log, 1, 30);
        must_sync(*w.log);
        dir.cut_after(budget);
        truncated = w.log->truncate_after(10).ok();
      }
      disk.crash();
      dir.cut_after(-1);
      {
        auto w = open_wal(disk, o);
        BOOST_CHECK(!w.recovery.corruption);
        if (truncated)
          BOOST_CHECK(is_run(w.recovery.entries, 1, 10));
        else
          BOOST_CHECK(is_run(w.recovery.entries, 1, 10) || is_run(w.recovery.entries, 1, 30));
        if (!truncated && w.recovery.entries.size() == 30)
          BOOST_REQUIRE(w.log->truncate_after(10).ok());
        // The new view's entries, synced; the file is preallocated again.
        append_range(*w.log, 11, 14, 1);
        must_sync(*w.log);
        BOOST_CHECK_GT(disk.durable_contents(first_segment)->size(),
                       record_bytes(1, 10) + record_bytes(11, 14, 1));
      }
      disk.crash();
      auto w = open_wal(disk, o);
      BOOST_CHECK(!w.recovery.corruption);
      BOOST_CHECK_EQUAL(w.recovery.torn_bytes, 0u);
      BOOST_REQUIRE_EQUAL(w.recovery.entries.size(), 14u);
      BOOST_CHECK(is_run({w.recovery.entries.begin(), w.recovery.entries.begin() + 10}, 1, 10));
      BOOST_CHECK(is_run({w.recovery.entries.begin() + 10, w.recovery.entries.end()}, 11, 14, 1));
    }
  }
}

namespace {

// A directory whose files refuse (ENOSPC) every write of only zeros while `refuse_zeros` is
// set: the disk is too full for the preallocation, not for the records.
class zero_refusing_directory final : public directory {
public:
  explicit zero_refusing_directory(directory& inner) : inner_(inner) {}
  bool refuse_zeros = false;
  int refused = 0;

  io_result<std::unique_ptr<file>> open(const std::string& name, bool create) override {
    auto f = inner_.open(name, create);
    if (!f.ok())
      return f;
    return {std::make_unique<refusing_file>(*this, std::move(f.value)), {}};
  }
  io_error rename(const std::string& f, const std::string& t) override {
    return inner_.rename(f, t);
  }
  io_error remove(const std::string& n) override { return inner_.remove(n); }
  io_result<std::vector<std::string>> list() override { return inner_.list(); }
  io_error sync() override { return inner_.sync(); }

private:
  class refusing_file final : public file {
  public:
    refusing_file(zero_refusing_directory& dir, std::unique_ptr<file> inner)
      : dir_(dir), inner_(std::move(inner)) {}
    io_error write_at(std::uint64_t offset, std::string_view bytes) override {
      if (dir_.refuse_zeros && !bytes.empty() && all_zero(bytes)) {
        ++dir_.refused;
        return {ENOSPC, "no space for zeros (test)"};
      }
      return inner_->write_at(offset, bytes);
    }
    io_result<std::string> read_at(std::uint64_t offset, std::size_t size) override {
      return inner_->read_at(offset, size);
    }
    io_result<std::uint64_t> size() override { return inner_->size(); }
    io_error truncate(std::uint64_t size) override { return inner_->truncate(size); }
    io_error sync() override { return inner_->sync(); }

  private:
    zero_refusing_directory& dir_;
    std::unique_ptr<file> inner_;
  };

  directory& inner_;
};

} // namespace

// Preallocation is an optimisation: when the zeros do not fit, the records still do, the sync
// succeeds, and the file grows with the data until there is room again.
BOOST_AUTO_TEST_CASE(a_failed_preallocation_does_not_fail_the_sync) {
  memory_disk disk;
  zero_refusing_directory dir(disk);
  const wal_options o = chunked(1024);
  auto w = open_wal(dir, o);
  dir.refuse_zeros = true;
  for (std::uint64_t op = 1; op <= 20; ++op) {
    append_range(*w.log, op, op);
    BOOST_REQUIRE_EQUAL(must_sync(*w.log), op);
    BOOST_REQUIRE_EQUAL(disk.durable_contents(first_segment)->size(), record_bytes(1, op));
  }
  BOOST_CHECK_GT(dir.refused, 0);
  dir.refuse_zeros = false;
  append_range(*w.log, 21, 21);
  must_sync(*w.log);
  const std::uint64_t data = record_bytes(1, 21);
  BOOST_CHECK_EQUAL(disk.durable_contents(first_segment)->size(), (data / 1024 + 1) * 1024);
  disk.crash();
  auto again = open_wal(disk, o);
  BOOST_CHECK(is_run(again.recovery.entries, 1, 21));
  BOOST_CHECK(!again.recovery.corruption);
}

namespace {

struct file_stat {
  std::uint64_t size = 0;
  std::uint64_t allocated = 0; // bytes of disk blocks: below size means a sparse file
};

file_stat stat_of(const fs::path& p) {
  struct stat st{};
  BOOST_REQUIRE(::stat(p.c_str(), &st) == 0);
  return {static_cast<std::uint64_t>(st.st_size), static_cast<std::uint64_t>(st.st_blocks) * 512};
}

} // namespace

// The real disk: the preallocation is written zeros (blocks allocated, not a sparse file), a
// reopen keeps it and appends at the data end, truncate_after cuts the file.
BOOST_AUTO_TEST_CASE(posix_preallocation_is_real_zeros_and_survives_reopen) {
  temp_dir tmp{"vrdns-prealloc"};
  auto d = posix_directory::open_path(tmp.path.string(), false);
  BOOST_REQUIRE(d.ok());
  const std::uint64_t chunk = 64 << 10;
  const wal_options o = chunked(chunk);
  const fs::path seg = tmp.path / first_segment;
  {
    auto w = open_wal(*d.value, o);
    append_range(*w.log, 1, 50);
    must_sync(*w.log);
    const file_stat st = stat_of(seg);
    BOOST_CHECK_EQUAL(st.size, chunk);
    BOOST_CHECK_GE(st.allocated, chunk);
  }
  {
    auto w = open_wal(*d.value, o);
    BOOST_CHECK(is_run(w.recovery.entries, 1, 50));
    BOOST_CHECK_EQUAL(w.recovery.torn_bytes, 0u);
    BOOST_CHECK(!w.recovery.corruption);
    BOOST_CHECK_EQUAL(stat_of(seg).size, chunk);
    append_range(*w.log, 51, 60);
    must_sync(*w.log);
    BOOST_CHECK_EQUAL(stat_of(seg).size, chunk);
  }
  {
    auto w = open_wal(*d.value, o);
    BOOST_CHECK(is_run(w.recovery.entries, 1, 60));
    BOOST_REQUIRE(w.log->truncate_after(20).ok());
    BOOST_CHECK_EQUAL(stat_of(seg).size, record_bytes(1, 20));
    append_range(*w.log, 21, 22, 1);
    must_sync(*w.log);
    BOOST_CHECK_EQUAL(stat_of(seg).size, chunk);
  }
  auto w = open_wal(*d.value, o);
  BOOST_REQUIRE_EQUAL(w.recovery.entries.size(), 22u);
  BOOST_CHECK(is_run({w.recovery.entries.begin(), w.recovery.entries.begin() + 20}, 1, 20));
  BOOST_CHECK(is_run({w.recovery.entries.begin() + 20, w.recovery.entries.end()}, 21, 22, 1));
}
