#!/usr/bin/env bash
# Durability (issue #5), whole-cluster power cut: three real vrdns processes on 127.0.0.1 take
# a load of signed adds from four concurrent nsupdate clients (one add each at a time, every
# NOERROR recorded); in the middle of it all three are SIGKILLed at once and restarted from
# their data_dirs. Then every acknowledged add is served by every node, and the three serve the
# same SOA serial and the same answer for every name the load tried to add (acknowledged or
# not: an add without an answer may have committed, but then everywhere). The restarted cluster
# takes UPDATEs again.
# Usage: bash durability_crash_all.sh <build-dir> <source-dir>
set -u
BUILD=$(cd "${1:?build dir}" && pwd)
SRC=$(cd "${2:?source dir}" && pwd)
# shellcheck source=lib/cluster.sh
source "$SRC/tests/integration/lib/cluster.sh"
# shellcheck source=lib/durability.sh
source "$SRC/tests/integration/lib/durability.sh"
cluster_init
trap 'stop_load crash 2>/dev/null; cluster_cleanup' EXIT
trap 'exit 1' INT TERM
# A small interval: the power cut hits a cluster that has checkpointed and cut its logs too.
CHECKPOINT_INTERVAL=100
LOG_MARGIN=20
PER_CLIENT=120   # 4 clients: 480 adds at most
KILL_AFTER=150   # acknowledged adds before the power cut

start_cluster 2000
wait_connected 0 1 2 && pass "all nodes connected" || fail "nodes not connected"
wait_agree 50 0 1 2 && pass "cluster normal: $AGREED" || { fail "cluster not normal: $AGREED"; finish; }

serial_before=$(serial_of 0)
[ -n "$serial_before" ] || fail "node 0 serves no SOA before the load"

# --- load, then the power cut in the middle of it -------------------------------------------
start_load crash "$PER_CLIENT" 0 1 2 0
if wait_acked crash "$KILL_AFTER" 600; then
  pass "$(acked_count crash) adds acknowledged so far"
else
  fail "only $(acked_count crash) adds acknowledged within 60 s"
fi
kill_all_nodes
stop_load crash
sent=$(sent_count crash) acked=$(acked_count crash)
pass "all three SIGKILLed at once; load: $sent adds sent, $acked acknowledged"
# The cut must hit the load in flight, or this is just a restart test.
[ "$sent" -lt $((4 * PER_CLIENT)) ] && pass "the power cut came before the load ended" ||
  fail "the load had ended ($sent adds) before the power cut"
[ "$acked" -ge "$KILL_AFTER" ] || fail "too few acknowledged adds to check ($acked)"

# --- restart all three from their data_dirs ----------------------------------------------
for i in 0 1 2; do start_node "$i" || fail "node $i did not restart"; done
for i in 0 1 2; do
  new_log "$i" | grep -q "restarting from " &&
    pass "node $i resumes from its data_dir: $(new_log "$i" | grep -o 'restarting from .*' | head -1)" ||
    fail "node $i did not resume from its data_dir: $(new_log "$i" | head -5)"
done
wait_connected 0 1 2 || fail "restarted nodes not connected"
if wait_agree 300 0 1 2; then pass "restarted cluster agrees: $AGREED"
else fail "restarted cluster does not agree: $AGREED"; fi
for i in 0 1 2; do
  wait_soa "$i" 100 && pass "node $i serves the zone: serial $(serial_of "$i")" ||
    fail "node $i does not answer for the zone"
done
# Every add names a new record, so each one that committed raised the serial by one (one log
# entry may hold several: a node sends the UPDATEs that queued meanwhile as one op batch, so
# commit_number, which counts entries, may be lower).
serial_after=$(serial_of 0)
[ -n "$serial_after" ] && [ $((serial_after - serial_before)) -ge "$acked" ] &&
  pass "the serial rose by $((serial_after - serial_before)), at least the $acked acknowledged adds" ||
  fail "the serial rose from $serial_before to '$serial_after': fewer than $acked acknowledged adds"
check_identical crash

# --- and it takes UPDATEs again ------------------------------------------------------------------
update_ok 1 "after-crash.example.test. 300 A 192.0.2.77"
for i in 0 1 2; do wait_served "$i" after-crash.example.test A 192.0.2.77; done

for i in 0 1 2; do stop_node "$i"; done
finish
