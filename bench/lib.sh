# Shared helpers for the bench/ scripts (sourced, not run). Everything listens on 127.0.0.1 and
# every process started here is recorded by PID and stopped on exit.

BENCH_PIDS=()

bench_cleanup() {
  local pid
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
  local p
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 40000))
    if [ -z "$(ss -Hlnu "sport = :$p" 2>/dev/null)" ] && [ -z "$(ss -Hlnt "sport = :$p" 2>/dev/null)" ]; then
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
zone:
  - domain: $zname
    file: "$zfile"
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
CONF
  "$bin" --config "$dir/vrdns.toml" >"$dir/vrdns.out" 2>&1 &
  STARTED_PID=$!
  BENCH_PIDS+=("$STARTED_PID")
}

# bench_stop PID: stops one process started here (SIGTERM, then waits) and forgets it, so the
# exit trap never signals a PID the system may have handed to someone else since.
bench_stop() {
  local pid=$1 keep=() p
  kill "$pid" 2>/dev/null || true
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
