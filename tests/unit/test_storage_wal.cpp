#define BOOST_TEST_MODULE test_storage_wal
#include <boost/test/unit_test.hpp>

#include "storage/memory_disk.hpp"
#include "storage/posix_file.hpp"
#include "storage/wal.hpp"
#include "storage/wal_record.hpp"
#include "storage_test_util.hpp"

#include <stdlib.h>

#include <filesystem>
#include <stdexcept>

using namespace vrdns::storage;
using namespace vrdns::storage::testing;
namespace fs = std::filesystem;

namespace {

// Entries from..to of payload generation `gen` in view `view`.
void check_entries(const std::vector<wal_entry>& got, std::uint64_t from, std::uint64_t to,
                   std::uint64_t gen = 0, std::uint64_t view = 1) {
  BOOST_REQUIRE_EQUAL(got.size(), to + 1 - from);
  for (std::uint64_t op = from; op <= to; ++op) {
    const wal_entry& e = got[op - from];
    BOOST_TEST_CONTEXT("op " << op) {
      BOOST_CHECK_EQUAL(e.op_number, op);
      BOOST_CHECK_EQUAL(e.view_number, view);
      BOOST_CHECK(e.payload == test_payload(op, gen));
    }
  }
}

// Byte offset of record `op` in a single-segment log of ops 1.. with generation-0 payloads.
std::uint64_t offset_of(std::uint64_t op) {
  std::uint64_t at = 0;
  for (std::uint64_t k = 1; k < op; ++k)
    at += wal_header_size + test_payload(k).size();
  return at;
}

const std::string first_segment = wal::segment_name(1);

// The same scenario over any directory: a log over several segments survives reopening, and
// appending after the reopen continues the chain.
void round_trip(directory& dir) {
  wal_options opts;
  opts.segment_size = 2000; // several segments for 60 records of up to ~340 bytes
  {
    auto w = open_wal(dir, opts);
    BOOST_CHECK(w.recovery.entries.empty());
    BOOST_CHECK_EQUAL(w.log->last_op(), 0u);
    append_range(*w.log, 1, 40);
    BOOST_CHECK_EQUAL(w.log->durable_op(), 0u);
    BOOST_CHECK_EQUAL(must_sync(*w.log), 40u);
    BOOST_CHECK_GT(w.log->segment_count(), 2u);
  }
  {
    auto w = open_wal(dir, opts);
    check_entries(w.recovery.entries, 1, 40);
    BOOST_CHECK_EQUAL(w.recovery.torn_bytes, 0u);
    BOOST_CHECK(!w.recovery.corruption);
    BOOST_CHECK_EQUAL(w.log->durable_op(), 40u);
    append_range(*w.log, 41, 60);
    BOOST_CHECK_EQUAL(must_sync(*w.log), 60u);
  }
  auto w = open_wal(dir, opts);
  check_entries(w.recovery.entries, 1, 60);
  BOOST_CHECK(!w.recovery.corruption);
}

} // namespace

BOOST_AUTO_TEST_CASE(round_trip_on_memory_disk) {
  memory_disk disk;
  round_trip(disk);
}

BOOST_AUTO_TEST_CASE(round_trip_on_posix_disk) {
  temp_dir tmp{"vrdns-wal"};
  auto d = posix_directory::open_path(tmp.path.string(), false);
  BOOST_REQUIRE(d.ok());
  round_trip(*d.value);
  // The files are where docs/storage.md says.
  BOOST_CHECK(fs::exists(tmp.path / first_segment));
}

BOOST_AUTO_TEST_CASE(group_commit_many_appends_one_fsync) {
  memory_disk disk;
  auto w = open_wal(disk);
  append_range(*w.log, 1, 100);
  const auto syncs_before = disk.file_syncs();
  BOOST_CHECK_EQUAL(must_sync(*w.log), 100u);
  BOOST_CHECK_EQUAL(disk.file_syncs() - syncs_before, 1u);
  // Nothing new: no fsync at all.
  BOOST_CHECK_EQUAL(must_sync(*w.log), 100u);
  BOOST_CHECK_EQUAL(disk.file_syncs() - syncs_before, 1u);
  append_range(*w.log, 101, 150);
  BOOST_CHECK_EQUAL(must_sync(*w.log), 150u);
  BOOST_CHECK_EQUAL(disk.file_syncs() - syncs_before, 2u);
}

BOOST_AUTO_TEST_CASE(segment_roll_syncs_the_closed_segment_and_the_directory) {
  memory_disk disk;
  wal_options opts;
  opts.segment_size = 1000;
  auto w = open_wal(disk, opts);
  append_range(*w.log, 1, 30);
  must_sync(*w.log);
  BOOST_REQUIRE_GT(w.log->segment_count(), 1u);
  // Every segment name is durable: a crash right now loses nothing.
  disk.crash();
  auto again = open_wal(disk, opts);
  check_entries(again.recovery.entries, 1, 30);
  BOOST_CHECK(!again.recovery.corruption);
}

BOOST_AUTO_TEST_CASE(crash_loses_only_what_was_not_synced) {
  memory_disk disk;
  power_cut_directory dir(disk);
  {
    auto w = open_wal(dir);
    append_range(*w.log, 1, 10);
    must_sync(*w.log);
    append_range(*w.log, 11, 20); // buffered only
  }
  disk.crash();
  {
    auto w = open_wal(disk);
    check_entries(w.recovery.entries, 1, 10);
    BOOST_CHECK_EQUAL(w.recovery.torn_bytes, 0u);
    append_range(*w.log, 11, 20);
    dir.cut_after(-1);
  }
  // Written but the fsync never happened: also lost.
  {
    auto w = open_wal(dir);
    append_range(*w.log, 11, 20);
    dir.cut_after(1); // the write goes through, the fsync does not
    auto r = w.log->sync();
    BOOST_CHECK(!r.ok());
    BOOST_CHECK_EQUAL(w.log->durable_op(), 10u);
  }
  disk.crash();
  dir.cut_after(-1);
  auto w = open_wal(disk);
  check_entries(w.recovery.entries, 1, 10);
}

BOOST_AUTO_TEST_CASE(torn_tail_is_cut_and_reported_not_corruption) {
  memory_disk disk;
  power_cut_directory dir(disk);
  {
    auto w = open_wal(dir);
    append_range(*w.log, 1, 10);
    must_sync(*w.log);
    append_range(*w.log, 11, 13);
    dir.cut_after(1); // write of 11..13 reaches the page cache, the power goes before the fsync
    BOOST_CHECK(!w.log->sync().ok());
  }
  // The disk wrote record 11 and 10 bytes of record 12 before the power went.
  const std::size_t keep = wal_header_size + test_payload(11).size() + 10;
  BOOST_REQUIRE(disk.tear_last_write(keep));
  dir.cut_after(-1);
  {
    auto w = open_wal(disk);
    check_entries(w.recovery.entries, 1, 11); // 11 made it whole: keeping it is fine
    BOOST_CHECK_EQUAL(w.recovery.torn_bytes, 10u);
    BOOST_CHECK(!w.recovery.corruption);
    BOOST_CHECK(!w.log->needs_repair());
    // The tail was cut durably: the log continues at 12.
    append_range(*w.log, 12, 15, 1);
    must_sync(*w.log);
  }
  disk.crash();
  auto w = open_wal(disk);
  BOOST_REQUIRE_EQUAL(w.recovery.entries.size(), 15u);
  BOOST_CHECK(w.recovery.entries[11].payload == test_payload(12, 1));
  BOOST_CHECK_EQUAL(w.recovery.torn_bytes, 0u);
}

BOOST_AUTO_TEST_CASE(tear_inside_a_header_is_a_torn_tail) {
  memory_disk disk;
  power_cut_directory dir(disk);
  {
    auto w = open_wal(dir);
    append_range(*w.log, 1, 3);
    must_sync(*w.log);
    append_range(*w.log, 4, 4);
    dir.cut_after(1);
    BOOST_CHECK(!w.log->sync().ok());
  }
  BOOST_REQUIRE(disk.tear_last_write(7)); // not even the header made it
  dir.cut_after(-1);
  auto w = open_wal(disk);
  check_entries(w.recovery.entries, 1, 3);
  // torn_bytes counts up to the last non-zero byte (the preallocated zeros follow): of the 7
  // bytes kept, "VRWL" and the low byte of the version are non-zero, the version's high byte
  // and the flags are zero.
  BOOST_CHECK_EQUAL(w.recovery.torn_bytes, 5u);
  BOOST_CHECK(!w.recovery.corruption);
}

BOOST_AUTO_TEST_CASE(flipped_bit_in_a_middle_record_is_corruption_with_its_op) {
  for (const std::uint64_t where : {std::uint64_t{1}, wal_header_size + 3}) {
    BOOST_TEST_CONTEXT("byte " << where << " of record 5") {
      memory_disk disk;
      {
        auto w = open_wal(disk);
        append_range(*w.log, 1, 10);
        must_sync(*w.log);
      }
      BOOST_REQUIRE(test_payload(5).size() > 3);
      BOOST_REQUIRE(disk.corrupt(first_segment, offset_of(5) + where, 3));
      const auto found = disk.contents(first_segment);
      auto w = open_wal(disk);
      check_entries(w.recovery.entries, 1, 4);
      BOOST_REQUIRE(w.recovery.corruption);
      BOOST_CHECK_EQUAL(w.recovery.corruption->op_number, 5u);
      BOOST_CHECK_EQUAL(w.recovery.corruption->segment, first_segment);
      BOOST_CHECK_EQUAL(w.recovery.corruption->offset, offset_of(5));
      BOOST_CHECK(w.log->needs_repair());
      BOOST_CHECK_THROW(w.log->append(5, 1, "x"), std::logic_error);
      BOOST_CHECK_THROW((void)w.log->truncate_after(5), std::logic_error);
      // The disk is left as found until the caller decides.
      BOOST_CHECK(disk.contents(first_segment) == found);

      // Repair: drop the corrupt op and everything after it, refill from "peers".
      BOOST_REQUIRE(w.log->truncate_after(4).ok());
      BOOST_CHECK(!w.log->needs_repair());
      append_range(*w.log, 5, 12, 2);
      BOOST_CHECK_EQUAL(must_sync(*w.log), 12u);
      disk.crash();
      auto again = open_wal(disk);
      BOOST_CHECK(!again.recovery.corruption);
      BOOST_REQUIRE_EQUAL(again.recovery.entries.size(), 12u);
      BOOST_CHECK(again.recovery.entries[3].payload == test_payload(4, 0));
      BOOST_CHECK(again.recovery.entries[4].payload == test_payload(5, 2));
    }
  }
}

BOOST_AUTO_TEST_CASE(corruption_in_an_older_segment_is_reported_and_repairable) {
  memory_disk disk;
  wal_options opts;
  opts.segment_size = 1500;
  {
    auto w = open_wal(disk, opts);
    append_range(*w.log, 1, 40);
    must_sync(*w.log);
    BOOST_REQUIRE_GT(w.log->segment_count(), 3u);
  }
  // The last record of the first segment: in a segment that is not the last one, a bad record
  // is corruption even at the segment's end.
  std::uint64_t last_in_first = 0;
  {
    auto w = open_wal(disk, opts);
    // The second segment's name tells where the first ends.
    auto names = disk.list().value;
    std::sort(names.begin(), names.end());
    last_in_first = std::stoull(names[1].substr(4, 20)) - 1;
  }
  BOOST_REQUIRE(disk.corrupt(first_segment, offset_of(last_in_first) + 20));
  auto w = open_wal(disk, opts);
  BOOST_REQUIRE(w.recovery.corruption);
  BOOST_CHECK_EQUAL(w.recovery.corruption->op_number, last_in_first);
  check_entries(w.recovery.entries, 1, last_in_first - 1);
  BOOST_REQUIRE(w.log->truncate_after(last_in_first - 1).ok());
  BOOST_CHECK_EQUAL(w.log->segment_count(), 1u);
  BOOST_CHECK_EQUAL(disk.list().value.size(), 1u); // later segments deleted
  append_range(*w.log, last_in_first, 50, 3);
  must_sync(*w.log);
  disk.crash();
  auto again = open_wal(disk, opts);
  BOOST_CHECK(!again.recovery.corruption);
  BOOST_CHECK_EQUAL(again.recovery.entries.size(), 50u);
}

BOOST_AUTO_TEST_CASE(broken_chain_in_the_middle_is_corruption) {
  // Records 1..8, each valid by itself, but record 5 names a predecessor that is not record 4
  // (a lost or misdirected write); 6..8 chain to 5 as written.
  memory_disk disk;
  std::string segment;
  std::uint32_t prev = 0;
  for (std::uint64_t op = 1; op <= 8; ++op) {
    const std::uint32_t claimed_prev = op == 5 ? prev ^ 0x1234u : prev;
    const std::string rec = encode_wal_record(op, 1, claimed_prev, test_payload(op));
    prev = wal_record_checksum(rec);
    segment += rec;
  }
  {
    auto f = disk.open(first_segment, true);
    BOOST_REQUIRE(f.value->write_at(0, segment).ok() && f.value->sync().ok());
    BOOST_REQUIRE(disk.sync().ok());
  }
  auto w = open_wal(disk);
  check_entries(w.recovery.entries, 1, 4);
  BOOST_REQUIRE(w.recovery.corruption);
  BOOST_CHECK_EQUAL(w.recovery.corruption->op_number, 5u);
  BOOST_CHECK_MESSAGE(w.recovery.corruption->reason.find("chain") != std::string::npos,
                      w.recovery.corruption->reason);
}

BOOST_AUTO_TEST_CASE(corrupt_length_field_is_bounded_and_detected) {
  // payload_length of record 3 set to ~4 GiB, and (second case) to a value that fits
  // max_payload but runs past the end of the file: neither allocates nor reads out of bounds,
  // both are corruption because records 4.. follow.
  for (const std::uint32_t bad_length : {0xFFFFFFF0u, 60000u}) {
    BOOST_TEST_CONTEXT("length " << bad_length) {
      memory_disk disk;
      {
        auto w = open_wal(disk);
        append_range(*w.log, 1, 6);
        must_sync(*w.log);
      }
      auto f = disk.open(first_segment, false);
      std::string field(4, '\0');
      for (int i = 0; i < 4; ++i)
        field[static_cast<std::size_t>(i)] = static_cast<char>((bad_length >> (8 * i)) & 0xFF);
      BOOST_REQUIRE(f.value->write_at(offset_of(3) + 32, field).ok());
      BOOST_REQUIRE(f.value->sync().ok());
      auto w = open_wal(disk);
      check_entries(w.recovery.entries, 1, 2);
      BOOST_REQUIRE(w.recovery.corruption);
      BOOST_CHECK_EQUAL(w.recovery.corruption->op_number, 3u);
    }
  }
}

BOOST_AUTO_TEST_CASE(garbage_segment_does_not_crash_recovery) {
  memory_disk disk;
  std::string junk;
  std::uint32_t x = 7;
  for (int i = 0; i < 5000; ++i) {
    x = x * 1664525u + 1013904223u;
    junk.push_back(static_cast<char>(x >> 24));
  }
  junk.replace(0, 4, "VRWL"); // a plausible start, then nonsense
  auto f = disk.open(first_segment, true);
  BOOST_REQUIRE(f.value->write_at(0, junk).ok() && f.value->sync().ok() && disk.sync().ok());
  auto w = open_wal(disk);
  BOOST_CHECK(w.recovery.entries.empty());
  // Nothing valid anywhere: indistinguishable from a torn first write, so it is cut.
  BOOST_CHECK(!w.recovery.corruption);
  BOOST_CHECK_EQUAL(w.recovery.torn_bytes, junk.size());
}

BOOST_AUTO_TEST_CASE(missing_middle_segment_is_corruption) {
  memory_disk disk;
  wal_options opts;
  opts.segment_size = 1500;
  {
    auto w = open_wal(disk, opts);
    append_range(*w.log, 1, 40);
    must_sync(*w.log);
  }
  auto names = disk.list().value;
  std::sort(names.begin(), names.end());
  BOOST_REQUIRE_GT(names.size(), 3u);
  const std::uint64_t missing_first = std::stoull(names[1].substr(4, 20));
  BOOST_REQUIRE(disk.remove(names[1]).ok());
  auto w = open_wal(disk, opts);
  BOOST_REQUIRE(w.recovery.corruption);
  BOOST_CHECK_EQUAL(w.recovery.corruption->op_number, missing_first);
  check_entries(w.recovery.entries, 1, missing_first - 1);
}

BOOST_AUTO_TEST_CASE(truncate_after_replaces_a_suffix_durably) {
  memory_disk disk;
  wal_options opts;
  opts.segment_size = 1500;
  {
    auto w = open_wal(disk, opts);
    append_range(*w.log, 1, 30);
    must_sync(*w.log);
    append_range(*w.log, 31, 35); // buffered, dropped too
    BOOST_REQUIRE(w.log->truncate_after(17).ok());
    BOOST_CHECK_EQUAL(w.log->last_op(), 17u);
    BOOST_CHECK_EQUAL(w.log->durable_op(), 17u);
    BOOST_CHECK_THROW(w.log->append(19, 2, "gap"), std::logic_error);
    append_range(*w.log, 18, 25, 1, 2); // the new view's entries
    // Not synced yet: a crash must give back 1..17 and nothing of the old 18..30.
  }
  disk.crash();
  {
    auto w = open_wal(disk, opts);
    check_entries(w.recovery.entries, 1, 17);
    BOOST_CHECK(!w.recovery.corruption);
    append_range(*w.log, 18, 25, 1, 2);
    must_sync(*w.log);
    // Truncating inside the buffer only.
    append_range(*w.log, 26, 28, 1, 2);
    BOOST_REQUIRE(w.log->truncate_after(26).ok());
    BOOST_CHECK_EQUAL(w.log->last_op(), 26u);
    must_sync(*w.log);
  }
  disk.crash();
  auto w = open_wal(disk, opts);
  BOOST_REQUIRE_EQUAL(w.recovery.entries.size(), 26u);
  check_entries({w.recovery.entries.begin(), w.recovery.entries.begin() + 17}, 1, 17);
  check_entries({w.recovery.entries.begin() + 17, w.recovery.entries.end()}, 18, 26, 1, 2);
}

BOOST_AUTO_TEST_CASE(truncate_after_everything_and_start_again) {
  memory_disk disk;
  {
    auto w = open_wal(disk);
    append_range(*w.log, 1, 5);
    must_sync(*w.log);
    BOOST_REQUIRE(w.log->truncate_after(0).ok());
    BOOST_CHECK_EQUAL(w.log->last_op(), 0u);
    append_range(*w.log, 1, 3, 4);
    must_sync(*w.log);
  }
  disk.crash();
  auto w = open_wal(disk);
  check_entries(w.recovery.entries, 1, 3, 4);
}

BOOST_AUTO_TEST_CASE(truncate_before_drops_whole_old_segments_and_keeps_the_chain) {
  memory_disk disk;
  wal_options opts;
  opts.segment_size = 1500;
  std::uint64_t first_kept = 0;
  {
    auto w = open_wal(disk, opts);
    append_range(*w.log, 1, 60);
    must_sync(*w.log);
    const std::size_t before = w.log->segment_count();
    BOOST_REQUIRE(w.log->truncate_before(30).ok());
    first_kept = w.log->first_op();
    BOOST_CHECK_LE(first_kept, 30u);
    BOOST_CHECK_GT(first_kept, 1u);
    BOOST_CHECK_LT(w.log->segment_count(), before);
    // Idempotent, and never removes the segment being appended to.
    BOOST_REQUIRE(w.log->truncate_before(30).ok());
    BOOST_CHECK_EQUAL(w.log->first_op(), first_kept);
    BOOST_REQUIRE(w.log->truncate_before(1000).ok());
    BOOST_CHECK_EQUAL(w.log->segment_count(), 1u);
    first_kept = w.log->first_op();
    append_range(*w.log, 61, 70);
    must_sync(*w.log);
  }
  disk.crash();
  auto w = open_wal(disk, opts);
  BOOST_CHECK(!w.recovery.corruption);
  check_entries(w.recovery.entries, first_kept, 70);
  BOOST_CHECK_EQUAL(w.log->first_op(), first_kept);
  BOOST_CHECK_THROW((void)w.log->truncate_after(first_kept - 2), std::logic_error);
}

BOOST_AUTO_TEST_CASE(enospc_fails_sync_reports_nothing_false_and_recovers_without_gap) {
  memory_disk disk;
  auto w = open_wal(disk);
  append_range(*w.log, 1, 5);
  must_sync(*w.log);
  disk.fail_writes_with_enospc(true);
  append_range(*w.log, 6, 8);
  auto r = w.log->sync();
  BOOST_REQUIRE(!r.ok());
  BOOST_CHECK(r.error.no_space());
  BOOST_CHECK_EQUAL(w.log->durable_op(), 5u);
  BOOST_CHECK_EQUAL(w.log->last_op(), 8u); // still buffered, nothing lost
  append_range(*w.log, 9, 9);
  BOOST_CHECK(!w.log->sync().ok());
  BOOST_CHECK_EQUAL(w.log->durable_op(), 5u);
  disk.fail_writes_with_enospc(false);
  append_range(*w.log, 10, 10);
  BOOST_CHECK_EQUAL(must_sync(*w.log), 10u);
  disk.crash();
  auto again = open_wal(disk);
  check_entries(again.recovery.entries, 1, 10);
}

BOOST_AUTO_TEST_CASE(enospc_then_crash_keeps_exactly_the_synced_prefix) {
  memory_disk disk;
  auto w = open_wal(disk);
  append_range(*w.log, 1, 5);
  must_sync(*w.log);
  disk.fail_writes_with_enospc(true);
  append_range(*w.log, 6, 8);
  BOOST_CHECK(w.log->sync().error.no_space());
  disk.crash();
  disk.fail_writes_with_enospc(false);
  auto again = open_wal(disk);
  check_entries(again.recovery.entries, 1, 5);
}

BOOST_AUTO_TEST_CASE(failed_fsync_is_final) {
  memory_disk disk;
  auto w = open_wal(disk);
  append_range(*w.log, 1, 5);
  must_sync(*w.log);
  disk.fail_syncs_with_eio(true);
  append_range(*w.log, 6, 8);
  BOOST_CHECK_EQUAL(w.log->sync().error.code, EIO);
  disk.fail_syncs_with_eio(false);
  // Retrying would report 6..8 durable although Linux may have dropped them: refused.
  BOOST_CHECK_EQUAL(w.log->sync().error.code, EIO);
  BOOST_CHECK_EQUAL(w.log->durable_op(), 5u);
  disk.crash();
  auto again = open_wal(disk);
  check_entries(again.recovery.entries, 1, 5);
}

BOOST_AUTO_TEST_CASE(misuse_throws) {
  memory_disk disk;
  auto w = open_wal(disk);
  BOOST_CHECK_THROW(w.log->append(2, 1, "x"), std::logic_error); // first op is 1
  w.log->append(1, 1, "x");
  BOOST_CHECK_THROW(w.log->append(1, 1, "x"), std::logic_error);
  wal_options small;
  small.max_payload = 10;
  memory_disk disk2;
  auto w2 = open_wal(disk2, small);
  BOOST_CHECK_THROW(w2.log->append(1, 1, std::string(11, 'x')), std::logic_error);
}

BOOST_AUTO_TEST_CASE(first_op_option_starts_an_empty_log_later) {
  memory_disk disk;
  wal_options opts;
  opts.first_op = 1000;
  {
    auto w = open_wal(disk, opts);
    append_range(*w.log, 1000, 1010);
    must_sync(*w.log);
  }
  auto w = open_wal(disk); // the segment name carries the first op; the option is not needed
  check_entries(w.recovery.entries, 1000, 1010);
}

// A full disk that accepted part of a write (records 4..6 whole, 10 bytes of 7) before ENOSPC.
// The view then changes (truncate_after(3) drops the buffered 4..7) and a new op 4 of the same
// size is written where the old one was. The old records 5 and 6 must not survive behind it:
// 5 would break the chain and 6 after it would look like corruption in the middle.
BOOST_AUTO_TEST_CASE(short_write_on_a_full_disk_leaves_nothing_stale) {
  memory_disk disk;
  auto w = open_wal(disk);
  append_range(*w.log, 1, 3);
  must_sync(*w.log);
  const std::size_t partial = offset_of(7) - offset_of(4) + 10;
  disk.fail_writes_with_enospc(true, partial);
  append_range(*w.log, 4, 7);
  BOOST_REQUIRE(w.log->sync().error.no_space());
  BOOST_REQUIRE(w.log->truncate_after(3).ok());
  disk.fail_writes_with_enospc(false);
  std::uint64_t gen = 1; // a payload of the same length as generation 0's, other bytes
  while (test_payload(4, gen).size() != test_payload(4).size() && gen < 1000)
    ++gen;
  BOOST_REQUIRE_EQUAL(test_payload(4, gen).size(), test_payload(4).size());
  BOOST_REQUIRE(test_payload(4, gen) != test_payload(4));
  w.log->append(4, 2, test_payload(4, gen));
  BOOST_CHECK_EQUAL(must_sync(*w.log), 4u);
  disk.crash();
  auto again = open_wal(disk);
  BOOST_CHECK(!again.recovery.corruption);
  BOOST_REQUIRE_EQUAL(again.recovery.entries.size(), 4u);
  BOOST_CHECK(again.recovery.entries[3].payload == test_payload(4, gen));
  BOOST_CHECK_EQUAL(again.recovery.torn_bytes, 0u);
}

// The known limit of a single checksum per record: a bit flip in the *last* record looks
// exactly like a write torn by a crash (nothing valid follows it), so it is cut, not reported as
// corruption. It is still visible: torn_bytes and torn_reason say what was cut and why.
BOOST_AUTO_TEST_CASE(corrupt_last_record_is_cut_like_a_torn_write) {
  memory_disk disk;
  {
    auto w = open_wal(disk);
    append_range(*w.log, 1, 5);
    must_sync(*w.log);
  }
  BOOST_REQUIRE(disk.corrupt(first_segment, offset_of(5) + 20));
  auto w = open_wal(disk);
  check_entries(w.recovery.entries, 1, 4);
  BOOST_CHECK(!w.recovery.corruption);
  BOOST_CHECK_EQUAL(w.recovery.torn_bytes, offset_of(6) - offset_of(5));
  BOOST_CHECK_EQUAL(w.recovery.torn_reason, "checksum mismatch");
}
