#!/usr/bin/env bash
# Durability (issue #5), catching up from a checkpoint: with checkpoint_interval = 100 and
# log_margin = 20, three real vrdns processes on 127.0.0.1.
#  1. Node 2 is SIGKILLed; 300+ adds commit through nodes 0 and 1, which checkpoint
#     (checkpoint-<op>.meta and master files in their data_dirs) and cut their logs far past the
#     end of node 2's log. Node 2's data_dir is then wiped (rm -rf, no marker file) and the node
#     restarted: it must learn the state by state transfer from a checkpoint (it ends up normal
#     with the same op and commit as the others, holding a checkpoint itself) and serve the same
#     SOA serial and the same answer for every added name.
#  2. Node 1 is SIGKILLed, 250 adds commit through nodes 0 and 2 (2 being the node rebuilt in
#     1), and node 1 restarts on its intact data_dir, whose log now ends before the others'
#     logs begin: it catches up the same way and everything is identical again.
# Usage: bash durability_state_transfer.sh <build-dir> <source-dir>
set -u
BUILD=$(cd "${1:?build dir}" && pwd)
SRC=$(cd "${2:?source dir}" && pwd)
# shellcheck source=lib/cluster.sh
source "$SRC/tests/integration/lib/cluster.sh"
# shellcheck source=lib/durability.sh
source "$SRC/tests/integration/lib/durability.sh"
cluster_init
trap 'stop_load st 2>/dev/null; stop_load st2 2>/dev/null; cluster_cleanup' EXIT
trap 'exit 1' INT TERM
CHECKPOINT_INTERVAL=100
LOG_MARGIN=20

start_cluster 2000
wait_connected 0 1 2 && pass "all nodes connected" || fail "nodes not connected"
wait_agree 50 0 1 2 && pass "cluster normal: $AGREED" || { fail "cluster not normal: $AGREED"; finish; }

# Node 2 takes part in a few ops first, so it has a log (that the others then cut past).
start_load pre 3 0
finish_load pre 30 || fail "pre-load did not finish"
[ "$(acked_count pre)" -eq 3 ] && pass "3 adds with all nodes up" || fail "pre-load: $(cat "$TMP/load-pre")"
wait_agree 50 0 1 2 || fail "nodes disagree after the pre-load: $AGREED"
node2_op=$(field_of "$(status_of 2)" op)

# === 1. a wiped node catches up by state transfer ============================================
kill_node 2
start_load st 160 0 1
finish_load st 120 || fail "load through nodes 0 and 1 did not finish within 120 s"
acked=$(acked_count st)
[ "$acked" -ge 250 ] && pass "$acked of $(sent_count st) adds acknowledged with node 2 down" ||
  fail "only $acked of $(sent_count st) adds acknowledged with node 2 down"
wait_agree 50 0 1 || fail "nodes 0 and 1 disagree: $AGREED"
commit=$(field_of "$(status_of 0)" commit)

# Both live nodes checkpointed; their checkpoints (and so their cut logs) lie beyond the end of
# node 2's log plus the margin, so node 2 cannot catch up from a log.
for i in 0 1; do
  c=$(checkpoint_op "$TMP/data$i")
  if [ -n "$c" ] && [ "$c" -gt $((node2_op + LOG_MARGIN)) ] && [ "$c" -le "$commit" ]; then
    pass "node $i: checkpoint at op $c (commit $commit; node 2's log ends at op $node2_op)"
  else
    fail "node $i: checkpoint '$c' (commit $commit, node 2's log ends at op $node2_op): $(ls "$TMP/data$i")"
  fi
  part=$(find "$TMP/data$i" -maxdepth 1 -name "checkpoint-*-example.test.zone" | head -1)
  # The master file holds committed adds: the first add of a client was op ~4, far below.
  [ -n "$part" ] && grep -q "^st-c0-0\\.example\\.test\\.\\|^st-c0-0[[:space:]]" "$part" &&
    pass "node $i: $(basename "$part") holds st-c0-0" ||
    fail "node $i: no checkpoint master file holding st-c0-0 ('$part')"
  # WAL segments are 64 MiB, so a cut cannot remove one here: only report what is on disk.
  echo "  node $i data_dir: $(find "$TMP/data$i" -maxdepth 1 -name 'wal-*.log' | wc -l) WAL segment(s)," \
    "$(du -sk "$TMP/data$i" | cut -f1) KiB in all"
done

rm -rf "$TMP/data2"
pass "node 2's data_dir wiped"
start_node 2 || fail "node 2 did not start on an empty data_dir"
if wait_agree 300 0 1 2; then pass "wiped node 2 caught up: $AGREED"
else fail "wiped node 2 did not catch up: $AGREED"; fi
wait_soa 2 100 || fail "node 2 does not answer for the zone"
c=$(checkpoint_op "$TMP/data2")
[ -n "$c" ] && [ "$c" -gt $((node2_op + LOG_MARGIN)) ] &&
  pass "node 2 holds the transferred checkpoint at op $c" ||
  fail "node 2 has no checkpoint past op $((node2_op + LOG_MARGIN)) in its data_dir: '$c'"
echo "  node 2 log: $(new_log 2 | grep -i 'checkpoint\|recover\|state' | head -5 | tr '\n' '|')"
check_identical pre st

# === 2. a node with an intact but far-behind log catches up the same way ==================
kill_node 1
start_load st2 125 0 2
finish_load st2 120 || fail "load through nodes 0 and 2 did not finish within 120 s"
acked=$(acked_count st2)
[ "$acked" -ge 200 ] && pass "$acked of $(sent_count st2) adds acknowledged with node 1 down" ||
  fail "only $acked of $(sent_count st2) adds acknowledged with node 1 down"
start_node 1 || fail "node 1 did not restart"
new_log 1 | grep -q "restarting from " && pass "node 1 resumes from its data_dir" ||
  fail "node 1 did not resume from its data_dir: $(new_log 1 | head -5)"
if wait_agree 300 0 1 2; then pass "restarted node 1 caught up: $AGREED"
else fail "restarted node 1 did not catch up: $AGREED"; fi
wait_soa 1 100 || fail "node 1 does not answer for the zone"
check_identical pre st st2

for i in 0 1 2; do stop_node "$i"; done
finish
