#!/usr/bin/env bash
# Durability (issue #5), bit rot on a stopped node's disk: three real vrdns processes on
# 127.0.0.1 with checkpoint_interval = 100 commit 160+ adds, so each data_dir holds a
# checkpoint and log records after it.
#  1. Node 2 is stopped, one byte in the payload of a WAL record in the middle of those after
#     the checkpoint is inverted (format: docs/storage.md), a few more adds commit, node 2
#     restarts: it must log the corruption, never answer for the zone with data that differs
#     from the others' (while it repairs, SERVFAIL is fine), and end with the same serial and
#     answers as the others.
#  2. The same for node 1 with one byte inverted in the middle of its checkpoint's master file
#     (checkpoint-*-example.test.zone): the checksum in the meta catches it at start.
# Usage: bash durability_corruption.sh <build-dir> <source-dir>
set -u
BUILD=$(cd "${1:?build dir}" && pwd)
SRC=$(cd "${2:?source dir}" && pwd)
# shellcheck source=lib/cluster.sh
source "$SRC/tests/integration/lib/cluster.sh"
# shellcheck source=lib/durability.sh
source "$SRC/tests/integration/lib/durability.sh"
cluster_init
trap 'stop_load base 2>/dev/null; cluster_cleanup' EXIT
trap 'exit 1' INT TERM
CHECKPOINT_INTERVAL=100
LOG_MARGIN=20

start_cluster 2000
wait_connected 0 1 2 && pass "all nodes connected" || fail "nodes not connected"
wait_agree 50 0 1 2 && pass "cluster normal: $AGREED" || { fail "cluster not normal: $AGREED"; finish; }

start_load base 80 0 1
finish_load base 90 || fail "load did not finish within 90 s"
[ "$(acked_count base)" -ge 150 ] && pass "$(acked_count base) adds acknowledged" ||
  fail "only $(acked_count base) of $(sent_count base) adds acknowledged"
wait_agree 100 0 1 2 && pass "all agree: $AGREED" || fail "nodes disagree: $AGREED"

# watch_repair <i> <tag...>: until node i reports normal with the others' op and commit, every
# answer it gives for the SOA and for the last acknowledged add must equal the others'
# (SERVFAIL, an empty answer, is allowed while it repairs); then the zones must be identical.
watch_repair() {
  local i=$1 ref_soa ref_name ref_ans soa ans wrong=0 deadline j
  shift
  j=$(((i + 1) % 3))
  ref_soa=$(soa_of "$j")
  ref_name=$(awk '$2 == 0 {n = $1} END {print n}' "$TMP/load-$1")
  ref_ans=$(dq "$j" +short "$ref_name" A)
  deadline=$(poll_deadline 300)
  for _ in $(seq 300); do
    [ "$SECONDS" -le "$deadline" ] || break
    soa=$(soa_of "$i") ans=$(dq "$i" +short "$ref_name" A | grep -v '^;')
    if [ -n "$soa" ] && [ "$soa" != "$ref_soa" ]; then wrong=$((wrong + 1)); echo "  node $i served SOA '$soa', the others '$ref_soa'"; fi
    if [ -n "$soa" ] && [ "$ans" != "$ref_ans" ]; then wrong=$((wrong + 1)); echo "  node $i served $ref_name '$ans', the others '$ref_ans'"; fi
    if [ "$soa" = "$ref_soa" ] && wait_agree 1 0 1 2; then break; fi
    sleep 0.1
  done
  [ "$wrong" -eq 0 ] && pass "node $i never served data that differs from the others while it repaired" ||
    fail "node $i served $wrong differing answer(s) while it repaired"
  if wait_agree 100 0 1 2; then pass "node $i repaired: $AGREED"
  else fail "node $i not repaired: $AGREED"; fi
  wait_soa "$i" 50 || fail "node $i does not answer for the zone"
  check_identical "$@"
}

# === 1. a corrupt WAL record =================================================================
stop_node 2
seg=$(find "$TMP/data2" -maxdepth 1 -name 'wal-*.log' | sort | tail -1)
ckpt=$(checkpoint_op "$TMP/data2")
[ -n "$seg" ] || { fail "node 2 has no WAL segment: $(ls "$TMP/data2")"; finish; }
[ -n "$ckpt" ] && pass "node 2 has a checkpoint at op $ckpt" || { fail "node 2 has no checkpoint"; ckpt=0; }
# The records after the checkpoint, not the last one (a damaged last record is
# indistinguishable from a write torn by a crash, and is cut: docs/storage.md).
wal_records "$seg" | awk -v c="$ckpt" '$2 > c' > "$TMP/records"
n=$(wc -l < "$TMP/records")
if [ "$n" -ge 3 ]; then
  read -r off op len < <(sed -n "$(((n + 1) / 2))p" "$TMP/records")
  flip_byte "$seg" $((off + 40 + len / 2))
  pass "inverted byte $((40 + len / 2)) of the record of op $op ($n records after the checkpoint in $(basename "$seg"))"
else
  fail "node 2's WAL has only $n records after the checkpoint at op $ckpt"
fi
update_ok 0 "wal-gap.example.test. 300 A 192.0.2.81"
start_node 2 || fail "node 2 did not restart"
new_log 2 | grep -q "corrupt" && pass "node 2 detected it: $(new_log 2 | grep -m1 corrupt)" ||
  fail "node 2 did not log the corruption: $(new_log 2 | head -5)"
watch_repair 2 base
served 2 wal-gap.example.test A 192.0.2.81 && pass "node 2 serves the add it missed" ||
  fail "node 2: wal-gap '$(dq 2 +short wal-gap.example.test A)'"

# === 2. a corrupt checkpoint master file ===================================================
stop_node 1
part=$(find "$TMP/data1" -maxdepth 1 -name 'checkpoint-*-example.test.zone' | sort | tail -1)
if [ -n "$part" ]; then
  size=$(stat -c %s "$part")
  flip_byte "$part" $((size / 2))
  pass "inverted byte $((size / 2)) of $size in $(basename "$part")"
else
  fail "node 1 has no checkpoint master file: $(ls "$TMP/data1")"
fi
update_ok 0 "ckpt-gap.example.test. 300 A 192.0.2.82"
start_node 1 || fail "node 1 did not restart"
new_log 1 | grep -i "checkpoint" | grep -qi "corrupt\|checksum\|crc" &&
  pass "node 1 detected it: $(new_log 1 | grep -i checkpoint | grep -i -m1 'corrupt\|checksum\|crc')" ||
  fail "node 1 did not log the corrupt checkpoint: $(new_log 1 | head -5)"
watch_repair 1 base
served 1 ckpt-gap.example.test A 192.0.2.82 && pass "node 1 serves the add it missed" ||
  fail "node 1: ckpt-gap '$(dq 1 +short ckpt-gap.example.test A)'"

for i in 0 1 2; do stop_node "$i"; done
finish
