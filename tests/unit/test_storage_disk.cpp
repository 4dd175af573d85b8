#define BOOST_TEST_MODULE test_storage_disk
#include <boost/test/unit_test.hpp>

#include "storage/memory_disk.hpp"
#include "storage/posix_file.hpp"
#include "storage_test_util.hpp"

#include <stdlib.h>

#include <algorithm>
#include <filesystem>

using namespace vrdns::storage;
using namespace vrdns::storage::testing;
namespace fs = std::filesystem;

namespace {

std::unique_ptr<file> must_open(directory& d, const std::string& name, bool create = true) {
  auto f = d.open(name, create);
  BOOST_REQUIRE_MESSAGE(f.ok(), f.error.message);
  return std::move(f.value);
}

} // namespace

BOOST_AUTO_TEST_CASE(memory_disk_crash_keeps_only_synced_data_and_entries) {
  memory_disk disk;
  auto a = must_open(disk, "a");
  BOOST_REQUIRE(a->write_at(0, "hello").ok());
  BOOST_REQUIRE(a->sync().ok());
  BOOST_REQUIRE(disk.sync().ok()); // the name "a" is durable now
  BOOST_REQUIRE(a->write_at(5, " world").ok());
  auto b = must_open(disk, "b"); // created, its name never synced
  BOOST_REQUIRE(b->write_at(0, "x").ok());
  BOOST_REQUIRE(b->sync().ok());
  BOOST_CHECK_EQUAL(*disk.contents("a"), "hello world");
  BOOST_CHECK_EQUAL(disk.file_syncs(), 2u);
  BOOST_CHECK_EQUAL(disk.directory_syncs(), 1u);

  disk.crash();
  BOOST_CHECK_EQUAL(*disk.contents("a"), "hello");
  BOOST_CHECK(!disk.contents("b")); // synced data, unsynced directory entry: gone
  // Handles of the dead process do not work any more.
  BOOST_CHECK_EQUAL(a->write_at(0, "z").code, EIO);
  BOOST_CHECK(disk.open("b", false).error.code == ENOENT);
}

// flush_all() is a hint: it makes nothing durable that file::sync() did not.
BOOST_AUTO_TEST_CASE(memory_disk_flush_all_guarantees_nothing) {
  memory_disk disk;
  auto a = must_open(disk, "a");
  BOOST_REQUIRE(disk.sync().ok());
  BOOST_REQUIRE(a->write_at(0, "alpha").ok());
  disk.flush_all();
  disk.crash();
  BOOST_CHECK_EQUAL(*disk.contents("a"), "");
}

BOOST_AUTO_TEST_CASE(memory_disk_rename_and_remove_need_a_directory_sync) {
  memory_disk disk;
  auto t = must_open(disk, "t");
  BOOST_REQUIRE(t->write_at(0, "v1").ok() && t->sync().ok() && disk.sync().ok());
  BOOST_REQUIRE(disk.rename("t", "u").ok());
  BOOST_REQUIRE(disk.remove("u").ok());
  BOOST_CHECK(!disk.contents("t") && !disk.contents("u"));
  disk.crash();
  BOOST_CHECK_EQUAL(*disk.contents("t"), "v1");
  BOOST_REQUIRE(disk.rename("t", "u").ok());
  BOOST_REQUIRE(disk.sync().ok());
  disk.crash();
  BOOST_CHECK(!disk.contents("t"));
  BOOST_CHECK_EQUAL(*disk.contents("u"), "v1");
}

BOOST_AUTO_TEST_CASE(memory_disk_torn_write_keeps_earlier_writes_and_a_prefix_of_the_last) {
  memory_disk disk;
  auto f = must_open(disk, "f");
  BOOST_REQUIRE(disk.sync().ok());
  BOOST_REQUIRE(f->write_at(0, "AAAA").ok());
  BOOST_REQUIRE(f->write_at(4, "BBBB").ok());
  BOOST_REQUIRE(disk.tear_last_write(2));
  BOOST_CHECK_EQUAL(*disk.contents("f"), "AAAABB");
  BOOST_CHECK(!disk.tear_last_write(1)); // nothing pending any more
}

BOOST_AUTO_TEST_CASE(memory_disk_faults_enospc_corrupt_and_failed_sync) {
  memory_disk disk;
  auto f = must_open(disk, "f");
  BOOST_REQUIRE(disk.sync().ok());
  disk.fail_writes_with_enospc(true);
  const io_error full = f->write_at(0, "data");
  BOOST_CHECK(full.no_space());
  BOOST_CHECK_EQUAL(*disk.contents("f"), "");
  disk.fail_writes_with_enospc(true, 2); // a short write, then the error
  BOOST_CHECK(f->write_at(0, "data").no_space());
  BOOST_CHECK_EQUAL(*disk.contents("f"), "da");
  disk.fail_writes_with_enospc(false);
  BOOST_REQUIRE(f->write_at(0, "data").ok());

  // A failed fsync forgets the pending data even though readers still see it (fsyncgate).
  disk.fail_syncs_with_eio(true);
  BOOST_CHECK_EQUAL(f->sync().code, EIO);
  disk.fail_syncs_with_eio(false);
  BOOST_REQUIRE(f->sync().ok());
  BOOST_CHECK_EQUAL(*disk.contents("f"), "data");
  BOOST_CHECK_EQUAL(*disk.durable_contents("f"), "");

  BOOST_REQUIRE(f->write_at(0, "data").ok() && f->sync().ok());
  BOOST_REQUIRE(disk.corrupt("f", 1, 0));
  BOOST_CHECK_EQUAL(*disk.contents("f"), "d`ta");
  BOOST_CHECK(!disk.corrupt("f", 4));
  BOOST_CHECK(!disk.corrupt("missing", 0));
}

BOOST_AUTO_TEST_CASE(posix_directory_round_trip) {
  temp_dir tmp{"vrdns-storage"};
  auto d = posix_directory::open_path((tmp.path / "data").string(), true);
  BOOST_REQUIRE_MESSAGE(d.ok(), d.error.message);
  directory& dir = *d.value;
  auto f = must_open(dir, "seg");
  BOOST_REQUIRE(f->write_at(0, "0123456789").ok());
  BOOST_REQUIRE(f->write_at(12, "xy").ok()); // a gap reads back as zeros
  BOOST_REQUIRE(f->sync().ok());
  BOOST_REQUIRE(dir.sync().ok());
  dir.flush_all();   // syncfs on the directory's filesystem: a hint, no result
  BOOST_CHECK_EQUAL(f->size().value, 14u);
  BOOST_CHECK_EQUAL(f->read_at(8, 100).value, std::string("89\0\0xy", 6));
  BOOST_REQUIRE(f->truncate(4).ok());
  BOOST_CHECK_EQUAL(f->read_at(0, 100).value, "0123");
  BOOST_REQUIRE(dir.rename("seg", "seg2").ok());
  auto names = dir.list();
  BOOST_REQUIRE(names.ok());
  BOOST_CHECK(names.value == std::vector<std::string>{"seg2"});
  BOOST_REQUIRE(dir.remove("seg2").ok());
  BOOST_CHECK(dir.list().value.empty());
  const io_error missing = dir.open("nope", false).error;
  BOOST_CHECK_EQUAL(missing.code, ENOENT);
  BOOST_CHECK(missing.message.find("nope") != std::string::npos);
  BOOST_CHECK(dir.remove("nope").code == ENOENT);
}

// /dev/full answers every write with ENOSPC: the real error path, without filling a disk.
BOOST_AUTO_TEST_CASE(posix_enospc_is_distinguishable) {
  auto d = posix_directory::open_path("/dev", false);
  BOOST_REQUIRE(d.ok());
  auto f = d.value->open("full", false);
  BOOST_REQUIRE_MESSAGE(f.ok(), f.error.message);
  const io_error e = f.value->write_at(0, "x");
  BOOST_CHECK(e.no_space());
  BOOST_CHECK_MESSAGE(e.message.find("No space left on device") != std::string::npos, e.message);
}
