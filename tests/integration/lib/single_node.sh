# Sourced by the one-node integration scripts (not a test itself): starts one real `vrdns
# --config` on free 127.0.0.1 ports and stops it, waiting for events, never sleeping.
#
# The caller sets VRDNS, TMP, ZONE and defines fail/pass. node_start <extra TOML> writes
# $TMP/node.toml (the example zone, one replica, DNS on $PORT, the replica on $PORT+1, and
# <extra TOML> appended, where @PORT2@ stands for $PORT+2; NODE_DNS_EXTRA, if set, goes into
# its [dns] table) and starts the node; it sets PORT,
# PID and READY (the ready line), retrying on other ports when one is taken. node_stop sends
# SIGTERM and checks the exit status 0. node_reload <extra TOML> <ERE> rewrites the running
# node's config (same ports) and sends SIGHUP, then waits (bounded) for a new log line matching
# ERE.

# shellcheck shell=bash
# node_toml <port> <extra TOML>: writes $TMP/node.toml for DNS on <port>.
node_toml() {
  local try=$1 port2=$(($1 + 2))
  local extra=${2//@PORT2@/$port2}
  cat > "$TMP/node.toml" <<TOML
[cluster]
replicas = ["127.0.0.1:$((try + 1))"]
[node]
replica = 0
name = "itest-node"
data_dir = "data"
[dns]
listen = ["127.0.0.1:$try"]
udp_workers = 2
${NODE_DNS_EXTRA:-}
[[zone]]
name = "example.test."
file = "$ZONE"
$extra
TOML
}

node_start() {
  local extra=$1 try attempt
  PORT=""
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    try=$((20000 + RANDOM % 40000))
    node_toml "$try" "$extra"
    rm -rf "$TMP/out" "$TMP/data"
    mkfifo "$TMP/out"
    "$VRDNS" --config "$TMP/node.toml" > "$TMP/out" 2> "$TMP/err" &
    PID=$!
    exec 3< "$TMP/out"       # the ready line arrives through this fifo
    if read -r -t 20 -u 3 READY; then
      PORT=$try
      return 0
    fi
    # No ready line: vrdns exited (EOF on the fifo) or hung (timeout).
    exec 3<&-
    kill -KILL "$PID" 2>/dev/null
    wait "$PID" 2>/dev/null
    PID=""
    if grep -q "cannot bind" "$TMP/err"; then
      echo "port $try taken, trying another"
      continue
    fi
    echo "FAIL: vrdns did not start:"; cat "$TMP/err"; exit 1
  done
  echo "FAIL: no free port found"; exit 1
}

# vrdns closes its stdout (the fifo) when it exits: EOF on fd 3 is the event to wait for,
# bounded by read's timeout (status > 128 means it timed out).
node_stop() {
  local rest read_rc rc
  kill -TERM "$PID"
  read -r -t 15 -u 3 rest
  read_rc=$?
  if [ "$read_rc" -gt 128 ]; then fail "vrdns still running 15 s after SIGTERM"; kill -KILL "$PID"; fi
  wait "$PID"
  rc=$?
  exec 3<&-
  PID=""
  if [ "$rc" -eq 0 ]; then pass "SIGTERM -> exit 0"; else fail "SIGTERM -> exit $rc"; cat "$TMP/err"; fi
}

node_reload() {
  local extra=$1 pattern=$2 before
  node_toml "$PORT" "$extra"
  before=$(grep -cE -- "$pattern" "$TMP/err")
  kill -HUP "$PID"
  for _ in $(seq 50); do
    [ "$(grep -cE -- "$pattern" "$TMP/err")" -gt "$before" ] && return 0
    sleep 0.1
  done
  return 1
}

# For EXIT traps: kill the node if it still runs, remove $TMP.
node_cleanup() {
  exec 3<&- 2>/dev/null
  if [ -n "${PID:-}" ] && kill -0 "$PID" 2>/dev/null; then kill -KILL "$PID"; fi
  rm -rf "$TMP"
}
