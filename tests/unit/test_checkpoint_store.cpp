// storage::checkpoint_store: checkpoints on disk, round trip on both disks, a power cut at every
// step of a write, bit rot in a part or in the meta, leftovers, bounded counts in a corrupt meta,
// and a writer thread next to the WAL on one memory disk.
#define BOOST_TEST_MODULE test_checkpoint_store
#include <boost/test/unit_test.hpp>

#include "common/crc32c.hpp"
#include "storage/checkpoint_store.hpp"
#include "common/little_endian.hpp"
#include "storage/memory_disk.hpp"
#include "storage/posix_file.hpp"
#include "storage/wal.hpp"
#include "storage_test_util.hpp"

#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

using namespace vrdns;
using namespace vrdns::storage;
using namespace vrdns::storage::testing;
using protocol::checkpoint;
namespace fs = std::filesystem;

namespace {

// A checkpoint at `op` whose part contents depend on `op` (so two checkpoints never agree).
checkpoint make_checkpoint(std::uint64_t op, std::size_t zone_bytes = 3000) {
  checkpoint c;
  c.op_number = op;
  c.view_number = op / 10 + 1;
  std::string zone;
  for (std::size_t i = 0; zone.size() < zone_bytes; ++i)
    zone += "www" + std::to_string(i) + " 300 IN A 192.0.2." + std::to_string((i + op) % 250)
            + "\n";
  zone.resize(zone_bytes);
  c.parts.push_back({"example.com.zone", zone});
  c.parts.push_back({"example.org.zone", "; op " + std::to_string(op) + "\n"});
  c.parts.push_back({std::string(protocol::client_table_part), std::string(40, char(op))});
  c.parts.push_back({"empty.zone", ""});
  return c;
}

struct opened {
  std::unique_ptr<checkpoint_store> store;
  std::optional<checkpoint> latest;
  checkpoint_load_report report;
};

opened open_store(directory& dir, const checkpoint_options& o = {}) {
  opened s;
  auto r = checkpoint_store::open(dir, s.latest, s.report, o);
  BOOST_REQUIRE_MESSAGE(r.ok(), r.error.message);
  s.store = std::move(r.value);
  return s;
}

std::vector<std::string> checkpoint_files(directory& dir) {
  auto names = dir.list();
  BOOST_REQUIRE(names.ok());
  std::vector<std::string> out;
  for (auto& n : names.value)
    if (n.starts_with("checkpoint-"))
      out.push_back(n);
  std::sort(out.begin(), out.end());
  return out;
}

// The files a complete checkpoint consists of, sorted.
std::vector<std::string> files_of(const checkpoint& c) {
  std::vector<std::string> out{checkpoint_store::meta_name(c.op_number)};
  for (const auto& p : c.parts)
    out.push_back(checkpoint_store::part_file_name(c.op_number, p.name));
  std::sort(out.begin(), out.end());
  return out;
}

void must_write(checkpoint_store& s, const checkpoint& c) {
  io_error e = s.write(c);
  BOOST_REQUIRE_MESSAGE(e.ok(), e.message);
}

} // namespace

BOOST_AUTO_TEST_CASE(round_trip_on_memory_disk_and_older_files_go) {
  memory_disk disk;
  {
    auto s = open_store(disk);
    BOOST_CHECK(!s.latest);
    BOOST_CHECK(!s.store->latest_op());
    must_write(*s.store, make_checkpoint(10));
    must_write(*s.store, make_checkpoint(20));
    BOOST_CHECK_EQUAL(s.store->latest_op().value_or(0), 20u);
    BOOST_CHECK((checkpoint_files(disk) == files_of(make_checkpoint(20))));
  }
  disk.crash(); // everything was synced
  auto s = open_store(disk);
  BOOST_REQUIRE(s.latest);
  BOOST_CHECK((*s.latest == make_checkpoint(20)));
  BOOST_CHECK(s.report.corrupt.empty());
  BOOST_CHECK_EQUAL(s.report.leftovers_removed, 0u);
}

// Many parts (a node with many zones): every one is synced before the meta, and a crash right
// after the write keeps every part.
BOOST_AUTO_TEST_CASE(many_parts_are_each_synced_before_the_meta) {
  memory_disk disk;
  checkpoint c = make_checkpoint(30);
  for (int i = 0; i < 500; ++i) {
    std::string name = "zone";
    name += std::to_string(i);
    name += ".zone";
    c.parts.push_back({name, "; part " + std::to_string(i) + "\n"});
  }
  {
    auto s = open_store(disk);
    const auto files_before = disk.file_syncs();
    must_write(*s.store, c);
    BOOST_CHECK_EQUAL(disk.file_syncs() - files_before, c.parts.size() + 1);   // + the meta
  }
  disk.crash();
  auto s = open_store(disk);
  BOOST_REQUIRE(s.latest);
  BOOST_CHECK((*s.latest == c));
  BOOST_CHECK(s.report.corrupt.empty());
}

BOOST_AUTO_TEST_CASE(round_trip_on_posix_disk_with_operator_readable_parts) {
  temp_dir tmp{"vrdns-ckpt"};
  const checkpoint big = make_checkpoint(7, 300000); // several pieces of 64 KiB
  checkpoint_options o;
  o.piece_size = 64 << 10;
  {
    auto dir = posix_directory::open_path(tmp.path.string(), false);
    BOOST_REQUIRE(dir.ok());
    auto s = open_store(*dir.value, o);
    must_write(*s.store, make_checkpoint(3));
    must_write(*s.store, big);
  }
  // The zone is a plain file an operator can read.
  std::ifstream in(tmp.path / checkpoint_store::part_file_name(7, "example.com.zone"),
                   std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  BOOST_CHECK(content.str() == big.parts[0].bytes);
  BOOST_CHECK(!fs::exists(tmp.path / checkpoint_store::meta_name(3)));
  auto dir = posix_directory::open_path(tmp.path.string(), false);
  BOOST_REQUIRE(dir.ok());
  auto s = open_store(*dir.value, o);
  BOOST_REQUIRE(s.latest);
  BOOST_CHECK((*s.latest == big));
}

BOOST_AUTO_TEST_CASE(older_or_equal_op_is_a_successful_no_op) {
  memory_disk disk;
  auto s = open_store(disk);
  must_write(*s.store, make_checkpoint(20));
  const auto before = disk.file_syncs();
  BOOST_CHECK(s.store->write(make_checkpoint(20)).ok());
  BOOST_CHECK(s.store->write(make_checkpoint(15)).ok());
  BOOST_CHECK_EQUAL(disk.file_syncs(), before); // nothing written
  BOOST_CHECK_EQUAL(s.store->latest_op().value_or(0), 20u);
  disk.crash();
  auto back = open_store(disk);
  BOOST_REQUIRE(back.latest);
  BOOST_CHECK((*back.latest == make_checkpoint(20)));
}

BOOST_AUTO_TEST_CASE(invalid_part_names_are_a_caller_bug) {
  memory_disk disk;
  auto s = open_store(disk);
  checkpoint c = make_checkpoint(5);
  c.parts.push_back({"../escape", "x"});
  BOOST_CHECK_THROW(s.store->write(c), std::logic_error);
  c = make_checkpoint(5);
  c.parts.push_back(c.parts.front());
  BOOST_CHECK_THROW(s.store->write(c), std::logic_error);
  BOOST_CHECK(checkpoint_files(disk).empty());
}

// A power cut after every number of disk operations of a write (and a torn last write): the
// reopened store has the old checkpoint or the new one, exactly, and the new one whenever
// write() returned success; nothing of the other is left behind.
BOOST_AUTO_TEST_CASE(power_cut_at_every_step_of_a_write_keeps_old_or_new) {
  for (bool with_old : {true, false}) {
    bool finished = false;
    int old_seen = 0, new_seen = 0;
    for (long budget = 0; budget < 200 && !finished; ++budget) {
      for (bool tear : {false, true}) {
        BOOST_TEST_CONTEXT("old " << with_old << " budget " << budget << " tear " << tear) {
          memory_disk disk;
          const checkpoint old_c = make_checkpoint(10), new_c = make_checkpoint(20);
          if (with_old) {
            auto s = open_store(disk);
            must_write(*s.store, old_c);
          }
          power_cut_directory cut(disk);
          bool ok = false;
          {
            auto s = open_store(cut);
            cut.cut_after(budget);
            ok = s.store->write(new_c).ok();
          }
          finished = ok;
          if (!tear || !disk.tear_last_write(100))
            disk.crash();
          auto s = open_store(disk);
          BOOST_CHECK(s.report.corrupt.empty()); // a crash is not corruption
          if (ok || !with_old) {
            if (ok)
              BOOST_REQUIRE(s.latest);
            if (s.latest)
              BOOST_CHECK((*s.latest == new_c));
          } else {
            BOOST_REQUIRE(s.latest); // an old checkpoint never vanishes
            BOOST_CHECK((*s.latest == old_c || *s.latest == new_c));
          }
          if (s.latest) {
            old_seen += *s.latest == old_c;
            new_seen += *s.latest == new_c;
            BOOST_CHECK((checkpoint_files(disk) == files_of(*s.latest)));
          } else {
            BOOST_CHECK(checkpoint_files(disk).empty());
          }
        }
      }
    }
    BOOST_CHECK(finished);
    BOOST_CHECK_GT(new_seen, 0);
    if (with_old)
      BOOST_CHECK_GT(old_seen, 0);
  }
}

// Two complete checkpoints on disk: what a power cut between the commit of the newer one and
// the removal of the older leaves. Built by stopping the write just after its commit point.
void leave_two_checkpoints(memory_disk& disk) {
  {
    auto s = open_store(disk);
    must_write(*s.store, make_checkpoint(10));
  }
  for (long budget = 0; budget < 200; ++budget) {
    memory_disk trial;
    {
      auto s = open_store(trial);
      must_write(*s.store, make_checkpoint(10));
    }
    power_cut_directory cut(trial);
    {
      auto s = open_store(cut);
      cut.cut_after(budget);
      (void)s.store->write(make_checkpoint(20));
    }
    trial.crash();
    const auto names = checkpoint_files(trial);
    if (std::count_if(names.begin(), names.end(), [](const std::string& n) {
          return n.ends_with(".meta");
        }) == 2) {
      // Replay the same on `disk`.
      power_cut_directory c2(disk);
      auto s = open_store(c2);
      c2.cut_after(budget);
      (void)s.store->write(make_checkpoint(20));
      disk.crash();
      return;
    }
  }
  BOOST_FAIL("no power cut left two checkpoints");
}

BOOST_AUTO_TEST_CASE(flipped_bit_in_a_part_falls_back_to_the_older_checkpoint) {
  memory_disk disk;
  leave_two_checkpoints(disk);
  BOOST_REQUIRE(disk.corrupt(checkpoint_store::part_file_name(20, "example.com.zone"), 1234, 3));
  auto s = open_store(disk);
  BOOST_REQUIRE(s.latest);
  BOOST_CHECK((*s.latest == make_checkpoint(10)));
  BOOST_REQUIRE_EQUAL(s.report.corrupt.size(), 1u);
  BOOST_CHECK_EQUAL(s.report.corrupt[0].op_number, 20u);
  BOOST_CHECK_EQUAL(s.report.corrupt[0].file,
                    checkpoint_store::part_file_name(20, "example.com.zone"));
  // The corrupt one is gone; the next write goes on from the older.
  BOOST_CHECK((checkpoint_files(disk) == files_of(make_checkpoint(10))));
  must_write(*s.store, make_checkpoint(30));
  disk.crash();
  auto back = open_store(disk);
  BOOST_CHECK((back.latest && *back.latest == make_checkpoint(30)));
}

BOOST_AUTO_TEST_CASE(flipped_bit_in_the_meta_falls_back_and_is_reported) {
  memory_disk disk;
  leave_two_checkpoints(disk);
  BOOST_REQUIRE(disk.corrupt(checkpoint_store::meta_name(20), 30, 0));
  auto s = open_store(disk);
  BOOST_REQUIRE(s.latest);
  BOOST_CHECK((*s.latest == make_checkpoint(10)));
  BOOST_REQUIRE_EQUAL(s.report.corrupt.size(), 1u);
  BOOST_CHECK_EQUAL(s.report.corrupt[0].reason, "meta CRC32C mismatch");
}

BOOST_AUTO_TEST_CASE(the_only_checkpoint_corrupt_or_short_means_none) {
  for (int how = 0; how < 3; ++how) {
    BOOST_TEST_CONTEXT("damage " << how) {
      memory_disk disk;
      {
        auto s = open_store(disk);
        must_write(*s.store, make_checkpoint(10));
      }
      const std::string zone = checkpoint_store::part_file_name(10, "example.org.zone");
      if (how == 0)
        BOOST_REQUIRE(disk.corrupt(zone, 2, 5));
      if (how == 1) { // a part cut short
        auto f = disk.open(zone, false);
        BOOST_REQUIRE(f.ok());
        BOOST_REQUIRE(f.value->truncate(3).ok());
      }
      if (how == 2)
        BOOST_REQUIRE(disk.remove(zone).ok());
      auto s = open_store(disk);
      BOOST_CHECK(!s.latest);
      BOOST_CHECK_EQUAL(s.report.corrupt.size(), 1u);
      BOOST_CHECK(checkpoint_files(disk).empty());
    }
  }
}

BOOST_AUTO_TEST_CASE(leftovers_are_removed_at_open_and_others_files_are_kept) {
  memory_disk disk;
  {
    auto s = open_store(disk);
    must_write(*s.store, make_checkpoint(10));
  }
  for (const std::string& name :
       {checkpoint_store::part_file_name(30, "example.com.zone"),     // parts without a meta
        checkpoint_store::meta_name(30) + ".tmp",                      // an unfinished meta
        checkpoint_store::part_file_name(10, "not-in-the-meta.zone"),  // not listed
        std::string("view_state"), wal::segment_name(1), std::string("checkpoint-notes.txt")}) {
    auto f = disk.open(name, true);
    BOOST_REQUIRE(f.ok());
    BOOST_REQUIRE(f.value->write_at(0, "junk").ok());
  }
  auto s = open_store(disk);
  BOOST_REQUIRE(s.latest);
  BOOST_CHECK_EQUAL(s.report.leftovers_removed, 3u);
  auto expect = files_of(make_checkpoint(10));
  expect.push_back("checkpoint-notes.txt"); // not one of ours: the name has no op
  std::sort(expect.begin(), expect.end());
  BOOST_CHECK((checkpoint_files(disk) == expect));
  BOOST_CHECK(disk.contents("view_state").has_value());
  BOOST_CHECK(disk.contents(wal::segment_name(1)).has_value());
}

BOOST_AUTO_TEST_CASE(meta_round_trips_and_bounds_untrusted_counts) {
  checkpoint_meta m{42, 3, {{"a.zone", 10, 0x1234}, {"vr-client-table", 0, 0}}};
  const std::string bytes = encode_checkpoint_meta(m);
  std::string reason;
  auto back = decode_checkpoint_meta(bytes, 100, reason);
  BOOST_REQUIRE(back);
  BOOST_CHECK((*back == m));
  BOOST_CHECK(!decode_checkpoint_meta(bytes, 1, reason)); // above max_parts
  for (std::size_t cut = 0; cut < bytes.size(); ++cut)
    BOOST_CHECK(!decode_checkpoint_meta(bytes.substr(0, cut), 100, reason));

  // A meta with a valid checksum that claims 4 billion parts, or a name longer than the
  // bytes: rejected before anything is allocated from the count.
  const auto reseal = [](std::string b) {
    b.resize(b.size() - 4);
    const std::uint32_t crc = crc32c(b);
    b.resize(b.size() + 4);
    put_le(b, b.size() - 4, crc, 4);
    return b;
  };
  std::string huge = bytes;
  put_le(huge, 24, 0xFFFFFFFFu, 4);
  huge = reseal(huge);
  BOOST_CHECK(!decode_checkpoint_meta(huge, 0xFFFFFFFFu, reason));
  BOOST_CHECK(reason.find("out of bounds") != std::string::npos);
  std::string long_name = bytes;
  put_le(long_name, 28, 0xFFFF, 2);
  long_name = reseal(long_name);
  BOOST_CHECK(!decode_checkpoint_meta(long_name, 100, reason));

  // On disk, a meta larger than max_meta_size is not even read.
  memory_disk disk;
  {
    auto s = open_store(disk);
    must_write(*s.store, make_checkpoint(10));
  }
  checkpoint_options small;
  small.max_meta_size = 16;
  std::vector<checkpoint_problem> problems;
  auto r = checkpoint_store::load_latest(disk, small, problems);
  BOOST_REQUIRE(r.ok());
  BOOST_CHECK(!r.value);
  BOOST_REQUIRE_EQUAL(problems.size(), 1u);
  BOOST_CHECK(checkpoint_files(disk) == files_of(make_checkpoint(10))); // load_latest is read-only
}

BOOST_AUTO_TEST_CASE(full_disk_fails_the_write_and_keeps_the_previous) {
  memory_disk disk;
  auto s = open_store(disk);
  must_write(*s.store, make_checkpoint(10));
  disk.fail_writes_with_enospc(true, 100);
  BOOST_CHECK(s.store->write(make_checkpoint(20)).no_space());
  BOOST_CHECK_EQUAL(s.store->latest_op().value_or(0), 10u);
  BOOST_CHECK((checkpoint_files(disk) == files_of(make_checkpoint(10)))); // attempt removed
  disk.fail_writes_with_enospc(false);
  must_write(*s.store, make_checkpoint(20));
  disk.crash();
  auto back = open_store(disk);
  BOOST_CHECK((back.latest && *back.latest == make_checkpoint(20)));
}

// The checkpoint writer thread and the replica's WAL on one disk at the same time (run it
// under -fsanitize=thread to see races; without the memory_disk mutex it also corrupts maps).
BOOST_AUTO_TEST_CASE(writer_thread_and_wal_share_one_disk) {
  memory_disk disk;
  auto s = open_store(disk);
  auto w = open_wal(disk);
  // Boost.Test's assertions are not thread-safe: the writer only counts its failures.
  std::atomic<int> writer_failures{0};
  std::thread writer([&] {
    for (std::uint64_t op = 1; op <= 40; ++op)
      if (!s.store->write(make_checkpoint(op * 10, 2000)).ok())
        ++writer_failures;
  });
  for (std::uint64_t op = 1; op <= 400; ++op) {
    w.log->append(op, 1, test_payload(op));
    if (op % 4 == 0)
      BOOST_REQUIRE(w.log->sync().ok());
  }
  writer.join();
  BOOST_CHECK_EQUAL(writer_failures.load(), 0);
  disk.crash();
  auto back = open_store(disk);
  BOOST_CHECK((back.latest && *back.latest == make_checkpoint(400, 2000)));
  auto wb = open_wal(disk);
  BOOST_REQUIRE_EQUAL(wb.recovery.entries.size(), 400u);
  BOOST_CHECK(wb.recovery.entries.back().payload == test_payload(400));
}
