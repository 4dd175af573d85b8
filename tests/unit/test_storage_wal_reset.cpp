// wal::reset (the log restarts after a checkpoint installed past its end) across crashes at
// every step, and the memory the WAL index keeps after truncate_before.
#define BOOST_TEST_MODULE test_storage_wal_reset
#include <boost/test/unit_test.hpp>

#include "storage/memory_disk.hpp"
#include "storage/wal.hpp"
#include "storage_test_util.hpp"

#include <algorithm>
#include <stdexcept>

using namespace vrdns::storage;
using namespace vrdns::storage::testing;

namespace {

std::vector<std::string> files(memory_disk& disk) {
  auto names = disk.list();
  BOOST_REQUIRE(names.ok());
  std::sort(names.value.begin(), names.value.end());
  return names.value;
}

wal_options small_segments() {
  wal_options o;
  o.segment_size = 2000; // ops 1..40 take several segments
  return o;
}

// A durable log of ops 1..40 over several segments.
void write_old_log(memory_disk& disk) {
  auto w = open_wal(disk, small_segments());
  append_range(*w.log, 1, 40);
  BOOST_REQUIRE_EQUAL(must_sync(*w.log), 40u);
  BOOST_REQUIRE_GT(w.log->segment_count(), 2u);
}

// A directory whose remove() fails with EACCES while `refuse` is set.
class refusing_directory final : public directory {
public:
  explicit refusing_directory(directory& inner) : inner_(inner) {}
  bool refuse = false;
  io_result<std::unique_ptr<file>> open(const std::string& n, bool c) override {
    return inner_.open(n, c);
  }
  io_error rename(const std::string& f, const std::string& t) override {
    return inner_.rename(f, t);
  }
  io_error remove(const std::string& n) override {
    return refuse ? io_error{EACCES, "unlink refused (test)"} : inner_.remove(n);
  }
  io_result<std::vector<std::string>> list() override { return inner_.list(); }
  io_error sync() override { return inner_.sync(); }

private:
  directory& inner_;
};

} // namespace

BOOST_AUTO_TEST_CASE(reset_restarts_the_log_after_the_given_op) {
  memory_disk disk;
  write_old_log(disk);
  {
    auto w = open_wal(disk, small_segments());
    BOOST_REQUIRE(w.log->reset(100).ok());
    BOOST_CHECK_EQUAL(w.log->first_op(), 101u);
    BOOST_CHECK_EQUAL(w.log->last_op(), 100u);
    BOOST_CHECK_EQUAL(w.log->durable_op(), 100u);
    BOOST_CHECK_EQUAL(w.log->segment_count(), 1u);
    BOOST_CHECK((files(disk) == std::vector<std::string>{wal::segment_name(101)}));
    BOOST_CHECK_THROW(w.log->append(100, 1, "x"), std::logic_error);
    append_range(*w.log, 101, 110, 1);
    BOOST_CHECK_EQUAL(must_sync(*w.log), 110u);
  }
  disk.crash();
  auto w = open_wal(disk, small_segments());
  BOOST_CHECK(is_run(w.recovery.entries, 101, 110, 1));
  BOOST_CHECK(!w.recovery.corruption);
  BOOST_CHECK_EQUAL(w.log->first_op(), 101u);
}

BOOST_AUTO_TEST_CASE(an_empty_reset_log_keeps_its_start_across_a_crash) {
  memory_disk disk;
  write_old_log(disk);
  {
    auto w = open_wal(disk, small_segments());
    BOOST_REQUIRE(w.log->reset(100).ok());
  }
  disk.crash();
  auto w = open_wal(disk, small_segments());
  BOOST_CHECK(w.recovery.entries.empty());
  BOOST_CHECK_EQUAL(w.log->first_op(), 101u);
  BOOST_CHECK_EQUAL(w.log->last_op(), 100u);
  BOOST_CHECK_EQUAL(w.log->durable_op(), 100u);
}

// The property the replica relies on: whatever step a power cut hits (inside the reset or in
// the appends and sync after it), a reopen finds the old log or the new one (possibly shorter,
// never with a hole), and the new one with everything synced if the sync returned.
BOOST_AUTO_TEST_CASE(power_cut_at_every_step_of_a_reset_gives_the_old_or_the_new_log) {
  bool finished = false;
  int old_seen = 0, new_seen = 0;
  for (long budget = 0; budget < 100 && !finished; ++budget) {
    for (bool tear : {false, true}) {
      BOOST_TEST_CONTEXT("budget " << budget << (tear ? " torn" : "")) {
        memory_disk disk;
        write_old_log(disk);
        power_cut_directory cut(disk);
        bool synced = false;
        {
          auto w = open_wal(cut, small_segments());
          cut.cut_after(budget);
          if (w.log->reset(100).ok()) {
            append_range(*w.log, 101, 105, 1);
            synced = w.log->sync().ok();
          }
        }
        finished = synced;
        if (!tear || !disk.tear_last_write(20))
          disk.crash();
        auto w = open_wal(disk, small_segments());
        BOOST_CHECK(!w.recovery.corruption);
        const auto& got = w.recovery.entries;
        const bool is_old = w.log->first_op() == 1 && is_run(got, 1, 40);
        const bool is_new = w.log->first_op() == 101
                            && (got.empty() || is_run(got, 101, got.back().op_number, 1));
        BOOST_CHECK(is_old != is_new);
        if (synced)
          BOOST_CHECK(is_run(got, 101, 105, 1));
        old_seen += is_old;
        new_seen += is_new;
        // Either way the log goes on.
        const std::uint64_t next = w.log->last_op() + 1;
        w.log->append(next, 2, "after");
        BOOST_CHECK_EQUAL(must_sync(*w.log), next);
        const auto names = files(disk);
        BOOST_CHECK(std::none_of(names.begin(), names.end(), [](const std::string& n) {
          return n.starts_with("wal-reset");
        }));
      }
    }
  }
  BOOST_CHECK(finished);
  BOOST_CHECK_GT(old_seen, 0);
  BOOST_CHECK_GT(new_seen, 0);
}

BOOST_AUTO_TEST_CASE(a_marker_found_at_open_finishes_the_reset) {
  memory_disk disk;
  write_old_log(disk);
  // A crash right after the commit point: the marker is durable, nothing else changed yet.
  BOOST_REQUIRE(disk.open(wal::reset_marker_name(61), true).ok());
  disk.sync();
  disk.crash();
  auto w = open_wal(disk, small_segments());
  BOOST_CHECK(w.recovery.entries.empty());
  BOOST_CHECK_EQUAL(w.log->first_op(), 61u);
  BOOST_CHECK((files(disk) == std::vector<std::string>{wal::segment_name(61)}));
  disk.crash(); // the cleanup was durable
  BOOST_CHECK((files(disk) == std::vector<std::string>{wal::segment_name(61)}));
}

BOOST_AUTO_TEST_CASE(two_reset_markers_fail_the_open) {
  memory_disk disk;
  write_old_log(disk);
  BOOST_REQUIRE(disk.open(wal::reset_marker_name(61), true).ok());
  BOOST_REQUIRE(disk.open(wal::reset_marker_name(71), true).ok());
  wal_recovery rec;
  auto r = wal::open(disk, small_segments(), rec);
  BOOST_CHECK_EQUAL(r.error.code, EINVAL);
}

BOOST_AUTO_TEST_CASE(reset_inside_the_old_log_replaces_a_segment_of_the_same_name) {
  memory_disk disk;
  write_old_log(disk);
  // The new first segment gets the name of an old segment that holds old records.
  const auto before = files(disk);
  const std::string second = before.at(1);
  const std::uint64_t second_first = std::stoull(second.substr(4, 20));
  {
    auto w = open_wal(disk, small_segments());
    BOOST_REQUIRE(w.log->reset(second_first - 1).ok());
    append_range(*w.log, second_first, second_first + 2, 7);
    must_sync(*w.log);
  }
  disk.crash();
  auto w = open_wal(disk, small_segments());
  BOOST_CHECK(!w.recovery.corruption);
  BOOST_CHECK(is_run(w.recovery.entries, second_first, second_first + 2, 7));
}

BOOST_AUTO_TEST_CASE(reset_drops_buffered_entries_and_clears_repair_state) {
  memory_disk disk;
  {
    auto w = open_wal(disk);
    append_range(*w.log, 1, 10);
    must_sync(*w.log);
  }
  // A bit flip in the first record: corruption, the log is in repair state.
  BOOST_REQUIRE(disk.corrupt(wal::segment_name(1), 50, 1));
  auto w = open_wal(disk);
  BOOST_REQUIRE(w.recovery.corruption);
  BOOST_REQUIRE(w.log->needs_repair());
  BOOST_REQUIRE(w.log->reset(20).ok());
  BOOST_CHECK(!w.log->needs_repair());
  append_range(*w.log, 21, 25, 3);
  BOOST_REQUIRE(w.log->reset(30).ok()); // the buffered 21..25 go with it
  BOOST_CHECK_EQUAL(w.log->last_op(), 30u);
  append_range(*w.log, 31, 32, 4);
  must_sync(*w.log);
  disk.crash();
  auto back = open_wal(disk);
  BOOST_CHECK(is_run(back.recovery.entries, 31, 32, 4));
  BOOST_CHECK(!back.recovery.corruption);
}

BOOST_AUTO_TEST_CASE(truncate_before_and_reset_release_the_index) {
  memory_disk disk;
  wal_options o;
  o.segment_size = 4096;
  auto w = open_wal(disk, o);
  append_range(*w.log, 1, 6000);
  must_sync(*w.log);
  BOOST_REQUIRE_GE(w.log->index_capacity(), 6000u);
  BOOST_REQUIRE(w.log->truncate_before(5950).ok());
  const std::size_t live = static_cast<std::size_t>(w.log->last_op() + 1 - w.log->first_op());
  BOOST_CHECK_LT(live, 200u);
  BOOST_CHECK_LE(w.log->index_capacity(), std::max<std::size_t>(1024, 2 * live));
  // The chain still holds across the dropped segments.
  append_range(*w.log, 6001, 6010);
  must_sync(*w.log);
  BOOST_REQUIRE(w.log->reset(7000).ok());
  BOOST_CHECK_EQUAL(w.log->index_capacity(), 0u);
  disk.crash();
  auto back = open_wal(disk, o);
  BOOST_CHECK(back.recovery.entries.empty());
  BOOST_CHECK_EQUAL(back.log->first_op(), 7001u);
}

BOOST_AUTO_TEST_CASE(a_refused_unlink_in_truncate_before_leaves_the_log_usable) {
  memory_disk disk;
  refusing_directory dir(disk);
  auto w = open_wal(dir, small_segments());
  append_range(*w.log, 1, 40);
  must_sync(*w.log);
  const std::size_t segments = w.log->segment_count();
  dir.refuse = true;
  BOOST_CHECK_EQUAL(w.log->truncate_before(35).code, EACCES);
  BOOST_CHECK_EQUAL(w.log->segment_count(), segments);
  append_range(*w.log, 41, 42);
  BOOST_CHECK_EQUAL(must_sync(*w.log), 42u); // not poisoned
  dir.refuse = false;
  BOOST_REQUIRE(w.log->truncate_before(35).ok());
  BOOST_CHECK_LT(w.log->segment_count(), segments);
  disk.crash();
  auto back = open_wal(disk, small_segments());
  BOOST_CHECK(!back.recovery.entries.empty());
  BOOST_CHECK(is_run(back.recovery.entries, back.log->first_op(), 42));
  BOOST_CHECK_LE(back.log->first_op(), 35u);
}
