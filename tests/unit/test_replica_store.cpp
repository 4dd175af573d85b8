// storage::replica_store: the replica's log, view promises and checkpoints across restarts,
// crashes, corruption and a full disk (protocol::persistence over the WAL, the view state file
// and the checkpoint files).
#define BOOST_TEST_MODULE test_replica_store
#include <boost/test/unit_test.hpp>

#include "storage/memory_disk.hpp"
#include "storage/replica_store.hpp"
#include "storage_test_util.hpp"

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace vrdns;
using protocol::durable_view;
using protocol::log_entry;
using protocol::replica_status;

namespace {

std::vector<log_entry> make_log(std::size_t n, const std::string& tag) {
  std::vector<log_entry> log;
  for (std::size_t i = 1; i <= n; ++i)
    log.push_back({100 + i, i, tag + std::to_string(i)});
  return log;
}

// Entries from..to (ops), tagged.
std::vector<log_entry> make_run(std::uint64_t from, std::uint64_t to, const std::string& tag) {
  std::vector<log_entry> log;
  for (std::uint64_t op = from; op <= to; ++op)
    log.push_back({100 + op, op, tag + std::to_string(op)});
  return log;
}

protocol::checkpoint make_checkpoint(std::uint64_t op) {
  return {op, 1, {{"example.com.zone", "state after op " + std::to_string(op) + "\n"},
                  {std::string(protocol::client_table_part), std::string(24, 'c')}}};
}

struct opened {
  std::unique_ptr<storage::replica_store> store;
  std::optional<protocol::restored_state> restored;
  storage::replica_store_report report;
};

opened open_store(storage::directory& disk, std::uint64_t cluster = 7,
                  storage::wal_options options = {}) {
  opened o;
  auto r = storage::replica_store::open(disk, 1, cluster, o.restored, o.report, options);
  BOOST_REQUIRE_MESSAGE(r.error.ok(), r.error.message);
  o.store = std::move(r.value);
  return o;
}

} // namespace

BOOST_AUTO_TEST_CASE(log_entry_encoding_round_trips_and_rejects_short_payloads) {
  log_entry e{0x0102030405060708ull, 42, std::string("op\0bytes", 8)};
  auto back = storage::decode_log_entry(storage::encode_log_entry(e));
  BOOST_REQUIRE(back.has_value());
  BOOST_TEST((*back == e));
  BOOST_TEST(!storage::decode_log_entry(std::string(15, 'x')).has_value());
}

BOOST_AUTO_TEST_CASE(new_disk_has_nothing_then_everything_saved_comes_back) {
  storage::memory_disk disk;
  {
    auto o = open_store(disk);
    BOOST_TEST(!o.restored.has_value());
    BOOST_TEST(!o.report.found_state);
    BOOST_REQUIRE(o.store->save_log(0, make_log(5, "a"), 1));
    BOOST_REQUIRE(o.store->save_view(durable_view{3, 2, replica_status::normal, 4}));
  }
  disk.crash();   // everything was synced: nothing may be lost
  auto o = open_store(disk);
  BOOST_REQUIRE(o.restored.has_value());
  BOOST_TEST((o.restored->view == durable_view{3, 2, replica_status::normal, 4}));
  BOOST_TEST((o.restored->log == make_log(5, "a")));
}

BOOST_AUTO_TEST_CASE(a_replaced_suffix_replaces_what_is_on_disk) {
  storage::memory_disk disk;
  {
    auto o = open_store(disk);
    BOOST_REQUIRE(o.store->save_log(0, make_log(6, "a"), 1));
    // A view change kept ops 1..3 and replaced the rest by two other entries.
    auto log = make_log(3, "a");
    log.push_back({9, 9, "b4"});
    log.push_back({9, 10, "b5"});
    BOOST_REQUIRE(o.store->save_log(0, log, 4));
    // Then a pure truncation (a NewState that drops a suffix) followed by one append.
    log.resize(4);
    log.push_back({9, 11, "c5"});
    BOOST_REQUIRE(o.store->save_log(0, log, 5));
  }
  disk.crash();
  auto o = open_store(disk);
  BOOST_REQUIRE(o.restored.has_value());
  auto expect = make_log(3, "a");
  expect.push_back({9, 9, "b4"});
  expect.push_back({9, 11, "c5"});
  BOOST_TEST((o.restored->log == expect));
}

BOOST_AUTO_TEST_CASE(corrupt_entry_means_recover_from_the_peers) {
  storage::memory_disk disk;
  {
    auto o = open_store(disk);
    BOOST_REQUIRE(o.store->save_log(0, make_log(10, "a"), 1));
    BOOST_REQUIRE(o.store->save_view(durable_view{2, 2, replica_status::normal, 10}));
  }
  // Flip a bit inside the first record's payload: later records prove it was written whole.
  BOOST_REQUIRE(disk.corrupt(storage::wal::segment_name(1), 60, 2));
  auto o = open_store(disk);
  BOOST_REQUIRE(o.report.corruption.has_value());
  BOOST_REQUIRE(o.restored.has_value());
  BOOST_TEST((o.restored->view.status == replica_status::recovering));
  BOOST_TEST(o.restored->log.empty());
  BOOST_TEST(o.restored->view.view_number == 2u);   // the view promise still holds
  // Recovery then writes the log it learned, from op 1.
  BOOST_REQUIRE(o.store->save_log(0, make_log(4, "r"), 1));
  disk.crash();
  auto again = open_store(disk);
  BOOST_TEST(!again.report.corruption.has_value());
  BOOST_TEST((again.restored->log == make_log(4, "r")));
}

BOOST_AUTO_TEST_CASE(full_disk_refuses_then_recovers_without_a_gap) {
  storage::memory_disk disk;
  auto o = open_store(disk);
  BOOST_REQUIRE(o.store->save_log(0, make_log(2, "a"), 1));
  disk.fail_writes_with_enospc(true);
  BOOST_TEST(!o.store->save_log(0, make_log(5, "a"), 3));   // must not claim durability
  BOOST_TEST(!o.store->error().empty());
  disk.fail_writes_with_enospc(false);
  BOOST_REQUIRE(o.store->save_log(0, make_log(5, "a"), 3));
  BOOST_TEST(o.store->error().empty());
  disk.crash();
  auto back = open_store(disk);
  BOOST_TEST((back.restored->log == make_log(5, "a")));
}

BOOST_AUTO_TEST_CASE(another_clusters_data_is_refused) {
  storage::memory_disk disk;
  {
    auto o = open_store(disk, 7);
    BOOST_REQUIRE(o.store->save_view(durable_view{1, 1, replica_status::normal, 0}));
  }
  std::optional<protocol::restored_state> restored;
  storage::replica_store_report report;
  auto r = storage::replica_store::open(disk, 1, 8, restored, report);
  BOOST_TEST(!r.error.ok());
}

BOOST_AUTO_TEST_CASE(recovering_placeholders_never_lower_the_recorded_view) {
  storage::memory_disk disk;
  auto o = open_store(disk);
  BOOST_REQUIRE(o.store->save_view(durable_view{5, 4, replica_status::normal, 0}));
  // A recovering replica saves its placeholder view 0: the record keeps view 5 / normal view 4.
  BOOST_REQUIRE(o.store->save_view(durable_view{0, 0, replica_status::recovering, 0}));
  disk.crash();
  auto back = open_store(disk);
  BOOST_REQUIRE(back.restored.has_value());
  BOOST_TEST(back.restored->view.view_number == 5u);
  BOOST_TEST(back.restored->view.last_normal_view == 4u);
  BOOST_TEST((back.restored->view.status == replica_status::recovering));
}

BOOST_AUTO_TEST_CASE(a_corrupt_log_is_recorded_as_recovering_before_it_is_emptied) {
  storage::memory_disk disk;
  {
    auto o = open_store(disk);
    BOOST_REQUIRE(o.store->save_log(0, make_log(10, "a"), 1));
    BOOST_REQUIRE(o.store->save_view(durable_view{2, 2, replica_status::normal, 10}));
  }
  BOOST_REQUIRE(disk.corrupt(storage::wal::segment_name(1), 60, 2));
  { auto o = open_store(disk); }
  // A crash before the replica saved anything: the emptied log must not come back as normal.
  disk.crash();
  auto o = open_store(disk);
  BOOST_REQUIRE(o.restored.has_value());
  BOOST_TEST((o.restored->view.status == replica_status::recovering));
  BOOST_TEST(o.restored->log.empty());
}

BOOST_AUTO_TEST_CASE(checkpoint_installed_past_the_log_restarts_the_log) {
  storage::memory_disk disk;
  {
    auto o = open_store(disk);
    BOOST_REQUIRE(o.store->save_log(0, make_log(20, "a"), 1));
    BOOST_REQUIRE(o.store->save_view(durable_view{1, 1, replica_status::normal, 20}));
    // State transfer: a checkpoint at 100, then the log after it.
    BOOST_REQUIRE(o.store->save_checkpoint(make_checkpoint(100)));
    BOOST_REQUIRE(o.store->save_log(100, make_run(101, 105, "b"), 101));
    BOOST_TEST(o.store->error().empty());
  }
  disk.crash();
  auto o = open_store(disk);
  BOOST_REQUIRE(o.restored.has_value());
  BOOST_TEST(o.report.checkpoint_op.value_or(0) == 100u);
  BOOST_REQUIRE(o.restored->latest_checkpoint.has_value());
  BOOST_TEST((*o.restored->latest_checkpoint == make_checkpoint(100)));
  BOOST_TEST(o.restored->log_start == 100u);
  BOOST_TEST((o.restored->log == make_run(101, 105, "b")));
  BOOST_TEST((o.restored->view.status == replica_status::normal));
  BOOST_TEST(o.restored->view.commit_number >= 100u);
  // The log goes on from there.
  auto log = make_run(101, 107, "b");
  BOOST_REQUIRE(o.store->save_log(100, log, 106));
  disk.crash();
  auto again = open_store(disk);
  BOOST_TEST((again.restored->log == log));
}

// The replica's sequence when a checkpoint arrives past its log (save the checkpoint, then the
// log after it), cut by a power failure after every number of disk operations. Whatever
// survives is consistent: the old state, or the checkpoint with an empty or partial new log;
// never a log that does not connect to the checkpoint, and never a reason to recover.
BOOST_AUTO_TEST_CASE(power_cut_at_every_step_of_installing_a_checkpoint) {
  bool finished = false;
  int outcomes[3] = {0, 0, 0};
  for (long budget = 0; budget < 300 && !finished; ++budget) {
    BOOST_TEST_CONTEXT("budget " << budget) {
      storage::memory_disk disk;
      {
        auto o = open_store(disk);
        BOOST_REQUIRE(o.store->save_log(0, make_log(20, "a"), 1));
        BOOST_REQUIRE(o.store->save_view(durable_view{1, 1, replica_status::normal, 20}));
      }
      storage::testing::power_cut_directory cut(disk);
      bool ok = false;
      {
        auto o = open_store(cut);
        cut.cut_after(budget);
        ok = o.store->save_checkpoint(make_checkpoint(100))
             && o.store->save_log(100, make_run(101, 105, "b"), 101);
      }
      finished = ok;
      disk.crash();
      auto o = open_store(disk);
      BOOST_REQUIRE(o.restored.has_value());
      const auto& r = *o.restored;
      BOOST_TEST((r.view.status == replica_status::normal));
      BOOST_TEST(!o.report.corruption.has_value());
      BOOST_TEST(!o.report.log_gap.has_value());
      if (!r.latest_checkpoint) {
        BOOST_TEST(r.log_start == 0u);
        BOOST_TEST((r.log == make_log(20, "a")));
        ++outcomes[0];
      } else {
        BOOST_TEST((*r.latest_checkpoint == make_checkpoint(100)));
        BOOST_TEST(r.log_start == 100u); // the old log lies entirely before the checkpoint
        BOOST_TEST((r.log == make_run(101, 100 + r.log.size(), "b")));
        ++outcomes[r.log.empty() ? 1 : 2];
      }
      if (ok)
        BOOST_TEST((r.log == make_run(101, 105, "b")));
    }
  }
  BOOST_TEST(finished);
  BOOST_TEST(outcomes[0] > 0);
  BOOST_TEST(outcomes[1] > 0);
  BOOST_TEST(outcomes[2] > 0);
}

BOOST_AUTO_TEST_CASE(a_log_restarted_past_a_lost_checkpoint_is_a_gap_and_recovers) {
  storage::memory_disk disk;
  {
    auto o = open_store(disk);
    BOOST_REQUIRE(o.store->save_log(0, make_log(20, "a"), 1));
    BOOST_REQUIRE(o.store->save_view(durable_view{1, 1, replica_status::normal, 20}));
    BOOST_REQUIRE(o.store->save_checkpoint(make_checkpoint(50)));
    // The checkpoint at 100 never became durable, but the log was restarted after it.
    BOOST_REQUIRE(o.store->save_log(100, make_run(101, 105, "b"), 101));
  }
  disk.crash();
  {
    auto o = open_store(disk);
    BOOST_REQUIRE(o.restored.has_value());
    BOOST_REQUIRE(o.report.log_gap.has_value());
    BOOST_TEST(o.report.log_gap->first == 100u);
    BOOST_TEST(o.report.log_gap->second == 50u);
    BOOST_TEST((o.restored->view.status == replica_status::recovering));
    BOOST_TEST(o.restored->view.view_number == 1u);
    BOOST_REQUIRE(o.restored->latest_checkpoint.has_value()); // committed state, still good
    BOOST_TEST(o.restored->latest_checkpoint->op_number == 50u);
    BOOST_TEST(o.restored->log_start == 50u);
    BOOST_TEST(o.restored->log.empty());
  }
  disk.crash(); // still recovering, now with a log that connects
  auto o = open_store(disk);
  BOOST_TEST((o.restored->view.status == replica_status::recovering));
  BOOST_TEST(!o.report.log_gap.has_value());
  BOOST_TEST(o.restored->log_start == 50u);
  // Recovery supplies a log after the checkpoint.
  BOOST_REQUIRE(o.store->save_log(50, make_run(51, 60, "r"), 51));
  BOOST_REQUIRE(o.store->save_view(durable_view{1, 1, replica_status::normal, 60}));
  disk.crash();
  auto back = open_store(disk);
  BOOST_TEST((back.restored->view.status == replica_status::normal));
  BOOST_TEST((back.restored->log == make_run(51, 60, "r")));
}

BOOST_AUTO_TEST_CASE(no_checkpoint_and_a_log_starting_late_is_a_gap) {
  storage::memory_disk disk;
  {
    auto o = open_store(disk);
    BOOST_REQUIRE(o.store->save_log(30, make_run(31, 35, "b"), 31));
  }
  disk.crash();
  auto o = open_store(disk);
  BOOST_REQUIRE(o.restored.has_value());
  BOOST_TEST(o.report.log_gap.has_value());
  BOOST_TEST((o.restored->view.status == replica_status::recovering));
  BOOST_TEST(!o.restored->latest_checkpoint.has_value());
  BOOST_TEST(o.restored->log_start == 0u);
  BOOST_TEST(o.restored->log.empty());
}

BOOST_AUTO_TEST_CASE(a_log_behind_the_checkpoint_comes_back_empty_at_the_checkpoint) {
  storage::memory_disk disk;
  {
    auto o = open_store(disk);
    BOOST_REQUIRE(o.store->save_view({0, 0, replica_status::normal, 0}));   // a replica's first save
    BOOST_REQUIRE(o.store->save_log(0, make_log(20, "a"), 1));
    BOOST_REQUIRE(o.store->save_checkpoint(make_checkpoint(30)));
  }
  disk.crash();
  {
    auto o = open_store(disk);
    BOOST_REQUIRE(o.restored.has_value());
    BOOST_TEST((o.restored->view.status == replica_status::normal));
    BOOST_TEST(o.restored->log_start == 30u);
    BOOST_TEST(o.restored->log.empty());
    BOOST_REQUIRE(o.store->save_log(30, make_run(31, 33, "b"), 31));
  }
  disk.crash();
  auto o = open_store(disk);
  BOOST_TEST(o.restored->log_start == 30u);
  BOOST_TEST((o.restored->log == make_run(31, 33, "b")));
}

BOOST_AUTO_TEST_CASE(the_log_before_a_checkpoint_is_a_margin_discarded_by_whole_segments) {
  storage::memory_disk disk;
  storage::wal_options small;
  small.segment_size = 600; // a few entries per segment
  {
    auto o = open_store(disk, 7, small);
    BOOST_REQUIRE(o.store->save_log(0, make_log(60, "a"), 1));
    BOOST_REQUIRE(o.store->save_checkpoint(make_checkpoint(40)));
  }
  disk.crash();
  auto o = open_store(disk, 7, small);
  BOOST_TEST(o.restored->log_start == 0u); // everything kept: entries up to 40 are a margin
  BOOST_TEST((o.restored->log == make_log(60, "a")));
  // Asking for more than the checkpoint covers drops only what it covers.
  BOOST_REQUIRE(o.store->discard_log_before(1000));
  disk.crash();
  auto back = open_store(disk, 7, small);
  const auto start = back.restored->log_start;
  BOOST_TEST(start > 0u);
  BOOST_TEST(start <= 40u);
  BOOST_TEST((back.restored->log == make_run(start + 1, 60, "a")));
  // The replica keeps appending after its log_start.
  BOOST_REQUIRE(back.store->save_log(40, make_run(41, 62, "a"), 61));
  disk.crash();
  auto last = open_store(disk, 7, small);
  BOOST_TEST((last.restored->log == make_run(last.restored->log_start + 1, 62, "a")));
}

BOOST_AUTO_TEST_CASE(a_corrupt_log_with_a_good_checkpoint_keeps_the_checkpoint) {
  storage::memory_disk disk;
  {
    auto o = open_store(disk);
    BOOST_REQUIRE(o.store->save_log(0, make_log(60, "a"), 1));
    BOOST_REQUIRE(o.store->save_view(durable_view{3, 3, replica_status::normal, 60}));
    BOOST_REQUIRE(o.store->save_checkpoint(make_checkpoint(40)));
  }
  BOOST_REQUIRE(disk.corrupt(storage::wal::segment_name(1), 200, 4));
  auto o = open_store(disk);
  BOOST_TEST(o.report.corruption.has_value());
  BOOST_TEST((o.restored->view.status == replica_status::recovering));
  BOOST_REQUIRE(o.restored->latest_checkpoint.has_value());
  BOOST_TEST((*o.restored->latest_checkpoint == make_checkpoint(40)));
  BOOST_TEST(o.restored->log_start == 40u);
  BOOST_TEST(o.restored->log.empty());
  BOOST_TEST(o.restored->view.commit_number == 60u);
}

BOOST_AUTO_TEST_CASE(a_corrupt_checkpoint_is_reported_and_passed_over) {
  storage::memory_disk disk;
  {
    auto o = open_store(disk);
    BOOST_REQUIRE(o.store->save_view({0, 0, replica_status::normal, 0}));   // a replica's first save
    BOOST_REQUIRE(o.store->save_log(0, make_log(10, "a"), 1));
    BOOST_REQUIRE(o.store->save_checkpoint(make_checkpoint(5)));
  }
  BOOST_REQUIRE(disk.corrupt(storage::checkpoint_store::meta_name(5), 9, 0));
  auto o = open_store(disk);
  BOOST_REQUIRE_EQUAL(o.report.corrupt_checkpoints.size(), 1u);
  BOOST_TEST(o.report.corrupt_checkpoints[0].op_number == 5u);
  BOOST_TEST(!o.report.checkpoint_op.has_value());
  BOOST_REQUIRE(o.restored.has_value());
  BOOST_TEST(!o.restored->latest_checkpoint.has_value());
  BOOST_TEST((o.restored->view.status == replica_status::normal)); // the log starts at op 1
  BOOST_TEST((o.restored->log == make_log(10, "a")));
}

BOOST_AUTO_TEST_CASE(a_checkpoint_error_is_reported_until_a_checkpoint_succeeds) {
  storage::memory_disk disk;
  auto o = open_store(disk);
  disk.fail_writes_with_enospc(true);
  BOOST_TEST(!o.store->save_checkpoint(make_checkpoint(10)));
  disk.fail_writes_with_enospc(false);
  BOOST_TEST(o.store->error().find("checkpoint") != std::string::npos);
  BOOST_REQUIRE(o.store->save_log(0, make_log(3, "a"), 1));
  BOOST_TEST(!o.store->error().empty()); // a log save does not hide it
  BOOST_REQUIRE(o.store->save_checkpoint(make_checkpoint(10)));
  BOOST_TEST(o.store->error().empty());
}

// save_checkpoint on a writer thread while the replica's thread saves its log and view.
BOOST_AUTO_TEST_CASE(checkpoints_on_another_thread_next_to_log_saves) {
  storage::memory_disk disk;
  auto o = open_store(disk);
  std::atomic<int> failures{0};
  std::thread writer([&] {
    for (std::uint64_t op = 5; op <= 150; op += 5)
      if (!o.store->save_checkpoint(make_checkpoint(op)) || o.store->error().size() > 0)
        ++failures;
  });
  for (std::uint64_t n = 1; n <= 200; ++n) {
    BOOST_REQUIRE(o.store->save_log(0, make_log(n, "a"), n));
    if (n % 10 == 0)
      BOOST_REQUIRE(o.store->save_view(durable_view{1, 1, replica_status::normal, n}));
  }
  writer.join();
  BOOST_TEST(failures.load() == 0);
  disk.crash();
  auto back = open_store(disk);
  BOOST_TEST(back.report.checkpoint_op.value_or(0) == 150u);
  BOOST_TEST(back.restored->log_start == 0u);
  BOOST_TEST((back.restored->log == make_log(200, "a")));
}

// A blank replica (empty disk, asking the others) may save a checkpoint it fetched before it
// has written any view record. Restarted, it must recover, not resume as a normal replica of
// view 0: it has not finished learning what it promised before its disk was wiped.
BOOST_AUTO_TEST_CASE(state_without_a_view_record_means_recover) {
  storage::memory_disk disk;
  {
    auto o = open_store(disk);
    BOOST_REQUIRE(!o.restored);
    BOOST_REQUIRE(o.store->save_checkpoint(make_checkpoint(40)));
  }
  auto o = open_store(disk);
  BOOST_REQUIRE(o.restored);
  BOOST_TEST((o.restored->view.status == protocol::replica_status::recovering));
  BOOST_REQUIRE(o.restored->latest_checkpoint);
  BOOST_TEST(o.restored->latest_checkpoint->op_number == 40u);   // still usable: committed
}
