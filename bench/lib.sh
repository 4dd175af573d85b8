# Shared helpers for the bench/ scripts (sourced, not run). Everything listens on 127.0.0.1 and
# every process started here is recorded by PID and stopped on exit.

BENCH_PIDS=()

# dnsperf, run the same way for every server under test. Its allocator gives memory back to the
# kernel after every burst (glibc trims a heap whose free top passes 128 KiB) and takes it back
# on the next one, which costs page faults and TLB shootdowns across both vCPUs: measured with
# `dnsperf -u -q 50`, ~100 us of the client's CPU per UPDATE, 5x what it needs with the trim
# threshold raised (~21 us), on a 2-core machine that the servers share with the client. Only
# the load generator's allocator changes; BIND, Knot, NSD and vrdns run as they always do.
dnsperf() {
  GLIBC_TUNABLES=glibc.malloc.trim_threshold=268435456 command dnsperf "$@"
}
# Ports free_port handed out in this run: it runs in $(...) subshells, so a file, not a variable.
FREE_PORTS_GIVEN=$(mktemp /tmp/vrdns-bench-ports.XXXXXX)

bench_cleanup() {
  local pid
  rm -f "$FREE_PORTS_GIVEN"
  for pid in "${BENCH_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${BENCH_PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  BENCH_PIDS=()
}

# free_port: prints a port on 127.0.0.1 that is free for both UDP and TCP right now.
free_port() {
  local p lo
  # Below the ephemeral range: a port picked there may be taken by an outgoing connection (a
  # replica connecting to its peers, dig's source port) before its server binds it, and that
  # server then exits at startup. Never hand out the same port twice in one run either.
  lo=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  for _ in $(seq 1 200); do
    p=$((10000 + RANDOM % (lo - 10000)))
    grep -qx "$p" "$FREE_PORTS_GIVEN" 2>/dev/null && continue
    if [ -z "$(ss -Hlnu "sport = :$p" 2>/dev/null)" ] && [ -z "$(ss -Hlnt "sport = :$p" 2>/dev/null)" ]; then
      echo "$p" >> "$FREE_PORTS_GIVEN"
      echo "$p"
      return 0
    fi
  done
  echo "no free port found" >&2
  return 1
}

# wait_for_dns PORT NAME PID: waits (bounded: 60 s) until the server on PORT answers NAME SOA;
# fails at once if process PID has exited.
wait_for_dns() {
  local port=$1 name=$2 pid=$3 deadline=$((SECONDS + 60))
  while ((SECONDS < deadline)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "server (pid $pid) exited before answering on port $port" >&2
      return 1
    fi
    # Only a real SOA answer counts: dig prints errors (e.g. "connection refused") to stdout.
    if dig @127.0.0.1 -p "$port" "$name" SOA +tries=1 +time=1 +short 2>/dev/null |
        grep -qE '^[^;].*( [0-9]+){5}$'; then
      return 0
    fi
    sleep 0.2
  done
  echo "server on port $port did not answer within 60 s" >&2
  return 1
}

# descendants PID: PID and every process below it, one per line. NSD's server processes are its
# grandchildren (main -> xfrd/server parent -> servers), so direct children are not enough.
descendants() {
  local p
  echo "$1"
  for p in $(pgrep -P "$1" 2>/dev/null); do descendants "$p"; done
}

# cpu_ticks PID: user+system clock ticks used so far by PID and all its threads, plus every
# live descendant's (NSD forks its server processes).
cpu_ticks() {
  local total=0 p v
  for p in $(descendants "$1"); do
    # fields after the ")" of comm: utime is field 14, stime 15 of the full line. A process
    # may exit between pgrep and the read: count it as 0.
    v=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}')
    total=$((total + ${v:-0}))
  done
  echo "$total"
}

# busy_ticks: clock ticks all CPUs spent not idle so far (user, nice, system, irq, softirq,
# steal). Interrupt time counts: a task's own system time includes the loopback packet delivery
# it ran, which /proc/stat books as softirq.
busy_ticks() {
  awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat
}

# peak_rss_kib PID: peak resident set (VmHWM) of PID plus all its live descendants, in KiB.
peak_rss_kib() {
  local pid=$1 total=0 p v
  for p in $(descendants "$pid"); do
    v=$(awk '/^VmHWM:/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
    total=$((total + ${v:-0}))
  done
  echo "$total"
}

# bench_require BUILD TOOL...: sets BIN to BUILD's vrdns binary; exits 1 if it or a tool is
# missing.
bench_require() {
  BIN="$1/vrdns"
  shift
  [ -x "$BIN" ] || { echo "no vrdns binary at $BIN (build first: bash .ci/build)" >&2; exit 1; }
  local tool
  for tool in "$@"; do
    type -P "$tool" >/dev/null || { echo "$tool missing (bash .ci/install)" >&2; exit 1; }
  done
}

start_nsd() {   # DIR PORT THREADS ZONE_NAME ZONE_FILE -> sets STARTED_PID
  local dir=$1 port=$2 threads=$3 zname=$4 zfile=$5
  mkdir -p "$dir"
  cat > "$dir/nsd.conf" <<CONF
server:
  ip-address: 127.0.0.1@$port
  server-count: $threads
  reuseport: yes
  username: ""
  chroot: ""
  zonesdir: "$dir"
  pidfile: "$dir/nsd.pid"
  xfrdfile: "$dir/xfrd.state"
  zonelistfile: "$dir/zone.list"
  database: ""
  logfile: "$dir/nsd.log"
  rrl-ratelimit: 0
  minimal-responses: yes
  verbosity: 0
remote-control:
  control-enable: no
zone:
  name: $zname
  zonefile: $zfile
${BENCH_XFR:+  provide-xfr: 127.0.0.1 NOKEY}
CONF
  nsd -d -c "$dir/nsd.conf" >"$dir/nsd.out" 2>&1 &
  STARTED_PID=$!
  BENCH_PIDS+=("$STARTED_PID")
}

start_knot() {  # DIR PORT THREADS ZONE_NAME ZONE_FILE -> sets STARTED_PID
  local dir=$1 port=$2 threads=$3 zname=$4 zfile=$5
  mkdir -p "$dir/storage" "$dir/run"
  cat > "$dir/knot.conf" <<CONF
server:
  listen: 127.0.0.1@$port
  rundir: "$dir/run"
  udp-workers: $threads
  tcp-workers: 1
  background-workers: 1
log:
  - target: "$dir/knot.log"
    any: warning
database:
  storage: "$dir/storage"
template:
  - id: default
    storage: "$dir"
    semantic-checks: off
    journal-content: none
    zonefile-sync: -1
${BENCH_XFR:+acl:
  - id: xfr
    address: 127.0.0.1
    action: transfer}
zone:
  - domain: $zname
    file: "$zfile"
${BENCH_XFR:+    acl: xfr}
CONF
  knotd -c "$dir/knot.conf" >"$dir/knot.out" 2>&1 &
  STARTED_PID=$!
  BENCH_PIDS+=("$STARTED_PID")
}

start_vrdns() { # BIN DIR PORT THREADS ZONE_NAME ZONE_FILE -> sets STARTED_PID
  local bin=$1 dir=$2 port=$3 threads=$4 zname=$5 zfile=$6
  local vr_port
  vr_port=$(free_port)
  mkdir -p "$dir"
  cat > "$dir/vrdns.toml" <<CONF
[cluster]
replicas = ["127.0.0.1:$vr_port"]
[node]
replica = 0
data_dir = "$dir/data"
[dns]
listen = ["127.0.0.1:$port"]
udp_workers = $threads
[[zone]]
name = "$zname"
file = "$zfile"
${BENCH_XFR:+[transfer]
allow_addresses = [\"127.0.0.1\"]}
CONF
  "$bin" --config "$dir/vrdns.toml" >"$dir/vrdns.out" 2>&1 &
  STARTED_PID=$!
  BENCH_PIDS+=("$STARTED_PID")
}

# running PID: the process exists and has not exited (a zombie has).
running() {
  local stat
  { read -r stat < "/proc/$1/stat"; } 2>/dev/null || return 1
  stat=${stat##*) }
  [ "${stat%% *}" != Z ]
}

# bench_stop PID [SIGNAL]: stops one process started here (SIGTERM or SIGNAL, then waits) and
# forgets it, so the exit trap never signals a PID the system may have handed to someone else
# since.
bench_stop() {
  local pid=$1 signal=${2:-TERM} keep=() p
  kill "-$signal" "$pid" 2>/dev/null || true
  # Bounded: a server that does not exit within 30 s is killed (it is ours, by PID). An exited
  # child stays a zombie until the wait below, and kill -0 still reaches a zombie.
  local deadline=$((SECONDS + 30))
  while running "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
  if running "$pid"; then
    echo "  warning: pid $pid did not exit within 30 s of SIG$signal; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
  for p in "${BENCH_PIDS[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
  BENCH_PIDS=("${keep[@]}")
}

# make_zone N FILE: SOA, NS, and N records of mixed types at h<i>.bench.test.
make_zone() {
  awk -v n="$1" 'BEGIN {
    print "$ORIGIN bench.test.\n$TTL 3600"
    print "@ IN SOA ns1 hostmaster 1 3600 900 604800 300"
    print "@ IN NS ns1\n@ IN NS ns2\nns1 IN A 192.0.2.1\nns2 IN A 192.0.2.2"
    for (i = 0; i < n; i++) {
      t = i % 4
      if (t == 0)      printf "h%d IN A 10.%d.%d.%d\n", i, int(i / 65536) % 256, int(i / 256) % 256, i % 256
      else if (t == 1) printf "h%d IN AAAA 2001:db8::%x:%x\n", i, int(i / 65536), i % 65536
      else if (t == 2) printf "h%d IN MX 10 h%d\n", i, i - 2
      else             printf "h%d IN TXT \"record %d\"\n", i, i
    }
  }' > "$2"
}

# make_queries N FILE: 100,000 queries for the make_zone N zone: 90% existing names with their
# type, 10% names that do not exist.
make_queries() {
  awk -v n="$1" 'BEGIN {
    srand(42)
    split("A AAAA MX TXT", types, " ")
    for (q = 0; q < 100000; q++) {
      i = int(rand() * n)
      if (rand() < 0.9) printf "h%d.bench.test %s\n", i, types[i % 4 + 1]
      else              printf "nx%d.bench.test A\n", i
    }
  }' > "$2"
}

# --- a 3-replica vrdns cluster whose nodes are stopped and restarted one by one -----------------
# (catchup.sh, restart.sh). VR_DNS[i]: node i's DNS port; VR_PIDS[i]: its PID ("" = down);
# its config is DIR/node<i>.toml, its data_dir DIR/data<i>, its logs DIR/out<i>, DIR/err<i>.
VR_DNS=(); VR_PIDS=("" "" ""); VR_DIR=""; VR_BIN=""

# vr_cluster_config BIN DIR ZONE_NAME ZONE_FILE KEY SECRET REPLICATION_TOML: writes the three
# configs on free ports. REPLICATION_TOML: extra [replication] lines (e.g. checkpoint_interval).
# VR_UDP_WORKERS (default 1): each node's UDP worker threads.
vr_cluster_config() {
  local i replicas=""
  VR_BIN=$1 VR_DIR=$2
  mkdir -p "$VR_DIR"
  VR_DNS=()
  for i in 0 1 2; do
    VR_DNS+=("$(free_port)")
    replicas+="${replicas:+, }\"127.0.0.1:$(free_port)\""
  done
  for i in 0 1 2; do
    cat > "$VR_DIR/node$i.toml" <<CONF
[cluster]
replicas = [$replicas]
[node]
replica = $i
data_dir = "data$i"
[dns]
listen = ["127.0.0.1:${VR_DNS[$i]}"]
udp_workers = ${VR_UDP_WORKERS:-1}
tcp_workers = 1
[replication]
heartbeat_ms = 50
primary_timeout_ms = 250
update_timeout_ms = 2000
$7
[[zone]]
name = "$3"
file = "$4"
[[key]]
name = "$5"
algorithm = "hmac-sha256"
secret = "$6"
[update]
allow = ["$5"]
CONF
  done
}

# vr_start I: starts node I (appending to its logs) and records its PID.
vr_start() {
  "$VR_BIN" --config "$VR_DIR/node$1.toml" >>"$VR_DIR/out$1" 2>>"$VR_DIR/err$1" &
  VR_PIDS[$1]=$!
  BENCH_PIDS+=("$!")
}

# vr_kill I: SIGKILL node I (a crash) and reap it.
vr_kill() {
  local pid=${VR_PIDS[$1]} keep=() p
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  for p in "${BENCH_PIDS[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
  BENCH_PIDS=("${keep[@]}")
  VR_PIDS[$1]=""
}

# vr_stop I: SIGTERM node I and wait for it to exit.
vr_stop() { bench_stop "${VR_PIDS[$1]}"; VR_PIDS[$1]=""; }

# dig prints its errors (";; connection refused", "timed out") to stdout, even with +short:
# those lines are dropped, so an empty result means no answer.
# (`|| true`: no answer yet is an empty result, not a failed pipeline that set -e acts on.)
vr_status() { { dig @127.0.0.1 -p "${VR_DNS[$1]}" +short +time=1 +tries=1 CH TXT status.vrdns. 2>/dev/null | grep -v '^;' | tr -d '"'; } || true; }
vr_field() { sed -n "s/.* $2=\\([^ ]*\\).*/\\1/p" <<<" $1"; }
# vr_serial I ZONE [TRIES]: the SOA serial node I serves; empty while it answers SERVFAIL. TRIES
# (default 1: timing loops must not wait out retries) for a node under load, which may drop one.
vr_serial() { { dig @127.0.0.1 -p "${VR_DNS[$1]}" +short +time=1 +tries="${3:-1}" "$2" SOA 2>/dev/null | awk 'NF == 7 {print $3}'; } || true; }

# vr_wait_normal SECONDS I...: until every listed node reports status=normal with the same view,
# op and commit (bounded). Sets VR_STATUS (first node's line). Fails on timeout.
vr_wait_normal() {
  local deadline=$((SECONDS + $1)) i s key first ok
  shift
  while ((SECONDS < deadline)); do
    first="" ok=1
    for i in "$@"; do
      s=$(vr_status "$i")
      [ -z "$first" ] && VR_STATUS=$s
      key="$(vr_field "$s" view) $(vr_field "$s" status) $(vr_field "$s" op) $(vr_field "$s" commit)"
      [ -z "$first" ] && first=$key
      [ "$key" = "$first" ] || ok=0
    done
    [ "$ok" -eq 1 ] && [ "$(vr_field "$VR_STATUS" status)" = normal ] && return 0
    sleep 0.05
  done
  echo "nodes $* not normal and agreed within the bound: $VR_STATUS" >&2
  return 1
}

# vr_primary: the primary's replica number as node 0's (or 1's) status says.
vr_primary() {
  local i s
  for i in 0 1 2; do
    [ -n "${VR_PIDS[$i]}" ] || continue
    s=$(vr_status "$i")
    [ -n "$s" ] && { vr_field "$s" primary; return; }
  done
}

# vr_time_to_caught_up I ZONE SECONDS REF: polls (20 ms apart, bounded) until node I reports
# normal with node REF's op and commit and serves REF's serial for ZONE. Prints the seconds
# since T0_CATCHUP (an $EPOCHREALTIME the caller set right before starting node I), and, in
# parentheses, when node I first answered the status query and first reported REF's op.
vr_time_to_caught_up() {
  local i=$1 zone=$2 deadline=$((SECONDS + $3)) ref=$4 s r want_serial t_answer="" t_op=""
  r=$(vr_status "$ref")
  want_serial=$(vr_serial "$ref" "$zone")
  while ((SECONDS < deadline)); do
    s=$(vr_status "$i")
    [ -z "$t_answer" ] && [ -n "$s" ] && t_answer=$(awk -v a="$T0_CATCHUP" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.2f", b - a}')
    [ -z "$t_op" ] && [ "$(vr_field "$s" op)" = "$(vr_field "$r" op)" ] &&
      t_op=$(awk -v a="$T0_CATCHUP" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.2f", b - a}')
    if [ "$(vr_field "$s" status)" = normal ] && [ "$(vr_field "$s" op)" = "$(vr_field "$r" op)" ] &&
       [ "$(vr_field "$s" commit)" = "$(vr_field "$r" commit)" ] &&
       [ "$(vr_serial "$i" "$zone")" = "$want_serial" ]; then
      awk -v a="$T0_CATCHUP" -v b="$EPOCHREALTIME" -v x="$t_answer" -v o="$t_op" \
        'BEGIN {printf "%.2f s (first status answer %s s, op %s s)", b - a, x, o}'
      return 0
    fi
    sleep 0.02
  done
  echo "node $i did not catch up within $3 s: '$s' (node $ref: '$r', serial $want_serial)" >&2
  return 1
}

# vr_wait_checkpoint SECONDS MIN_OP I...: until each listed node's data_dir holds a
# checkpoint-<op>.meta with op >= MIN_OP (bounded).
vr_wait_checkpoint() {
  local deadline=$((SECONDS + $1)) min=$2 i n m
  shift 2
  while ((SECONDS < deadline)); do
    n=0
    for i in "$@"; do
      m=$(find "$VR_DIR/data$i" -maxdepth 1 -name 'checkpoint-*.meta' -printf '%f\n' 2>/dev/null | sort | tail -1)
      m=${m#checkpoint-}; m=${m%.meta}
      [ -n "$m" ] && ((10#$m >= min)) && n=$((n + 1))
    done
    [ "$n" -eq $# ] && return 0
    sleep 0.1
  done
  echo "no checkpoint at op >= $min on nodes $* within the bound" >&2
  return 1
}

# make_updates N ZONE FILE PREFIX: a dnsperf -u file of N unique adds PREFIX<i>.ZONE A.
make_updates() {
  awk -v n="$1" -v z="$2" -v p="$4" 'BEGIN {
    for (i = 0; i < n; i++)
      printf "%s\nadd %s%d 300 A 10.%d.%d.%d\nsend\n", z, p, i, 100 + int(i / 65536) % 100, int(i / 256) % 256, i % 256
  }' > "$3"
}
