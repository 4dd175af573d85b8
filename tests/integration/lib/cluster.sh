# Sourced by the cluster integration scripts (not a test itself: ctest registers only
# tests/integration/*.sh). Starts, queries, updates and stops a 3-node vrdns cluster of real
# processes, each optionally inside a network namespace.
#
# The caller sets BUILD and SRC, calls cluster_init, fills in per node i (0..2):
#   DNS_ADDR[i] DNS_PORT[i]  where node i serves DNS
#   NODE_NS[i]               network namespace node i runs in ("" = this one)
#   CLIENT_NS[i]             namespace dig/nsupdate run in to reach node i ("" = this one)
# then writes configs with write_node_config and starts nodes with start_node.
# Every wait here is a poll for an event with a bound on tries and on each try's time.

# shellcheck shell=bash
SECRET="uqjV+TYQBrS28PCMsYonX//TMmtt4GFvzp50/uVRovI="
KEY_OPT=(-y "hmac-sha256:update-key.:$SECRET")
PIDS=("" "" "")
DNS_ADDR=("" "" "")
DNS_PORT=("" "" "")
NODE_NS=("" "" "")
CLIENT_NS=("" "" "")
ERR_START=(0 0 0)   # size of node i's stderr log when it was last started
FAILURES=0
# Failure detection timings of the configs written below. The primary timeout is twice the
# default: the test machine is shared, and a loaded one must not see spurious view changes.
HEARTBEAT_MS=50
PRIMARY_TIMEOUT_MS=500
# Optional [replication] keys of the configs written below; empty = the node's default. The
# durability tests set small values so that checkpoints and log cuts happen within seconds.
CHECKPOINT_INTERVAL=""
LOG_MARGIN=""
# Optional TOML appended verbatim to every config written below (e.g. more [[key]]s), then
# node i's own NODE_EXTRA_CONFIG[i] (e.g. its [transfer] table); empty = none.
EXTRA_CONFIG=""
NODE_EXTRA_CONFIG=("" "" "")
# Node i's statistics port ([stats] listen on 127.0.0.1) if not empty; metric_of reads it.
STATS_PORT=("" "" "")
# Node i's zone file for example.test. if not empty, else $ZONE (the example zone).
NODE_ZONE=("" "" "")
# The TSIG keys and [update] table of the configs written below; empty = update-key. ($SECRET),
# allowed to UPDATE (what KEY_OPT signs with).
AUTH_CONFIG=""

fail() { echo "FAIL: $*"; FAILURES=$((FAILURES + 1)); }
pass() { echo "ok: $*"; }

# Checks the binary and the client tools; makes the scratch directory $TMP.
cluster_init() {
  VRDNS="$BUILD/vrdns"
  ZONE="$SRC/configs/example.test.zone"
  [ -x "$VRDNS" ] || { echo "FAIL: $VRDNS not built"; exit 1; }
  local tool
  for tool in dig nsupdate; do
    command -v "$tool" >/dev/null || { echo "FAIL: $tool missing"; exit 1; }
  done
  TMP=$(mktemp -d)
}

# SIGKILLs the nodes still running: only the PIDs we started.
kill_running_nodes() {
  local i
  for i in 0 1 2; do
    eval "exec $((3 + i))<&-" 2>/dev/null
    if [ -n "${PIDS[$i]}" ] && kill -0 "${PIDS[$i]}" 2>/dev/null; then
      kill -KILL "${PIDS[$i]}" 2>/dev/null
      wait "${PIDS[$i]}" 2>/dev/null
    fi
    PIDS[$i]=""
  done
}

# For EXIT traps: kill what still runs, remove $TMP.
cluster_cleanup() {
  kill_running_nodes
  if [ -n "${TMP:-}" ]; then rm -rf "$TMP"; fi
}

# Runs "$@" in namespace $1 ("" = here). `ip netns exec` execs the command (no fork), so a
# background job's $! is the command's own PID.
in_ns() {
  local ns=$1; shift
  if [ -n "$ns" ]; then ip netns exec "$ns" "$@"; else "$@"; fi
}

auth_config() {
  if [ -n "$AUTH_CONFIG" ]; then echo "$AUTH_CONFIG"; return; fi
  printf '[[key]]\nname = "update-key."\nalgorithm = "hmac-sha256"\nsecret = "%s"\n' "$SECRET"
  printf '[update]\nallow = ["update-key."]\n'
}

# write_node_config <i> <replicas toml list> <update_timeout_ms>
write_node_config() {
  local i=$1 replicas=$2 update_timeout=$3
  cat > "$TMP/node$i.toml" <<TOML
[cluster]
replicas = [$replicas]
[node]
replica = $i
data_dir = "data$i"
[dns]
listen = ["${DNS_ADDR[$i]}:${DNS_PORT[$i]}"]
udp_workers = 1
[replication]
heartbeat_ms = $HEARTBEAT_MS
primary_timeout_ms = $PRIMARY_TIMEOUT_MS
update_timeout_ms = $update_timeout
${CHECKPOINT_INTERVAL:+checkpoint_interval = $CHECKPOINT_INTERVAL}
${LOG_MARGIN:+log_margin = $LOG_MARGIN}
[[zone]]
name = "example.test."
file = "${NODE_ZONE[$i]:-$ZONE}"
$(auth_config)
$EXTRA_CONFIG
${NODE_EXTRA_CONFIG[$i]}
${STATS_PORT[$i]:+[stats]
listen = \"127.0.0.1:${STATS_PORT[$i]}\"}
TOML
}

# start_node <i>: starts node i on $TMP/node<i>.toml (keeping its data_dir, so a restart
# recovers) and waits (bounded) for its ready line, read from a fifo on fd 3+i. That fd also
# tells stop_node when the process has gone (EOF). Returns 1 if no ready line came.
start_node() {
  local i=$1 line
  rm -f "$TMP/out$i"
  mkfifo "$TMP/out$i"
  ERR_START[i]=$(stat -c %s "$TMP/err$i" 2>/dev/null || echo 0)
  # Simple commands, not in_ns: a function run in the background is a subshell, and $! would be
  # that subshell's PID instead of the node's.
  if [ -n "${NODE_NS[$i]}" ]; then
    ip netns exec "${NODE_NS[$i]}" "$VRDNS" --config "$TMP/node$i.toml" > "$TMP/out$i" 2>> "$TMP/err$i" &
  else
    "$VRDNS" --config "$TMP/node$i.toml" > "$TMP/out$i" 2>> "$TMP/err$i" &
  fi
  PIDS[$i]=$!
  eval "exec $((3 + i))< \"$TMP/out$i\""
  if ! read -r -t 20 -u $((3 + i)) line; then
    echo "node $i: no ready line"
    return 1
  fi
  echo "started: $line"
  # The PID we will signal must be the node itself (ip netns exec execs it, no fork).
  [ "$(readlink "/proc/${PIDS[$i]}/exe")" = "$(readlink -f "$VRDNS")" ] ||
    fail "node $i: PID ${PIDS[$i]} is $(readlink "/proc/${PIDS[$i]}/exe"), not vrdns"
  case "$line" in
    "vrdns: replica $i serving "[0-9]*" zone(s) on ${DNS_ADDR[$i]}:${DNS_PORT[$i]} (udp+tcp)") ;;
    *) fail "ready line of node $i: '$line'" ;;
  esac
  return 0
}

# start_cluster <update_timeout_ms>: writes the configs of three nodes on 127.0.0.1 (fresh
# data_dirs and logs) and starts them; on a port clash (another program took one of the six
# ports) it tries other ports, at most 5 times. Exits the script if no cluster came up. The
# ports lie below Linux's ephemeral range (32768..60999), so that the clients' own sockets
# cannot take a node's port while that node is down for a restart.
start_cluster() {
  local update_timeout=$1 base replicas ok i
  for _ in 1 2 3 4 5; do
    base=$((20000 + RANDOM % 12000))
    replicas="\"127.0.0.1:$((base + 3))\", \"127.0.0.1:$((base + 4))\", \"127.0.0.1:$((base + 5))\""
    ok=1
    for i in 0 1 2; do
      DNS_ADDR[i]=127.0.0.1
      DNS_PORT[i]=$((base + i))
      write_node_config "$i" "$replicas" "$update_timeout"
      rm -rf "$TMP/data$i" "$TMP/err$i"
      start_node "$i" || { ok=0; break; }
    done
    if [ "$ok" -eq 1 ]; then
      CLUSTER_REPLICAS=$replicas CLUSTER_UPDATE_TIMEOUT=$update_timeout
      return 0
    fi
    kill_running_nodes
    grep -q "cannot bind" "$TMP"/err* || { echo "FAIL: vrdns did not start"; cat "$TMP"/err*; exit 1; }
  done
  echo "FAIL: no free ports after 5 attempts"
  exit 1
}

# rewrite_config <i>: writes node i's config again (after a change to NODE_ZONE[i] and the like)
# for the cluster start_cluster started; a restart of the node reads it.
rewrite_config() { write_node_config "$1" "$CLUSTER_REPLICAS" "$CLUSTER_UPDATE_TIMEOUT"; }

# kill_node <i>: SIGKILL, reaped at once (a crash, not a shutdown).
kill_node() {
  local i=$1
  kill -KILL "${PIDS[$i]}"
  wait "${PIDS[$i]}" 2>/dev/null
  eval "exec $((3 + i))<&-"
  PIDS[$i]=""
}

# stop_node <i>: SIGTERM, then the node must close stdout within 10 s and exit 0.
stop_node() {
  local i=$1 rest rc
  kill -TERM "${PIDS[$i]}"
  read -r -t 10 -u $((3 + i)) rest
  if [ $? -gt 128 ]; then fail "node $i still running 10 s after SIGTERM"; kill -KILL "${PIDS[$i]}"; fi
  wait "${PIDS[$i]}"
  rc=$?
  eval "exec $((3 + i))<&-"
  PIDS[$i]=""
  if [ "$rc" -eq 0 ]; then pass "node $i: SIGTERM -> exit 0"
  else fail "node $i: SIGTERM -> exit $rc"; tail -20 "$TMP/err$i"; fi
}

# dq <i> <dig args...>: one query to node i, one try of at most 1 s.
dq() {
  local i=$1; shift
  in_ns "${CLIENT_NS[$i]}" dig @"${DNS_ADDR[$i]}" -p "${DNS_PORT[$i]}" +time=1 +tries=1 "$@"
}
status_of() { dq "$1" +short CH TXT status.vrdns. | tr -d '"'; }
# field_of <status line> <field>: e.g. field_of "$s" view
field_of() { local f; for f in $1; do case "$f" in "$2="*) echo "${f#*=}"; return ;; esac; done; }

# nsupd <i> <record> [nsupdate options...]: a signed "update add" sent to node i. Prints
# nsupdate's output; its exit status is nsupdate's.
nsupd() {
  local i=$1 rec=$2; shift 2
  printf 'server %s %s\nzone example.test.\nupdate add %s\nsend\n' \
    "${DNS_ADDR[$i]}" "${DNS_PORT[$i]}" "$rec" |
    in_ns "${CLIENT_NS[$i]}" nsupdate "${KEY_OPT[@]}" "$@" 2>&1
}

# update_ok <i> <record>: an update that must succeed. nsupdate tries 3 times, 3 s apart; a
# view change in progress can eat one try, so up to 3 calls.
update_ok() {
  local i=$1 rec=$2 out rc
  for _ in 1 2 3; do
    out=$(nsupd "$i" "$rec" -t 9 -u 3)
    rc=$?
    [ "$rc" -eq 0 ] && break
  done
  if [ "$rc" -eq 0 ]; then pass "update via node $i: NOERROR ($rec)"; return 0; fi
  fail "update via node $i ($rec): exit $rc: $out"
  return 1
}

# timed_update <i> <record>: one single-try UPDATE (no client retry, 8 s client timeout, longer
# than any update_timeout_ms used here). Sets UPD_OUT, UPD_RC and UPD_MS (wall time).
timed_update() {
  local i=$1 rec=$2 t0 t1
  t0=$(date +%s%N)
  UPD_OUT=$(nsupd "$i" "$rec" -r 0 -u 8 -t 8)
  UPD_RC=$?
  t1=$(date +%s%N)
  UPD_MS=$(((t1 - t0) / 1000000))
}

# expect_servfail_in_bound <i> <record> <update_timeout_ms>: the UPDATE gets SERVFAIL, not
# earlier than the bound (minus 100 ms of clock slack) and not later than bound + 1.5 s.
expect_servfail_in_bound() {
  local i=$1 rec=$2 bound=$3
  timed_update "$i" "$rec"
  case "$UPD_OUT" in
    *SERVFAIL*) pass "node $i: UPDATE without quorum -> SERVFAIL after $UPD_MS ms" ;;
    *) fail "node $i: UPDATE without quorum: exit $UPD_RC after $UPD_MS ms: $UPD_OUT" ;;
  esac
  [ "$UPD_RC" -ne 0 ] || fail "node $i: nsupdate exit 0 without quorum"
  if [ "$UPD_MS" -ge $((bound - 100)) ] && [ "$UPD_MS" -le $((bound + 1500)) ]; then
    pass "node $i: SERVFAIL took $UPD_MS ms (bound $bound ms)"
  else
    fail "node $i: SERVFAIL took $UPD_MS ms, expected $((bound - 100))..$((bound + 1500))"
  fi
}

# metric_of <i> <series>: the value of one series (e.g. 'vrdns_notify_answered_total') of node
# i's statistics endpoint (STATS_PORT[i]); empty if it has none.
metric_of() {
  python3 -c 'import sys, urllib.request
text = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=3).read().decode()
for line in text.splitlines():
    if line.split(" ")[0] == sys.argv[2]: print(line.split(" ")[1])' "${STATS_PORT[$1]}" "$2" 2>/dev/null
}

# A poll loop of <tries> polls 0.1 s apart also ends after tries/10 + 2 s of wall time: on a
# loaded machine each poll's own queries take time too.
poll_deadline() { echo $((SECONDS + $1 / 10 + 2)); }

# served <i> <name> <type> <expected +short answer>: true if node i answers exactly that.
served() { [ "$(dq "$1" +short "$2" "$3")" = "$4" ]; }

# wait_served <i> <name> <type> <expected>: bounded wait (50 x 0.1 s + query time) for node i to
# serve the answer (a backup learns a commit from the next Prepare or heartbeat).
wait_served() {
  local i=$1 name=$2 type=$3 want=$4 deadline
  deadline=$(poll_deadline 50)
  for _ in $(seq 50); do
    [ "$SECONDS" -le "$deadline" ] || break
    served "$i" "$name" "$type" "$want" && { pass "node $i serves $name $type $want"; return 0; }
    sleep 0.1
  done
  fail "node $i: $name $type: '$(dq "$i" +short "$name" "$type")', expected '$want'"
  return 1
}

# wait_log <i> <grep -E pattern> [tries]: bounded wait (0.1 s apart, at most tries, default 30)
# for a line in node i's log since its last start.
wait_log() {
  local i=$1 pattern=$2 tries=${3:-30} deadline
  deadline=$(poll_deadline "$tries")
  for _ in $(seq "$tries"); do
    [ "$SECONDS" -le "$deadline" ] || break
    tail -c +$((ERR_START[i] + 1)) "$TMP/err$i" | grep -qE "$pattern" && return 0
    sleep 0.1
  done
  return 1
}

# wait_status <i> <tries> <pattern>: polls node i's status line (0.1 s apart, at most <tries>)
# until it matches the shell pattern. Leaves the last line in STATUS. True on a match.
wait_status() {
  local i=$1 tries=$2 pattern=$3 deadline
  deadline=$(poll_deadline "$tries")
  for _ in $(seq "$tries"); do
    [ "$SECONDS" -le "$deadline" ] || break
    STATUS=$(status_of "$i")
    # shellcheck disable=SC2254
    case "$STATUS" in $pattern) return 0 ;; esac
    sleep 0.1
  done
  return 1
}

# wait_connected <nodes...>: bounded wait until each listed node logged >= 2 peer connections
# since its last start. The log is appended across restarts, so only the bytes after
# ERR_START[i] count (not "after the last start line": threads' lines interleave in the log).
wait_connected() {
  local i n
  for _ in $(seq 100); do
    n=0
    for i in "$@"; do
      [ "$(tail -c +$((ERR_START[i] + 1)) "$TMP/err$i" | grep -c "peer [0-9] connected")" -ge 2 ] &&
        n=$((n + 1))
    done
    [ "$n" -eq $# ] && return 0
    sleep 0.1
  done
  return 1
}

# wait_agree <tries> <nodes...>: polls (0.1 s apart, at most <tries>) until the listed nodes all
# report status=normal with the same view, primary, op and commit. Leaves their status lines in
# AGREED (joined with " / ") and the common view and primary in AGREE_VIEW, AGREE_PRIMARY.
wait_agree() {
  local tries=$1 i s first key same deadline
  shift
  deadline=$(poll_deadline "$tries")
  for _ in $(seq "$tries"); do
    [ "$SECONDS" -le "$deadline" ] || break
    AGREED="" first="" same=1
    for i in "$@"; do
      s=$(status_of "$i")
      AGREED="${AGREED:+$AGREED / }$s"
      key="view=$(field_of "$s" view) status=$(field_of "$s" status) primary=$(field_of "$s" primary) op=${s#* op=}"
      [ -z "$first" ] && first=$key
      [ "$key" = "$first" ] || same=0
    done
    case "$first" in *" status=normal "*) ;; *) same=0 ;; esac
    if [ "$same" -eq 1 ]; then
      AGREE_VIEW=$(field_of "$s" view) AGREE_PRIMARY=$(field_of "$s" primary)
      return 0
    fi
    sleep 0.1
  done
  return 1
}

finish() {
  if [ "$FAILURES" -ne 0 ]; then
    echo "$FAILURES check(s) failed; node logs:"
    local i
    for i in 0 1 2; do echo "--- node $i stderr"; tail -40 "$TMP/err$i" 2>/dev/null; done
    exit 1
  fi
  echo "all checks passed"
  exit 0
}
