#!/usr/bin/env bash
# Removing a zone from a running cluster and letting it back in (dns/zone_control.hpp), with
# three real vrdns processes on 127.0.0.1, the real `vrdns zone` command, dig and nsupdate
# (and, first, a zone with keys of its own: [[zone]] update_allow):
#  0. second.test. may be updated only with its own key, example.test. not with that key;
#  1. a key outside [control] allow is refused, and nothing changes;
#  2. `vrdns zone remove` through a backup: every node stops serving the zone (REFUSED, and
#     UPDATEs for it NOTAUTH), logs the removal, and the other zone is untouched; a second
#     remove is idempotent; an unknown zone is named as such;
#  3. a node restarted with the zone still in its config does not add it again (the tombstone
#     is in the replicated state; its log says what to do);
#  4. `vrdns zone readmit`: the nodes whose config lists it propose it again, and every node
#     serves it from the zone file, with a serial above the one it had when removed.
# Usage: bash zone_remove.sh <build-dir> <source-dir>
set -u
BUILD=$(cd "${1:?build dir}" && pwd)
SRC=$(cd "${2:?source dir}" && pwd)
# shellcheck source=lib/cluster.sh
source "$SRC/tests/integration/lib/cluster.sh"
cluster_init
trap 'cluster_cleanup' EXIT
trap 'exit 1' INT TERM

ADMIN_SECRET="AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="
cat > "$TMP/second.test.zone" <<'ZONE'
$ORIGIN second.test.
@    300 IN SOA ns1 hostmaster 7 7200 3600 1209600 300
@    300 IN NS  ns1
ns1  300 IN A   192.0.2.53
www  300 IN A   192.0.2.70
ZONE
AUTH_CONFIG='[[key]]
name = "update-key."
algorithm = "hmac-sha256"
secret = "'"$SECRET"'"
[[key]]
name = "admin-key."
algorithm = "hmac-sha256"
secret = "'"$ADMIN_SECRET"'"
[[key]]
name = "second-key."
algorithm = "hmac-sha256"
secret = "'"$ADMIN_SECRET"'"
[update]
allow = ["update-key."]
[control]
allow = ["admin-key."]'
EXTRA_CONFIG='[[zone]]
name = "second.test."
file = "'"$TMP/second.test.zone"'"
update_allow = ["second-key."]'
SECOND_KEY=(-y "hmac-sha256:second-key.:$ADMIN_SECRET")

# zone_cmd <node> <action> <zone> [options...]: `vrdns zone` with node i's config; sets ZOUT and
# ZRC (output and exit status).
zone_cmd() {
  local i=$1 action=$2 zone=$3; shift 3
  ZOUT=$("$VRDNS" zone "$action" "$zone" --config "$TMP/node$i.toml" "$@" 2>&1)
  ZRC=$?
}

# upd_in <i> <zone> <record> <key option...>: an UPDATE of <zone> through node i; nsupdate's
# output and exit status.
upd_in() {
  local i=$1 zone=$2 rec=$3; shift 3
  printf 'server 127.0.0.1 %s\nzone %s\nupdate add %s\nsend\n' "${DNS_PORT[$i]}" "$zone" "$rec" |
    nsupdate "$@" -t 5 2>&1
}
# upd_second <i> <record>: an UPDATE of second.test. through node i, with its own key.
upd_second() { upd_in "$1" second.test. "$2" "${SECOND_KEY[@]}"; }

# rcode_at <i> <name> <type>: the rcode of node i's answer (NOERROR, REFUSED, ...).
rcode_at() { dq "$1" "$2" "$3" | sed -n 's/.*status: \([A-Z]*\),.*/\1/p'; }

# wait_rcode <i> <name> <type> <rcode>: bounded wait (50 x 0.1 s + query time).
wait_rcode() {
  local i=$1 name=$2 type=$3 want=$4 deadline got
  deadline=$(poll_deadline 50)
  for _ in $(seq 50); do
    [ "$SECONDS" -le "$deadline" ] || break
    got=$(rcode_at "$i" "$name" "$type")
    [ "$got" = "$want" ] && { pass "node $i: $name $type -> $want"; return 0; }
    sleep 0.1
  done
  fail "node $i: $name $type -> '$got', expected $want"
  return 1
}

start_cluster 2000
wait_agree 100 0 1 2 || fail "the cluster did not start: $AGREED"
for i in 0 1 2; do wait_served "$i" www.second.test A 192.0.2.70; done

# --- 0. a zone with keys of its own ---------------------------------------------------------
out=$(upd_in 0 second.test. "global.second.test. 300 A 192.0.2.60" "${KEY_OPT[@]}")
case "$out" in *REFUSED*) pass "update-key. may not UPDATE second.test.: REFUSED" ;;
  *) fail "update-key. on second.test.: $out" ;; esac
out=$(upd_in 0 example.test. "own.example.test. 300 A 192.0.2.61" "${SECOND_KEY[@]}")
case "$out" in *REFUSED*) pass "second-key. may not UPDATE example.test.: REFUSED" ;;
  *) fail "second-key. on example.test.: $out" ;; esac
# A key allowed one zone learns nothing of others: a zone this server lacks is REFUSED to it,
# where a key of [update] allow hears NOTAUTH.
out=$(upd_in 0 nothere.test. "x.nothere.test. 300 A 192.0.2.63" "${SECOND_KEY[@]}")
case "$out" in *REFUSED*) pass "second-key. on a zone not served: REFUSED" ;;
  *) fail "second-key. on a zone not served: $out" ;; esac
out=$(upd_in 0 nothere.test. "x.nothere.test. 300 A 192.0.2.63" "${KEY_OPT[@]}")
case "$out" in *NOTAUTH*) pass "update-key. on a zone not served: NOTAUTH" ;;
  *) fail "update-key. on a zone not served: $out" ;; esac
out=$(upd_second 0 "own.second.test. 300 A 192.0.2.62")
[ $? -eq 0 ] && pass "second-key. UPDATEs second.test." || fail "second-key. on second.test.: $out"
wait_served 1 own.second.test A 192.0.2.62
[ -z "$(dq 1 +short global.second.test A)" ] && pass "the refused UPDATE was not applied" ||
  fail "a refused UPDATE was applied"

# --- 1. a key outside [control] allow ------------------------------------------------------
zone_cmd 1 remove second.test. --key update-key.
[ "$ZRC" -eq 1 ] && case "$ZOUT" in *"refused: the key is not in the node's [control] allow"*) true ;; *) false ;; esac &&
  pass "update-key. may not remove zones: $ZOUT" || fail "remove with update-key.: exit $ZRC: $ZOUT"
served 0 www.second.test A 192.0.2.70 && pass "still served after the refused remove" ||
  fail "second.test. gone after a refused remove"

# --- 2. remove through a backup ------------------------------------------------------------
zone_cmd 1 remove second.test.
[ "$ZRC" -eq 0 ] && pass "vrdns zone remove: $ZOUT" || fail "vrdns zone remove: exit $ZRC: $ZOUT"
for i in 0 1 2; do
  wait_rcode "$i" www.second.test A REFUSED
  wait_log "$i" "zone second.test. was removed from the cluster: no node serves it" ||
    fail "node $i did not log the removal"
done
out=$(upd_second 0 "new.second.test. 300 A 192.0.2.71")
case "$out" in *NOTAUTH*) pass "UPDATE for the removed zone: NOTAUTH" ;;
  *) fail "UPDATE for the removed zone: $out" ;; esac
update_ok 2 "after-remove.example.test. 300 A 192.0.2.2"
wait_served 0 after-remove.example.test A 192.0.2.2
zone_cmd 0 remove second.test.
[ "$ZRC" -eq 0 ] && pass "a second remove is idempotent" || fail "second remove: exit $ZRC: $ZOUT"
zone_cmd 0 remove nothere.test.
[ "$ZRC" -eq 1 ] && case "$ZOUT" in *"the cluster has no zone nothere.test."*) true ;; *) false ;; esac &&
  pass "unknown zone: $ZOUT" || fail "remove of an unknown zone: exit $ZRC: $ZOUT"

# --- 3. a restart with the zone still in the config ----------------------------------------
stop_node 2
start_node 2 || fail "node 2 did not restart"
wait_log 2 "zone second.test. is in this node's config but was removed from the cluster: not proposed again" 100 &&
  pass "restarted node 2 does not add the removed zone back" ||
  fail "node 2 after restart: $(tail -5 "$TMP/err2")"
wait_agree 100 0 1 2 || fail "node 2 did not rejoin: $AGREED"
for i in 0 1 2; do wait_rcode "$i" www.second.test A REFUSED; done

# --- 4. readmit: the configs add it again --------------------------------------------------
zone_cmd 2 readmit second.test.
[ "$ZRC" -eq 0 ] && pass "vrdns zone readmit: $ZOUT" || fail "vrdns zone readmit: exit $ZRC: $ZOUT"
for i in 0 1 2; do wait_served "$i" www.second.test A 192.0.2.70; done
# The file says 7, the zone had 8 when removed (one UPDATE in part 0): it comes back as 9, so
# that a secondary that held version 8 sees a new one. Its records are the file's.
serial=$(dq 0 +short second.test SOA | awk '{ print $3 }')
[ -z "$(dq 0 +short own.second.test A)" ] && pass "readmitted with the file's records" ||
  fail "readmitted zone kept an UPDATE from before its removal"
[ "$serial" = 9 ] && pass "readmitted from the zone file with a newer serial (9)" ||
  fail "readmitted serial '$serial'"
out=$(upd_second 1 "back.second.test. 300 A 192.0.2.72")
[ $? -eq 0 ] && pass "UPDATE of the readmitted zone" || fail "UPDATE of the readmitted zone: $out"
wait_served 2 back.second.test A 192.0.2.72

for i in 0 1 2; do stop_node "$i"; done
echo "failures: $FAILURES"
[ "$FAILURES" -eq 0 ]
