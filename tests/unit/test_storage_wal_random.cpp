#define BOOST_TEST_MODULE test_storage_wal_random
#include <boost/test/unit_test.hpp>

#include "storage/memory_disk.hpp"
#include "storage/wal.hpp"
#include "storage_test_util.hpp"

#include <algorithm>
#include <chrono>
#include <random>
#include <string>

using namespace vrdns::storage;
using namespace vrdns::storage::testing;

// Seeded, bounded random runs: appends, group syncs, truncations at both ends, ENOSPC spells,
// clean restarts, crashes between operations and power cuts inside sync()/truncate_after()
// (with the last write torn at a random length), with zero preallocation of a random chunk size
// (or none). A simple model keeps the logical log and the op durable up to; after every reopen
// the recovered log must
//   * report no corruption (none was injected),
//   * be a prefix of the logical log (entry for entry: no stale record of a replaced suffix),
//   * contain every op the log had reported durable.
namespace {

struct model {
  std::vector<wal_entry> log; // logical log, consecutive ops from first_op
  std::uint64_t first_op = 1;
  std::uint64_t durable = 0; // every op <= durable must survive any crash

  std::uint64_t last_op() const { return first_op + log.size() - 1; }
};

// How often the interesting paths were taken, over all seeds: the test insists each one was.
struct coverage {
  int torn_tails = 0;
  int enospc_failures = 0;
  int reopens = 0;
  int multi_segment_reopens = 0;
  int zero_tail_reopens = 0; // the last segment had preallocated zeros after its data
} seen;

// Every segment file stays within segment_size (no record here is larger than a segment, so
// neither data nor preallocation may pass it), and a reopen found the last segment's zero
// tail or not.
void check_files(memory_disk& disk, const wal_options& opts, std::uint64_t seed, int step) {
  BOOST_TEST_CONTEXT("seed " << seed << " step " << step) {
    auto names = disk.list();
    BOOST_REQUIRE(names.ok());
    std::string last;
    for (const std::string& name : names.value) {
      if (name.rfind("wal-", 0) != 0)
        continue;
      BOOST_REQUIRE_LE(disk.contents(name)->size(), opts.segment_size);
      last = std::max(last, name);
    }
    if (!last.empty()) {
      const std::string bytes = *disk.contents(last);
      seen.zero_tail_reopens += !bytes.empty() && bytes.back() == '\0' ? 1 : 0;
    }
  }
}

void check_recovered(const std::vector<wal_entry>& allowed, std::uint64_t first_op,
                     std::uint64_t must_have, const opened_wal& w, std::uint64_t seed, int step) {
  BOOST_TEST_CONTEXT("seed " << seed << " step " << step) {
    BOOST_REQUIRE_MESSAGE(!w.recovery.corruption, "unexpected corruption: "
                                                      << w.recovery.corruption->reason << " at op "
                                                      << w.recovery.corruption->op_number);
    const auto& got = w.recovery.entries;
    BOOST_REQUIRE_EQUAL(w.log->first_op(), first_op);
    BOOST_REQUIRE_LE(got.size(), allowed.size());
    for (std::size_t i = 0; i < got.size(); ++i)
      BOOST_REQUIRE_MESSAGE(got[i] == allowed[i], "recovered op " << got[i].op_number
                                                                  << " differs from the log");
    // The last recovered op (first_op + size - 1) is at least must_have.
    BOOST_REQUIRE_GE(first_op + got.size(), must_have + 1);
    ++seen.reopens;
    seen.torn_tails += w.recovery.torn_bytes > 0 ? 1 : 0;
    seen.multi_segment_reopens += w.log->segment_count() > 1 ? 1 : 0;
  }
}

void run_seed(std::uint64_t seed, int steps) {
  std::mt19937_64 rng(seed);
  const auto pick = [&rng](std::uint64_t lo, std::uint64_t hi) { // inclusive
    return std::uniform_int_distribution<std::uint64_t>(lo, hi)(rng);
  };
  memory_disk disk;
  power_cut_directory dir(disk);
  wal_options opts;
  opts.segment_size = std::vector<std::uint64_t>{700, 3000, 1u << 20}[pick(0, 2)];
  // Off, smaller than a record, a few records, the default: chunk boundaries are crossed by
  // single records, inside batches and at segment ends.
  opts.preallocate_chunk = std::vector<std::uint64_t>{0, 64, 500, 4096, 1u << 20}[pick(0, 4)];
  model m;
  std::uint64_t view = 1;
  std::uint64_t generation = 0;
  opened_wal w = open_wal(dir, opts);

  // Crash (torn or not) and reopen; the recovered log becomes the model's log.
  const auto crash_and_reopen = [&](const std::vector<wal_entry>& allowed, std::uint64_t must_have,
                                    bool tear, int step) {
    w.log.reset();
    if (!tear || !disk.tear_last_write(pick(0, 400)))
      disk.crash();
    dir.cut_after(-1);
    disk.fail_writes_with_enospc(false);
    w = open_wal(dir, opts);
    check_recovered(allowed, m.first_op, must_have, w, seed, step);
    check_files(disk, opts, seed, step);
    m.log = w.recovery.entries;
    m.durable = m.last_op();
  };

  for (int step = 0; step < steps; ++step) {
    const std::uint64_t action = pick(0, 99);
    if (action < 40) { // append a few
      for (std::uint64_t k = pick(1, 6); k > 0; --k) {
        wal_entry e{m.last_op() + 1, view, test_payload(m.last_op() + 1, ++generation)};
        w.log->append(e.op_number, e.view_number, e.payload);
        m.log.push_back(std::move(e));
      }
    } else if (action < 62) { // group commit
      auto r = w.log->sync();
      if (r.ok()) {
        BOOST_REQUIRE_EQUAL(r.value, m.last_op());
        m.durable = m.last_op();
      } else {
        BOOST_REQUIRE(r.error.no_space());
        ++seen.enospc_failures;
        BOOST_REQUIRE_EQUAL(w.log->durable_op(), m.durable); // nothing claimed that is not
      }
    } else if (action < 68) { // a view change replaces the uncommitted suffix
      const std::uint64_t op = pick(m.first_op - 1, m.last_op());
      auto e = w.log->truncate_after(op);
      if (!e.ok()) { // only ENOSPC spells fail, and truncation writes no data
        BOOST_FAIL("truncate_after failed: " << e.message);
      }
      m.log.resize(static_cast<std::size_t>(op + 1 - m.first_op));
      m.durable = std::min(m.durable, op);
      ++view;
    } else if (action < 71) { // checkpoint: drop old segments
      if (m.durable >= m.first_op) {
        const std::uint64_t op = pick(m.first_op, m.durable);
        BOOST_REQUIRE(w.log->truncate_before(op).ok());
        const std::uint64_t first = w.log->first_op();
        BOOST_REQUIRE_GE(first, m.first_op);
        BOOST_REQUIRE_LE(first, std::max(op, m.first_op));
        m.log.erase(m.log.begin(), m.log.begin() + static_cast<std::ptrdiff_t>(first - m.first_op));
        m.first_op = first;
      }
    } else if (action < 75) { // the disk fills up or gets space back
      disk.fail_writes_with_enospc(pick(0, 1) == 0, pick(0, 1) == 0 ? 0 : pick(1, 2000));
    } else if (action < 80) { // clean restart: the process stops, the machine does not
      w.log.reset();
      disk.fail_writes_with_enospc(false);
      w = open_wal(dir, opts);
      check_recovered(m.log, m.first_op, m.durable, w, seed, step);
      check_files(disk, opts, seed, step);
      m.log = w.recovery.entries;
      m.durable = m.last_op();
    } else if (action < 86) { // power loss between operations
      crash_and_reopen(m.log, m.durable, false, step);
    } else if (action < 95) { // power loss inside sync(), possibly tearing its write
      for (std::uint64_t k = pick(0, 4); k > 0; --k) {
        wal_entry e{m.last_op() + 1, view, test_payload(m.last_op() + 1, ++generation)};
        w.log->append(e.op_number, e.view_number, e.payload);
        m.log.push_back(std::move(e));
      }
      dir.cut_after(static_cast<long>(pick(0, 4)));
      auto r = w.log->sync();
      if (r.ok())
        m.durable = r.value;
      BOOST_REQUIRE_LE(w.log->durable_op(), m.last_op());
      crash_and_reopen(m.log, m.durable, true, step);
    } else { // power loss inside truncate_after
      const std::vector<wal_entry> before = m.log;
      const std::uint64_t op = pick(m.first_op - 1, m.last_op());
      dir.cut_after(static_cast<long>(pick(0, 3)));
      const bool ok = w.log->truncate_after(op).ok();
      std::uint64_t must_have = std::min(m.durable, op);
      if (ok) {
        m.log.resize(static_cast<std::size_t>(op + 1 - m.first_op));
        m.durable = must_have;
      }
      // Either the old log or its truncation may come back: both are prefixes of `before`.
      crash_and_reopen(ok ? m.log : before, must_have, true, step);
      ++view;
    }
  }
}

} // namespace

BOOST_AUTO_TEST_CASE(random_operations_against_a_model) {
  const auto start = std::chrono::steady_clock::now();
  int seeds_run = 0;
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    run_seed(seed, 1500);
    ++seeds_run;
    // Bounded in time as well as in count (slow Debug builds on a shared machine).
    if (std::chrono::steady_clock::now() - start > std::chrono::seconds(60))
      break;
  }
  BOOST_TEST_MESSAGE("seeds run: " << seeds_run);
  BOOST_TEST_MESSAGE("reopens " << seen.reopens << ", torn tails " << seen.torn_tails
                                 << ", ENOSPC " << seen.enospc_failures << ", multi-segment "
                                 << seen.multi_segment_reopens << ", zero tails "
                                 << seen.zero_tail_reopens);
  BOOST_CHECK_GE(seeds_run, 5);
  BOOST_CHECK_GT(seen.torn_tails, 0);
  BOOST_CHECK_GT(seen.enospc_failures, 0);
  BOOST_CHECK_GT(seen.multi_segment_reopens, 0);
  BOOST_CHECK_GT(seen.zero_tail_reopens, 0);
}
