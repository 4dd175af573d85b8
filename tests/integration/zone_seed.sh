#!/usr/bin/env bash
# The zone files seed a new cluster once; afterwards the replicated state is the truth, on
# every node, whatever happens to the files. Three real vrdns processes on 127.0.0.1:
#  1. a new cluster whose node 2 has a different zone file does not start (each node logs
#     which replicas differ); once node 2 restarts with the same file, it starts in view 0;
#  2. node 2 restarted after its zone file was edited serves the cluster's zone, not the file;
#  3. node 1 replaced (empty data_dir) with a different zone file fetches the cluster's zone;
#  4. a [[zone]] added to one node's config after the cluster started is added to the cluster:
#     every node serves it and takes UPDATEs for it, whatever its own config says;
#  5. a data_dir holding a log but no checkpoint (an older vrdns's) recovers from the others.
# Zones are compared by AXFR (every record) and SOA serial.
# Usage: bash zone_seed.sh <build-dir> <source-dir>
set -u
BUILD=$(cd "${1:?build dir}" && pwd)
SRC=$(cd "${2:?source dir}" && pwd)
# shellcheck source=lib/cluster.sh
source "$SRC/tests/integration/lib/cluster.sh"
cluster_init
trap cluster_cleanup EXIT
trap 'exit 1' INT TERM
EXTRA_CONFIG='[transfer]
allow_addresses = ["127.0.0.1"]'

# The example zone with one record more: what an operator's edited or stale copy looks like.
OTHER="$TMP/other.zone"
cp "$ZONE" "$OTHER"
echo "extra 300 IN A 192.0.2.77" >> "$OTHER"

# axfr_of <i>: node i's whole zone, one record a line, sorted (the SOA appears twice).
axfr_of() {
  dig @"${DNS_ADDR[$1]}" -p "${DNS_PORT[$1]}" +time=2 +tries=1 +noall +answer example.test AXFR |
    sort
}

# same_zone <i> <j> <what>: nodes i and j transfer the same records, which include the SOA.
same_zone() {
  axfr_of "$1" > "$TMP/axfr$1"
  axfr_of "$2" > "$TMP/axfr$2"
  if ! grep -q "SOA" "$TMP/axfr$1"; then
    fail "$3: node $1 gives no zone by AXFR: $(head -3 "$TMP/axfr$1")"
  elif cmp -s "$TMP/axfr$1" "$TMP/axfr$2"; then
    pass "$3: nodes $1 and $2 hold the same $(wc -l < "$TMP/axfr$1") records"
  else
    fail "$3: nodes $1 and $2 differ: $(diff "$TMP/axfr$1" "$TMP/axfr$2" | head -6 | tr '\n' ' ')"
  fi
}

no_extra() {
  local got
  got=$(dq "$1" +short extra.example.test A)
  [ -z "$got" ] && pass "$2: node $1 does not serve extra.example.test" ||
    fail "$2: node $1 serves extra.example.test from its zone file: $got"
}

# --- 1. a new cluster with differing zone files -------------------------------------------
NODE_ZONE[2]=$OTHER
start_cluster 2000
for i in 0 1 2; do
  if wait_log "$i" "would start from other data" 100; then
    pass "node $i: $(tail -c +$((ERR_START[i] + 1)) "$TMP/err$i" | grep -o 'replica [0-9] would start from other data' | sort -u | tr '\n' ' ')"
  else
    fail "node $i did not report the differing zone files: $(tail -3 "$TMP/err$i")"
  fi
done
for i in 0 1 2; do
  s=$(status_of "$i")
  [ "$(field_of "$s" status)" = recovering ] && pass "node $i has not started: $s" ||
    fail "node $i started from differing zone files: $s"
done
rc=$(dq 0 example.test SOA | grep -o 'status: [A-Z]*')
[ "$rc" = "status: SERVFAIL" ] && pass "node 0 answers SERVFAIL until the cluster starts" ||
  fail "node 0 answered '$rc' before the cluster started"

# The operator fixes node 2's file and restarts it: still blank, so the cluster can start.
stop_node 2
NODE_ZONE[2]=""
rewrite_config 2
start_node 2 || fail "node 2 did not restart"
if wait_agree 100 0 1 2 && [ "$AGREE_VIEW" = 0 ]; then
  pass "the cluster started once the zone files agreed: $AGREED"
else
  fail "the cluster did not start in view 0 after node 2's file was fixed: $AGREED"
  tail -5 "$TMP"/err*
  finish
fi
wait_log 2 "starting a new cluster" 100 && pass "node 2 took part in starting the cluster" ||
  fail "node 2 did not start the new cluster: $(tail -3 "$TMP/err2")"
same_zone 0 2 "new cluster"

# --- 2. a zone file edited after the cluster started --------------------------------------
update_ok 0 "a1.example.test. 300 A 192.0.2.1"
wait_served 2 a1.example.test A 192.0.2.1
stop_node 2
NODE_ZONE[2]=$OTHER
rewrite_config 2
start_node 2 || fail "node 2 did not restart"
wait_log 2 "checkpoint at op 0" 100 && pass "node 2 restarts from the saved birth state" ||
  fail "node 2 did not restart from its birth checkpoint: $(grep 'restarting from' "$TMP/err2" | tail -1)"
update_ok 1 "a2.example.test. 300 A 192.0.2.2"
wait_served 2 a2.example.test A 192.0.2.2
wait_agree 50 0 1 2 || fail "no agreement after node 2's restart: $AGREED"
no_extra 2 "edited zone file"
same_zone 0 2 "edited zone file"

# --- 3. a replaced host with a different zone file ----------------------------------------
kill_node 1
rm -rf "$TMP/data1"
NODE_ZONE[1]=$OTHER
rewrite_config 1
start_node 1 || fail "node 1 did not restart"
wait_agree 100 0 1 2 && pass "the replaced node recovered: $AGREED" ||
  fail "the replaced node did not recover: $AGREED"
wait_served 1 a2.example.test A 192.0.2.2
no_extra 1 "replaced host"
same_zone 0 1 "replaced host"
update_ok 1 "a3.example.test. 300 A 192.0.2.3"
for i in 0 1 2; do wait_served "$i" a3.example.test A 192.0.2.3; done
same_zone 0 1 "after an update"
same_zone 0 2 "after an update"

# --- 4. a zone added to one node's config after the cluster started -----------------------
printf '$ORIGIN second.test.\n@ 300 IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ 300 IN NS ns1\nns1 300 IN A 192.0.2.53\n' > "$TMP/second.zone"
stop_node 0
printf '[[zone]]\nname = "second.test."\nfile = "%s"\n' "$TMP/second.zone" >> "$TMP/node0.toml"
start_node 0 || fail "node 0 did not restart"
wait_log 0 "zone second.test. added to the cluster" 100 &&
  pass "node 0 added the zone of its config to the cluster" ||
  fail "node 0 did not add second.test.: $(grep -i 'second.test' "$TMP/err0" | tail -3)"
for i in 0 1 2; do
  wait_served "$i" ns1.second.test A 192.0.2.53
done
# Node 1's config does not list the zone, yet its UPDATE path takes it: it is the cluster's.
printf 'server %s %s\nzone second.test.\nupdate add w.second.test. 300 A 192.0.2.8\nsend\n' \
  "${DNS_ADDR[1]}" "${DNS_PORT[1]}" | nsupdate "${KEY_OPT[@]}" -t 9 &&
  pass "update of the added zone via node 1: NOERROR" || fail "update of the added zone via node 1 failed"
for i in 0 1 2; do wait_served "$i" w.second.test A 192.0.2.8; done
# Node 2 restarted with the zone in its config but another file: the cluster's zone stays.
printf '$ORIGIN second.test.\n@ 300 IN SOA ns1 hostmaster 9 7200 3600 1209600 300\n@ 300 IN NS ns1\nns1 300 IN A 192.0.2.99\n' > "$TMP/second-other.zone"
stop_node 2
printf '[[zone]]\nname = "second.test."\nfile = "%s"\n' "$TMP/second-other.zone" >> "$TMP/node2.toml"
start_node 2 || fail "node 2 did not restart"
wait_agree 100 0 1 2 || fail "no agreement after node 2's restart: $AGREED"
wait_served 2 w.second.test A 192.0.2.8
wait_served 2 ns1.second.test A 192.0.2.53
# Node 1 restarted without the zone in its config still serves it, and says so.
stop_node 1
start_node 1 || fail "node 1 did not restart"
wait_log 1 "zone second.test. is not in this node's config but in the cluster's state: still served" 100 &&
  pass "node 1 says it serves a zone its config does not list" ||
  fail "node 1 did not log the zone missing from its config: $(tail -3 "$TMP/err1")"
wait_served 1 w.second.test A 192.0.2.8

# --- 5. a log without any checkpoint (a data_dir of an older vrdns) -----------------------
# Replaying it onto today's files could serve another zone: the node recovers from the others
# instead (it fetches a checkpoint first).
stop_node 2
rm -f "$TMP"/data2/checkpoint-*
start_node 2 || fail "node 2 did not restart"
# Its service was seeded with its own file (the one with the extra record) until it recovers:
# that must never be served.
seen_extra=""
for _ in $(seq 50); do
  got=$(dq 2 +short extra.example.test A)
  [ -n "$got" ] && seen_extra=$got
  [ "$(field_of "$(status_of 2)" status)" = normal ] && break
done
[ -z "$seen_extra" ] && pass "node 2 served nothing of its own file while it recovered" ||
  fail "node 2 served its own file's extra record while it recovered: $seen_extra"
wait_log 2 "log without a checkpoint to replay it onto: recovering" 100 &&
  pass "node 2 recovers a log that has no checkpoint" ||
  fail "node 2 did not say it recovers: $(tail -3 "$TMP/err2")"
wait_agree 100 0 1 2 && pass "node 2 recovered: $AGREED" || fail "node 2 did not recover: $AGREED"
wait_served 2 w.second.test A 192.0.2.8
same_zone 0 2 "recovered node"

for i in 0 1 2; do stop_node "$i"; done
finish
