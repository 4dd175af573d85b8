#!/usr/bin/env bash
# End to end replication: three real `vrdns --config` processes form a VR cluster on free
# 127.0.0.1 ports; a TSIG-signed nsupdate sent to a backup commits through VR and is served by
# every node (at once by the node that answered: read-your-writes); a wrong key and an
# unsigned UPDATE are rejected; after SIGKILL of the primary a new view takes UPDATEs again, and
# the killed node, restarted on its data_dir, resumes from its own log and catches up.
# Usage: bash cluster_update.sh <build-dir> <source-dir>
set -u
BUILD=$(cd "${1:?build dir}" && pwd)
SRC=$(cd "${2:?source dir}" && pwd)
VRDNS="$BUILD/vrdns"
ZONE="$SRC/configs/example.test.zone"
SECRET="uqjV+TYQBrS28PCMsYonX//TMmtt4GFvzp50/uVRovI="
[ -x "$VRDNS" ] || { echo "FAIL: $VRDNS not built"; exit 1; }
for tool in dig nsupdate; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool missing"; exit 1; }
done

TMP=$(mktemp -d)
PIDS=("" "" "")
cleanup() {
  for fd in 3 4 5; do eval "exec $fd<&-" 2>/dev/null; done
  for p in "${PIDS[@]}"; do
    if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then kill -KILL "$p"; fi
  done
  rm -rf "$TMP"
}
trap cleanup EXIT
FAILURES=0
fail() { echo "FAIL: $*"; FAILURES=$((FAILURES + 1)); }
pass() { echo "ok: $*"; }

stop_all_now() {
  for i in 0 1 2; do
    eval "exec $((3 + i))<&-" 2>/dev/null
    if [ -n "${PIDS[$i]}" ]; then kill -KILL "${PIDS[$i]}" 2>/dev/null; wait "${PIDS[$i]}" 2>/dev/null; fi
    PIDS[$i]=""
  done
}

D() { local port=$1; shift; dig @127.0.0.1 -p "$port" +time=1 +tries=1 "$@"; }
status_of() { D "$1" +short CH TXT status.vrdns.; }
# The statistics endpoint ([stats] listen) of the node whose stats port is $1.
metrics() {
  python3 -c 'import sys, urllib.request
print(urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=3).read().decode(), end="")' "$1"
}

# A brand-new cluster settles in view 0 with replica 0 as its primary, also when replica 0 is the
# last to learn that the cluster is new: its backups give it first_contact_timeout (2 s) to be
# heard (docs/vr.md). The checks below rely on that and follow node 0 as the primary.
# (The function body is not indented: it holds a here-document.)
start_cluster() {   # 0: started, connected, all normal in view 0; 1: a later view; 2: failed
# --- start three nodes; on a port clash (another program took one), retry on other ports ---
DNS=()
started=0
for attempt in 1 2 3 4 5; do
  base=$((20000 + RANDOM % 40000))
  DNS=($base $((base + 1)) $((base + 2)))
  STATS=($((base + 6)) $((base + 7)) $((base + 8)))
  replicas="\"127.0.0.1:$((base + 3))\", \"127.0.0.1:$((base + 4))\", \"127.0.0.1:$((base + 5))\""
  ok=1
  for i in 0 1 2; do
    cat > "$TMP/node$i.toml" <<TOML
[cluster]
replicas = [$replicas]
[node]
replica = $i
data_dir = "data$i"
[dns]
listen = ["127.0.0.1:${DNS[$i]}"]
udp_workers = 1
[stats]
listen = "127.0.0.1:$((base + 6 + i))"
[replication]
heartbeat_ms = 50
primary_timeout_ms = 250
update_timeout_ms = 2000
[[zone]]
name = "example.test."
file = "$ZONE"
[[key]]
name = "update-key."
algorithm = "hmac-sha256"
secret = "$SECRET"
[[key]]
name = "other-key."
algorithm = "hmac-sha256"
secret = "c2VjcmV0LXNlY3JldA=="
[update]
allow = ["update-key."]
TOML
    rm -rf "$TMP/data$i" "$TMP/out$i"
    mkfifo "$TMP/out$i"
    "$VRDNS" --config "$TMP/node$i.toml" > "$TMP/out$i" 2> "$TMP/err$i" &
    PIDS[$i]=$!
    eval "exec $((3 + i))< \"$TMP/out$i\""
    if read -r -t 20 -u $((3 + i)) line; then
      echo "started: $line"
      [ "$line" = "vrdns: replica $i serving 1 zone(s) on 127.0.0.1:${DNS[$i]} (udp+tcp)" ] ||
        fail "ready line of node $i: '$line'"
    else
      ok=0
      break
    fi
  done
  if [ "$ok" -eq 1 ]; then started=1; break; fi
  stop_all_now
  if ! grep -q "cannot bind" "$TMP"/err*; then
    echo "FAIL: vrdns did not start"; cat "$TMP"/err*; exit 1
  fi
done
[ "$started" -eq 1 ] || { echo "FAIL: no free ports after 5 attempts"; exit 1; }


# --- wait until every node is connected to both others (their log says so) ----------------
# The connections are the event; the loop is bounded (100 x 0.1 s).
for _ in $(seq 100); do
  n=0
  for i in 0 1 2; do
    [ "$(grep -c "peer [0-9] connected" "$TMP/err$i")" -ge 2 ] && n=$((n + 1))
  done
  [ "$n" -eq 3 ] && break
  sleep 0.1
done
[ "$n" -eq 3 ] || return 2
# Connected is not yet decided: each blank node settles (new cluster or recovery) once every
# peer has answered it, and logs where it ended (the event; bounded, 100 x 0.1 s).
for _ in $(seq 100); do
  n=0
  for i in 0 1 2; do grep -q "normal in view" "$TMP/err$i" && n=$((n + 1)); done
  [ "$n" -eq 3 ] && break
  sleep 0.1
done
for i in 0 1 2; do
  case "$(status_of "${DNS[$i]}")" in
    *"replica=$i view=0 status=normal primary=0"*) ;;
    *" view=0 "*) return 2 ;;
    *) return 1 ;;
  esac
done
return 0
}
start_cluster
rc=$?
[ "$rc" -eq 1 ] && { fail "the new cluster left view 0 while starting"; cat "$TMP"/err*; }
[ "$rc" -ne 2 ] && pass "all nodes connected" || { fail "nodes not connected or not normal"; cat "$TMP"/err*; }
for i in 0 1 2; do
  s=$(status_of "${DNS[$i]}")
  case "$s" in
    *"replica=$i view=0 status=normal primary=0"*) pass "node $i status: $s" ;;
    *) fail "node $i status: '$s'" ;;
  esac
done

# --- a signed UPDATE through a backup (node 1) ---------------------------------------------
update() {   # update <port> <key-option...> -- <record line>
  local port=$1 rec=$2; shift 2
  printf 'server 127.0.0.1 %s\nzone example.test.\nupdate add %s\nsend\n' "$port" "$rec" |
    nsupdate -t 3 -u 1 "$@" 2>&1
}
out=$(update "${DNS[1]}" "wired1.example.test. 300 A 192.0.2.51" -y "hmac-sha256:update-key.:$SECRET")
rc=$?
[ "$rc" -eq 0 ] && pass "nsupdate via backup: exit 0" || fail "nsupdate via backup: exit $rc: $out"

# Read-your-writes: node 1 answered, so node 1 serves it right now.
ans=$(D "${DNS[1]}" +short wired1.example.test A)
[ "$ans" = "192.0.2.51" ] && pass "node 1 serves its own write at once" || fail "node 1: '$ans'"
# Every node: backups learn a commit within a heartbeat; bounded wait (50 x 0.1 s).
for i in 0 1 2; do
  for _ in $(seq 50); do
    ans=$(D "${DNS[$i]}" +short wired1.example.test A)
    [ "$ans" = "192.0.2.51" ] && break
    sleep 0.1
  done
  [ "$ans" = "192.0.2.51" ] && pass "node $i serves the update" || fail "node $i: '$ans'"
done

# --- rejected UPDATEs ------------------------------------------------------------------------
out=$(update "${DNS[1]}" "bad.example.test. 300 A 192.0.2.52" -y "hmac-sha256:update-key.:c2VjcmV0LXNlY3JldA==")
rc=$?
if [ "$rc" -ne 0 ]; then pass "wrong secret: nsupdate fails"; else fail "wrong secret accepted"; fi
case "$out" in *NOTAUTH*|*BADSIG*|*"tsig"*|*"TSIG"*) pass "wrong secret: $(echo "$out" | tail -1)" ;;
  *) fail "wrong secret: unexpected output: $out" ;; esac
out=$(update "${DNS[1]}" "other.example.test. 300 A 192.0.2.53" -y "hmac-sha256:other-key.:c2VjcmV0LXNlY3JldA==")
rc=$?
case "$out" in *REFUSED*) [ "$rc" -ne 0 ] && pass "key not allowed: REFUSED" || fail "not-allowed key: exit 0" ;;
  *) fail "not-allowed key: $out" ;; esac
out=$(update "${DNS[1]}" "unsigned.example.test. 300 A 192.0.2.54")
rc=$?
case "$out" in *REFUSED*) [ "$rc" -ne 0 ] && pass "unsigned: REFUSED" || fail "unsigned: exit 0" ;;
  *) fail "unsigned: $out" ;; esac
for name in bad other unsigned; do
  ans=$(D "${DNS[0]}" +short $name.example.test A)
  [ -z "$ans" ] && pass "$name: not applied" || fail "$name applied: $ans"
done

# --- the statistics endpoint: what node 1 answered, and where each replica stands -----------
m=$(metrics "${STATS[1]}")
val() { echo "$m" | awk -v k="$1" '$1 == k { print $2 }'; }
# (At least 1: nsupdate -u 1 resends after 1 s, and the resend is answered and counted too.)
[ "$(val 'vrdns_updates_total{rcode="NOERROR"}')" -ge 1 ] && pass "metrics: the UPDATE committed" ||
  fail "metrics: updates NOERROR '$(val 'vrdns_updates_total{rcode="NOERROR"}')'"
[ "$(val 'vrdns_updates_total{rcode="NOTAUTH"}')" = 1 ] && pass "metrics: 1 UPDATE NOTAUTH" ||
  fail "metrics: updates NOTAUTH '$(val 'vrdns_updates_total{rcode="NOTAUTH"}')'"
[ "$(val 'vrdns_updates_total{rcode="REFUSED"}')" = 2 ] && pass "metrics: 2 UPDATEs REFUSED" ||
  fail "metrics: updates REFUSED '$(val 'vrdns_updates_total{rcode="REFUSED"}')'"
for i in 0 1 2; do
  m=$(metrics "${STATS[$i]}")
  want_primary=0; [ "$i" -eq 0 ] && want_primary=1
  [ "$(val vrdns_vr_is_primary)" = "$want_primary" ] && [ "$(val vrdns_vr_view_number)" = 0 ] &&
    [ "$(val 'vrdns_vr_status{status="normal"}')" = 1 ] && [ "$(val vrdns_serving)" = 1 ] &&
    pass "metrics: node $i normal in view 0, primary $want_primary" ||
    fail "metrics: node $i: $(echo "$m" | grep '^vrdns_vr\|^vrdns_serving')"
  serial=$(D "${DNS[$i]}" +short example.test SOA | awk '{ print $3 }')
  [ -n "$serial" ] && [ "$(val 'vrdns_zone_serial{zone="example.test."}')" = "$serial" ] &&
    pass "metrics: node $i zone serial $serial" ||
    fail "metrics: node $i serial '$(val 'vrdns_zone_serial{zone="example.test."}')' vs SOA '$serial'"
done
# Counters move by exactly what node 2 was asked (nobody else asks it meanwhile).
before=$(metrics "${STATS[2]}")
D "${DNS[2]}" +short wired1.example.test A >/dev/null
D "${DNS[2]}" +short www.example.test A >/dev/null
D "${DNS[2]}" +short nothere.example.test AAAA >/dev/null
D "${DNS[2]}" +tcp +short www.example.test A >/dev/null
after=$(metrics "${STATS[2]}")
delta() {
  local a b
  a=$(echo "$before" | awk -v k="$1" '$1 == k { print $2 }')
  b=$(echo "$after" | awk -v k="$1" '$1 == k { print $2 }')
  echo $(( ${b:-0} - ${a:-0} ))
}
d="$(delta 'vrdns_dns_requests_total{transport="udp"}') $(delta 'vrdns_dns_requests_total{transport="tcp"}')"
d="$d $(delta 'vrdns_dns_query_types_total{qtype="A"}') $(delta 'vrdns_dns_query_types_total{qtype="AAAA"}')"
d="$d $(delta 'vrdns_dns_responses_total{rcode="NOERROR"}') $(delta 'vrdns_dns_responses_total{rcode="NXDOMAIN"}')"
[ "$d" = "3 1 3 1 3 1" ] && pass "metrics: node 2 counted 3 UDP + 1 TCP queries by type and rcode" ||
  fail "metrics: node 2 deltas (udp tcp A AAAA NOERROR NXDOMAIN) '$d'"
z=$(delta 'vrdns_zone_queries_total{zone="example.test."}')
[ "$z" = 4 ] && pass "metrics: node 2 counted the 4 queries under example.test." ||
  fail "metrics: node 2 counted $z queries under example.test. (want 4)"

# --- fail the primary: a new view takes UPDATEs ----------------------------------------------
kill -KILL "${PIDS[0]}"
wait "${PIDS[0]}" 2>/dev/null
exec 3<&-
PIDS[0]=""
# nsupdate retries for 3 s itself; a view change takes ~0.5 s. Bounded: at most 5 tries.
for _ in 1 2 3 4 5; do
  out=$(update "${DNS[2]}" "wired2.example.test. 300 A 192.0.2.55" -y "hmac-sha256:update-key.:$SECRET")
  rc=$?
  [ "$rc" -eq 0 ] && break
done
[ "$rc" -eq 0 ] && pass "update after primary SIGKILL: exit 0" || fail "update after failover: $out"
ans=$(D "${DNS[2]}" +short wired2.example.test A)
[ "$ans" = "192.0.2.55" ] && pass "node 2 serves the post-failover update" || fail "node 2: '$ans'"
s=$(status_of "${DNS[2]}")
case "$s" in *"status=normal"*) case "$s" in *" view=0 "*) fail "still view 0: $s" ;;
    *) pass "new view: $s" ;; esac ;; *) fail "node 2 status: $s" ;; esac
ans=$(D "${DNS[2]}" +short wired1.example.test A)
[ "$ans" = "192.0.2.51" ] && pass "the first update survived the failover" || fail "lost: '$ans'"
m=$(metrics "${STATS[2]}")
[ "$(val vrdns_vr_view_changes_total)" -ge 1 ] && [ "$(val vrdns_vr_view_number)" -ge 1 ] &&
  pass "metrics: node 2 took part in a view change (view $(val vrdns_vr_view_number))" ||
  fail "metrics: node 2 after failover: $(echo "$m" | grep '^vrdns_vr')"

# --- restart the killed node on its old data_dir: it resumes from its own log and view record
# (issue #5: everything it acknowledged is on its disk) and learns what it missed from the others.
rm -f "$TMP/out0"
mkfifo "$TMP/out0"
"$VRDNS" --config "$TMP/node0.toml" > "$TMP/out0" 2> "$TMP/err0" &
PIDS[0]=$!
exec 3< "$TMP/out0"
read -r -t 20 -u 3 line || fail "restarted node 0: no ready line"
grep -q "restarting from .*: view 0, log ops 1..1, checkpoint at op 0" "$TMP/err0" &&
  pass "restarted node 0 starts from its data_dir (view 0, 1 log entry after the birth checkpoint)" ||
  fail "restarted node 0 did not start from its data_dir: $(cat "$TMP/err0")"
# It catches up when the new primary's Commit reaches it; its status line is the event (50 x 0.1 s).
for _ in $(seq 50); do
  s=$(status_of "${DNS[0]}")
  case "$s" in *"status=normal"*" op=2 commit=2"*) break ;; esac
  sleep 0.1
done
case "$s" in *"status=normal"*" op=2 commit=2"*) pass "node 0 caught up: $s" ;;
  *) fail "node 0 after restart: '$s'" ;; esac
case "$s" in *" view=0 "*) fail "node 0 still in view 0: $s" ;; *) pass "node 0 joined the new view" ;; esac
ans=$(D "${DNS[0]}" +short wired2.example.test A)
[ "$ans" = "192.0.2.55" ] && pass "restarted node serves the update it missed" || fail "node 0: '$ans'"

# --- EDNS in UPDATE answers (RFC 6891 §7, RFC 7873): dig sends an UPDATE with an empty update
# section (+opcode=update), which commits through VR like any other. Its answer carries the
# OPT with a cookie, signed; a wrong EDNS version is BADVERS, a malformed cookie FORMERR. (Last:
# the checks above count ops.) ----------------------------------------------------------------
U() { local port=$1; shift; D "$port" +opcode=update "$@" example.test SOA; }
KEY="hmac-sha256:update-key.:$SECRET"
for i in 0 1; do   # a backup and the primary of view 1
  for transport in "" "+tcp"; do
    t=${transport:-udp}
    out=$(U "${DNS[$i]}" -y "$KEY" $transport)
    if grep -q "opcode: UPDATE, status: NOERROR" <<<"$out" &&
       grep -Eq "^; COOKIE: [0-9a-f]{48} \(good\)$" <<<"$out" &&
       grep -q "^; EDNS: version: 0" <<<"$out" && grep -q "TSIG PSEUDOSECTION" <<<"$out" &&
       ! grep -Eq "Couldn't verify|WARNING" <<<"$out"; then
      pass "node $i $t: a signed UPDATE with EDNS: NOERROR, cookie and TSIG good"
    else
      fail "node $i $t: signed UPDATE with EDNS: $out"
    fi
  done
done
out=$(U "${DNS[2]}" -y "$KEY" +noedns)
grep -q "status: NOERROR" <<<"$out" && ! grep -q "OPT PSEUDOSECTION" <<<"$out" &&
  pass "UPDATE without EDNS: no OPT back" || fail "UPDATE without EDNS: $out"
out=$(U "${DNS[2]}" -y "$KEY" +edns=1 +noednsneg)
grep -q "status: BADVERS" <<<"$out" && grep -q "TSIG PSEUDOSECTION" <<<"$out" &&
  ! grep -Eq "Couldn't verify|WARNING" <<<"$out" &&
  pass "UPDATE with EDNS version 1: BADVERS, signed" || fail "UPDATE EDNS 1: $out"
out=$(U "${DNS[2]}" -y "$KEY" +cookie=0102030405)
grep -q "status: FORMERR" <<<"$out" && pass "UPDATE with a malformed cookie: FORMERR" ||
  fail "UPDATE malformed cookie: $out"
out=$(U "${DNS[2]}")
grep -q "status: REFUSED" <<<"$out" && grep -Eq "^; COOKIE: [0-9a-f]{48} \(good\)$" <<<"$out" &&
  pass "unsigned UPDATE: REFUSED with a cookie" || fail "unsigned UPDATE with EDNS: $out"

# --- stop all: SIGTERM -> exit 0 -------------------------------------------------------------
for i in 0 1 2; do
  kill -TERM "${PIDS[$i]}"
  read -r -t 10 -u $((3 + i)) rest
  [ $? -gt 128 ] && { fail "node $i still running 10 s after SIGTERM"; kill -KILL "${PIDS[$i]}"; }
  wait "${PIDS[$i]}"
  rc=$?
  PIDS[$i]=""
  [ "$rc" -eq 0 ] && pass "node $i: SIGTERM -> exit 0" || { fail "node $i: SIGTERM -> exit $rc"; cat "$TMP/err$i"; }
done

if [ "$FAILURES" -ne 0 ]; then echo "$FAILURES check(s) failed"; exit 1; fi
echo "all checks passed"
