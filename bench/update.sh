#!/usr/bin/env bash
# UPDATE throughput and latency: the vrdns 3-replica VR cluster vs BIND 9 vs Knot DNS, one
# server at a time on 127.0.0.1, same zone, same TSIG key (hmac-sha256), same dnsperf -u load
# of unique adds. For each server it prints updates/s, average and max latency, the rcodes
# dnsperf saw, then checks that every acknowledged (NOERROR) add is served, and measures the
# latency of one client sending one update at a time. Last, query throughput of one vrdns node
# alone and while an update load runs (skip with --no-mixed).
#
#   bench/update.sh [--build DIR] [--seconds S] [-q INFLIGHT] [--threads T] [--records N]
#                   [--seq N] [--quick] [--no-mixed] [--mixed-only] [--mixed-rate R]
#                   [--mixed-rounds N] [--rounds N] [--perf] [--replication TOML]
#
# --rounds N (default 1) measures the four servers N times in turn (vrdns via a backup, via the
# primary, BIND, Knot, then again), each time freshly started, and reports every round's ratios
# and their medians: this machine's speed drifts by +-25% within minutes, and a ratio of two
# figures measured in the same round is less exposed to it than one of two figures minutes apart.
#
# --mixed-only runs only the last section (query throughput alone and under updates).
# --mixed-rate R caps the update load of the mixed section at R updates/s (dnsperf -Q); by
# default it is as fast as the cluster goes, which on one small machine mostly measures how
# much CPU the three co-located replicas take away from the queried one.
#
# --mixed-rounds N (default 3) alternates N query runs alone with N under updates and compares
# the medians.
#
# --replication TOML adds lines to each vrdns node's [replication] table, e.g. "nice = 0" to
# compare without the lower priority of the replication threads.
#
# --perf samples the three vrdns processes with `perf record` while updates go to the primary
# and prints each process's share of the samples and the top symbols by self time. Extra perf
# record options in PERF_ARGS (default -F 499), e.g. PERF_ARGS="-F 499 -g"; KEEP_WORK=1 keeps
# perf.data in the work directory for perf report.
#
# Durability each server runs with (their defaults where they have one):
#   vrdns  VR (Liskov & Cowling 2012): an UPDATE is acknowledged once a majority of the three
#          replicas (2 of 3) holds it in its write-ahead log, fdatasync'ed (group commit: one
#          fsync per replica for everything that arrived meanwhile); checkpoints on (defaults).
#   BIND   journal (<zone>.jnl) fsync'ed on every update commit (lib/dns/journal.c); zone file
#          rewritten lazily (default).
#   Knot   journal-content: changes and journal-db-mode: robust (both defaults): each DDNS batch
#          is committed to the LMDB journal with a disk sync. zonefile-sync: -1 so the zone file
#          is not rewritten after every batch (the default 0 would; BIND doesn't either).
# BIND and Knot thus pay an fsync per update (BIND) or per batch (Knot); vrdns an fsync per
# group commit on each of two replicas plus a network round trip between processes.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

build="$here/../build"; seconds=10; inflight=50; threads=2; records=10000; seq_count=200; mixed=1; mixed_only=0; mixed_rate=0; mixed_rounds=3; rounds_set=0; rounds=1; quick=0; perf=0; replication_toml=""
while (($#)); do
  case $1 in
    --build) build=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    -q|--inflight) inflight=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --records) records=$2; shift 2 ;;
    --seq) seq_count=$2; shift 2 ;;
    --quick) seconds=3; seq_count=50; records=1000; quick=1; shift ;;
    --no-mixed) mixed=0; shift ;;
    --mixed-only) mixed_only=1; shift ;;
    --mixed-rate) mixed_rate=$2; shift 2 ;;
    --mixed-rounds) mixed_rounds=$2; rounds_set=1; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --perf) perf=1; shift ;;
    --replication) replication_toml=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
if ((quick && !rounds_set)); then mixed_rounds=1; fi
[[ $mixed_rounds =~ ^[1-9][0-9]*$ ]] || { echo "--mixed-rounds wants a count >= 1" >&2; exit 2; }
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "--rounds wants a count >= 1" >&2; exit 2; }
bin="$build/vrdns"
[ -x "$bin" ] || { echo "no vrdns binary at $bin (build first)" >&2; exit 1; }
for tool in named knotd dnsperf dig python3; do
  type -P "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || { echo "$tool missing" >&2; exit 1; }
done
named=$(command -v named || echo /usr/sbin/named)
if ((perf)); then command -v perf >/dev/null || { echo "perf missing (--perf)" >&2; exit 1; }; fi

work=$(mktemp -d /tmp/vrdns-update-bench.XXXXXX)
trap 'bench_cleanup; [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"' EXIT
if [ -n "${KEEP_WORK:-}" ]; then echo "work directory (kept): $work" >&2; fi
zone=bench.test.
key=update-key.
secret=$(head -c 32 /dev/urandom | base64)
hz=$(getconf CLK_TCK)

# Every load is bounded in count as well as time: dnsperf -n 1 runs through the update file at
# most once, so each add names a record no earlier message added.
max_updates=$((20000 * seconds))
make_zone "$records" "$work/bench.zone"
make_queries "$records" "$work/queries.txt"
awk -v n="$max_updates" -v z="$zone" 'BEGIN {
  for (i = 0; i < n; i++)
    printf "%s\nadd u%d 300 A 10.%d.%d.%d\nsend\n", z, i, 100 + int(i / 65536) % 100, int(i / 256) % 256, i % 256
}' > "$work/updates.txt"

# The one-at-a-time client: sends a TSIG-signed UPDATE (one add of s<i>.<zone>), waits for its
# answer, sends the next. Prints "n_ok median_ms p99_ms mean_ms rcode=count,...". Written here,
# not with nsupdate or dnsperf -q 1: nsupdate costs a process start per message or serialises
# on its own event loop, and dnsperf idles between sends with one in flight, so neither times
# the server alone. It does not check the answer's TSIG (the rcode is what is measured).
cat > "$work/seq.py" <<'PY'
import base64, hashlib, hmac, socket, struct, sys, time

RCODES = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN",
          "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE"]

def wire(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"

port, zone, key_name, secret, count = sys.argv[1:6]
port, count, secret = int(port), int(count), base64.b64decode(secret)
alg, key = wire("hmac-sha256"), wire(key_name.lower())
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.settimeout(2.0)
sock.connect(("127.0.0.1", port))
times, rcodes = [], {}
deadline = time.monotonic() + 60   # bounded in time as well as count
for i in range(count):
    if time.monotonic() > deadline:
        rcodes["NOT_SENT(time bound)"] = count - i
        break
    msg_id = i & 0xFFFF
    # zone section: <zone> SOA IN; update section: s<i>.<zone> 300 IN A 10.250.x.y
    body = wire(zone) + struct.pack(">HH", 6, 1)
    body += wire(f"s{i}.{zone}") + struct.pack(">HHIH", 1, 1, 300, 4)
    body += bytes([10, 250, (i >> 8) & 255, i & 255])
    now = int(time.time())
    signed_time = struct.pack(">HI", now >> 32, now & 0xFFFFFFFF)
    # RFC 8945 4.3.3: the MAC covers the message (without TSIG) and the TSIG variables.
    variables = key + struct.pack(">HI", 255, 0) + alg + signed_time + struct.pack(">HHH", 300, 0, 0)
    header = struct.pack(">HHHHHH", msg_id, 0x2800, 1, 0, 1, 0)
    mac = hmac.new(secret, header + body + variables, hashlib.sha256).digest()
    rdata = alg + signed_time + struct.pack(">HH", 300, len(mac)) + mac + struct.pack(">HHH", msg_id, 0, 0)
    tsig = key + struct.pack(">HHIH", 250, 255, 0, len(rdata)) + rdata
    packet = struct.pack(">HHHHHH", msg_id, 0x2800, 1, 0, 1, 1) + body + tsig
    t0 = time.perf_counter()
    sock.send(packet)
    rc = "TIMEOUT"
    while True:
        try:
            reply = sock.recv(4096)
        except socket.timeout:
            break
        if len(reply) >= 12 and reply[0] << 8 | reply[1] == msg_id:
            code = reply[3] & 15
            rc = RCODES[code] if code < len(RCODES) else str(code)
            break
    elapsed = time.perf_counter() - t0
    rcodes[rc] = rcodes.get(rc, 0) + 1
    if rc == "NOERROR":
        times.append(elapsed)
summary = ",".join(f"{k}={v}" for k, v in sorted(rcodes.items()))
if not times:
    print(f"0 n/a n/a n/a {summary}")
else:
    times.sort()
    median = times[len(times) // 2] * 1000
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))] * 1000
    mean = sum(times) / len(times) * 1000
    print(f"{len(times)} {median:.3f} {p99:.3f} {mean:.3f} {summary}")
PY

# ---------------------------------------------------------------------------------------------
# Servers. Each start_* sets STARTED_PID (or CLUSTER_PIDS) and records it in BENCH_PIDS.

# BIND: `controls { };` turns off the rndc channel (by default 127.0.0.1:953, shared by every
# named on the machine); named runs as the invoking user, in the foreground (-g).
start_bind() {   # DIR PORT
  local dir=$1 port=$2
  mkdir -p "$dir"
  cp "$work/bench.zone" "$dir/bench.zone"   # the journal goes next to it: $dir/bench.zone.jnl
  cat > "$dir/named.conf" <<CONF
options {
  directory "$dir";
  listen-on port $port { 127.0.0.1; };
  listen-on-v6 { none; };
  pid-file "$dir/named.pid";
  session-keyfile "$dir/session.key";
  recursion no;
  notify no;
  dnssec-validation no;
};
controls { };
key "$key" { algorithm hmac-sha256; secret "$secret"; };
zone "$zone" {
  type primary;
  file "$dir/bench.zone";
  allow-update { key "$key"; };
};
CONF
  "$named" -g -n "$threads" -c "$dir/named.conf" >"$dir/named.out" 2>&1 &
  STARTED_PID=$!
  BENCH_PIDS+=("$STARTED_PID")
}

start_knot_ddns() {   # DIR PORT
  local dir=$1 port=$2
  mkdir -p "$dir/storage" "$dir/run"
  cp "$work/bench.zone" "$dir/bench.zone"
  cat > "$dir/knot.conf" <<CONF
server:
  listen: 127.0.0.1@$port
  rundir: "$dir/run"
  udp-workers: $threads
  tcp-workers: 1
log:
  - target: "$dir/knot.log"
    any: warning
database:
  storage: "$dir/storage"
key:
  - id: $key
    algorithm: hmac-sha256
    secret: $secret
acl:
  - id: update
    address: 127.0.0.1
    key: $key
    action: update
template:
  - id: default
    storage: "$dir"
    zonefile-sync: -1
zone:
  - domain: $zone
    file: "$dir/bench.zone"
    acl: update
CONF
  knotd -c "$dir/knot.conf" >"$dir/knot.out" 2>&1 &
  STARTED_PID=$!
  BENCH_PIDS+=("$STARTED_PID")
}

status_of() { dig @127.0.0.1 -p "$1" +short +time=1 +tries=1 CH TXT status.vrdns. 2>/dev/null | tr -d '"'; }

# start_cluster DIR: three `vrdns --config` replicas with the shipped replication timings
# (configs/node0.toml). Sets CLUSTER_PIDS, CLUSTER_DNS (DNS ports by replica) and PRIMARY once
# every node is connected to both others and reports a normal view.
start_cluster() {
  local dir=$1 i n s
  CLUSTER_PIDS=()
  VR_UDP_WORKERS=$threads vr_cluster_config "$bin" "$dir" "$zone" "$work/bench.zone" "$key" "$secret" "$replication_toml"
  CLUSTER_DNS=("${VR_DNS[@]}")
  for i in 0 1 2; do
    "$bin" --config "$dir/node$i.toml" >"$dir/out$i" 2>"$dir/err$i" &
    CLUSTER_PIDS+=("$!")
    BENCH_PIDS+=("$!")
  done
  for i in 0 1 2; do wait_for_dns "${CLUSTER_DNS[$i]}" "$zone" "${CLUSTER_PIDS[$i]}"; done
  # The peers' connections are the event; the loop is bounded (100 x 0.1 s).
  for _ in $(seq 100); do
    n=0
    for i in 0 1 2; do
      [ "$(grep -c "peer [0-9] connected" "$dir/err$i")" -ge 2 ] && n=$((n + 1))
    done
    [ "$n" -eq 3 ] && break
    sleep 0.1
  done
  [ "$n" -eq 3 ] || { echo "vrdns cluster: nodes did not connect" >&2; cat "$dir"/err* >&2; return 1; }
  for _ in $(seq 50); do
    s=$(status_of "${CLUSTER_DNS[0]}")
    case "$s" in *"status=normal primary="*) break ;; esac
    sleep 0.1
  done
  PRIMARY=$(sed -n 's/.*primary=\([0-9]*\).*/\1/p' <<<"$s")
  [ -n "$PRIMARY" ] || { echo "vrdns cluster: no primary in status '$s'" >&2; return 1; }
}

stop_cluster() { local p; for p in "${CLUSTER_PIDS[@]}"; do bench_stop "$p"; done; CLUSTER_PIDS=(); }

# wait_converged: waits (bounded: 10 s) until all three nodes report the same commit_number,
# so a backup's served state can be checked after the load stopped.
wait_converged() {
  local commits
  for _ in $(seq 100); do
    commits=$(for i in 0 1 2; do status_of "${CLUSTER_DNS[$i]}" | sed -n 's/.* commit=\([0-9]*\).*/\1/p'; done | sort -u)
    [ "$(wc -l <<<"$commits")" -eq 1 ] && [ -n "$commits" ] && return 0
    sleep 0.1
  done
  echo "  warning: nodes did not agree on commit_number within 10 s" >&2
}

# ---------------------------------------------------------------------------------------------
# Measurements.

# run_dnsperf OUT ARGS...: runs dnsperf; prints the CPU ticks it used (the subshell reports its
# waited-for children's cutime + cstime, parsed from its own /proc stat without forking).
run_dnsperf() {
  local out=$1; shift
  (
    dnsperf "$@" > "$out" 2>&1 || true
    read -r stat < "/proc/$BASHPID/stat"
    set -- ${stat##*) }
    echo $((${14} + ${15}))
  )
}

# cores TICKS SECONDS: CPU cores used on average.
cores() { awk -v t="$1" -v hz="$hz" -v s="$2" 'BEGIN {printf "%.2f", t / hz / s}'; }

declare -A UPS AVG MAX RCODES NOERROR SENT SEQ_MED SEQ_P99 SEQ_MEAN
# update_load LABEL PORT SERVER_PID...: the dnsperf -u run; fills UPS, AVG, MAX, RCODES,
# NOERROR, SENT for LABEL and prints who used the CPU.
update_load() {
  local label=$1 port=$2; shift 2
  local pids=("$@") t0=0 t1=0 b0 b1 w0 w1 p client out wall server
  out="$work/$label.dnsperf"
  for p in "${pids[@]}"; do t0=$((t0 + $(cpu_ticks "$p"))); done
  b0=$(busy_ticks); w0=$EPOCHREALTIME
  client=$(run_dnsperf "$out" -u -y "hmac-sha256:$key:$secret" -s 127.0.0.1 -p "$port" \
    -d "$work/updates.txt" -n 1 -q "$inflight" -l "$seconds")
  for p in "${pids[@]}"; do t1=$((t1 + $(cpu_ticks "$p"))); done
  b1=$(busy_ticks); w1=$EPOCHREALTIME
  wall=$(awk -v s="$w0" -v e="$w1" 'BEGIN {print e - s}')
  server=$((t1 - t0))
  UPS[$label]=$(awk '/Updates per second:/ {printf "%d", $4}' "$out")
  AVG[$label]=$(awk '/Average Latency/ {printf "%.1f", $4 * 1000}' "$out")
  MAX[$label]=$(awk '/Average Latency/ {gsub(/\)/, "", $8); printf "%.1f", $8 * 1000}' "$out")
  RCODES[$label]=$(awk -F': *' '/Response codes:/ {print $2}' "$out")
  NOERROR[$label]=$(sed -n 's/.*Response codes:.*NOERROR \([0-9]*\).*/\1/p' "$out")
  NOERROR[$label]=${NOERROR[$label]:-0}
  SENT[$label]=$(awk '/Updates sent:/ {print $3}' "$out")
  [ -n "${UPS[$label]}" ] || { echo "$label: dnsperf gave no result:" >&2; cat "$out" >&2; return 1; }
  echo "$label: ${UPS[$label]} updates/s, avg ${AVG[$label]} ms, max ${MAX[$label]} ms;" \
    "sent ${SENT[$label]}, $(awk '/Updates lost:/ {print $3}' "$out") lost; rcodes: ${RCODES[$label]};" \
    "cores: server $(cores "$server" "$wall"), dnsperf $(cores "$client" "$wall")," \
    "other $(cores $((b1 - b0 - server - client)) "$wall")" >&2
  if grep -q "end of file" "$out"; then
    echo "  note: dnsperf used up all $max_updates updates before $seconds s" >&2
  fi
}

# verify LABEL PORT: every name the run could have added (u0 .. u<sent-1>: dnsperf -n 1 sends the
# file in order) is queried; those that exist are counted and compared with the NOERROR count.
# An update that timed out may still have been applied, so more present than NOERROR is fine;
# fewer means an acknowledged update was lost.
verify() {
  local label=$1 port=$2 sent=${SENT[$1]} ok=${NOERROR[$1]} out present missing
  out="$work/$label.verify.$port"
  awk -v n="$sent" -v z="$zone" 'BEGIN {for (i = 0; i < n; i++) printf "u%d.%s A\n", i, z}' > "$out.names"
  run_dnsperf "$out" -s 127.0.0.1 -p "$port" -d "$out.names" -n 1 -q 100 -l 120 -v >/dev/null
  awk '$1 == ">" && $2 == "NOERROR" {print $3}' "$out" | sort -u > "$out.present"
  # Queries without an answer (dnsperf -v prints rcode "T" for a timeout, "I" if interrupted)
  # are asked again, one by one, by dig.
  awk '$1 == ">" && $2 != "T" && $2 != "I" {print $3}' "$out" | sort -u > "$out.answered"
  awk '{print $1}' "$out.names" | sort -u | comm -23 - "$out.answered" > "$out.unanswered"
  if [ -s "$out.unanswered" ]; then
    sed 's/$/ A/' "$out.unanswered" > "$out.retry"
    dig @127.0.0.1 -p "$port" +tries=3 +time=1 +noall +answer -f "$out.retry" 2>/dev/null |
      awk '$4 == "A" {print $1}' >> "$out.present"
  fi
  present=$(sort -u "$out.present" | wc -l)
  if ((present < ok)); then
    missing=$((ok - present))
    echo "  !!!!! MISMATCH on port $port: $missing acknowledged update(s) NOT served" \
      "($present of $sent sent names present, $ok acknowledged NOERROR) !!!!!" >&2
    VERIFY_FAILED=1
  else
    echo "  verified on port $port: $present of $sent sent names served, $ok acknowledged" \
      "NOERROR: every acknowledged update is present" >&2
  fi
}
VERIFY_FAILED=0

# one_at_a_time LABEL PORT
one_at_a_time() {
  local label=$1 port=$2 r
  read -r -a r <<<"$(python3 "$work/seq.py" "$port" "$zone" "$key" "$secret" "$seq_count" ||
    echo "0 n/a n/a n/a measuring-client-failed")"
  SEQ_MED[$label]=${r[1]}; SEQ_P99[$label]=${r[2]}; SEQ_MEAN[$label]=${r[3]}
  echo "  one at a time ($seq_count updates): median ${r[1]} ms, p99 ${r[2]} ms, mean ${r[3]} ms; ${r[4]}" >&2
}

check_view() {   # a view change during the run would make its numbers meaningless
  local s
  s=$(status_of "${CLUSTER_DNS[$PRIMARY]}")
  case "$s" in *" view=0 "*"status=normal"*) ;; *) echo "  warning: view changed during the run: $s" >&2 ;; esac
}

echo "load: $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min); $(nproc) CPUs" >&2
echo "zone: $records records; dnsperf -u -n 1 -q $inflight -l $seconds; $threads UDP threads per server" >&2

if ((!mixed_only)); then
# Figures of round r are stored under "<server>.r<r>" (UPS, SEQ_MED, ...).
for round in $(seq "$rounds"); do
((rounds == 1)) || echo "--- round $round of $rounds" >&2
# --- vrdns: updates sent to a backup, then (new cluster) to the primary -----------------------
for role in backup primary; do
  start_cluster "$work/r$round/vrdns-$role"
  if [ "$role" = primary ]; then node=$PRIMARY; else node=$(((PRIMARY + 1) % 3)); fi
  label="vrdns-$role.r$round"
  echo "$label: sending to replica $node (primary is $PRIMARY)" >&2
  if ((perf && round == 1)) && [ "$role" = primary ]; then
    # Bounded: perf stops after the load's duration; its PID is ours to stop. PERF_ARGS is
    # split into words on purpose.
    # shellcheck disable=SC2086
    perf record ${PERF_ARGS:--F 499} -o "$work/perf.data" -p "$(IFS=,; echo "${CLUSTER_PIDS[*]}")" -- sleep "$seconds" \
      > "$work/perf.out" 2>&1 &
    perf_pid=$!
    BENCH_PIDS+=("$perf_pid")
  fi
  update_load "$label" "${CLUSTER_DNS[$node]}" "${CLUSTER_PIDS[@]}"
  if ((perf && round == 1)) && [ "$role" = primary ]; then
    wait "$perf_pid" || true
    bench_stop "$perf_pid"
    # CAF's threads all inherit the name "caf.multiplexer", so samples are split by process.
    perf script -i "$work/perf.data" -F pid 2>/dev/null | sort | uniq -c > "$work/perf.by-pid"
    for i in 0 1 2; do
      awk -v p="${CLUSTER_PIDS[$i]}" -v r="$i" -v primary="$PRIMARY" \
        '{n[$2] = $1; t += $1} END {printf "  perf: replica %d%s: %.0f%% of samples\n", r,
          r == primary ? " (primary)" : "", t ? 100 * n[p] / t : 0}' "$work/perf.by-pid" >&2
    done
    echo "  perf: top symbols (self time, all three processes):" >&2
    perf report -i "$work/perf.data" --stdio --no-children --sort dso,sym 2>/dev/null |
      grep -v '^#' | grep -v '^$' | head -30 | sed 's/^/    /' >&2 || true   # head closes the pipe
  fi
  check_view
  wait_converged
  for i in 0 1 2; do verify "$label" "${CLUSTER_DNS[$i]}"; done
  one_at_a_time "$label" "${CLUSTER_DNS[$node]}"
  stop_cluster
done

# --- BIND and Knot ------------------------------------------------------------------------------
for server in bind knot; do
  port=$(free_port)
  if [ $server = bind ]; then start_bind "$work/r$round/bind" "$port"; else start_knot_ddns "$work/r$round/knot" "$port"; fi
  pid=$STARTED_PID
  wait_for_dns "$port" "$zone" "$pid"
  update_load "$server.r$round" "$port" "$pid"
  verify "$server.r$round" "$port"
  one_at_a_time "$server.r$round" "$port"
  bench_stop "$pid"
done
done   # rounds

printf '\n%-17s %10s %8s %8s %10s %9s %9s  %s\n' server "updates/s" "avg ms" "max ms" "1-at-a-time" "p99 ms" "mean ms" "rcodes"
for round in $(seq "$rounds"); do
  for s in vrdns-backup vrdns-primary bind knot; do
    k=$s.r$round
    printf '%-17s %10s %8s %8s %10s %9s %9s  %s\n' "$( ((rounds == 1)) && echo "$s" || echo "$k")" \
      "${UPS[$k]}" "${AVG[$k]}" "${MAX[$k]}" "${SEQ_MED[$k]}" "${SEQ_P99[$k]}" "${SEQ_MEAN[$k]}" "${RCODES[$k]}"
  done
done
echo
# One line of ratios per round: vrdns via backup and via primary against the better of BIND and
# Knot in that round (updates/s), and against BIND (one-at-a-time median latency); with several
# rounds, the medians of each ratio.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b + 0 > 0) printf "%.2f", a / b; else print "n/a"}'; }
ratio_median() {
  printf '%s\n' "$@" | awk '$1 != "n/a" {print}' | sort -g |
    awk '{v[NR] = $1} END {if (NR == 0) print "n/a"; else printf "%.2f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
ups_b=(); ups_p=(); seq_b=(); seq_p=()
for round in $(seq "$rounds"); do
  tag=""; ((rounds == 1)) || tag="round $round: "
  best=$(( UPS[bind.r$round] > UPS[knot.r$round] ? UPS[bind.r$round] : UPS[knot.r$round] ))
  ups_b+=("$(ratio "${UPS[vrdns-backup.r$round]}" "$best")")
  ups_p+=("$(ratio "${UPS[vrdns-primary.r$round]}" "$best")")
  seq_b+=("$(ratio "${SEQ_MED[vrdns-backup.r$round]}" "${SEQ_MED[bind.r$round]}")")
  seq_p+=("$(ratio "${SEQ_MED[vrdns-primary.r$round]}" "${SEQ_MED[bind.r$round]}")")
  echo "${tag}updates/s vrdns / max(bind, knot): via backup ${ups_b[-1]}, via primary ${ups_p[-1]} (goal >= 5)"
  [ "${seq_b[-1]}" = n/a ] ||
    echo "${tag}one-at-a-time median latency vrdns / bind: via backup ${seq_b[-1]}, via primary ${seq_p[-1]} (goal <= 1)"
done
if ((rounds > 1)); then
  line="medians of $rounds rounds: updates/s via backup $(ratio_median "${ups_b[@]}"), via primary $(ratio_median "${ups_p[@]}") (goal >= 5)"
  if [ "$(ratio_median "${seq_b[@]}")" != n/a ]; then
    line+="; one-at-a-time via backup $(ratio_median "${seq_b[@]}"), via primary $(ratio_median "${seq_p[@]}") (goal <= 1)"
  fi
  echo "$line"
fi

fi   # !mixed_only

# --- query throughput of one vrdns node, alone and under update load ----------------------------
if ((mixed)); then
  echo >&2
  start_cluster "$work/vrdns-mixed"
  port=${CLUSTER_DNS[$PRIMARY]}
  rate_args=(); rate_note=""
  if ((mixed_rate > 0)); then rate_args=(-Q "$mixed_rate"); rate_note=", at most $mixed_rate/s"; fi
  echo "mixed: queries (dnsperf -c 16 -T 2 -q 200 -l $seconds) to the primary, replica $PRIMARY;" \
    "updates (dnsperf -u -q $inflight$rate_note) to the primary too" >&2
  # query_load NAME: the query run; prints q/s and who used the CPU (primary, backups, rest).
  query_load() {
    local name=$1 i p0 p1 b0 b1 k0 k1 w0 w1 client wall qps s0 s1
    local backups=()
    for i in 0 1 2; do ((i == PRIMARY)) || backups+=("${CLUSTER_PIDS[$i]}"); done
    p0=$(cpu_ticks "${CLUSTER_PIDS[$PRIMARY]}"); k0=$(( $(cpu_ticks "${backups[0]}") + $(cpu_ticks "${backups[1]}") ))
    s0=$(vr_serial "$PRIMARY" "$zone" 3 || true)   # empty if unanswered: "n/a" below
    b0=$(busy_ticks); w0=$EPOCHREALTIME
    client=$(run_dnsperf "$work/mixed-$name" -s 127.0.0.1 -p "$port" -d "$work/queries.txt" \
      -c 16 -T 2 -q 200 -l "$seconds")
    p1=$(cpu_ticks "${CLUSTER_PIDS[$PRIMARY]}"); k1=$(( $(cpu_ticks "${backups[0]}") + $(cpu_ticks "${backups[1]}") ))
    b1=$(busy_ticks); w1=$EPOCHREALTIME
    s1=$(vr_serial "$PRIMARY" "$zone" 3 || true)
    wall=$(awk -v s="$w0" -v e="$w1" 'BEGIN {print e - s}')
    qps=$(awk '/Queries per second:/ {printf "%d", $4}' "$work/mixed-$name")
    # Every committed UPDATE bumps the SOA serial by one (RFC 2136 3.7).
    QUERY_UPS=$(awk -v a="$s0" -v b="$s1" -v w="$wall" \
      'BEGIN {if (a == "" || b == "") print "n/a"; else printf "%d", (b - a) / w}')
    echo "  queries $name: $qps q/s; cores: primary $(cores $((p1 - p0)) "$wall")," \
      "backups $(cores $((k1 - k0)) "$wall"), all dnsperf and the rest" \
      "$(cores $((b1 - b0 - (p1 - p0) - (k1 - k0))) "$wall") (query dnsperf alone $(cores "$client" "$wall"));" \
      "updates committed meanwhile: $QUERY_UPS/s" >&2
    QUERY_QPS=$qps
  }
  # Alternating rounds (alone, under updates), medians of each: on a shared 2-core host one
  # query run alone varies by +-20% from scheduling luck, which a single pair cannot separate
  # from the effect measured.
  alone=(); loaded=(); updates=()
  for round in $(seq "$mixed_rounds"); do
    query_load "alone-$round"
    alone+=("$QUERY_QPS")
    # Fresh names each round (m<round>u<i>), so every add changes the zone.
    sed "s/^add u/add m${round}u/" "$work/updates.txt" > "$work/updates-m$round.txt"
    # The update load outlives the query load (bounded: -l seconds+5, -n 1).
    dnsperf -u -y "hmac-sha256:$key:$secret" -s 127.0.0.1 -p "$port" -d "$work/updates-m$round.txt" \
      -n 1 -q "$inflight" "${rate_args[@]}" -l $((seconds + 5)) > "$work/mixed-updates-$round" 2>&1 &
    upd_pid=$!
    BENCH_PIDS+=("$upd_pid")
    # Start measuring once this round's updates are committing (the op number moves): bounded,
    # 50 x 0.1 s.
    op0=$(vr_field "$(status_of "$port")" op)
    for _ in $(seq 50); do
      [ "$(vr_field "$(status_of "$port")" op)" != "$op0" ] && break
      sleep 0.1
    done
    if ((perf && round == 1)); then
      # shellcheck disable=SC2086
      perf record ${PERF_ARGS:--F 499} -o "$work/perf-mixed.data" -p "${CLUSTER_PIDS[$PRIMARY]}" \
        -- sleep "$seconds" > "$work/perf-mixed.out" 2>&1 &
      perf_pid=$!
      BENCH_PIDS+=("$perf_pid")
    fi
    query_load "under-updates-$round"
    loaded+=("$QUERY_QPS")
    bench_stop "$upd_pid" INT   # the round is measured (dnsperf prints its figures on SIGINT)
    updates+=("$QUERY_UPS")
    if ((perf && round == 1)); then
      wait "$perf_pid" || true
      bench_stop "$perf_pid"
      echo "  perf: the queried primary under queries + updates, top symbols (self time):" >&2
      perf report -i "$work/perf-mixed.data" --stdio --no-children --sort dso,sym 2>/dev/null |
        grep -v '^#' | grep -v '^$' | head -30 | sed 's/^/    /' >&2 || true   # head closes the pipe
    fi
  done
  median() { printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2)}'; }
  q_alone=$(median "${alone[@]}"); q_loaded=$(median "${loaded[@]}"); u_mixed=$(median "${updates[@]}")
  check_view
  stop_cluster
  echo "queries/s alone: $q_alone; under update load: $q_loaded (updates meanwhile: $u_mixed/s;" \
    "medians of $mixed_rounds rounds: alone ${alone[*]}, under updates ${loaded[*]})"
  awk -v a="$q_alone" -v l="$q_loaded" 'BEGIN {printf "query throughput under updates / alone = %.2f (goal >= 0.8)\n", l / a}'
fi
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
if ((VERIFY_FAILED)); then echo "MISMATCH: some acknowledged updates are not served (see above)"; exit 1; fi
