#!/usr/bin/env bash
# Query throughput: vrdns vs NSD vs Knot DNS on one generated zone, same server threads, same
# dnsperf load, one after the other on 127.0.0.1. Prints queries/s, latency (avg, p99), queries/s
# per server core (server CPU time from /proc) and the vrdns/NSD and vrdns/Knot ratios. With
# --memory it also loads a 1,000,000-record zone into vrdns and NSD and prints their peak RSS.
#
#   bench/query.sh [--build DIR] [--records N] [--seconds S] [--threads T] [--clients C] [--memory]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

build="$here/../build"; records=100000; seconds=10; threads=2; clients=16; memory=0
while (($#)); do
  case $1 in
    --build) build=$2; shift 2 ;;
    --records) records=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --clients) clients=$2; shift 2 ;;
    --memory) memory=1; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
bench_require "$build" nsd knotd dnsperf dig
bin=$BIN

work=$(mktemp -d /tmp/vrdns-bench.XXXXXX)
trap 'bench_cleanup; [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"' EXIT
zone=bench.test.

# make_zone and make_queries come from lib.sh.
make_zone "$records" "$work/bench.zone"
make_queries "$records" "$work/queries.txt"

declare -A QPS AVG P99 PERCORE
run_one() {   # NAME START_FN [BIN]
  local name=$1 fn=$2 port pid t0 t1 b0 b1 w0 w1 ticks hz out client_ticks other
  port=$(free_port)
  if [ "$fn" = start_vrdns ]; then
    start_vrdns "$bin" "$work/$name" "$port" "$threads" "$zone" "$work/bench.zone"
  else
    $fn "$work/$name" "$port" "$threads" "$zone" "$work/bench.zone"
  fi
  pid=$STARTED_PID
  wait_for_dns "$port" "$zone" "$pid"
  # Warm up briefly so every worker is scheduled before measuring.
  dnsperf -s 127.0.0.1 -p "$port" -d "$work/queries.txt" -c "$clients" -T 2 -q 200 -l 1 >/dev/null 2>&1 || true
  t0=$(cpu_ticks "$pid"); b0=$(busy_ticks); w0=$EPOCHREALTIME
  out="$work/$name.dnsperf"
  # The subshell reports its waited-for children's CPU ticks (cutime + cstime): dnsperf's. It
  # parses its own /proc stat without forking (in a pipeline $BASHPID would be another process).
  client_ticks=$(
    dnsperf -s 127.0.0.1 -p "$port" -d "$work/queries.txt" -c "$clients" -T 2 -q 200 -l "$seconds" -v \
      > "$out" 2>&1
    read -r stat < "/proc/$BASHPID/stat"
    set -- ${stat##*) }   # fields after "pid (comm) ": cutime is the 14th, cstime the 15th
    echo $((${14} + ${15})))
  t1=$(cpu_ticks "$pid"); b1=$(busy_ticks); w1=$EPOCHREALTIME
  hz=$(getconf CLK_TCK)
  ticks=$((t1 - t0))
  QPS[$name]=$(awk '/Queries per second:/ {printf "%d", $4}' "$out")
  AVG[$name]=$(awk '/Average Latency/ {printf "%.3f", $4 * 1000}' "$out")
  P99[$name]=$(awk '/^> / {print $NF}' "$out" | sort -g | awk '{a[NR] = $1} END {if (NR) printf "%.3f", a[int(NR * 0.99)] * 1000; else print "n/a"}')
  if ((ticks > 0)); then
    PERCORE[$name]=$(awk -v q="${QPS[$name]}" -v s="$seconds" -v t="$ticks" -v hz="$hz" 'BEGIN {printf "%d", q * s / (t / hz)}')
  else
    PERCORE[$name]=n/a
  fi
  local lost
  lost=$(awk '/Queries lost:/ {print $3}' "$out")
  # On a small machine the load generator and the server share the CPUs, so queries/s is
  # only comparable between runs when nothing else ran: report who used the CPU.
  other=$((b1 - b0 - ticks - client_ticks))
  # dnsperf may run past --seconds while it waits for lost queries: divide by the real time.
  cores() { awk -v t="$1" -v hz="$hz" -v s="$w0" -v e="$w1" 'BEGIN {printf "%.2f", t / hz / (e - s)}'; }
  echo "$name: ${QPS[$name]} q/s, avg ${AVG[$name]} ms, p99 ${P99[$name]} ms, ${PERCORE[$name]} q/s per server core, lost $lost; cores: server $(cores "$ticks"), dnsperf $(cores "$client_ticks"), other $(cores "$other")" >&2
  if awk -v o="$(cores "$other")" 'BEGIN {exit !(o > 0.1)}'; then
    echo "  warning: other processes used $(cores "$other") cores during this run; figures are not comparable" >&2
  fi
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

echo "zone: $records records; dnsperf -c $clients -T 2 -q 200 -l $seconds; $threads server threads each" >&2
run_one vrdns start_vrdns
run_one nsd start_nsd
run_one knot start_knot

printf '\n%-6s %10s %9s %9s %14s\n' server "queries/s" "avg ms" "p99 ms" "q/s per core"
for s in vrdns nsd knot; do
  printf '%-6s %10s %9s %9s %14s\n' "$s" "${QPS[$s]}" "${AVG[$s]}" "${P99[$s]}" "${PERCORE[$s]}"
done
awk -v v="${QPS[vrdns]}" -v n="${QPS[nsd]}" -v k="${QPS[knot]}" \
  'BEGIN {printf "\nvrdns/nsd = %.2f   vrdns/knot = %.2f\n", v / n, v / k}'

if ((memory)); then
  make_zone 1000000 "$work/big.zone"
  for s in vrdns nsd; do
    port=$(free_port)
    if [ $s = vrdns ]; then start_vrdns "$bin" "$work/mem-$s" "$port" "$threads" "$zone" "$work/big.zone"
    else start_nsd "$work/mem-$s" "$port" "$threads" "$zone" "$work/big.zone"; fi
    pid=$STARTED_PID
    wait_for_dns "$port" "$zone" "$pid"
    echo "$s peak RSS with 1,000,000 records: $(( $(peak_rss_kib "$pid") / 1024 )) MiB"
    kill "$pid"; wait "$pid" 2>/dev/null || true
  done
fi
