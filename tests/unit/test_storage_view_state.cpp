#define BOOST_TEST_MODULE test_storage_view_state
#include <boost/test/unit_test.hpp>

#include "storage/memory_disk.hpp"
#include "storage/posix_file.hpp"
#include "storage/view_state.hpp"
#include "storage_test_util.hpp"

#include <stdlib.h>

#include <filesystem>
#include <stdexcept>

using namespace vrdns::storage;
using namespace vrdns::storage::testing;
namespace fs = std::filesystem;

namespace {

const std::uint64_t cluster =
    cluster_identity({"127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7003"});

view_state state(std::uint64_t view, std::uint64_t last_normal,
                 durable_status status = durable_status::normal, std::uint64_t commit = 0) {
  view_state s;
  s.replica_number = 1;
  s.cluster_id = cluster;
  s.view_number = view;
  s.last_normal_view = last_normal;
  s.status = status;
  s.commit_number = commit;
  return s;
}

struct opened_store {
  std::unique_ptr<view_state_store> store;
  std::optional<view_state> current;
  io_error error;
};

opened_store open_store(directory& dir, std::uint32_t replica = 1, std::uint64_t id = cluster) {
  opened_store o;
  auto r = view_state_store::open(dir, replica, id, o.current);
  o.error = r.error;
  o.store = std::move(r.value);
  return o;
}

} // namespace

BOOST_AUTO_TEST_CASE(fresh_directory_has_no_state_then_round_trips) {
  memory_disk disk;
  {
    auto o = open_store(disk);
    BOOST_REQUIRE(o.error.ok());
    BOOST_CHECK(!o.current);
    BOOST_REQUIRE(o.store->write(state(0, 0)).ok());
    BOOST_REQUIRE(o.store->write(state(3, 0, durable_status::view_change, 17)).ok());
    BOOST_REQUIRE(o.store->current());
    BOOST_CHECK(*o.store->current() == state(3, 0, durable_status::view_change, 17));
  }
  disk.crash(); // everything written above returned: it must all be durable
  auto o = open_store(disk);
  BOOST_REQUIRE_MESSAGE(o.error.ok(), o.error.message);
  BOOST_REQUIRE(o.current);
  BOOST_CHECK(*o.current == state(3, 0, durable_status::view_change, 17));
  BOOST_REQUIRE(o.store->write(state(3, 3, durable_status::normal, 20)).ok());
  disk.crash();
  auto again = open_store(disk);
  BOOST_REQUIRE(again.current);
  BOOST_CHECK(*again.current == state(3, 3, durable_status::normal, 20));
}

BOOST_AUTO_TEST_CASE(round_trip_on_posix_disk) {
  std::string tmpl = (fs::temp_directory_path() / "vrdns-vs-XXXXXX").string();
  BOOST_REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
  {
    auto d = posix_directory::open_path(tmpl, false);
    BOOST_REQUIRE(d.ok());
    auto o = open_store(*d.value);
    BOOST_REQUIRE(o.error.ok() && !o.current);
    BOOST_REQUIRE(o.store->write(state(5, 4, durable_status::view_change)).ok());
    BOOST_REQUIRE(o.store->write(state(6, 4, durable_status::view_change)).ok());
    auto again = open_store(*d.value);
    BOOST_REQUIRE(again.current);
    BOOST_CHECK(*again.current == state(6, 4, durable_status::view_change));
    BOOST_CHECK_EQUAL(fs::file_size(fs::path(tmpl) / view_state_store::file_name),
                      2 * view_state_copy_size);
  }
  fs::remove_all(tmpl);
}

// A crash at every point of a write (after each of its disk operations, with the last write
// torn at several lengths) leaves either the previous or the new record, and the new one
// whenever write() had returned success.
BOOST_AUTO_TEST_CASE(crash_anywhere_in_a_write_keeps_previous_or_new_value) {
  for (const bool first_write : {true, false}) {
    for (long budget = 0; budget < 12; ++budget) {
      for (const std::size_t tear : {std::size_t{0}, std::size_t{5}, std::size_t{300},
                                     view_state_copy_size, std::size_t{10000}}) {
        BOOST_TEST_CONTEXT("first write " << first_write << ", ops before the cut " << budget
                                          << ", torn at " << tear) {
          memory_disk disk;
          power_cut_directory dir(disk);
          const view_state before = state(2, 2);
          const view_state after = state(3, 2, durable_status::view_change);
          auto o = open_store(dir);
          BOOST_REQUIRE(o.error.ok());
          if (!first_write)
            BOOST_REQUIRE(o.store->write(before).ok());
          dir.cut_after(budget);
          const bool returned_ok = o.store->write(after).ok();
          if (!disk.tear_last_write(tear))
            disk.crash();
          dir.cut_after(-1);
          auto re = open_store(disk);
          BOOST_REQUIRE_MESSAGE(re.error.ok(), re.error.message);
          if (returned_ok) {
            BOOST_REQUIRE(re.current);
            BOOST_CHECK(*re.current == after);
          } else if (first_write) {
            BOOST_CHECK(!re.current || *re.current == after);
          } else {
            BOOST_REQUIRE(re.current);
            BOOST_CHECK(*re.current == before || *re.current == after);
          }
          // The next write after the restart works and is durable.
          BOOST_REQUIRE(re.store->write(state(4, 2, durable_status::view_change)).ok());
          disk.crash();
          auto last = open_store(disk);
          BOOST_REQUIRE(last.current);
          BOOST_CHECK(*last.current == state(4, 2, durable_status::view_change));
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(one_corrupt_copy_falls_back_to_the_other_both_corrupt_refuses) {
  for (const std::uint64_t copy_offset : {std::uint64_t{0}, std::uint64_t{view_state_copy_size}}) {
    BOOST_TEST_CONTEXT("corrupt copy at " << copy_offset) {
      memory_disk disk;
      auto o = open_store(disk);
      BOOST_REQUIRE(o.store->write(state(1, 1)).ok());
      BOOST_REQUIRE(o.store->write(state(7, 5, durable_status::view_change, 9)).ok());
      BOOST_REQUIRE(disk.corrupt(view_state_store::file_name, copy_offset + 33, 4));
      auto re = open_store(disk);
      BOOST_REQUIRE_MESSAGE(re.error.ok(), re.error.message);
      BOOST_REQUIRE(re.current);
      // Both copies held the latest record: falling back loses nothing.
      BOOST_CHECK(*re.current == state(7, 5, durable_status::view_change, 9));
    }
  }
  memory_disk disk;
  auto o = open_store(disk);
  BOOST_REQUIRE(o.store->write(state(1, 1)).ok());
  BOOST_REQUIRE(disk.corrupt(view_state_store::file_name, 20));
  BOOST_REQUIRE(disk.corrupt(view_state_store::file_name, view_state_copy_size + 60));
  auto re = open_store(disk);
  BOOST_CHECK_EQUAL(re.error.code, EBADMSG);
  BOOST_CHECK(!re.store);
}

BOOST_AUTO_TEST_CASE(newer_sequence_wins_when_copies_differ) {
  // Copy A holds view 9 (sequence 5), copy B view 8 (sequence 4): a crash between the two
  // halves of a write. The newer one is the answer.
  memory_disk disk;
  auto f = disk.open(view_state_store::file_name, true);
  BOOST_REQUIRE(f.value->write_at(0, encode_view_state_copy(state(9, 8), 5)).ok());
  BOOST_REQUIRE(
      f.value->write_at(view_state_copy_size, encode_view_state_copy(state(8, 8), 4)).ok());
  auto o = open_store(disk);
  BOOST_REQUIRE(o.current);
  BOOST_CHECK(*o.current == state(9, 8));
  // And the other way round.
  BOOST_REQUIRE(f.value->write_at(0, encode_view_state_copy(state(8, 8), 4)).ok());
  BOOST_REQUIRE(
      f.value->write_at(view_state_copy_size, encode_view_state_copy(state(9, 8), 5)).ok());
  auto o2 = open_store(disk);
  BOOST_REQUIRE(o2.current);
  BOOST_CHECK(*o2.current == state(9, 8));
}

BOOST_AUTO_TEST_CASE(another_replicas_or_clusters_state_is_refused) {
  memory_disk disk;
  auto o = open_store(disk);
  BOOST_REQUIRE(o.store->write(state(1, 1)).ok());
  BOOST_CHECK_EQUAL(open_store(disk, 2).error.code, EINVAL);
  const std::uint64_t other = cluster_identity({"127.0.0.1:7001", "127.0.0.1:7002"});
  BOOST_CHECK_NE(other, cluster);
  BOOST_CHECK_EQUAL(open_store(disk, 1, other).error.code, EINVAL);
  BOOST_CHECK(open_store(disk, 1, cluster).error.ok());
}

BOOST_AUTO_TEST_CASE(promises_cannot_go_back) {
  memory_disk disk;
  auto o = open_store(disk);
  BOOST_REQUIRE(o.store->write(state(5, 4)).ok());
  BOOST_CHECK_THROW((void)o.store->write(state(4, 4)), std::logic_error);
  BOOST_CHECK_THROW((void)o.store->write(state(5, 3)), std::logic_error);
  BOOST_CHECK_THROW((void)o.store->write(state(5, 6)), std::logic_error); // last_normal > view
  view_state other = state(6, 4);
  other.replica_number = 2;
  BOOST_CHECK_THROW((void)o.store->write(other), std::logic_error);
  BOOST_CHECK(o.store->write(state(5, 4, durable_status::view_change)).ok()); // same view: fine
}

BOOST_AUTO_TEST_CASE(cluster_identity_depends_on_order_and_boundaries) {
  BOOST_CHECK_EQUAL(cluster_identity({"a", "b"}), cluster_identity({"a", "b"}));
  BOOST_CHECK_NE(cluster_identity({"a", "b"}), cluster_identity({"b", "a"}));
  BOOST_CHECK_NE(cluster_identity({"ab", "c"}), cluster_identity({"a", "bc"}));
}

BOOST_AUTO_TEST_CASE(copy_decoding_rejects_bad_input) {
  const std::string good = encode_view_state_copy(state(3, 2), 7);
  auto d = decode_view_state_copy(good);
  BOOST_REQUIRE(d);
  BOOST_CHECK(d->first == state(3, 2));
  BOOST_CHECK_EQUAL(d->second, 7u);
  BOOST_CHECK(!decode_view_state_copy(good.substr(0, 100)));
  BOOST_CHECK(!decode_view_state_copy(std::string(view_state_copy_size, '\0')));
  std::string flipped = good;
  flipped[300] ^= 1; // even the zero padding is covered by the checksum
  BOOST_CHECK(!decode_view_state_copy(flipped));
}
