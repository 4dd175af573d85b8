#!/usr/bin/env bash
# Failover benchmark: a 3-node vrdns cluster on 127.0.0.1 under a steady UPDATE load (4
# clients); the primary is SIGKILLed and the time from the kill to the first NOERROR for an
# UPDATE sent after the kill is measured; the node is restarted (it recovers), and once all
# three are normal the next trial starts. Prints each trial, the median and the max. Then the
# same with SIGSTOP instead of SIGKILL: a hung primary (or a vanished host) closes no
# connection, so the backups notice it only by its silence (replication.primary_timeout_ms plus
# jitter), while a killed process's connections close at once (docs/vr.md, "Failure detection").
# Goal (a benchmark, not a test): median < 300 ms, max < 1 s.
#
# The cluster is started by the load tool itself (tests/chaos/cluster.hpp: free ports below the
# ephemeral range, ready lines awaited, every child stopped by PID on exit), so the kill and
# the replies are timed on one clock.
#
# Usage: bench/failover.sh [build-dir] [trials=7] [clients=4]
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$SRC/build}" && pwd)
TRIALS=${2:-7}
CLIENTS=${3:-4}

cmake --build "$BUILD" -j2 --target vrdns vrdns-update-load >/dev/null
echo "# failover: $TRIALS trials, $CLIENTS update clients, $(nproc) cores, $(date -u +%FT%TZ)"
echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
rc=0
for fault in kill stop; do   # both, even when a kill trial failed
  echo "# primary fault: $fault"
  "$BUILD/bench/vrdns-update-load" --vrdns "$BUILD/vrdns" --zone "$SRC/configs/example.test.zone" \
    --trials "$TRIALS" --clients "$CLIENTS" --fault "$fault" || rc=1
done
exit "$rc"
