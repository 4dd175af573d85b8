#!/usr/bin/env bash
# Zone transfers (AXFR RFC 5936, IXFR RFC 1995, TSIG RFC 8945) from a three-node vrdns cluster:
# real processes on 127.0.0.1 with [transfer] allow = ["update-key."] and allow_addresses =
# ["192.0.2.0/24"] (so nothing on 127.0.0.1 may transfer unsigned), a second key other-key. that
# is configured but not allowed to transfer. 300 large TXT records added first make the zone
# about 75 kB, so that a transfer takes more than one message.
#  1. A signed AXFR from a backup (node 1): SOA first and last with the served serial, the same
#     records as an AXFR from the primary, as many as the node logs; every message carries a
#     TSIG that kdig and dig both verify (RFC 8945 §5.3.1).
#  2. An UPDATE through node 0: an AXFR from backup 2 soon has the record and the new serial.
#  3. IXFR with the current serial: the SOA alone; from a version the node never sent: the whole
#     zone, AXFR-style; from a version it sent: only the differences (RFC 1995 §4).
#  4. Refusals: unsigned from 127.0.0.1 -> REFUSED; other-key. -> REFUSED, signed; an unknown key
#     -> NOTAUTH with TSIG error BADKEY; a name that is no zone apex -> NOTAUTH; AXFR over UDP ->
#     NOTIMP. Each is logged with its reason.
#  5. Knot DNS (knotd) as a real secondary of node 1 with the TSIG key: it bootstraps the zone,
#     and after an UPDATE and `knotc zone-refresh` (IXFR, answered with the differences) it
#     serves the new record and serial; its copy equals vrdns's.
#  6. BIND 9 (named) as a real secondary of node 2 with the TSIG key, likewise, refreshed with
#     `rndc refresh`. BIND checks the SOA with a signed query first: signed queries get signed
#     answers (app/signed_queries).
#  7. NOTIFY (RFC 1996, signed): node 1 notifies Knot and node 2 notifies BIND; after an UPDATE
#     each secondary takes the new serial without a refresh command.
# kdig is needed (it verifies each message's TSIG and names the rcode); without it the test is
# skipped. Without knotd or named, part 5 or 6 is skipped with a message.
# Usage: bash zone_transfer.sh <build-dir> <source-dir>
set -u
BUILD=$(cd "${1:?build dir}" && pwd)
SRC=$(cd "${2:?source dir}" && pwd)
# shellcheck source=lib/cluster.sh
source "$SRC/tests/integration/lib/cluster.sh"
command -v kdig >/dev/null || { echo "SKIPPED: no kdig (knot-dnsutils)"; exit 77; }
cluster_init
KNOT_PID="" NAMED_PID=""

# stop_daemon <pid>: SIGTERM to a knotd or named we started; a bounded wait (5 s) for it to exit,
# then SIGKILL; reaped. (An exited child stays a zombie, state Z, until reaped.)
stop_daemon() {
  local pid=$1 st
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 50); do
    st=$(ps -o stat= -p "$pid" 2>/dev/null)
    case "$st" in "" | Z*) break ;; esac
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
}
trap 'stop_daemon "$KNOT_PID"; stop_daemon "$NAMED_PID"; cluster_cleanup' EXIT
trap 'exit 1' INT TERM


# kx <i> <kdig args...>: one kdig to node i (2 s, no retry), stdout and stderr (where kdig puts
# its ";; WARNING" and ";; ERROR" lines; -d adds the rcode of a failed transfer).
kx() {
  local i=$1; shift
  kdig -d @"${DNS_ADDR[$i]}" -p "${DNS_PORT[$i]}" +time=2 +retry=0 "$@" 2>&1
}
# axfr_to <i> <file> [key option...]: a signed (update-key. unless given) AXFR from node i.
axfr_to() {
  local i=$1 out=$2; shift 2
  if [ $# -eq 0 ]; then set -- "${KEY_OPT[@]}"; fi
  kx "$i" example.test. AXFR "$@" > "$out"
}
# records <kdig output>: its records, one a line with single spaces, without TSIG and comments.
records() { awk '!/^;/ && NF && $4 != "TSIG" { $1 = $1; print }' "$1"; }
# xfr_messages <kdig output>: the message count of kdig's ";; Received N B (M messages, R records)".
xfr_messages() { sed -n 's/^;; Received .* (\([0-9]*\) messages, .*/\1/p' "$1"; }
tsig_lines() { awk '!/^;/ && $4 == "TSIG"' "$1" | wc -l; }
soa_serial() { dq "$1" +short example.test SOA | awk '{ print $3 }'; }
# xfr_complaints <output>: the warnings and errors of kdig or dig (TSIG verification included).
xfr_complaints() { grep -E "^;; (WARNING|ERROR)|Couldn't verify|TSIG could not be validated" "$1"; }
# is_full_xfr <kdig output> <serial>: a complete transfer: SOA first and last, both with serial.
is_full_xfr() {
  local first last
  first=$(records "$1" | head -1) last=$(records "$1" | tail -1)
  [ "$(echo "$first" | awk '{ print $1, $4, $7 }')" = "example.test. SOA $2" ] &&
    [ "$first" = "$last" ] && [ "$(records "$1" | wc -l)" -gt 2 ]
}
# free_port: a random port below the ephemeral range (as start_cluster picks them) that nothing
# listens on now, by UDP or TCP. A race with another program stays possible: the daemons'
# starts below check that the answer comes from them (their id.server) and retry otherwise.
free_port() {
  local p
  for _ in $(seq 20); do
    p=$((20000 + RANDOM % 12000))
    ss -Hlnu "sport = :$p" 2>/dev/null | grep -q . && continue
    ss -Hlnt "sport = :$p" 2>/dev/null | grep -q . && continue
    echo "$p"
    return 0
  done
  echo $((20000 + RANDOM % 12000))
}
# wait_id <port> <identity> <pid>: bounded wait (100 x 0.1 s) until the server on 127.0.0.1#port
# answers id.server with the identity, while process <pid> runs.
wait_id() {
  local port=$1 want=$2 pid=$3 deadline
  deadline=$(poll_deadline 100)
  for _ in $(seq 100); do
    [ "$SECONDS" -le "$deadline" ] || break
    kill -0 "$pid" 2>/dev/null || return 1
    [ "$(dig @127.0.0.1 -p "$port" +time=1 +tries=1 +short CH TXT id.server 2>/dev/null)" = "\"$want\"" ] &&
      return 0
    sleep 0.1
  done
  return 1
}
# wait_secondary <port> <name> <A rdata> <serial>: bounded wait (100 x 0.1 s) until the
# secondary on 127.0.0.1#port serves the A record and the SOA serial.
wait_secondary() {
  local port=$1 name=$2 want=$3 serial=$4 deadline
  deadline=$(poll_deadline 100)
  for _ in $(seq 100); do
    [ "$SECONDS" -le "$deadline" ] || break
    if [ "$(dig @127.0.0.1 -p "$port" +time=1 +tries=1 +short "$name" A)" = "$want" ] &&
       [ "$(dig @127.0.0.1 -p "$port" +time=1 +tries=1 +short example.test SOA | awk '{ print $3 }')" = "$serial" ]; then
      return 0
    fi
    sleep 0.1
  done
  return 1
}
# same_zone <label> <port> <vrdns kdig output>: an (unsigned, allowed by the secondary's ACL)
# AXFR from the secondary on 127.0.0.1#port holds the same records as the vrdns transfer. Owner
# names are compared without case: Knot keeps them in lower case (MiXeD.example.test.).
same_zone() {
  local label=$1 port=$2 ref=$3 out="$TMP/$1-axfr"
  kdig -d @127.0.0.1 -p "$port" +time=2 +retry=0 example.test. AXFR > "$out" 2>&1
  if diff <(records "$ref" | awk '{ $1 = tolower($1); print }' | sort -u) \
          <(records "$out" | awk '{ $1 = tolower($1); print }' | sort -u) > "$TMP/$label-diff"; then
    pass "$label: its copy equals the vrdns zone ($(records "$out" | sort -u | wc -l) distinct records)"
  else
    fail "$label: its copy differs from the vrdns zone: $(head -10 "$TMP/$label-diff")"
  fi
}

# refresh_followed <label> <port> <node> <host> <A rdata> <daemon log> <refresh command...>:
# after an UPDATE through node 0 has reached <node> (the secondary's primary), the refresh
# command makes the secondary on 127.0.0.1#port serve it with the new serial (bounded wait), its
# copy equals the node's, and the node logged the IXFR it answered with the whole zone. False
# if the UPDATE did not reach the node (already reported).
refresh_followed() {
  local label=$1 port=$2 node=$3 host=$4 addr=$5 log=$6 serial
  shift 6
  update_ok 0 "$host.example.test. 300 A $addr"
  serial=$(soa_serial 0)
  # The node must have the commit before the secondary asks, or it would find nothing new.
  wait_served "$node" "$host.example.test" A "$addr" || return 1
  "$@" > "$TMP/$host-refresh.out" 2>&1 || fail "$label refresh command: $(cat "$TMP/$host-refresh.out")"
  if wait_secondary "$port" "$host.example.test" "$addr" "$serial"; then
    pass "$label refreshed: serial $serial, $host.example.test A $addr"
    axfr_to "$node" "$TMP/axfr-$host"
    same_zone "$host" "$port" "$TMP/axfr-$host"
  else
    fail "$label after its refresh command: SOA '$(dig @127.0.0.1 -p "$port" +short example.test SOA)', expected serial $serial; log: $(grep example.test "$log" | tail -5)"
  fi
  wait_log "$node" "replica $node: IXFR of example\.test\. for 127\.0\.0\.1#[0-9]+: serial $serial, differences from [0-9]+: [0-9]+ removed, [0-9]+ added, key update-key\.$" &&
    pass "node $node answered $label's IXFR with the differences" ||
    fail "node $node logged no IXFR from $label: $(grep -E 'XFR of' "$TMP/err$node" | tail -3)"
}

# notify_followed <label> <port> <notified port> <node> <host> <A rdata> <daemon log>: after an
# UPDATE through node 0, the secondary on 127.0.0.1#port serves it and the new serial (bounded
# wait) with no refresh command: the NOTIFY from <node> made it ask. Skipped when the secondary
# had to take another port than the one the node notifies.
notify_followed() {
  local label=$1 port=$2 notified=$3 node=$4 host=$5 addr=$6 log=$7 serial
  if [ "$port" != "$notified" ]; then
    echo "SKIPPED: $label NOTIFY check (it could not take port $notified)"
    return
  fi
  update_ok 0 "$host.example.test. 300 A $addr"
  serial=$(soa_serial 0)
  if wait_secondary "$port" "$host.example.test" "$addr" "$serial"; then
    pass "$label took serial $serial after node $node's NOTIFY, without a refresh command"
    # The NOTIFY was signed: the secondary's answer must verify (signed over its MAC), or node
    # would have ignored it and sent the NOTIFY again.
    if grep -q "to 127.0.0.1:$notified: answer ignored" "$TMP/err$node"; then
      fail "node $node did not accept $label's signed NOTIFY answer: $(grep 'answer ignored' "$TMP/err$node" | tail -2)"
    else
      pass "node $node accepted $label's signed answer to its NOTIFY"
    fi
    # And took it: the statistics count answered NOTIFYs (the secondary answers before it
    # transfers, so by now), none ignored.
    local answered ignored
    answered=$(metric_of "$node" vrdns_notify_answered_total)
    ignored=$(metric_of "$node" vrdns_notify_ignored_total)
    [ "${answered:-0}" -ge 1 ] && [ "$ignored" = 0 ] &&
      pass "node $node's statistics: $answered NOTIFY answer(s) taken, none ignored" ||
      fail "node $node's statistics: answered '$answered', ignored '$ignored'"
  else
    fail "$label did not follow node $node's NOTIFY: SOA '$(dig @127.0.0.1 -p "$port" +short example.test SOA)', expected $serial; log: $(grep -iE 'notify' "$log" | tail -5); node $node: $(grep NOTIFY "$TMP/err$node" | tail -3)"
  fi
}

# --- the cluster ------------------------------------------------------------------------------
# Node 1 NOTIFYs the Knot secondary and node 2 the BIND one (each secondary's primary), signed:
# their ports are picked now, before the configs are written.
KPORT_NOTIFIED=$(free_port)
BPORT_NOTIFIED=$(free_port)
while [ "$BPORT_NOTIFIED" = "$KPORT_NOTIFIED" ]; do BPORT_NOTIFIED=$(free_port); done
OTHER_SECRET="b3RoZXIta2V5LW9mLXRoZS16b25lLXRyYW5zZmVyLXRlc3Q="
EXTRA_CONFIG="[[key]]
name = \"other-key.\"
algorithm = \"hmac-sha256\"
secret = \"$OTHER_SECRET\""
transfer_table() {   # transfer_table [notify target]
  printf '[transfer]\nallow = ["update-key."]\nallow_addresses = ["192.0.2.0/24"]\n'
  if [ -n "${1:-}" ]; then printf 'notify = ["%s"]\nnotify_key = "update-key."\n' "$1"; fi
}
NODE_EXTRA_CONFIG=("$(transfer_table)" "$(transfer_table "127.0.0.1:$KPORT_NOTIFIED")"
                   "$(transfer_table "127.0.0.1:$BPORT_NOTIFIED")")
for i in 0 1 2; do   # not the secondaries' ports: they must get the ones the nodes notify
  STATS_PORT[i]=$(free_port)
  while [ "${STATS_PORT[i]}" = "$KPORT_NOTIFIED" ] || [ "${STATS_PORT[i]}" = "$BPORT_NOTIFIED" ]; do
    STATS_PORT[i]=$(free_port)
  done
done
start_cluster 2000
wait_connected 0 1 2 && pass "all nodes connected" || fail "nodes not connected"
wait_agree 50 0 1 2 && pass "cluster normal: $AGREED" || { fail "cluster not normal: $AGREED"; finish; }

# --- make the zone span several messages: 2 UPDATEs of 150 TXT records of about 215 bytes -----
axfr_to 0 "$TMP/axfr-base"
base_count=$(records "$TMP/axfr-base" | wc -l)
base_serial=$(soa_serial 0)   # a version node 2 never sends: IXFR from it gets the whole zone
pad=$(printf 'x%.0s' $(seq 200))
for b in 1 2; do
  ok=0
  for _ in 1 2 3; do   # adds are idempotent: a retry after a lost answer is harmless
    if {
      printf 'server %s %s\nzone example.test.\n' "${DNS_ADDR[0]}" "${DNS_PORT[0]}"
      for n in $(seq 150); do printf 'update add bulk%s-%s.example.test. 300 TXT "%s-%s"\n' "$b" "$n" "$n" "$pad"; done
      echo send
    } | nsupdate "${KEY_OPT[@]}" -t 9 > "$TMP/bulk.out" 2>&1; then ok=1; break; fi
  done
  [ "$ok" -eq 1 ] && pass "update via node 0: 150 TXT records bulk$b-*" ||
    fail "update via node 0 (bulk$b-*): $(cat "$TMP/bulk.out")"
done
# Both backups have the adds (their commit) before the transfers compare them with the primary.
soa_after_bulk=$(dq 0 +short example.test SOA)
wait_served 1 example.test SOA "$soa_after_bulk"
wait_served 2 example.test SOA "$soa_after_bulk"

# === 1. signed AXFR from a backup ============================================================
serial=$(soa_serial 0)
axfr_to 0 "$TMP/axfr0"
axfr_to 1 "$TMP/axfr1"
count=$(records "$TMP/axfr1" | wc -l)
if is_full_xfr "$TMP/axfr1" "$serial"; then
  pass "node 1: AXFR of $count records, SOA first and last with serial $serial"
else
  fail "node 1: AXFR is not SOA ... SOA with serial $serial: $(head -3 "$TMP/axfr1"; tail -4 "$TMP/axfr1")"
fi
if [ "$count" -eq $((base_count + 300)) ] &&
   diff <(records "$TMP/axfr0" | sort) <(records "$TMP/axfr1" | sort) > /dev/null; then
  pass "node 1 transfers the same $count records as the primary ($base_count before the adds + 300)"
else
  fail "node 1: $count records, primary $(records "$TMP/axfr0" | wc -l), expected $((base_count + 300))"
fi
for q in "www.example.test. A" "mail.example.test. AAAA" "txt.example.test. TXT" "sub.example.test. DS" \
         "bulk1-1.example.test. TXT"; do
  read -r qname qtype <<< "$q"
  want=$(dq 1 +short "$qname" "$qtype" | sort)
  got=$(records "$TMP/axfr1" | awk -v n="$qname" -v t="$qtype" '$1 == n && $4 == t { $1 = $2 = $3 = $4 = ""; sub(/^ +/, ""); print }' | sort)
  # dig and kdig print some rdata differently (hex case and blocks): compare without case and blanks.
  if [ -n "$got" ] && [ "$(echo "$want" | tr -d ' ' | tr a-f A-F)" = "$(echo "$got" | tr -d ' ' | tr a-f A-F)" ]; then
    pass "node 1: AXFR has $qname $qtype as queries answer it"
  else
    fail "node 1: AXFR $qname $qtype '$got', query answers '$want'"
  fi
done
messages=$(xfr_messages "$TMP/axfr1")
if [ "${messages:-0}" -ge 2 ] && [ "$(tsig_lines "$TMP/axfr1")" -eq "$messages" ] &&
   ! xfr_complaints "$TMP/axfr1" > /dev/null; then
  pass "node 1: $messages messages, each with a TSIG that kdig verified"
else
  fail "node 1: $messages messages, $(tsig_lines "$TMP/axfr1") TSIG records, kdig: $(xfr_complaints "$TMP/axfr1")"
fi
dig @"${DNS_ADDR[1]}" -p "${DNS_PORT[1]}" +time=2 +tries=1 example.test. AXFR "${KEY_OPT[@]}" > "$TMP/dig-axfr1" 2>&1
if grep -q "^;; XFR size: $count records (messages $messages," "$TMP/dig-axfr1" &&
   ! xfr_complaints "$TMP/dig-axfr1" > /dev/null; then
  pass "node 1: dig verified the TSIG of all $messages messages too"
else
  fail "node 1: dig: $(grep -E '^;; XFR size' "$TMP/dig-axfr1") $(xfr_complaints "$TMP/dig-axfr1")"
fi
wait_log 1 "replica 1: AXFR of example\.test\. for 127\.0\.0\.1#[0-9]+: serial $serial, $((count - 1)) records, key update-key\.$" &&
  pass "node 1 logged the transfer (serial $serial, $((count - 1)) records, key update-key.)" ||
  fail "node 1 did not log the transfer: $(grep 'AXFR of' "$TMP/err1" | tail -3)"

# === 2. an UPDATE through the primary reaches a backup's transfers ===========================
update_ok 0 "xfr1.example.test. 300 A 192.0.2.71"
new_serial=$(soa_serial 0)
[ "$new_serial" = $((serial + 1)) ] && pass "primary: serial $serial -> $new_serial" ||
  fail "primary: serial $serial -> '$new_serial'"
found=0 deadline=$(poll_deadline 50)
for _ in $(seq 50); do
  [ "$SECONDS" -le "$deadline" ] || break
  axfr_to 2 "$TMP/axfr2"
  if is_full_xfr "$TMP/axfr2" "$new_serial" &&
     records "$TMP/axfr2" | grep -qx "xfr1.example.test. 300 IN A 192.0.2.71"; then
    found=1
    break
  fi
  sleep 0.1
done
if [ "$found" -eq 1 ] && [ "$(records "$TMP/axfr2" | wc -l)" -eq $((count + 1)) ] &&
   ! xfr_complaints "$TMP/axfr2" > /dev/null; then
  pass "node 2: AXFR has xfr1 and serial $new_serial ($((count + 1)) records)"
else
  fail "node 2: AXFR without xfr1 / serial $new_serial: $(records "$TMP/axfr2" | head -1), $(records "$TMP/axfr2" | wc -l) records $(xfr_complaints "$TMP/axfr2")"
fi

# === 3. IXFR ==================================================================================
dig @"${DNS_ADDR[2]}" -p "${DNS_PORT[2]}" +time=2 +tries=1 example.test. "ixfr=$new_serial" "${KEY_OPT[@]}" > "$TMP/ixfr-cur" 2>&1
got=$(awk '!/^;/ && NF && $4 != "TSIG" { $1 = $1; print }' "$TMP/ixfr-cur")
if [ "$(echo "$got" | grep -c .)" -eq 1 ] && [ "$(echo "$got" | awk '{ print $4, $7 }')" = "SOA $new_serial" ] &&
   ! xfr_complaints "$TMP/ixfr-cur" > /dev/null; then
  pass "node 2: IXFR=$new_serial (current) -> the SOA alone"
else
  fail "node 2: IXFR=$new_serial: '$got' $(xfr_complaints "$TMP/ixfr-cur")"
fi
kx 2 example.test. "ixfr=$base_serial" "${KEY_OPT[@]}" > "$TMP/ixfr-old"
if is_full_xfr "$TMP/ixfr-old" "$new_serial" &&
   diff <(records "$TMP/axfr2" | sort) <(records "$TMP/ixfr-old" | sort) > /dev/null &&
   ! xfr_complaints "$TMP/ixfr-old" > /dev/null; then
  pass "node 2: IXFR=$base_serial (a version it never sent) -> the whole zone, AXFR-style ($(records "$TMP/ixfr-old" | wc -l) records)"
else
  fail "node 2: IXFR=$base_serial: $(records "$TMP/ixfr-old" | wc -l) records, first '$(records "$TMP/ixfr-old" | head -1)' $(xfr_complaints "$TMP/ixfr-old")"
fi
wait_log 2 "replica 2: IXFR of example\.test\. for 127\.0\.0\.1#[0-9]+: serial $new_serial, client up to date: SOA only, key update-key\.$" &&
  wait_log 2 "replica 2: IXFR of example\.test\. for 127\.0\.0\.1#[0-9]+: serial $new_serial, $count records, key update-key\.$" &&
  pass "node 2 logged both IXFRs" || fail "node 2 IXFR log: $(grep 'IXFR of' "$TMP/err2" | tail -3)"
# IXFR from a version node 2 sent (its AXFR above, at $new_serial): only the differences.
update_ok 0 "ixfr1.example.test. 300 A 192.0.2.76"
ixfr_serial=$(soa_serial 0)
wait_served 2 ixfr1.example.test A 192.0.2.76
kx 2 example.test. "ixfr=$new_serial" "${KEY_OPT[@]}" > "$TMP/ixfr-diff"
want_diff="example.test. SOA $ixfr_serial
example.test. SOA $new_serial
example.test. SOA $ixfr_serial
ixfr1.example.test. A 192.0.2.76
example.test. SOA $ixfr_serial"
got_diff=$(records "$TMP/ixfr-diff" | awk '$4 == "SOA" { print $1, $4, $7; next } { print $1, $4, $5 }')
if [ "$got_diff" = "$want_diff" ] && ! xfr_complaints "$TMP/ixfr-diff" > /dev/null; then
  pass "node 2: IXFR=$new_serial (a version it sent) -> only the differences (one A added)"
else
  fail "node 2: IXFR=$new_serial: '$got_diff' $(xfr_complaints "$TMP/ixfr-diff")"
fi
wait_log 2 "replica 2: IXFR of example\.test\. for 127\.0\.0\.1#[0-9]+: serial $ixfr_serial, differences from $new_serial: 0 removed, 1 added, key update-key\.$" &&
  pass "node 2 logged the incremental IXFR" ||
  fail "node 2 incremental IXFR log: $(grep 'IXFR of' "$TMP/err2" | tail -3)"
n=$(metric_of 2 'vrdns_transfers_total{outcome="incremental"}')
[ "${n:-0}" -ge 1 ] && pass "node 2's statistics count $n incremental IXFR(s)" ||
  fail "node 2's statistics: incremental IXFRs '$n'"
# The sections below start from the zone as it is now.
new_serial=$ixfr_serial
axfr_to 2 "$TMP/axfr2"
count=$(records "$TMP/axfr2" | wc -l)

# === 4. refusals (node 1) =====================================================================
# expect_refusal <what> <rcode as kdig names it> <log reason> <kdig args...>
expect_refusal() {
  local what=$1 rcode=$2 reason=$3 out="$TMP/refusal"
  shift 3
  kx 1 "$@" > "$out"
  if grep -q "^;; ERROR: server replied with error '$rcode'$" "$out" && [ -z "$(records "$out")" ]; then
    pass "$what -> $rcode"
  else
    fail "$what: expected $rcode, kdig: $(grep -v '^;; DEBUG' "$out" | head -5)"
  fi
  wait_log 1 "replica 1: $reason" && pass "$what: logged" ||
    fail "$what: no log line '$reason': $(grep -E 'XFR of' "$TMP/err1" | tail -3)"
}
expect_refusal "unsigned AXFR from 127.0.0.1" REFUSED \
  "AXFR of example\.test\. for 127\.0\.0\.1#[0-9]+: refused, not signed and the address is not in \[transfer\] allow_addresses$" \
  example.test. AXFR
expect_refusal "AXFR signed with other-key." REFUSED \
  "AXFR of example\.test\. for 127\.0\.0\.1#[0-9]+: refused, key not in \[transfer\] allow$" \
  example.test. AXFR -y "hmac-sha256:other-key.:$OTHER_SECRET"
# kdig names the TSIG error instead of the rcode only when the rcode is NOTAUTH (libknot's
# knot_pkt_ext_rcode): 'BADKEY' means NOTAUTH with TSIG error BADKEY.
expect_refusal "AXFR signed with an unknown key" BADKEY \
  "AXFR of example\.test\. for 127\.0\.0\.1#[0-9]+: refused, TSIG BADKEY$" \
  example.test. AXFR -y "hmac-sha256:no-such-key.:$OTHER_SECRET"
expect_refusal "AXFR of www.example.test. (no zone apex)" NOTAUTH \
  "AXFR of www\.example\.test\. for 127\.0\.0\.1#[0-9]+: refused, not a zone of this server$" \
  www.example.test. AXFR "${KEY_OPT[@]}"
kx 1 +notcp example.test. AXFR "${KEY_OPT[@]}" > "$TMP/udp-axfr"
if grep -q "protocol(UDP)" "$TMP/udp-axfr" && grep -q "^;; ERROR: server replied with error 'NOTIMPL'$" "$TMP/udp-axfr"; then
  pass "AXFR over UDP -> NOTIMP"
else
  fail "AXFR over UDP: $(grep -v '^;; DEBUG' "$TMP/udp-axfr" | head -5)"
fi
# The refusal of a signed request is signed (dig checks the TSIG of what it receives).
dig @"${DNS_ADDR[1]}" -p "${DNS_PORT[1]}" +time=2 +tries=1 example.test. AXFR \
  -y "hmac-sha256:other-key.:$OTHER_SECRET" > "$TMP/dig-other" 2>&1
if awk '!/^;/ && $1 == "other-key." && $4 == "TSIG" && $8 > 0' "$TMP/dig-other" | grep -q . &&
   ! xfr_complaints "$TMP/dig-other" > /dev/null; then
  pass "the REFUSED answer to other-key. is signed with other-key. (dig verified it)"
else
  fail "REFUSED answer to other-key.: $(grep -v '^$' "$TMP/dig-other" | tail -4)"
fi
dig @"${DNS_ADDR[1]}" -p "${DNS_PORT[1]}" +time=2 +tries=1 example.test. AXFR \
  -y "hmac-sha256:no-such-key.:$OTHER_SECRET" > "$TMP/dig-unknown" 2>&1
awk '!/^;/ && $1 == "no-such-key." && $4 == "TSIG" && $10 == "BADKEY"' "$TMP/dig-unknown" | grep -q . &&
  pass "the answer to an unknown key carries TSIG error BADKEY" ||
  fail "answer to an unknown key: $(grep -v '^$' "$TMP/dig-unknown" | tail -4)"

# === 5. Knot DNS as a secondary of node 1 =====================================================
KNOTD=$(command -v knotd || echo /usr/sbin/knotd)
KNOTC=$(command -v knotc || echo /usr/sbin/knotc)
if [ ! -x "$KNOTD" ] || [ ! -x "$KNOTC" ]; then
  echo "SKIPPED: Knot DNS part (no knotd/knotc)"
else
  K="$TMP/knot" KPORT="" KID="vrdns-test-knot-$$"
  # Knot transfers once at its start: node 1 must have the primary's latest commit by then.
  wait_served 1 example.test SOA "$(dq 0 +short example.test SOA)"
  mkdir -p "$K/run" "$K/db" "$K/zones"
  for attempt in 1 2 3 4 5; do
    KPORT=$(free_port)
    [ "$attempt" -eq 1 ] && KPORT=$KPORT_NOTIFIED
    cat > "$K/knot.conf" <<EOF
server:
    identity: "$KID"
    rundir: "$K/run"
    listen: 127.0.0.1@$KPORT
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
log:
  - target: stderr
    any: info
database:
    storage: "$K/db"
control:
    listen: "$K/run/knot.sock"
key:
  - id: update-key.
    algorithm: hmac-sha256
    secret: $SECRET
remote:
  - id: vrdns1
    address: ${DNS_ADDR[1]}@${DNS_PORT[1]}
    key: update-key.
acl:
  - id: notify-from-vrdns1
    address: ${DNS_ADDR[1]}
    key: update-key.
    action: notify
  - id: transfer-to-test
    address: 127.0.0.1
    action: transfer
zone:
  - domain: example.test.
    storage: "$K/zones"
    master: vrdns1
    acl: [notify-from-vrdns1, transfer-to-test]
EOF
    "$KNOTD" -c "$K/knot.conf" > "$K/knotd.log" 2>&1 &
    KNOT_PID=$!
    wait_id "$KPORT" "$KID" "$KNOT_PID" && break
    stop_daemon "$KNOT_PID"
    KNOT_PID=""
    grep -qiE "bind|address already in use" "$K/knotd.log" || break   # another failure: give up
  done
  if [ -z "$KNOT_PID" ]; then
    fail "knotd did not start: $(tail -5 "$K/knotd.log")"
  else
    pass "knotd started on 127.0.0.1#$KPORT (PID $KNOT_PID)"
    if wait_secondary "$KPORT" xfr1.example.test 192.0.2.71 "$new_serial"; then
      pass "Knot bootstrapped the zone from node 1: serial $new_serial, xfr1"
      same_zone knot "$KPORT" "$TMP/axfr2"
      # Knot asks node 1 for an IXFR; vrdns answers with the whole zone.
      if refresh_followed Knot "$KPORT" 1 knot 192.0.2.72 "$K/knotd.log" \
           "$KNOTC" -c "$K/knot.conf" zone-refresh example.test.; then
        # NOTIFY: node 1 tells Knot of the next serial by itself; no refresh command.
        notify_followed Knot "$KPORT" "$KPORT_NOTIFIED" 1 knot-notify 192.0.2.74 "$K/knotd.log"
      fi
    else
      fail "Knot did not get the zone from node 1: SOA '$(dig @127.0.0.1 -p "$KPORT" +short example.test SOA)'; log: $(grep example.test "$K/knotd.log" | tail -5)"
    fi
    stop_daemon "$KNOT_PID"
    KNOT_PID=""
  fi
fi

# === 6. BIND 9 as a secondary of node 2 =======================================================
NAMED=$(command -v named || echo /usr/sbin/named)
RNDC=$(command -v rndc || echo /usr/sbin/rndc)
if [ ! -x "$NAMED" ] || [ ! -x "$RNDC" ]; then
  echo "SKIPPED: BIND part (no named/rndc)"
else
  B="$TMP/named" BPORT="" BID="vrdns-test-named-$$"
  RNDC_SECRET="cm5kYy1rZXktb2YtdGhlLXpvbmUtdHJhbnNmZXItdGVzdA=="
  # BIND transfers once at its start: node 2 must have the primary's latest commit by then.
  wait_served 2 example.test SOA "$(dq 0 +short example.test SOA)"
  mkdir -p "$B"
  for attempt in 1 2 3 4 5; do
    BPORT=$(free_port) RPORT=$(free_port)
    [ "$attempt" -eq 1 ] && BPORT=$BPORT_NOTIFIED
    [ "$BPORT" != "$RPORT" ] || continue
    cat > "$B/named.conf" <<EOF
key "update-key." { algorithm hmac-sha256; secret "$SECRET"; };
key "rndc-key" { algorithm hmac-sha256; secret "$RNDC_SECRET"; };
controls { inet 127.0.0.1 port $RPORT allow { 127.0.0.1; } keys { "rndc-key"; }; };
options {
  directory "$B";
  pid-file "$B/named.pid";
  lock-file "$B/named.lock";
  session-keyfile "$B/session.key";
  managed-keys-directory "$B";
  listen-on port $BPORT { 127.0.0.1; };
  listen-on-v6 { none; };
  recursion no;
  notify no;
  dnssec-validation no;
  server-id "$BID";
  allow-transfer { 127.0.0.1; };
};
zone "example.test." {
  type secondary;
  file "example.test.db";
  primaries { ${DNS_ADDR[2]} port ${DNS_PORT[2]} key "update-key."; };
};
EOF
    cat > "$B/rndc.conf" <<EOF
key "rndc-key" { algorithm hmac-sha256; secret "$RNDC_SECRET"; };
options { default-key "rndc-key"; default-server 127.0.0.1; default-port $RPORT; };
EOF
    "$NAMED" -g -c "$B/named.conf" > "$B/named.log" 2>&1 &
    NAMED_PID=$!
    if wait_id "$BPORT" "$BID" "$NAMED_PID" && "$RNDC" -c "$B/rndc.conf" status > /dev/null 2>&1; then
      break
    fi
    stop_daemon "$NAMED_PID"
    NAMED_PID=""
    grep -qiE "address in use|could not listen" "$B/named.log" || break   # another failure: give up
  done
  if [ -z "$NAMED_PID" ]; then
    fail "named did not start: $(tail -5 "$B/named.log")"
  else
    pass "named started on 127.0.0.1#$BPORT (PID $NAMED_PID, rndc on port $RPORT)"
    serial_now=$(soa_serial 0)
    if wait_secondary "$BPORT" xfr1.example.test 192.0.2.71 "$serial_now"; then
      pass "BIND got the zone from node 2: serial $serial_now"
      axfr_to 2 "$TMP/axfr2-named"
      same_zone bind "$BPORT" "$TMP/axfr2-named"
      if refresh_followed BIND "$BPORT" 2 bind 192.0.2.73 "$B/named.log" \
           "$RNDC" -c "$B/rndc.conf" refresh example.test; then
        notify_followed BIND "$BPORT" "$BPORT_NOTIFIED" 2 bind-notify 192.0.2.75 "$B/named.log"
      fi
    else
      fail "BIND did not get the zone from node 2: SOA '$(dig @127.0.0.1 -p "$BPORT" +short example.test SOA)'; log: $(grep 'example.test' "$B/named.log" | tail -5)"
    fi
    stop_daemon "$NAMED_PID"
    NAMED_PID=""
  fi
fi

for i in 0 1 2; do stop_node "$i"; done
finish
