#!/usr/bin/env bash
# Response rate limiting ([rrl], net/rate_limiter.hpp) in the real vrdns binary: a burst of 100
# UDP queries for one name from one client gets at most a second or two's worth of full answers
# (10 a second here), every second limited answer truncated (TC) and the rest dropped; TCP is
# not limited; the statistics endpoint counts what was held back; a client of the exempt list
# is never limited.
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

# burst: 100 queries for www.example.test. A from one UDP socket, then the answers that arrive
# within 1 s of the last one. Prints "<full> <truncated>".
burst() {
  python3 - "$PORT" <<'PY'
import socket, struct, sys, time
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
qname = b"".join(bytes([len(l)]) + l for l in b"www.example.test".split(b".")) + b"\0"
start = time.monotonic()
for i in range(100):
    s.sendto(struct.pack(">HHHHHH", i + 1, 0, 1, 0, 0, 0) + qname + struct.pack(">HH", 1, 1),
             ("127.0.0.1", port))
sent_in = time.monotonic() - start
s.settimeout(1.0)
full = truncated = 0
try:
    while True:
        m = s.recv(4096)
        if m[2] & 0x02:
            truncated += 1
        else:
            full += 1
except socket.timeout:
    pass
# Clock ticks the burst may have crossed: each brings 10 more tokens.
print(full, truncated, int(sent_in) + 1)
PY
}

metric() {
  python3 -c 'import sys, urllib.request
for line in urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=3).read().decode().splitlines():
    if line.split(" ")[0] == sys.argv[2]: print(line.split(" ")[1])' "$STATS" "$1"
}

start ""
read -r full truncated ticks < <(burst)
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
stop

start '"127.0.0.0/8"'
read -r full truncated ticks < <(burst)
# (At least 90: loopback may still lose a datagram; limiting would leave 10-20.)
[ "$full" -ge 90 ] && [ "$truncated" -eq 0 ] && pass "an exempt client gets every answer" ||
  fail "exempt client: $full full, $truncated truncated"
stop

echo "failures: $FAILURES"
[ "$FAILURES" -eq 0 ]
