# Sourced by the durability_*.sh tests after lib/cluster.sh (not a test itself). Helpers for
# an UPDATE load whose acknowledgements are recorded, for comparing what the nodes serve, and
# for corrupting files in a stopped node's data_dir (formats: docs/storage.md).
# Every wait is a poll for an event, bounded in tries and in wall time.

# shellcheck shell=bash
LOAD_PIDS=()

# load_client <tag> <client> <count> <node>: adds <tag>-c<client>-<n>.example.test. A records
# one at a time through node <node> (one nsupdate per add, at most 4 s each, no retry by us).
# Appends "<name> <nsupdate exit status>" to $TMP/load-<tag>: status 0 = NOERROR, i.e.
# acknowledged; anything else is unknown (it may or may not have committed). Stops early once
# $TMP/stop-<tag> exists.
load_client() {
  local tag=$1 c=$2 count=$3 node=$4 n name rc
  for ((n = 0; n < count; n++)); do
    [ -e "$TMP/stop-$tag" ] && break
    name="$tag-c$c-$n.example.test."
    nsupd "$node" "$name 300 A 10.$c.$((n / 256 % 256)).$((n % 256))" -t 4 -u 1 >/dev/null
    rc=$?
    # One short line per write(2) with O_APPEND: the clients' lines never interleave.
    echo "$name $rc" >> "$TMP/load-$tag"
  done
}

# start_load <tag> <adds per client> <node...>: one background client per listed node.
start_load() {
  local tag=$1 count=$2 c=0 node
  shift 2
  rm -f "$TMP/stop-$tag" "$TMP/load-$tag"
  touch "$TMP/load-$tag"
  LOAD_PIDS=()
  for node in "$@"; do
    load_client "$tag" "$c" "$count" "$node" &
    LOAD_PIDS+=("$!")
    c=$((c + 1))
  done
}

# stop_load <tag>: asks the clients to stop and reaps them. Each finishes its current nsupdate
# (at most 4 s) and then sees the stop file, so this returns within about 5 s.
stop_load() {
  local pid
  touch "$TMP/stop-$1"
  for pid in "${LOAD_PIDS[@]}"; do wait "$pid" 2>/dev/null; done
  LOAD_PIDS=()
}

# finish_load <tag> <seconds>: waits (bounded) for the clients to send everything, then stops
# whatever still runs. True if they all finished by themselves.
finish_load() {
  local tag=$1 deadline=$((SECONDS + $2)) pid running
  while [ "$SECONDS" -le "$deadline" ]; do
    running=0
    for pid in "${LOAD_PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && running=1; done
    [ "$running" -eq 0 ] && break
    sleep 0.1
  done
  stop_load "$tag"
  [ "$running" -eq 0 ]
}

acked_count() { awk '$2 == 0' "$TMP/load-$1" | wc -l; }
sent_count() { wc -l < "$TMP/load-$1"; }

# wait_acked <tag> <n> <tries>: polls (0.1 s apart) until at least n adds were acknowledged.
wait_acked() {
  local tag=$1 want=$2 deadline
  deadline=$(poll_deadline "$3")
  for _ in $(seq "$3"); do
    [ "$SECONDS" -le "$deadline" ] || break
    [ "$(acked_count "$tag")" -ge "$want" ] && return 0
    sleep 0.1
  done
  return 1
}

# kill_all_nodes: SIGKILL to all three in one kill(1) call (a power cut of the whole cluster),
# then reaps them.
kill_all_nodes() {
  local i pids=()
  for i in 0 1 2; do [ -n "${PIDS[$i]}" ] && pids+=("${PIDS[$i]}"); done
  kill -KILL "${pids[@]}"
  for i in 0 1 2; do
    [ -n "${PIDS[$i]}" ] && wait "${PIDS[$i]}" 2>/dev/null
    eval "exec $((3 + i))<&-"
    PIDS[i]=""
  done
}

# soa_of <i>: node i's SOA answer (+short); empty while it answers SERVFAIL (not caught up).
# (dig prints errors such as ";; communications error" to stdout even with +short: dropped.)
soa_of() { dq "$1" +short example.test SOA | grep -v '^;'; }
serial_of() { soa_of "$1" | awk '{print $3}'; }

# wait_soa <i> <tries>: polls until node i answers the SOA query (it vouches for its state).
wait_soa() {
  local deadline
  deadline=$(poll_deadline "$2")
  for _ in $(seq "$2"); do
    [ "$SECONDS" -le "$deadline" ] || break
    [ -n "$(soa_of "$1")" ] && return 0
    sleep 0.1
  done
  return 1
}

# new_log <i>: node i's stderr since its last start.
new_log() { tail -c +$((ERR_START[$1] + 1)) "$TMP/err$1"; }

# names_of <tag...>: every name the loads of these tags tried to add, one "name A" query a line
# (dig -f batch format), in $TMP/names.
names_of() {
  local tag
  for tag in "$@"; do awk '{print $1 " A"}' "$TMP/load-$tag"; done | sort -u > "$TMP/names"
}

# snapshot <i> <out>: what node i serves: its SOA, then the answer RRs of every query in
# $TMP/names (one dig per batch, 3 tries per query), sorted. AXFR is not available, so this is
# "the zone" as far as the tests can see it: every name they added, plus the serial.
snapshot() {
  local i=$1 out=$2
  {
    echo "SOA $(soa_of "$i")"
    in_ns "${CLIENT_NS[$i]}" dig @"${DNS_ADDR[$i]}" -p "${DNS_PORT[$i]}" +time=1 +tries=3 \
      +noall +answer -f "$TMP/names" | sort
  } > "$out"
}

# check_identical <tag...>: the three nodes serve the same SOA and the same answers for every
# name the loads of these tags tried to add, and every acknowledged add is present.
check_identical() {
  local i tag missing
  names_of "$@"
  for i in 0 1 2; do snapshot "$i" "$TMP/snap$i"; done
  [ "$(head -1 "$TMP/snap0")" != "SOA " ] || fail "node 0 does not answer the SOA query"
  if cmp -s "$TMP/snap0" "$TMP/snap1" && cmp -s "$TMP/snap0" "$TMP/snap2"; then
    pass "nodes serve identical answers for $(wc -l < "$TMP/names") added names and SOA ($(head -1 "$TMP/snap0"))"
  else
    fail "the nodes serve different zones: $(diff "$TMP/snap0" "$TMP/snap1" | head -5) / $(diff "$TMP/snap0" "$TMP/snap2" | head -5)"
  fi
  awk '$4 == "A" {print $1}' "$TMP/snap0" | sort -u > "$TMP/present"
  for tag in "$@"; do awk '$2 == 0 {print $1}' "$TMP/load-$tag"; done | sort -u > "$TMP/acked"
  comm -23 "$TMP/acked" "$TMP/present" > "$TMP/missing"
  missing=$(wc -l < "$TMP/missing")
  if [ "$missing" -eq 0 ]; then
    pass "every acknowledged add is served ($(wc -l < "$TMP/acked") acknowledged)"
  else
    fail "$missing acknowledged add(s) not served, e.g. $(head -3 "$TMP/missing" | tr '\n' ' ')"
  fi
}

# --- files of a stopped node's data_dir ---------------------------------------------------------

le_u32() { od -An -tu4 -j "$2" -N4 "$1" | tr -d ' '; }
le_u64() { od -An -tu8 -j "$2" -N8 "$1" | tr -d ' '; }

# wal_records <segment>: one line "<offset> <op_number> <payload_length>" per record, walking
# the 40-byte headers (docs/storage.md); stops at the first header without the VRWL magic or
# whose payload runs past the end of the file.
wal_records() {
  local f=$1 off=0 size len
  size=$(stat -c %s "$f")
  while [ $((off + 40)) -le "$size" ]; do
    [ "$(le_u32 "$f" "$off")" = 1280791126 ] || break   # "VRWL" as a little-endian u32
    len=$(le_u32 "$f" $((off + 32)))
    [ $((off + 40 + len)) -le "$size" ] || break
    echo "$off $(le_u64 "$f" $((off + 16))) $len"
    off=$((off + 40 + len))
  done
}

# flip_byte <file> <offset>: inverts the bits of one byte in place (bit rot).
flip_byte() {
  local f=$1 off=$2 v
  v=$(od -An -tu1 -j "$off" -N1 "$f" | tr -d ' ')
  # shellcheck disable=SC2059
  printf "\\$(printf %03o $((v ^ 0xff)))" | dd of="$f" bs=1 seek="$off" count=1 conv=notrunc status=none
}

# checkpoint_op <data_dir>: op_number of the newest checkpoint-<op>.meta there; empty if none.
checkpoint_op() {
  local m
  m=$(find "$1" -maxdepth 1 -name 'checkpoint-*.meta' -printf '%f\n' 2>/dev/null | sort | tail -1)
  [ -n "$m" ] || return 0
  m=${m#checkpoint-}
  echo $((10#${m%.meta}))
}
