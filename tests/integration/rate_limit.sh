#!/usr/bin/env bash
# Response rate limiting ([rrl], net/rate_limiter.hpp) in the real vrdns binary: a burst of 100
# UDP queries for one name from one client gets at most a second or two's worth of full answers
# (10 a second here), every second limited answer truncated (TC) and the rest dropped; TCP is
# not limited; the statistics endpoint counts what was held back; a client of the exempt list
# is never limited, and [rrl] changes by SIGHUP without a restart. With DNS cookies: a limited client that sent a client cookie gets BADCOOKIE
# with a server cookie instead of TC, and one that sends a valid server cookie is not limited.
# Usage: bash rate_limit.sh <build-dir> <source-dir>
set -u
BUILD=$(cd "${1:?build dir}" && pwd)
SRC=$(cd "${2:?source dir}" && pwd)
VRDNS="$BUILD/vrdns"
ZONE="$SRC/configs/example.test.zone"
[ -x "$VRDNS" ] || { echo "FAIL: $VRDNS not built"; exit 1; }
command -v kdig >/dev/null && command -v python3 >/dev/null || { echo "FAIL: kdig/python3 missing"; exit 1; }

TMP=$(mktemp -d)
PID=""
# shellcheck source=lib/single_node.sh
source "$SRC/tests/integration/lib/single_node.sh"
trap node_cleanup EXIT
FAILURES=0
fail() { echo "FAIL: $*"; FAILURES=$((FAILURES + 1)); }
pass() { echo "ok: $*"; }

# start <exempt list>: one node with [rrl] and statistics on $PORT+2 (STATS).
start() {
  node_start "[rrl]
responses_per_second = 10
slip = 2
exempt = [$1]
[stats]
listen = \"127.0.0.1:@PORT2@\""
  STATS=$((PORT + 2))
}
stop() { node_stop; }

# burst [COOKIE]: 100 queries for www.example.test. A from one UDP socket (with an OPT carrying
# the COOKIE option data COOKIE, hex, if given), then the answers that arrive within 1 s of the
# last one. Prints "<full> <truncated> <ticks> <badcookie> <cookie>": BADCOOKIE answers, and the
# cookie data of the last answer that had one.
burst() {
  python3 - "$PORT" "${1:-}" <<'PY'
import socket, struct, sys, time
port, cookie = int(sys.argv[1]), bytes.fromhex(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
qname = b"".join(bytes([len(l)]) + l for l in b"www.example.test".split(b".")) + b"\0"
opt = b""
if cookie:
    option = struct.pack(">HH", 10, len(cookie)) + cookie
    opt = b"\0" + struct.pack(">HHIH", 41, 1232, 0, len(option)) + option
start = time.monotonic()
for i in range(100):
    s.sendto(struct.pack(">HHHHHH", i + 1, 0, 1, 0, 0, 1 if opt else 0) + qname +
             struct.pack(">HH", 1, 1) + opt, ("127.0.0.1", port))
sent_in = time.monotonic() - start
s.settimeout(1.0)
full = truncated = badcookie = 0
last_cookie = "-"
try:
    while True:
        m = s.recv(4096)
        if len(m) > 28 and struct.unpack(">HH", m[-28:-24]) == (10, 24):
            last_cookie = m[-24:].hex()
        if m[2] & 0x02:
            truncated += 1
        elif m[3] & 0x0F == 7 and cookie:   # BADCOOKIE: 23, of which the header holds 7
            badcookie += 1
        else:
            full += 1
except socket.timeout:
    pass
# Clock ticks the burst may have crossed: each brings 10 more tokens.
print(full, truncated, int(sent_in) + 1, badcookie, last_cookie)
PY
}

metric() {
  python3 -c 'import sys, urllib.request
for line in urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=3).read().decode().splitlines():
    if line.split(" ")[0] == sys.argv[2]: print(line.split(" ")[1])' "$STATS" "$1"
}

start ""
read -r full truncated ticks _ < <(burst)
# The burst takes milliseconds: 10 tokens, 10 more for each second that began meanwhile.
max_full=$((10 * (ticks + 1)))
if [ "$full" -ge 10 ] && [ "$full" -le "$max_full" ]; then pass "full answers in the burst: $full"
else fail "full answers in the burst: $full (10..$max_full expected)"; fi
# Of the limited answers, every second one slips out truncated (give or take the odd one out,
# and one for a lost datagram).
limited=$((100 - full))
if [ "$truncated" -ge $((limited / 2 - 2)) ] && [ "$truncated" -le $((limited / 2 + 1)) ]; then
  pass "truncated answers: $truncated of $limited limited"
else fail "truncated answers: $truncated of $limited limited"; fi
dropped=$(metric 'vrdns_dns_rate_limited_total{action="drop"}')
slipped=$(metric 'vrdns_dns_rate_limited_total{action="slip"}')
[ "$slipped" -ge "$truncated" ] && [ $((dropped + slipped + full)) -le 100 ] &&
  [ $((dropped + slipped + full)) -ge 99 ] &&
  pass "metrics: $dropped dropped, $slipped slipped" ||
  fail "metrics: dropped '$dropped' slipped '$slipped', client saw $full full + $truncated TC"
ans=$(kdig @127.0.0.1 -p "$PORT" +tcp +short +time=2 +retry=0 www.example.test A)
[ "$ans" = "192.0.2.10" ] && pass "TCP is not limited" || fail "TCP answer: '$ans'"

# A client cookie alone proves nothing: the burst is limited as before, but the slipped
# answers are BADCOOKIE with our server cookie (the client may ask again with it), not TC.
read -r full truncated ticks badcookie cookie < <(burst 0102030405060708)
max_full=$((10 * (ticks + 1)))
[ "$full" -le "$max_full" ] && [ "$truncated" -eq 0 ] && [ "$badcookie" -ge 30 ] &&
  [[ "$cookie" =~ ^0102030405060708[0-9a-f]{32}$ ]] &&
  pass "client cookie only: $full full, $badcookie BADCOOKIE" ||
  fail "client cookie only: $full full, $truncated TC, $badcookie BADCOOKIE, cookie '$cookie'"
# With that server cookie, the same burst is answered in full: only a client that receives
# our answers at its address can send it.
valid_before=$(metric 'vrdns_dns_cookies_total{result="valid"}')
read -r full truncated ticks badcookie _ < <(burst "$cookie")
[ "$full" -ge 90 ] && [ "$truncated" -eq 0 ] && [ "$badcookie" -eq 0 ] &&
  pass "a valid server cookie is not limited: $full full" ||
  fail "valid server cookie: $full full, $truncated TC, $badcookie BADCOOKIE"
valid_after=$(metric 'vrdns_dns_cookies_total{result="valid"}')
# (Every query that arrived: loopback may lose a datagram of a burst.)
[ $((valid_after - valid_before)) -ge "$full" ] && [ $((valid_after - valid_before)) -le 100 ] &&
  pass "metrics: $((valid_after - valid_before)) valid cookies" ||
  fail "metrics: valid cookies went from '$valid_before' to '$valid_after'"

# [rrl] by SIGHUP on the running node (an operator under attack must not restart nodes): an
# exempt list, limiting off, then on again with every bucket full.
rrl_reload() {   # rrl_reload <[rrl] table or nothing> <what>
  if node_reload "$1
[stats]
listen = \"127.0.0.1:@PORT2@\"" "rate limiting replaced"; then pass "SIGHUP: $2"
  else fail "no reload ($2): $(tail -3 "$TMP/err")"; fi
}
rrl_reload '[rrl]
responses_per_second = 10
slip = 2
exempt = ["127.0.0.0/8"]' "exempt list added"
read -r full truncated ticks _ < <(burst)
# (At least 90: loopback may still lose a datagram; limiting would leave 10-20.)
[ "$full" -ge 90 ] && [ "$truncated" -eq 0 ] && pass "an exempt client gets every answer" ||
  fail "exempt client: $full full, $truncated truncated"
rrl_reload "" "[rrl] removed"
read -r full truncated ticks _ < <(burst)
[ "$full" -ge 90 ] && [ "$truncated" -eq 0 ] && pass "limiting off: every answer" ||
  fail "limiting off: $full full, $truncated truncated"
rrl_reload '[rrl]
responses_per_second = 10
slip = 2' "[rrl] back, no exempt list"
read -r full truncated ticks _ < <(burst)
max_full=$((10 * (ticks + 1)))
[ "$full" -ge 10 ] && [ "$full" -le "$max_full" ] && [ "$truncated" -ge 30 ] &&
  pass "limiting on again: $full full, $truncated truncated" ||
  fail "limiting on again: $full full (10..$max_full expected), $truncated truncated"
grep -q "takes effect when the node restarts" "$TMP/err" &&
  fail "an [rrl] reload was deferred: $(grep "takes effect" "$TMP/err" | head -2)"
stop

echo "failures: $FAILURES"
[ "$FAILURES" -eq 0 ]
