#!/usr/bin/env bash
# Many zones: a 3-replica vrdns cluster on 127.0.0.1 serving ZONES small zones (default 2,000,
# like a host of customers' zones). Prints: the time from starting the three nodes until they
# are normal and agree, and until node 0 answers the last zone's SOA; queries per second over
# every zone at node 0 (dnsperf, names spread over all zones); node 0's peak RSS; and the time
# from restarting node 1 on its data_dir until it is normal again with the same commit.
# Session 17 found two costs that grow with the number of zones this way (a scan of every
# zone per query, an fdatasync per zone per checkpoint); this keeps them measured. Not a test.
#
#   bench/zones.sh [--build DIR] [--zones N] [--seconds S]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

build="$here/../build"; zones=2000; seconds=5
while (($#)); do
  case $1 in
    --build) build=$2; shift 2 ;;
    --zones) zones=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 1 ;;
  esac
done
((zones >= 1 && zones <= 100000)) || { echo "--zones 1..100000" >&2; exit 1; }
bench_require "$build" dnsperf dig python3 bc

work=$(mktemp -d /tmp/vrdns-zones-bench.XXXXXX)
trap 'bench_cleanup; [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"' EXIT

# The zones z0.bench. .. z<N-1>.bench., four records each, and one query name per zone.
python3 - "$work" "$zones" <<'PY'
import os, sys
work, n = sys.argv[1], int(sys.argv[2])
os.makedirs(f"{work}/zones")
with open(f"{work}/extra.toml", "w") as cfg, open(f"{work}/queries", "w") as q:
    for i in range(n):
        name = f"z{i}.bench."
        with open(f"{work}/zones/z{i}.zone", "w") as z:
            z.write(f"$ORIGIN {name}\n$TTL 300\n@ SOA ns1 h 1 3600 600 86400 300\n@ NS ns1\n"
                    f"ns1 A 192.0.2.1\nwww A 192.0.2.{i % 250 + 1}\n")
        if i > 0:
            cfg.write(f'[[zone]]\nname = "{name}"\nfile = "{work}/zones/z{i}.zone"\n')
        q.write(f"www.{name} A\n")
PY
key_secret=$(head -c 32 /dev/urandom | base64)
vr_cluster_config "$BIN" "$work/cluster" "z0.bench." "$work/zones/z0.zone" "bench-key." \
  "$key_secret" ""
for i in 0 1 2; do cat "$work/extra.toml" >> "$work/cluster/node$i.toml"; done
echo "zones: $zones; 3 replicas on 127.0.0.1" >&2

t0=$(date +%s.%N)
for i in 0 1 2; do vr_start "$i"; done
vr_wait_normal 120 0 1 2
t_normal=$(date +%s.%N)
last="z$((zones - 1)).bench."
deadline=$((SECONDS + 120))
until [ -n "$(vr_serial 0 "$last")" ]; do
  ((SECONDS < deadline)) || { echo "node 0 never answered $last" >&2; exit 1; }
  sleep 0.05
done
t_last=$(date +%s.%N)
printf 'start: normal and agreed after %.2f s; the last zone answered after %.2f s\n' \
  "$(echo "$t_normal - $t0" | bc)" "$(echo "$t_last - $t0" | bc)"

out="$work/dnsperf.out"
dnsperf -s 127.0.0.1 -p "${VR_DNS[0]}" -d "$work/queries" -l "$seconds" -c 8 -q 100 \
  > "$out" 2>&1 || true
qps=$(awk '/Queries per second/ {print $4}' "$out")
lost=$(awk '/Queries lost/ {print $3}' "$out")
printf 'queries over all %d zones at node 0: %.0f q/s (lost %s)\n' "$zones" "${qps:-0}" "${lost:-?}"
printf 'node 0 peak RSS: %d MiB\n' "$(($(peak_rss_kib "${VR_PIDS[0]}") / 1024))"

vr_stop 1
t1=$(date +%s.%N)
vr_start 1
vr_wait_normal 120 0 1 2
printf 'restart of node 1: normal with the same commit after %.2f s\n' \
  "$(echo "$(date +%s.%N) - $t1" | bc)"
