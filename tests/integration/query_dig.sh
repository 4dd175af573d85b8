#!/usr/bin/env bash
# End to end: the real vrdns binary on free 127.0.0.1 ports, queried by dig and kdig over
# UDP and TCP, then stopped with SIGTERM (must exit 0).
# Usage: bash query_dig.sh <build-dir> <source-dir>
set -u
BUILD=$(cd "${1:?build dir}" && pwd)
SRC=$(cd "${2:?source dir}" && pwd)
VRDNS="$BUILD/vrdns"
ZONE="$SRC/configs/example.test.zone"
[ -x "$VRDNS" ] || { echo "FAIL: $VRDNS not built"; exit 1; }
command -v dig >/dev/null && command -v kdig >/dev/null || { echo "FAIL: dig/kdig missing"; exit 1; }

TMP=$(mktemp -d)
PID=""
# shellcheck source=lib/single_node.sh
source "$SRC/tests/integration/lib/single_node.sh"
trap node_cleanup EXIT
FAILURES=0
fail() { echo "FAIL: $*"; FAILURES=$((FAILURES + 1)); }
pass() { echo "ok: $*"; }

NODE_DNS_EXTRA='nsid = "itest-nsid"'
node_start ""
echo "started: $READY"
expected="vrdns: replica 0 serving 1 zone(s) on 127.0.0.1:$PORT (udp+tcp)"
[ "$READY" = "$expected" ] || fail "ready line: got '$READY', want '$expected'"

D="dig @127.0.0.1 -p $PORT +norec +time=2 +tries=1"
K="kdig @127.0.0.1 -p $PORT +norec +time=2 +retry=0"

# check NAME OUTPUT PATTERN: PATTERN (extended regex) must occur in OUTPUT.
check() {
  if grep -Eq -- "$3" <<<"$2"; then pass "$1"; else fail "$1: no /$3/ in:"; echo "$2" | sed 's/^/    /'; fi
}
check_not() {
  if grep -Eq -- "$3" <<<"$2"; then fail "$1: unexpected /$3/ in:"; echo "$2" | sed 's/^/    /'; else pass "$1"; fi
}

for transport in "" "+tcp"; do
  t=${transport:-udp}
  out=$($D $transport www.example.test A)
  check "dig $t A status" "$out" "status: NOERROR"
  check "dig $t A aa" "$out" "flags: qr aa"
  check "dig $t A data" "$out" "^www\.example\.test\.[[:space:]]+3600[[:space:]]+IN[[:space:]]+A[[:space:]]+192\.0\.2\.10$"

  out=$($D $transport nothere.example.test A)
  check "dig $t NXDOMAIN" "$out" "status: NXDOMAIN"
  check "dig $t NXDOMAIN has SOA" "$out" "IN[[:space:]]+SOA[[:space:]]+ns1\.example\.test\."

  out=$($D $transport www.example.org A)
  check "dig $t REFUSED" "$out" "status: REFUSED"
  check_not "dig $t REFUSED not aa" "$out" "flags:[^;]* aa"

  out=$($D $transport status.vrdns. CH TXT)
  check "dig $t CH TXT status.vrdns." "$out" '"replica=0 view=0 status=normal primary=0 op=0 commit=0"'
  out=$($D $transport id.server. CH TXT)
  check "dig $t CH TXT id.server." "$out" '"itest-node"'

  out=$($K $transport www.example.test A)
  check "kdig $t A" "$out" "status: NOERROR"
  check "kdig $t A flags" "$out" "Flags: qr aa"
  check "kdig $t A data" "$out" "192\.0\.2\.10"
  out=$($K $transport nothere.example.test A)
  check "kdig $t NXDOMAIN" "$out" "status: NXDOMAIN"
  out=$($K $transport www.example.org A)
  check "kdig $t REFUSED" "$out" "status: REFUSED"
  out=$($K $transport -c CH -t TXT status.vrdns.)
  check "kdig $t CH TXT status.vrdns." "$out" '"replica=0 view=0 status=normal primary=0 op=0 commit=0"'
done

# The 40-record RRset: over 512 bytes, so UDP without EDNS is truncated (TC, no answers);
# TCP gets all of it.
out=$($D +noedns +ignore big.example.test A)
check "dig udp big: TC" "$out" "flags: qr aa tc"
check "dig udp big: empty answer" "$out" "ANSWER: 0,"
out=$($D +noedns +tcp big.example.test A)
check "dig tcp big: 40 answers" "$out" "ANSWER: 40,"
check_not "dig tcp big: no TC" "$out" "flags:[^;]* tc"
out=$($K +noedns +ignore big.example.test A)
check "kdig udp big: TC" "$out" "Flags: qr aa tc"
out=$($K +noedns +tcp big.example.test A)
check "kdig tcp big: 40 answers" "$out" "ANSWER: 40;"
# ~2 kB of TXT: truncated even at EDNS 1232, complete over TCP.
out=$($D +bufsize=1232 +ignore bigtxt.example.test TXT)
check "dig udp bigtxt EDNS: TC" "$out" "flags: qr aa tc"
out=$($D +tcp bigtxt.example.test TXT)
check "dig tcp bigtxt: 5 answers" "$out" "ANSWER: 5,"

# --- DNS cookies (RFC 7873/9018): on by default --------------------------------------------
# dig sends a client cookie with every query and says "(good)" when the answer returns it.
for transport in "" "+tcp"; do
  t=${transport:-udp}
  out=$($D $transport www.example.test A)
  check "dig $t cookie answered" "$out" "^; COOKIE: [0-9a-f]{48} \(good\)$"
done
out=$($D +cookie=0102030405060708 www.example.test A)
cookie=$(awk '/^; COOKIE:/ {print $3}' <<<"$out")
check "dig cookie: ours for its client cookie" "$cookie" "^0102030405060708[0-9a-f]{32}$"
# Sent back, the server cookie is valid, and young, so echoed as it came.
out=$($D +cookie="$cookie" www.example.test A)
check "dig cookie sent back: echoed" "$out" "^; COOKIE: $cookie \(good\)$"
check "dig cookie sent back: answered" "$out" "status: NOERROR"
out=$($D +nocookie www.example.test A)
check_not "dig +nocookie: none back" "$out" "COOKIE"
# RFC 7873 §5.2.2: a cookie of no valid length is FORMERR.
out=$($D +cookie=0102030405 www.example.test A)
check "dig malformed cookie: FORMERR" "$out" "status: FORMERR"
out=$($K +cookie www.example.test A)
check "kdig cookie answered" "$out" ";; COOKIE: [0-9A-Fa-f]{48}"

# --- NSID (RFC 5001) and Extended DNS Errors (RFC 8914) ---------------------------------------
out=$($D +nsid www.example.test A)
check "dig +nsid" "$out" '^; NSID: .*\("itest-nsid"\)$'
out=$($D www.example.test A)
check_not "no NSID unasked" "$out" "NSID"
out=$($K +nsid www.example.test A)
check "kdig +nsid" "$out" ';; NSID: [0-9A-Fa-f]+ "itest-nsid"'
out=$($D www.example.org A)
check "dig REFUSED: EDE Not Authoritative" "$out" "^; EDE: 20 \(Not Authoritative\)"

# --- stop: SIGTERM must give a clean exit 0 ----------------------------------------------
node_stop

# --- [cookies] reaches the server: nodes (here: two runs) that share a secret accept each
# other's cookies. Then, on one running node, RFC 9018's secret roll by SIGHUP, no restart:
# another secret beside the old one as previous_secret renews the old cookies, the old one
# gone makes them invalid, enabled = false sends none; [dns] nsid is reloaded with it. -------
ask_cookie() {   # ask_cookie <cookie to send>: sets COOKIE to the answer's
  COOKIE=$(dig @127.0.0.1 -p "$PORT" +norec +time=2 +tries=1 +cookie="$1" www.example.test A |
           awk '/^; COOKIE:/ {print $3}')
}
cookies_counted() {   # cookies_counted <result>: vrdns_dns_cookies_total{result="<result>"}
  python3 -c 'import sys, urllib.request
text = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=3).read().decode()
for line in text.splitlines():
    if line.startswith("vrdns_dns_cookies_total{result=\"%s\"} " % sys.argv[2]): print(line.split(" ")[1])' \
    "$((PORT + 2))" "$1"
}
old='secret = "e5e973e5a6b2a43f48e7dc849e37bfcf"'
new='secret = "dd3bdf9344b678b185a6f5cb60fca715"'
stats='[stats]
listen = "127.0.0.1:@PORT2@"'
node_start "[cookies]
$old
$stats"
ask_cookie 0102030405060708; first=$COOKIE
check "cookie from a node with a set secret" "$first" "^0102030405060708[0-9a-f]{32}$"
node_stop
node_start "[cookies]
$old
$stats"
ask_cookie "$first"
check "the same secret after a restart: the cookie is valid (echoed)" "$COOKIE" "^$first$"

NODE_DNS_EXTRA='nsid = "itest-nsid-2"'
if node_reload "[cookies]
$new
previous_${old}
$stats" "NSID and cookies replaced"; then pass "SIGHUP: NSID and cookies replaced"
else fail "no reload of NSID and cookies: $(tail -3 "$TMP/err")"; fi
out=$(dig @127.0.0.1 -p "$PORT" +norec +time=2 +tries=1 +nsid www.example.test A)
check "dig +nsid after the reload" "$out" '^; NSID: .*\("itest-nsid-2"\)$'
invalid_before=$(cookies_counted invalid)
ask_cookie "$first"; rolled=$COOKIE
check "rolled: the previous secret's cookie is renewed under the new one" "$rolled" \
  "^0102030405060708[0-9a-f]{32}$"
check_not "rolled: renewed, not echoed" "$rolled" "^$first$"
ask_cookie "$rolled"
check "rolled: the renewed cookie is valid (echoed)" "$COOKIE" "^$rolled$"
[ "$(cookies_counted invalid)" = "$invalid_before" ] && pass "rolled: no cookie counted invalid" ||
  fail "rolled: invalid cookies $invalid_before -> $(cookies_counted invalid)"

if node_reload "[cookies]
$new
$stats" "NSID and cookies replaced"; then pass "SIGHUP: previous_secret removed"
else fail "no reload without previous_secret: $(tail -3 "$TMP/err")"; fi
ask_cookie "$rolled"
check "the new secret alone: its cookie is still valid (echoed)" "$COOKIE" "^$rolled$"
ask_cookie "$first"
check "the old secret gone: a fresh cookie" "$COOKIE" "^0102030405060708[0-9a-f]{32}$"
check_not "the old secret gone: not the old cookie" "$COOKIE" "^$first$"
[ "$(cookies_counted invalid)" = "$((invalid_before + 1))" ] &&
  pass "the old secret gone: its cookie counted invalid" ||
  fail "invalid cookies $invalid_before -> $(cookies_counted invalid), expected one more"

if node_reload "[cookies]
enabled = false
$stats" "NSID and cookies replaced"; then pass "SIGHUP: cookies off"
else fail "no reload with cookies off: $(tail -3 "$TMP/err")"; fi
ask_cookie "$rolled"
[ -z "$COOKIE" ] && pass "enabled = false: no cookie" || fail "enabled = false sent a cookie: $COOKIE"

# Without a configured secret a node has a random one, kept across reloads (an NSID change
# here); a configured secret that is removed is not kept (it may have leaked).
node_reload "$stats" "NSID and cookies replaced" && pass "SIGHUP: cookies on, no secret" ||
  fail "no reload turning cookies on: $(tail -3 "$TMP/err")"
ask_cookie 0102030405060708; random=$COOKIE
check "a random secret: a cookie" "$random" "^0102030405060708[0-9a-f]{32}$"
NODE_DNS_EXTRA='nsid = "itest-nsid-3"'
node_reload "$stats" "NSID and cookies replaced" && pass "SIGHUP: NSID changed" ||
  fail "no reload of the NSID: $(tail -3 "$TMP/err")"
out=$(dig @127.0.0.1 -p "$PORT" +norec +time=2 +tries=1 +nsid www.example.test A)
check "dig +nsid after the second reload" "$out" '^; NSID: .*\("itest-nsid-3"\)$'
ask_cookie "$random"
check "the random secret is kept by a reload (echoed)" "$COOKIE" "^$random$"
node_reload "[cookies]
$new
$stats" "NSID and cookies replaced" || fail "no reload to a set secret: $(tail -3 "$TMP/err")"
ask_cookie 0102030405060708; set=$COOKIE
check_not "a set secret replaces the random one" "$set" "^$random$"
node_reload "$stats" "NSID and cookies replaced" || fail "no reload removing the secret"
ask_cookie "$set"
check "the removed secret: a fresh cookie" "$COOKIE" "^0102030405060708[0-9a-f]{32}$"
check_not "the removed secret is not kept" "$COOKIE" "^$set$"
grep -q "takes effect when the node restarts" "$TMP/err" &&
  fail "a reload of NSID or cookies was deferred: $(grep "takes effect" "$TMP/err" | head -2)"
node_stop

if [ "$FAILURES" -ne 0 ]; then echo "$FAILURES check(s) failed"; exit 1; fi
echo "all checks passed"
