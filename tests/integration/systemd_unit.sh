#!/usr/bin/env bash
# configs/vrdns.service is a valid systemd unit (systemd-analyze verify, with the binary path
# pointed at this build) whose reload sends SIGHUP and whose stop gives the node time to exit
# on its own. Skipped (exit 77) where systemd-analyze is missing.
# Usage: bash systemd_unit.sh <build-dir> <source-dir>
set -u
BUILD=$(cd "${1:?build dir}" && pwd)
SRC=$(cd "${2:?source dir}" && pwd)
UNIT="$SRC/configs/vrdns.service"
command -v systemd-analyze >/dev/null || { echo "SKIPPED: no systemd-analyze"; exit 77; }
[ -x "$BUILD/vrdns" ] || { echo "FAIL: $BUILD/vrdns not built"; exit 1; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
FAILURES=0
fail() { echo "FAIL: $*"; FAILURES=$((FAILURES + 1)); }
pass() { echo "ok: $*"; }

sed "s|/usr/local/bin/vrdns|$BUILD/vrdns|g" "$UNIT" > "$TMP/vrdns.service"
if out=$(systemd-analyze verify "$TMP/vrdns.service" 2>&1) && [ -z "$out" ]; then
  pass "systemd-analyze verify: no complaint"
else
  fail "systemd-analyze verify: $out"
fi
grep -q '^ExecReload=/bin/kill -HUP \$MAINPID$' "$UNIT" && pass "reload sends SIGHUP" ||
  fail "ExecReload is not SIGHUP"
grep -q '^ExecStartPre=/usr/local/bin/vrdns check-config ' "$UNIT" && pass "config checked first" ||
  fail "no check-config before start"
# The node gives up waiting for its actors 10 s after SIGTERM (app/node.cpp): systemd must
# wait longer before it kills.
stop=$(sed -n 's/^TimeoutStopSec=\([0-9]*\)s$/\1/p' "$UNIT")
[ "${stop:-0}" -gt 10 ] && pass "TimeoutStopSec ${stop}s > the node's own 10 s" ||
  fail "TimeoutStopSec '${stop}'"
echo "failures: $FAILURES"
[ "$FAILURES" -eq 0 ]
