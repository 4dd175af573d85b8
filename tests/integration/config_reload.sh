#!/usr/bin/env bash
# SIGHUP reloads a running node's config (app/config_reload.hpp), with three real vrdns
# processes on 127.0.0.1 driven by nsupdate and dig:
#  1. a TSIG key roll without a restart: a second key is added and allowed, then the first one
#     removed; UPDATEs follow each step at once (the removed key gets NOTAUTH), and no node
#     restarts or changes view;
#  2. [transfer] allow_addresses is reloaded: an unsigned AXFR allowed before is refused after;
#  3. a setting fixed for the process's life ([replication] heartbeat_ms) is named in the log as
#     taking effect at the next restart;
#  4. a config with an error, or another replica's, is refused (the error names file, line and
#     key), and the node goes on with the configuration it had;
#  5. a [[zone]] added to one node's config is added to the running cluster at that node's
#     SIGHUP: every node serves it and takes UPDATEs for it;
#  6. [transfer] notify is reloaded: a secondary (a small UDP listener here) added to node 0's
#     list is notified of the current serial at once, without waiting for an UPDATE.
# Usage: bash config_reload.sh <build-dir> <source-dir>
set -u
BUILD=$(cd "${1:?build dir}" && pwd)
SRC=$(cd "${2:?source dir}" && pwd)
# shellcheck source=lib/cluster.sh
source "$SRC/tests/integration/lib/cluster.sh"
cluster_init
SECONDARY=""   # the PID of the NOTIFY listener of part 6, while it runs
trap 'cluster_cleanup; if [ -n "$SECONDARY" ]; then kill "$SECONDARY" 2>/dev/null; fi' EXIT
trap 'exit 1' INT TERM

NEW_SECRET="AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="
OLD_KEY='[[key]]
name = "update-key."
algorithm = "hmac-sha256"
secret = "'"$SECRET"'"'
NEW_KEY='[[key]]
name = "new-key."
algorithm = "hmac-sha256"
secret = "'"$NEW_SECRET"'"'
TRANSFER_OPEN='[transfer]
allow_addresses = ["127.0.0.1"]'
EXTRA_CONFIG=$TRANSFER_OPEN

# hup <i> <ERE>: SIGHUP node i, then wait (bounded) until its log holds one more line matching
# ERE than before the signal.
hup() {
  local i=$1 pattern=$2 before deadline
  before=$(grep -cE "$pattern" "$TMP/err$i")
  kill -HUP "${PIDS[$i]}"
  deadline=$(poll_deadline 50)
  for _ in $(seq 50); do
    [ "$SECONDS" -le "$deadline" ] || break
    [ "$(grep -cE "$pattern" "$TMP/err$i")" -gt "$before" ] && return 0
    sleep 0.1
  done
  return 1
}

# reload_all <what>: rewrites every node's config and reloads it with SIGHUP.
reload_all() {
  local i
  for i in 0 1 2; do
    rewrite_config "$i"
    if hup "$i" "configuration reloaded from"; then pass "node $i reloaded ($1)"
    else fail "node $i did not reload ($1): $(tail -3 "$TMP/err$i")"; fi
  done
}

# upd_key <i> <key name> <secret> <record>: one UPDATE signed with that key; nsupdate's output.
upd_key() {
  printf 'server %s %s\nzone example.test.\nupdate add %s\nsend\n' \
    "${DNS_ADDR[$1]}" "${DNS_PORT[$1]}" "$4" | nsupdate -y "hmac-sha256:$2:$3" -t 9 -u 3 2>&1
}

# axfr_records <i>: how many records an unsigned AXFR from node i gives.
axfr_records() {
  dig @"${DNS_ADDR[$1]}" -p "${DNS_PORT[$1]}" +time=2 +tries=1 +noall +answer example.test AXFR |
    grep -c "IN"
}

start_cluster 2000
wait_agree 100 0 1 2 || fail "the cluster did not start: $AGREED"
START_VIEW=$AGREE_VIEW
update_ok 0 "before.example.test. 300 A 192.0.2.1"

# --- 1. a key roll -------------------------------------------------------------------------
AUTH_CONFIG="$OLD_KEY
$NEW_KEY
[update]
allow = [\"update-key.\", \"new-key.\"]"
reload_all "new-key. added"
out=$(upd_key 1 new-key. "$NEW_SECRET" "rolled.example.test. 300 A 192.0.2.2")
[ $? -eq 0 ] && pass "new-key. may UPDATE after the reload" ||
  fail "new-key. after the reload: $out"
for i in 0 1 2; do wait_served "$i" rolled.example.test A 192.0.2.2; done
update_ok 2 "still.example.test. 300 A 192.0.2.3"   # the old key, still allowed

AUTH_CONFIG="$NEW_KEY
[update]
allow = [\"new-key.\"]"
reload_all "update-key. removed"
for i in 0 1 2; do
  out=$(upd_key "$i" update-key. "$SECRET" "gone$i.example.test. 300 A 192.0.2.4")
  case "$out" in
    *NOTAUTH*) pass "node $i: the removed key gets NOTAUTH" ;;
    *) fail "node $i: the removed key: $out" ;;
  esac
  out=$(upd_key "$i" new-key. "$NEW_SECRET" "new$i.example.test. 300 A 192.0.2.5")
  [ $? -eq 0 ] && pass "node $i: new-key. may UPDATE" || fail "node $i: new-key.: $out"
done
for i in 0 1 2; do
  got=$(dq "$i" +short "gone$i.example.test" A)
  case "$got" in
    "") pass "node $i did not apply the UPDATE signed with the removed key" ;;
    *) fail "node $i: gone$i.example.test: '$got', expected nothing" ;;
  esac
done
if wait_agree 50 0 1 2 && [ "$AGREE_VIEW" = "$START_VIEW" ]; then
  pass "no restart, no view change: $AGREED"
else
  fail "the key roll disturbed the cluster: $AGREED"
fi
for i in 0 1 2; do
  grep -q "restarting from\|recovering" <(tail -c +$((ERR_START[i] + 1)) "$TMP/err$i") &&
    fail "node $i restarted or recovered during the reloads"
done

# --- 2. transfer access ----------------------------------------------------------------------
n=$(axfr_records 0)
[ "$n" -gt 2 ] && pass "unsigned AXFR from 127.0.0.1 allowed: $n records" ||
  fail "unsigned AXFR before the reload gave $n records"
EXTRA_CONFIG=""
reload_all "[transfer] allow_addresses removed"
out=$(dig @"${DNS_ADDR[0]}" -p "${DNS_PORT[0]}" +time=2 +tries=1 example.test AXFR 2>&1)
case "$out" in
  *"Transfer failed"*) pass "unsigned AXFR refused after the reload" ;;
  *) fail "unsigned AXFR after the reload: $(echo "$out" | grep -v '^;' | head -3)" ;;
esac
served 0 example.test NS "$(dq 1 +short example.test NS)" &&
  pass "node 0 still answers queries" || fail "node 0 does not answer after the reload"
EXTRA_CONFIG=$TRANSFER_OPEN

# --- 3. a setting fixed for the process's life ----------------------------------------------
HEARTBEAT_MS=60
rewrite_config 0
if hup 0 "heartbeat_ms changed in .*node0.toml: takes effect when the node restarts"; then
  pass "node 0 names the setting that waits for a restart"
else
  fail "node 0 did not log the restart-only change: $(tail -3 "$TMP/err0")"
fi
HEARTBEAT_MS=50
rewrite_config 0

# --- 4. a config with an error --------------------------------------------------------------
sed -i "s|^secret = \"$NEW_SECRET\"|secret = \"not base64!\"|" "$TMP/node0.toml"
if hup 0 "running configuration stays in force"; then
  line=$(grep "running configuration stays in force" "$TMP/err0" | tail -1)
  case "$line" in
    *node0.toml:[0-9]*:*secret*) pass "the bad config is refused with file, line and key: $line" ;;
    *) fail "the refusal does not name file, line and key: $line" ;;
  esac
else
  fail "node 0 did not refuse the bad config: $(tail -3 "$TMP/err0")"
fi
out=$(upd_key 0 new-key. "$NEW_SECRET" "after-bad.example.test. 300 A 192.0.2.6")
[ $? -eq 0 ] && pass "node 0 goes on with the running configuration" ||
  fail "node 0 after a bad config: $out"
kill -0 "${PIDS[0]}" 2>/dev/null || fail "node 0 is gone after a bad config"
# Another replica's file in node 0's place (a copy gone wrong): refused whole.
cp "$TMP/node1.toml" "$TMP/node0.toml"
if hup 0 "refused: it describes another \[node\] replica"; then
  pass "node 0 refuses node 1's config"
else
  fail "node 0 did not refuse node 1's config: $(tail -3 "$TMP/err0")"
fi
rewrite_config 0

# --- 5. a zone added by reloading one node's config ---------------------------------------
cat > "$TMP/other.zone" <<'ZONE'
$ORIGIN other.test.
$TTL 300
@ SOA ns1 hostmaster 7 7200 3600 1209600 300
@ NS ns1
ns1 A 192.0.2.53
www A 192.0.2.80
ZONE
NODE_EXTRA_CONFIG[2]="[[zone]]
name = \"other.test.\"
file = \"$TMP/other.zone\""
rewrite_config 2
if hup 2 "zone other.test. added to the cluster"; then
  pass "node 2 proposed other.test. at its reload and the cluster added it"
else
  fail "other.test. was not added: $(grep -i "other.test" "$TMP/err2" | tail -3)"
fi
for i in 0 1 2; do wait_served "$i" www.other.test A 192.0.2.80; done
out=$(printf 'server %s %s\nzone other.test.\nupdate add u.other.test. 300 A 192.0.2.81\nsend\n' \
  "${DNS_ADDR[0]}" "${DNS_PORT[0]}" | nsupdate -y "hmac-sha256:new-key.:$NEW_SECRET" -t 9 -u 3 2>&1)
[ $? -eq 0 ] && pass "node 0 takes UPDATEs for the added zone" || fail "UPDATE of other.test.: $out"
for i in 0 1 2; do wait_served "$i" u.other.test A 192.0.2.81; done

# --- 6. a secondary added to [transfer] notify ------------------------------------------------
# It answers every NOTIFY (the header echoed with QR set) and logs the zone; at most 60 s.
cat > "$TMP/secondary.py" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
open(sys.argv[1] + ".port", "w").write(str(s.getsockname()[1]))
s.settimeout(0.5)
end = time.time() + 60
with open(sys.argv[1], "a") as log:
    while time.time() < end:
        try:
            m, peer = s.recvfrom(4096)
        except socket.timeout:
            continue
        if len(m) < 13 or (m[2] >> 3) & 0xF != 4:
            continue
        labels, i = [], 12
        while i < len(m) and m[i] != 0:
            labels.append(m[i + 1:i + 1 + m[i]].decode()); i += 1 + m[i]
        log.write("NOTIFY " + ".".join(labels) + ".\n"); log.flush()
        s.sendto(m[:2] + bytes([m[2] | 0x80]) + m[3:], peer)
PY
python3 "$TMP/secondary.py" "$TMP/notified" &
SECONDARY=$!
for _ in $(seq 50); do [ -s "$TMP/notified.port" ] && break; sleep 0.1; done
NODE_EXTRA_CONFIG[0]="[transfer]
notify = [\"127.0.0.1:$(cat "$TMP/notified.port" 2>/dev/null)\"]"
EXTRA_CONFIG=""   # node 0's [transfer] table is its own now; the others' stays unset
for i in 0 1 2; do rewrite_config "$i"; done
hup 0 "NOTIFY targets replaced" && pass "node 0 reloaded its NOTIFY targets" ||
  fail "node 0 did not reload its NOTIFY targets: $(tail -3 "$TMP/err0")"
for _ in $(seq 50); do grep -q "NOTIFY example.test." "$TMP/notified" 2>/dev/null && break; sleep 0.1; done
grep -q "NOTIFY example.test." "$TMP/notified" 2>/dev/null &&
  pass "the secondary added by the reload was notified of the current serial" ||
  fail "no NOTIFY reached the secondary: $(grep NOTIFY "$TMP/err0" | tail -3)"
kill "$SECONDARY" 2>/dev/null
wait "$SECONDARY" 2>/dev/null
SECONDARY=""

for i in 0 1 2; do stop_node "$i"; done
finish
