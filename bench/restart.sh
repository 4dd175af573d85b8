#!/usr/bin/env bash
# Restart benchmark (issue #5): a 3-replica vrdns cluster on 127.0.0.1 serves a zone of RECORDS
# records (default 1,000,000) with checkpoint_interval 100; 150 adds make every node write a
# checkpoint. Then node 1 (a backup) is stopped (SIGTERM; --kill: SIGKILL) and started again on
# its data_dir, TRIALS times. Measured from the start of the process: when it prints its ready
# line, when it first answers the status query, and when it answers the SOA query with the
# cluster's current serial (it answers SERVFAIL for the zone until it has its state back).
# Goal: < 10 s to the current serial. Prints the numbers; not a test.
#
#   bench/restart.sh [--build DIR] [--records N] [--trials N] [--kill]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

build="$here/../build"; records=1000000; trials=3; kill_it=0
while (($#)); do
  case $1 in
    --build) build=$2; shift 2 ;;
    --records) records=$2; shift 2 ;;
    --trials) trials=$2; shift 2 ;;
    --kill) kill_it=1; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
bin="$build/vrdns"
[ -x "$bin" ] || { echo "no vrdns binary at $bin (build first)" >&2; exit 1; }
for tool in dnsperf dig; do type -P "$tool" >/dev/null || { echo "$tool missing" >&2; exit 1; }; done

work=$(mktemp -d /tmp/vrdns-restart-bench.XXXXXX)
trap 'bench_cleanup; [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"' EXIT
zone=bench.test.
key=update-key.
secret=$(head -c 32 /dev/urandom | base64)
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.2f", b - a}'; }

echo "# restart: $records records, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)"
t0=$EPOCHREALTIME
make_zone "$records" "$work/big.zone"
echo "zone written in $(since "$t0") s ($(du -m "$work/big.zone" | cut -f1) MB)"
vr_cluster_config "$bin" "$work/c" "$zone" "$work/big.zone" "$key" "$secret" \
  $'checkpoint_interval = 100\nlog_margin = 20'
t0=$EPOCHREALTIME
for i in 0 1 2; do vr_start "$i"; done
for i in 0 1 2; do wait_for_dns "${VR_DNS[$i]}" "$zone" "${VR_PIDS[$i]}"; done
echo "3 fresh nodes answering (zone file loaded) after $(since "$t0") s"
vr_wait_normal 60 0 1 2
make_updates 150 "$zone" "$work/updates" r
dnsperf -u -y "hmac-sha256:$key:$secret" -s 127.0.0.1 -p "${VR_DNS[$(vr_primary)]}" \
  -d "$work/updates" -n 1 -q 20 -l 120 > "$work/dnsperf" 2>&1 || true
echo "150 adds: $(awk -F': *' '/Response codes:/ {print $2}' "$work/dnsperf")"
vr_wait_checkpoint 120 1 0 1 2   # any: batched adds reach op 100 later than their 100th add
vr_wait_normal 30 0 1 2
serial=$(vr_serial 0 "$zone")
echo "checkpoint in every data_dir ($(du -sh "$work/c/data1" | cut -f1) in data1); $VR_STATUS; serial $serial"

results=()
for t in $(seq "$trials"); do
  if ((kill_it)); then vr_kill 1; else vr_stop 1; fi
  lines_before=$(wc -l < "$work/c/out1")
  t0=$EPOCHREALTIME
  vr_start 1
  ready="" answer="" done_t=""
  deadline=$((SECONDS + 120))
  while ((SECONDS < deadline)); do
    [ -z "$ready" ] && [ "$(wc -l < "$work/c/out1")" -gt "$lines_before" ] && ready=$(since "$t0")
    if [ -z "$answer" ] && [ -n "$(vr_status 1)" ]; then answer=$(since "$t0"); fi
    if [ -n "$answer" ] && [ "$(vr_serial 1 "$zone")" = "$serial" ]; then done_t=$(since "$t0"); break; fi
    kill -0 "${VR_PIDS[1]}" 2>/dev/null || { echo "node 1 exited:" >&2; tail -5 "$work/c/err1" >&2; exit 1; }
    sleep 0.02
  done
  echo "trial $t: ready line ${ready:-?} s, status answered ${answer:-?} s, serial $serial served ${done_t:-NOT within 120} s; $(vr_status 1)"
  [ -n "$done_t" ] && results+=("$done_t")
done
grep -h "restarting from" "$work/c/err1" | tail -1 | sed 's/^/node 1: /'
echo "node 1 peak RSS: $(peak_rss_kib "${VR_PIDS[1]}") KiB"
if ((${#results[@]})); then
  printf '%s\n' "${results[@]}" | sort -n |
    awk '{v[NR] = $1} END {printf "RESULT: time to the current serial over %d trial(s): median %s s, max %s s (goal < 10 s)\n", NR, v[int((NR + 1) / 2)], v[NR]}'
fi
for i in 0 1 2; do vr_stop "$i"; done
