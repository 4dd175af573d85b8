#!/usr/bin/env bash
# Catch-up benchmark (issue #5), a 3-replica vrdns cluster on 127.0.0.1:
#  (a) node 2 is SIGKILLed, UPDATES adds (default 100,000; dnsperf -u, unique names, sent to the
#      primary) commit through the other two, node 2 restarts on its data_dir: time from its
#      start until it reports status=normal with the others' op and commit and serves their SOA
#      serial. Goal < 5 s.
#  (b) a zone of RECORDS records (default 1,000,000) with checkpoint_interval 100: 150 adds make
#      every node checkpoint; node 2 is SIGKILLed, its data_dir removed, and it starts again
#      empty: time until normal with the same commit and serial. Goal < 30 s.
# Prints the numbers; not a test.
#
#   bench/catchup.sh [--build DIR] [--updates N] [--records N] [--only a|b]
#                    [--interval N] [--margin N]   checkpoint_interval / log_margin of (a)
#                                                  (default: the node defaults, 20000 / 10000)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

build="$here/../build"; updates=100000; records=1000000; only=""; interval=""; margin=""
while (($#)); do
  case $1 in
    --build) build=$2; shift 2 ;;
    --updates) updates=$2; shift 2 ;;
    --records) records=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --interval) interval=$2; shift 2 ;;
    --margin) margin=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
bin="$build/vrdns"
[ -x "$bin" ] || { echo "no vrdns binary at $bin (build first)" >&2; exit 1; }
for tool in dnsperf dig; do type -P "$tool" >/dev/null || { echo "$tool missing" >&2; exit 1; }; done

work=$(mktemp -d /tmp/vrdns-catchup-bench.XXXXXX)
trap 'bench_cleanup; [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"' EXIT
zone=bench.test.
key=update-key.
secret=$(head -c 32 /dev/urandom | base64)

# load N PREFIX NODE: dnsperf -u of N unique adds to NODE, each sent once (-n 1), bounded by
# 600 s. Prints dnsperf's summary line for updates and rcodes.
load() {
  local n=$1 prefix=$2 node=$3 out="$work/dnsperf-$2"
  make_updates "$n" "$zone" "$work/updates-$prefix" "$prefix"
  dnsperf -u -y "hmac-sha256:$key:$secret" -s 127.0.0.1 -p "${VR_DNS[$node]}" \
    -d "$work/updates-$prefix" -n 1 -q 50 -l 600 > "$out" 2>&1 || true
  echo "  load: $(awk '/Updates sent:/ {s = $3} /Updates per second:/ {r = $4} END {printf "%d sent, %d/s", s, r}' "$out");" \
    "rcodes: $(awk -F': *' '/Response codes:/ {print $2}' "$out")"
}

# restart_and_time I REF BOUND: starts node I and sets T_CAUGHT_UP to the seconds until it
# reports normal with node REF's op and commit and serves REF's serial; false past BOUND s.
# (Not in a $(...) subshell: the node's PID must be recorded in this shell.)
restart_and_time() {
  T0_CATCHUP=$EPOCHREALTIME
  vr_start "$1"
  T_CAUGHT_UP=$(vr_time_to_caught_up "$1" "$zone" "$3" "$2")
}

echo "# catch-up: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)"

# --- (a) a node down during UPDATES adds ---------------------------------------------------------
if [ -z "$only" ] || [ "$only" = a ]; then
  make_zone 1000 "$work/small.zone"
  extra="${interval:+checkpoint_interval = $interval}"$'\n'"${margin:+log_margin = $margin}"
  vr_cluster_config "$bin" "$work/a" "$zone" "$work/small.zone" "$key" "$secret" "$extra"
  for i in 0 1 2; do vr_start "$i"; done
  for i in 0 1 2; do wait_for_dns "${VR_DNS[$i]}" "$zone" "${VR_PIDS[$i]}"; done
  vr_wait_normal 20 0 1 2
  vr_kill 2
  p=$(vr_primary)
  [ "$p" != 2 ] || { echo "node 2 was the primary; its death moved the view" >&2; p=$(vr_primary); }
  echo "(a) node 2 down; $updates adds to primary $p (checkpoint_interval ${interval:-default}, log_margin ${margin:-default})"
  load "$updates" a "$p"
  vr_wait_normal 30 0 1
  echo "  others: $VR_STATUS; checkpoint in data0: $(find "$work/a/data0" -maxdepth 1 -name 'checkpoint-*.meta' -printf '%f ')"
  if restart_and_time 2 0 120; then
    echo "(a) RESULT: node 2 caught up after $T_CAUGHT_UP (goal < 5 s): $(vr_status 2)"
  else
    echo "(a) RESULT: node 2 did not catch up within 120 s"
  fi
  grep -h "restarting from\|corrupt\|checkpoint" "$work/a/err2" | head -5 | sed 's/^/  node 2: /'
  for i in 0 1 2; do vr_stop "$i"; done
fi

# --- (b) an empty node joins a cluster with a RECORDS-record zone ------------------------------
if [ -z "$only" ] || [ "$only" = b ]; then
  t0=$EPOCHREALTIME
  make_zone "$records" "$work/big.zone"
  echo "(b) zone of $records records written in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.1f", b - a}') s ($(du -m "$work/big.zone" | cut -f1) MB)"
  vr_cluster_config "$bin" "$work/b" "$zone" "$work/big.zone" "$key" "$secret" \
    $'checkpoint_interval = 100\nlog_margin = 20'
  t0=$EPOCHREALTIME
  for i in 0 1 2; do vr_start "$i"; done
  for i in 0 1 2; do wait_for_dns "${VR_DNS[$i]}" "$zone" "${VR_PIDS[$i]}"; done
  echo "  3 nodes started (loading the zone) in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.1f", b - a}') s"
  vr_wait_normal 60 0 1 2
  load 150 b "$(vr_primary)"
  vr_wait_checkpoint 120 1 0 1 2   # any: batched adds reach op 100 later than their 100th add
  vr_wait_normal 30 0 1 2
  echo "  checkpoint in every data_dir: $(du -sh "$work/b/data0" | cut -f1) in data0; $VR_STATUS"
  vr_kill 2
  rm -rf "$work/b/data2"
  if restart_and_time 2 0 300; then
    echo "(b) RESULT: empty node 2 caught up after $T_CAUGHT_UP (goal < 30 s): $(vr_status 2)"
  else
    echo "(b) RESULT: empty node 2 did not catch up within 300 s"
  fi
  echo "  node 2 peak RSS: $(peak_rss_kib "${VR_PIDS[2]}") KiB"
  for i in 0 1 2; do vr_stop "$i"; done
fi
