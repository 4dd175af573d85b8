// storage::replica_store: the replica's log and view promises across restarts, crashes,
// corruption and a full disk (protocol::persistence over the WAL and the view state file).
#define BOOST_TEST_MODULE test_replica_store
#include <boost/test/unit_test.hpp>

#include "storage/memory_disk.hpp"
#include "storage/replica_store.hpp"

#include <memory>
#include <optional>
#include <string>
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

struct opened {
  std::unique_ptr<storage::replica_store> store;
  std::optional<protocol::restored_state> restored;
  storage::replica_store_report report;
};

opened open_store(storage::memory_disk& disk, std::uint64_t cluster = 7) {
  opened o;
  auto r = storage::replica_store::open(disk, 1, cluster, o.restored, o.report);
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
    BOOST_REQUIRE(o.store->save_log(make_log(5, "a"), 1));
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
    BOOST_REQUIRE(o.store->save_log(make_log(6, "a"), 1));
    // A view change kept ops 1..3 and replaced the rest by two other entries.
    auto log = make_log(3, "a");
    log.push_back({9, 9, "b4"});
    log.push_back({9, 10, "b5"});
    BOOST_REQUIRE(o.store->save_log(log, 4));
    // Then a pure truncation (a NewState that drops a suffix) followed by one append.
    log.resize(4);
    log.push_back({9, 11, "c5"});
    BOOST_REQUIRE(o.store->save_log(log, 5));
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
    BOOST_REQUIRE(o.store->save_log(make_log(10, "a"), 1));
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
  BOOST_REQUIRE(o.store->save_log(make_log(4, "r"), 1));
  disk.crash();
  auto again = open_store(disk);
  BOOST_TEST(!again.report.corruption.has_value());
  BOOST_TEST((again.restored->log == make_log(4, "r")));
}

BOOST_AUTO_TEST_CASE(full_disk_refuses_then_recovers_without_a_gap) {
  storage::memory_disk disk;
  auto o = open_store(disk);
  BOOST_REQUIRE(o.store->save_log(make_log(2, "a"), 1));
  disk.fail_writes_with_enospc(true);
  BOOST_TEST(!o.store->save_log(make_log(5, "a"), 3));   // must not claim durability
  BOOST_TEST(!o.store->error().empty());
  disk.fail_writes_with_enospc(false);
  BOOST_REQUIRE(o.store->save_log(make_log(5, "a"), 3));
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
