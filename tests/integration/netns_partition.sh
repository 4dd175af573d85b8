#!/usr/bin/env bash
# A network partition between real vrdns processes. Each of the three nodes runs in its own
# network namespace, joined by a veth pair to a bridge in a fourth namespace (which also holds
# the address the clients use); the host's own interfaces and routes are never touched.
# Cutting a backup's link leaves the majority taking UPDATEs while the cut-off node answers
# UPDATE with SERVFAIL (within [replication] update_timeout_ms) and queries from what it has;
# once the link is back it catches up (same op/commit, serves what it missed).
# Needs root and `ip netns`; otherwise prints "SKIPPED: <reason>" and exits 77 (ctest: skipped).
# Usage: bash netns_partition.sh <build-dir> <source-dir>
set -u
BUILD=$(cd "${1:?build dir}" && pwd)
SRC=$(cd "${2:?source dir}" && pwd)
# shellcheck source=lib/cluster.sh
source "$SRC/tests/integration/lib/cluster.sh"

[ "$(id -u)" -eq 0 ] || { echo "SKIPPED: not root (network namespaces need root)"; exit 77; }
command -v ip >/dev/null || { echo "SKIPPED: no ip command (iproute2)"; exit 77; }
cluster_init

TAG="vrdns-t$$"
NSB="$TAG-br"                  # the bridge (and the clients) live here
NS=("$TAG-0" "$TAG-1" "$TAG-2")
CREATED=()                     # namespaces this run created: deleted on any exit
cleanup() {
  cluster_cleanup              # the nodes first: they run inside the namespaces
  local ns
  for ns in "${CREATED[@]}"; do ip netns del "$ns" 2>/dev/null; done
}
trap cleanup EXIT
trap 'exit 1' INT TERM
make_ns() { ip netns add "$1" && CREATED+=("$1"); }

make_ns "$NSB" || { echo "SKIPPED: ip netns add does not work here"; exit 77; }
SUB="10.231.$((RANDOM % 200))"
UPDATE_TIMEOUT_MS=1500
# Any failure below is a failure of the test, not an environment to skip.
setup() {
  ip -n "$NSB" link set lo up &&
  ip -n "$NSB" link add br0 type bridge &&
  ip -n "$NSB" addr add "$SUB.254/24" dev br0 &&
  ip -n "$NSB" link set br0 up || return 1
  local i
  for i in 0 1 2; do
    make_ns "${NS[$i]}" &&
    ip -n "$NSB" link add "vb$i" type veth peer name eth0 netns "${NS[$i]}" &&
    ip -n "$NSB" link set "vb$i" master br0 &&
    ip -n "$NSB" link set "vb$i" up &&
    ip -n "${NS[$i]}" link set lo up &&
    ip -n "${NS[$i]}" addr add "$SUB.$((i + 1))/24" dev eth0 &&
    ip -n "${NS[$i]}" link set eth0 up || return 1
  done
}
setup || { echo "FAIL: namespace setup"; exit 1; }
pass "namespaces $NSB ${NS[*]} on $SUB.0/24"

replicas="\"$SUB.1:7301\", \"$SUB.2:7301\", \"$SUB.3:7301\""
for i in 0 1 2; do
  DNS_ADDR[$i]="$SUB.$((i + 1))"
  DNS_PORT[$i]=53
  NODE_NS[$i]="${NS[$i]}"
  CLIENT_NS[$i]="$NSB"          # queries cross the bridge, like a real client's
  write_node_config "$i" "$replicas" "$UPDATE_TIMEOUT_MS"
  start_node "$i" || { fail "node $i did not start"; finish; }
done

wait_connected 0 1 2 && pass "all nodes connected" || fail "nodes not connected"
for i in 0 1 2; do
  wait_status "$i" 50 "replica=$i view=0 status=normal primary=0 *" &&
    pass "node $i: $STATUS" || fail "node $i status: '$STATUS'"
done
update_ok 0 "p1.example.test. 300 A 192.0.2.71"
for i in 0 1 2; do wait_served "$i" p1.example.test A 192.0.2.71; done

# --- cut backup 2 off: its only link goes down (inside its own namespace) --------------------
ip -n "${NS[2]}" link set eth0 down || fail "link down"
# The bridge cannot reach node 2 now; it is queried from inside its namespace (its address
# stays local there).
CLIENT_NS[2]="${NS[2]}"
served 2 p1.example.test A 192.0.2.71 || fail "node 2 not reachable from its own namespace"
in_ns "$NSB" dig @"$SUB.3" -p 53 +time=1 +tries=1 +short p1.example.test A >/dev/null &&
  fail "node 2 still reachable through the bridge" || pass "node 2 cut off from the bridge"

update_ok 0 "p2.example.test. 300 A 192.0.2.72"
update_ok 1 "p3.example.test. 300 A 192.0.2.73"
for i in 0 1; do
  wait_served "$i" p2.example.test A 192.0.2.72
  wait_served "$i" p3.example.test A 192.0.2.73
done

expect_servfail_in_bound 2 "p4.example.test. 300 A 192.0.2.74" "$UPDATE_TIMEOUT_MS"
served 2 p1.example.test A 192.0.2.71 && pass "cut-off node answers p1 from what it has" ||
  fail "cut-off node: p1 '$(dq 2 +short p1.example.test A)'"
soa=$(dq 2 +short example.test SOA)
[ -n "$soa" ] && pass "cut-off node answers SOA: $soa" || fail "cut-off node: no SOA"
served 2 p2.example.test A "" && pass "cut-off node does not have p2 (sanity)" ||
  fail "cut-off node serves p2 while cut off: '$(dq 2 +short p2.example.test A)'"

# --- heal: node 2 catches up ------------------------------------------------------------------
ip -n "${NS[2]}" link set eth0 up || fail "link up"
CLIENT_NS[2]="$NSB"
# The event: all three normal in one view with the same op and commit. The cut-off node
# escalated its view meanwhile, so healing may take a view change; peers reconnect with up to
# 0.5 s backoff. Bounded: 150 polls.
wait_agree 150 0 1 2 && pass "healed: $AGREED" || fail "not healed: $AGREED"
wait_served 2 p2.example.test A 192.0.2.72
wait_served 2 p3.example.test A 192.0.2.73
# And the healed cluster takes an update through the node that was cut off.
update_ok 2 "p5.example.test. 300 A 192.0.2.75"
for i in 0 1 2; do wait_served "$i" p5.example.test A 192.0.2.75; done

for i in 0 1 2; do stop_node "$i"; done
finish
