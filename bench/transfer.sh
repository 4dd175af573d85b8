#!/usr/bin/env bash
# Zone transfer speed: an AXFR of one generated zone from vrdns, NSD and Knot DNS in turn (one
# server at a time on 127.0.0.1, unsigned, allowed from 127.0.0.1), taken by kdig; the median
# of --rounds transfers each, as seconds and records/s, the records received checked against
# the zone, and the server's peak memory (VmHWM) before and after. vrdns streams the transfer
# from one zone snapshot; NSD and Knot are the reference.
#
#   bench/transfer.sh [--build DIR] [--records N] [--rounds R]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

build="$here/../build"; records=1000000; rounds=3
while (($#)); do
  case $1 in
    --build) build=$2; shift 2 ;;
    --records) records=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
bench_require "$build" nsd knotd kdig dig
bin=$BIN

work=$(mktemp -d /tmp/vrdns-bench.XXXXXX)
trap 'bench_cleanup; [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"' EXIT
zone=bench.test.
make_zone "$records" "$work/bench.zone"
want=$((records + 4 + 2))   # the generated records, SOA, 2 NS, 2 A; the SOA comes twice
export BENCH_XFR=1

run_one() {   # NAME START_FN
  local name=$1 fn=$2 port pid times=() t0 t1 got hwm0 hwm1 i
  port=$(free_port)
  if [ "$fn" = start_vrdns ]; then
    start_vrdns "$bin" "$work/$name" "$port" 1 "$zone" "$work/bench.zone"
  else
    $fn "$work/$name" "$port" 1 "$zone" "$work/bench.zone"
  fi
  pid=$STARTED_PID
  wait_for_dns "$port" "$zone" "$pid"
  hwm0=$(peak_rss_kib "$pid")
  for ((i = 0; i < rounds; i++)); do
    t0=$EPOCHREALTIME
    kdig @127.0.0.1 -p "$port" +time=60 "$zone" AXFR > "$work/$name.axfr" 2>&1 || true
    t1=$EPOCHREALTIME
    times+=("$(echo "$t1 - $t0" | bc -l)")
    got=$(sed -n 's/^;; Received .* (\([0-9]*\) messages, \([0-9]*\) records)/\2/p' "$work/$name.axfr")
    [ "${got:-0}" -eq "$want" ] || { echo "$name: $got records, want $want" >&2; tail -3 "$work/$name.axfr" >&2; exit 1; }
  done
  hwm1=$(peak_rss_kib "$pid")
  local median
  median=$(printf '%s\n' "${times[@]}" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
  printf '%-6s AXFR of %d records: median %.2f s (%s), %.0f records/s; peak memory %d -> %d MiB\n' \
    "$name" "$want" "$median" "$(printf '%.2f ' "${times[@]}")" "$(echo "$want / $median" | bc -l)" \
    $((hwm0 / 1024)) $((hwm1 / 1024))
  bench_stop "$pid"
}

run_one vrdns start_vrdns
run_one nsd start_nsd
run_one knot start_knot
