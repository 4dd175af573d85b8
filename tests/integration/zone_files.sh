#!/usr/bin/env bash
# Zone files as BIND reads them: a file with BIND's $GENERATE in every form (steps, offsets,
# widths, bases d o x X n N, $$ and \$, a TTL and class, under a changed $ORIGIN) and an
# $INCLUDE with a domain is loaded by `vrdns check-zone --print` and by BIND's
# `named-checkzone -D`; BIND's expanded output, loaded by vrdns again, must give the very same
# canonical zone, byte for byte. Then check-zone's errors: file and line, exit 1.
# Usage: bash zone_files.sh <build-dir> <source-dir>
set -u
BUILD=$(cd "${1:?build dir}" && pwd)
VRDNS="$BUILD/vrdns"
[ -x "$VRDNS" ] || { echo "FAIL: $VRDNS not built"; exit 1; }
command -v named-checkzone >/dev/null || { echo "FAIL: named-checkzone missing (bind9-utils)"; exit 1; }

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
FAILURES=0
fail() { echo "FAIL: $*"; FAILURES=$((FAILURES + 1)); }
pass() { echo "ok: $*"; }

mkdir -p "$TMP/parts"
cat > "$TMP/example.zone" <<'ZONE'
$TTL 300
@ SOA ns1 hostmaster ( 2026112801 7200 900 1209600 300 )
@ NS ns1
ns1 A 192.0.2.1
$GENERATE 1-20 host-$ A 192.0.2.$ ; a DHCP pool
$GENERATE 10-30/10 ${0,3} 60 IN TXT "n=$"
$GENERATE 3-40/7 x${5,4,x} CNAME y${-3,0,X}
$GENERATE 0-17 ${0,7,n}.v6 PTR h$.example.test.
$GENERATE 0-17 ${0,0,N}.v6b PTR h$.example.test.
$GENERATE 3-4 d$$ A 192.0.2.$
$GENERATE 1-2 esc\$$ A 192.0.2.$
$INCLUDE parts/more.inc sub
after A 192.0.2.200
$ORIGIN rev.example.test.
$GENERATE 0-9 ${0,3,o} PTR h$.example.test.
ZONE
cat > "$TMP/parts/more.inc" <<'ZONE'
$GENERATE 1-3 m$ AAAA 2001:db8::$
@ MX 10 mail
ZONE

ours=$("$VRDNS" check-zone example.test "$TMP/example.zone" --print) || fail "check-zone --print"
summary=$("$VRDNS" check-zone example.test "$TMP/example.zone")
grep -q "serial 2026112801, 87 records" <<<"$summary" && pass "check-zone summary" ||
  fail "check-zone summary: $summary"
(cd "$TMP" && named-checkzone -q -D -o "$TMP/bind.zone" example.test example.zone) ||
  fail "named-checkzone refused the file"
theirs=$("$VRDNS" check-zone example.test "$TMP/bind.zone" --print) || fail "check-zone of BIND's output"
if [ -n "$ours" ] && [ "$ours" = "$theirs" ]; then
  pass "vrdns expands the file as BIND does ($(wc -l <<<"$ours") lines)"
else
  fail "vrdns and BIND differ:"
  diff <(echo "$ours") <(echo "$theirs") | head -20 | sed 's/^/    /'
fi

# Errors: the file and line, on stderr, and exit 1.
printf '$TTL 300\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\n$GENERATE 250-260 h$ A 192.0.2.$\n' > "$TMP/bad.zone"
err=$("$VRDNS" check-zone example.test "$TMP/bad.zone" 2>&1 >/dev/null); rc=$?
[ $rc -eq 1 ] && grep -q "bad.zone:4: \$GENERATE at 256" <<<"$err" && pass "a bad \$GENERATE: $err" ||
  fail "a bad \$GENERATE: rc=$rc '$err'"
printf '@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\n$INCLUDE parts/none.inc\n' > "$TMP/missing.zone"
err=$("$VRDNS" check-zone example.test "$TMP/missing.zone" 2>&1 >/dev/null); rc=$?
[ $rc -eq 1 ] && grep -q "missing.zone:3: .*none.inc" <<<"$err" && pass "a missing include: $err" ||
  fail "a missing include: rc=$rc '$err'"
"$VRDNS" check-zone example.test >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && pass "usage error exits 2" || fail "usage error: rc=$rc"

[ $FAILURES -eq 0 ] && echo "PASS" || echo "FAILURES: $FAILURES"
[ $FAILURES -eq 0 ]
