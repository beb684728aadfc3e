# Shared helpers for bccnet's bats suites: namespaces made (and always
# removed) per test, tools started in the background and awaited on their
# "Tracing" line, assertions that print expected vs actual.
#
# Traffic stays inside namespaces created here (and their loopback).

BCCNET_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BCCNET_BIN="${BCCNET_BIN:-$BCCNET_ROOT/build}"
HELPERS="$BCCNET_ROOT/tests/bats/helpers"
TOOL_WAIT_S=${TOOL_WAIT_S:-60}

# Program cache: off unless BCCNET_TEST_CACHE_DIR names a directory for the whole
# run (scripts/test.sh --cache runs every suite twice that way: misses, then hits).
if [ -n "${BCCNET_TEST_CACHE_DIR:-}" ]; then
  export BCCNET_CACHE_DIR="$BCCNET_TEST_CACHE_DIR"
  unset BCCNET_NO_CACHE
else
  export BCCNET_NO_CACHE=1
fi

# Unique, short names (interface names are limited to 15 bytes).
_bccnet_tag() { printf '%s%s' "$$" "${BATS_TEST_NUMBER:-0}"; }

# make_ns VAR: creates a namespace with loopback up; its name goes into VAR.
make_ns() {
  local var=$1 name="bn$(_bccnet_tag)_${#BCCNET_NAMESPACES[@]}"
  ip netns add "$name"
  BCCNET_NAMESPACES+=("$name")
  ip -n "$name" link set lo up
  printf -v "$var" '%s' "$name"
}

# veth_pair NS_A NS_B PREFIX NET4 NET6: a veth pair PREFIXa$$ (in NS_A, NET4.1
# and NET6::1) and PREFIXb$$ (in NS_B, NET4.2 and NET6::2), both up.
veth_pair() {
  local a=$1 b=$2 ea="$3a$$" eb="$3b$$"
  ip link add "$ea" netns "$a" type veth peer name "$eb" netns "$b"
  ip -n "$a" addr add "$4.1/24" dev "$ea"
  ip -n "$b" addr add "$4.2/24" dev "$eb"
  ip -n "$a" addr add "$5::1/64" dev "$ea" nodad
  ip -n "$b" addr add "$5::2/64" dev "$eb" nodad
  ip -n "$a" link set "$ea" up
  ip -n "$b" link set "$eb" up
}

# make_tun NS NAME tun|tap QUEUES [NET] [v6]: device held open (not read) by
# a helper, addresses 10.NET.0.1/24 and .5 (NET defaults to 77), fdNET::1/64
# with "v6" (else IPv6 is off, so no ND/MLD packet joins the test traffic),
# static neighbours .2 and .3 (and fdNET::2) for TAP.
make_tun() {
  local ns=$1 dev=$2 kind=$3 queues=$4 net=${5:-77} v6=${6:-} ready="$BATS_TEST_TMPDIR/$2.ready" i
  start_bg _ ip netns exec "$ns" python3 "$HELPERS/tun_hold.py" "$dev" "$kind" "$queues" >"$ready"
  for ((i = 0; i < 50; i++)); do grep -q ready "$ready" && break; sleep 0.1; done
  in_ns "$ns" sysctl -qw "net.ipv6.conf.$dev.disable_ipv6=$([ -n "$v6" ] && echo 0 || echo 1)"
  ip -n "$ns" addr add "10.$net.0.1/24" dev "$dev"
  ip -n "$ns" addr add "10.$net.0.5/24" dev "$dev"
  [ -z "$v6" ] || ip -n "$ns" addr add "fd$net::1/64" dev "$dev" nodad
  ip -n "$ns" link set "$dev" up
  if [ "$kind" = tap ]; then
    ip -n "$ns" neigh add "10.$net.0.2" lladdr 02:00:00:00:00:02 dev "$dev" nud permanent
    ip -n "$ns" neigh add "10.$net.0.3" lladdr 02:00:00:00:00:03 dev "$dev" nud permanent
    [ -z "$v6" ] || ip -n "$ns" neigh add "fd$net::2" lladdr 02:00:00:00:00:02 dev "$dev" nud permanent
  fi
}

# send NS udp|tcp SRC SPORT DST DPORT COUNT
send() { local ns=$1; shift; in_ns "$ns" python3 "$HELPERS/pkt_send.py" "$@" >/dev/null; }

# in_ns NS CMD...: runs a command inside a namespace.
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# start_bg OUT_VAR CMD...: runs CMD in the background, remembering its PID for teardown.
start_bg() {
  local var=$1; shift
  "$@" &
  local pid=$!
  BCCNET_PIDS+=("$pid")
  printf -v "$var" '%s' "$pid"
}

# start_tool NS TOOL ARGS...: starts a bccnet tool inside NS (use "-" for the
# root namespace), stdout to $BATS_TEST_TMPDIR/out, stderr to .../err, and
# waits until it prints its "Tracing" line. Sets TOOL_PID.
start_tool() {
  local ns=$1 tool=$2; shift 2
  local out="$BATS_TEST_TMPDIR/out" err="$BATS_TEST_TMPDIR/err"
  : >"$out"; : >"$err"
  if [ "$ns" = "-" ]; then
    "$BCCNET_BIN/$tool" "$@" >"$out" 2>"$err" &
  else
    ip netns exec "$ns" "$BCCNET_BIN/$tool" "$@" >"$out" 2>"$err" &
  fi
  TOOL_PID=$!
  BCCNET_PIDS+=("$TOOL_PID")
  local i
  for ((i = 0; i < TOOL_WAIT_S * 10; i++)); do
    grep -q '^Tracing' "$err" && return 0
    if ! kill -0 "$TOOL_PID" 2>/dev/null; then
      echo "# $tool exited before tracing:" >&3; cat "$err" >&3; return 1
    fi
    sleep 0.1
  done
  echo "# $tool did not start within ${TOOL_WAIT_S}s" >&3
  return 1
}

# stop_tool [SIGNAL]: stops the tool (default SIGINT) and waits for it; sets TOOL_STATUS.
stop_tool() {
  local sig=${1:-INT} i
  kill -s "$sig" "$TOOL_PID" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$TOOL_PID" 2>/dev/null || break
    sleep 0.1
  done
  TOOL_STATUS=0
  wait "$TOOL_PID" || TOOL_STATUS=$?
}

# wait_tool: waits (bounded) for a tool started with --duration to end by itself.
wait_tool() {
  local i
  for ((i = 0; i < 600; i++)); do
    kill -0 "$TOOL_PID" 2>/dev/null || break
    sleep 0.1
  done
  TOOL_STATUS=0
  wait "$TOOL_PID" || TOOL_STATUS=$?
}

# wait_file PATH: bounded wait (30 s) for a helper's file to be written.
wait_file() {
  local i
  for ((i = 0; i < 300; i++)); do [ -s "$1" ] && return 0; sleep 0.1; done
  echo "# timed out waiting for $1" >&3; return 1
}

# wait_exit PID: bounded wait (120 s) for a background helper; fails on its failure.
wait_exit() {
  local i
  for ((i = 0; i < 1200; i++)); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  wait "$1"
}

# wait_for_line FILE TEXT: bounded wait (10 s) for a line in a helper's output.
wait_for_line() {
  local i
  for ((i = 0; i < 100; i++)); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "no '$2' in $1" >&2
  return 1
}

tool_out() { cat "$BATS_TEST_TMPDIR/out"; }
tool_err() { cat "$BATS_TEST_TMPDIR/err"; }

# assert_eq EXPECTED ACTUAL [WHAT]
assert_eq() {
  if [ "$1" != "$2" ]; then
    echo "${3:-value}: expected '$1', got '$2'" >&2
    return 1
  fi
}

# assert_refused STATUS MESSAGE TOOL ARGS...: the tool exits with STATUS, prints MESSAGE as
# its only stderr line and nothing on stdout.
assert_refused() {
  local want_status=$1 message=$2 tool=$3; shift 3
  run --separate-stderr "$BCCNET_BIN/$tool" "$@"
  assert_eq "$want_status" "$status" "exit status of $tool $*"
  assert_eq "$message" "$stderr" "stderr of $tool $*"
  assert_eq "" "$output" "stdout of $tool $*"
}

# link_stat NS DEV FIELD: a counter of the device as the kernel keeps it
# (FIELD as in `ip -j -s link`: rx.packets, tx.dropped, ...).
link_stat() {
  ip -n "$1" -j -s link show dev "$2" | jq -r ".[0].stats64.$3"
}

# tool_prog_ids: IDs of the BPF programs the running tool holds (its fds), one per line;
# untouched by other tests loading programs at the same time.
tool_prog_ids() { cat /proc/"$TOOL_PID"/fdinfo/* 2>/dev/null | awk '/^prog_id:/ {print $2}' | sort -n; }

# prog_alive ID: true while a BPF program with that ID exists.
prog_alive() { bpftool prog show id "$1" >/dev/null 2>&1; }

# bpf_prog_loads CMD...: runs CMD under strace; prints how many programs it loaded
# (refused loads, such as libbpf's feature probes as an unprivileged user, do not count).
bpf_prog_loads() {
  strace -f -qq -e trace=bpf -o "$BATS_TEST_TMPDIR/strace" "$@" >/dev/null 2>&1 || true
  grep 'BPF_PROG_LOAD' "$BATS_TEST_TMPDIR/strace" | grep -vc '= -1 ' || true
}

bccnet_teardown() {
  local pid ns
  for pid in "${BCCNET_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${BCCNET_PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  for ns in "${BCCNET_NAMESPACES[@]}"; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  done
  BCCNET_PIDS=()
  BCCNET_NAMESPACES=()
}

BCCNET_PIDS=()
BCCNET_NAMESPACES=()

teardown() { bccnet_teardown; }
