#!/usr/bin/env bats
# --netns across the tools: devices and sockets in a second namespace (N2),
# and a same-named device / the same kind of traffic in a third one (N3) that
# --netns must leave out. The tools run in the root namespace.

bats_require_minimum_version 1.5.0
load test_helper

WRAP=()
INNER=()

setup() {
  make_ns N2
  make_ns N3
  DEV=tn$$
  N2_INO=$(stat -L -c %i "/run/netns/$N2")
  N3_INO=$(stat -L -c %i "/run/netns/$N3")
}

# ns_entered PID TYPE: bounded wait until process PID has left our TYPE (net, mnt)
# namespace: `ip netns exec` and `unshare` need a moment before they exec.
ns_entered() {
  local i
  for ((i = 0; i < 300; i++)); do
    [ "$(stat -L -c %i "/proc/$1/ns/$2" 2>/dev/null || echo gone)" != "$(stat -L -c %i /proc/self/ns/$2)" ] && return 0
    sleep 0.1
  done
  echo "# process $1 never left our $2 namespace" >&3; return 1
}

# ns_pid NS: a process living in NS (for --netns pid:PID).
ns_pid() { ip netns pids "$1" | head -n 1; }

# Same-named TUN devices nobody reads: 4 queues in N2, 2 in N3.
two_tuns() {
  make_tun "$N2" "$DEV" tun 4 81
  make_tun "$N3" "$DEV" tun 2 81
}

# 23 packets through the device in N2, 37 through its namesake in N3.
tun_traffic() {
  send "$N2" udp 10.81.0.1 5555 10.81.0.2 9000 23
  send "$N3" udp 10.81.0.1 5555 10.81.0.2 9000 37
}

events() { tool_out | jq -s "[.[] | select(.type == \"event\") | select($1)] | length"; }

@test "tun_ring_monitor --netns NAME watches the device of that namespace only" {
  two_tuns
  start_tool - tun_ring_monitor --json --all -d "$DEV" --netns "$N2"
  tun_traffic
  stop_tool
  assert_eq 0 "$TOOL_STATUS" "exit status"
  assert_eq 23 "$(events true)" "events"
  assert_eq 23 "$(events ".netns == $N2_INO and .device == \"$DEV\" and .sport == 5555")" "events of N2's device"
  assert_eq "" "$(tool_err | grep -v '^Tracing')" "stderr"
}

@test "tun_ring_monitor --netns pid:PID watches the namespace of that process" {
  two_tuns
  start_tool - tun_ring_monitor --json --all -d "$DEV" --netns "pid:$(ns_pid "$N3")"
  tun_traffic
  stop_tool
  assert_eq 37 "$(events true)" "events"
  assert_eq 37 "$(events ".netns == $N3_INO")" "events of N3's device"
}

@test "tun_ring_monitor --device of another namespace, without --netns, watches that name in every namespace and says so" {
  two_tuns
  start_tool - tun_ring_monitor --json --all -d "$DEV"
  tun_traffic
  stop_tool
  assert_eq "tun_ring_monitor: warning: device $DEV is not in this network namespace: watching $DEV in every namespace (--netns NS: only in NS)" \
    "$(tool_err | grep -v '^Tracing')" "the one line"
  assert_eq 23 "$(events ".netns == $N2_INO")" "events of N2's device"
  assert_eq 37 "$(events ".netns == $N3_INO")" "events of N3's device"
  assert_eq 60 "$(events true)" "events"
}

@test "tun_ring_monitor --netns without --device watches every TUN/TAP device of that namespace only" {
  two_tuns
  make_tun "$N2" "t2$DEV" tun 1 82
  start_tool - tun_ring_monitor --json --all --netns "$N2"
  tun_traffic
  send "$N2" udp 10.82.0.1 5555 10.82.0.2 9000 13
  stop_tool
  assert_eq 23 "$(events ".netns == $N2_INO and .device == \"$DEV\"")" "events of N2's $DEV"
  assert_eq 13 "$(events ".netns == $N2_INO and .device == \"t2$DEV\"")" "events of N2's t2$DEV"
  assert_eq 36 "$(events true)" "events"
}

@test "nic_throughput --netns looks the device up in that namespace: its queues, its packets only" {
  two_tuns
  start_tool - nic_throughput --json -i 60 -n "$DEV" --netns "$N2"
  tun_traffic
  stop_tool
  assert_eq 0 "$TOOL_STATUS" "exit status"
  assert_eq 23 "$(tool_out | jq -s '[.[] | select(.type == "summary")][0].tx_packets')" "tx packets"
  assert_eq 4 "$(tool_out | jq -s '[.[] | select(.type == "interval")][0].tx | length')" "TX queue rows (N2's device has 4)"
  assert_eq "$N2_INO" "$(tool_out | jq -s '[.[] | select(.type == "interval")][0].netns')" "netns"
}

@test "nic_throughput --netns pid:PID: the namesake in the process's namespace" {
  two_tuns
  start_tool - nic_throughput --json -i 60 -n "$DEV" --netns "pid:$(ns_pid "$N3")"
  tun_traffic
  stop_tool
  assert_eq 37 "$(tool_out | jq -s '[.[] | select(.type == "summary")][0].tx_packets')" "tx packets"
  assert_eq 2 "$(tool_out | jq -s '[.[] | select(.type == "interval")][0].tx | length')" "TX queue rows (N3's device has 2)"
  assert_eq "$N3_INO" "$(tool_out | jq -s '[.[] | select(.type == "interval")][0].netns')" "netns"
}

@test "nic_throughput: a device missing from --netns's namespace exits 2 with one line" {
  run --separate-stderr timeout 30 "$BCCNET_BIN/nic_throughput" -n "$DEV" --netns "$N2"
  assert_eq 2 "$status" "exit status"
  assert_eq "nic_throughput: invalid --name '$DEV': no such network interface in network namespace /run/netns/$N2 (see: ip -n NS link)" "$stderr" "stderr"
}

# churn_in NS COUNT BYTES TAG: COUNT loopback connections in NS, each sending BYTES
# and read by the server; the peers' PIDs go to TAG.srv / TAG.cli. Both peers run
# under the command prefix in the array WRAP (e.g. in_cgroup DIR), if set, and
# inside the namespace under the prefix INNER (`ip netns exec` makes its own mount
# namespace: INNER can enter another one).
churn_in() {
  local ns=$1 count=$2 bytes=$3 t=$BATS_TEST_TMPDIR/$4 srv cli
  start_bg srv "${WRAP[@]}" ip netns exec "$ns" "${INNER[@]}" python3 "$HELPERS/churn_peer.py" server nssrv \
    "$t.srv" "$t.done" "$count" "$bytes" 127.0.0.1:23111
  wait_file "$t.srv"
  # one CPU, so no RST overtakes its handshake's last ACK (churn.bats says why)
  start_bg cli "${WRAP[@]}" ip netns exec "$ns" "${INNER[@]}" taskset -c 0 python3 "$HELPERS/churn_peer.py" client nscli \
    "$t.cli" "$t.done" "$count" "$bytes" 127.0.0.1:23111 >/dev/null
  wait_exit "$cli"
  wait_exit "$srv"
}

rows() { tool_out | jq -s "[.[] | select(.type == \"connection\") | select($1)] | length"; }

# bats test_tags=kernel
@test "tcp_connection --netns reports only that namespace's connections" {
  start_tool - tcp_connection --json --netns "$N2"
  churn_in "$N2" 7 0 a
  churn_in "$N3" 11 0 b
  stop_tool
  assert_eq 14 "$(rows true)" "rows"
  assert_eq 7 "$(rows ".netns == $N2_INO and .direction == \"accept\" and .sport == 23111")" "accept rows"
  assert_eq 7 "$(rows ".netns == $N2_INO and .direction == \"connect\" and .dport == 23111")" "connect rows"
}

# The socket's namespace from BTF offsets; the kprobe path on kernels without the sock tracepoints.
# bats test_tags=kernel
@test "tcp_bytes --netns pid:PID counts only that namespace's sockets" {
  local keeper
  start_bg keeper ip netns exec "$N3" sleep 60
  ns_entered "$keeper" net
  start_tool - tcp_bytes --json -i 60 --netns "pid:$keeper"
  churn_in "$N2" 7 1009 a
  churn_in "$N3" 11 1013 b
  stop_tool
  assert_eq 0 "$(rows ".netns != $N3_INO")" "rows of other namespaces"
  assert_eq $((11 * 1013)) "$(tool_out | jq -s '[.[] | select(.type == "connection") | .tx_bytes] | add')" "tx bytes"
  assert_eq $((11 * 1013)) "$(tool_out | jq -s '[.[] | select(.type == "connection") | .rx_bytes] | add')" "rx bytes"
}

# in_cgroup DIR CMD...: runs CMD (exec) as a member of the cgroup DIR; for start_bg.
in_cgroup() { echo "$BASHPID" >"$1/cgroup.procs"; shift; exec "$@"; }

# le64 N: N as 8 little-endian bytes in hex, the way bpftool takes keys.
le64() { local i; for ((i = 0; i < 8; i++)); do printf '%02x ' $((($1 >> (8 * i)) & 255)); done; }

# pinned_set VAR: a BPF hash map (8-byte keys and values) pinned on a bpffs of the
# test's own; its path goes into VAR.
pinned_set() {
  BPFFS=$BATS_TEST_TMPDIR/bpffs
  mkdir -p "$BPFFS"
  mount -t bpf bpf "$BPFFS"
  bpftool map create "$BPFFS/set" type hash key 8 value 8 entries 64 name bccnet_set
  printf -v "$1" '%s' "$BPFFS/set"
}

teardown() {
  bccnet_teardown
  [ -z "${BPFFS:-}" ] || umount "$BPFFS" 2>/dev/null || true
  [ -z "${CG:-}" ] || rmdir "$CG" 2>/dev/null || true
}

@test "tcp_bytes --cgroupmap counts only processes of the cgroups in the map, and follows changes to it live" {
  local root map
  root=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/self/mounts)
  [ -n "$root" ] || skip "no cgroup v2 hierarchy mounted (cgroup2 in /proc/mounts)"
  CG=$root/bccnet$$
  mkdir "$CG"
  pinned_set map
  start_tool - tcp_bytes --json -i 60 --cgroupmap "$map"
  WRAP=(in_cgroup "$CG")
  churn_in "$N2" 5 1009 before # the map is still empty: nothing counts
  bpftool map update pinned "$map" key hex $(le64 "$(stat -c %i "$CG")") value hex $(le64 1)
  churn_in "$N2" 7 1013 member
  WRAP=()
  churn_in "$N2" 11 1019 outsider
  stop_tool
  assert_eq 0 "$TOOL_STATUS" "exit status"
  assert_eq $((7 * 1013)) "$(tool_out | jq -s '[.[] | select(.type == "connection") | .tx_bytes] | add')" "tx bytes"
  assert_eq $((7 * 1013)) "$(tool_out | jq -s '[.[] | select(.type == "connection") | .rx_bytes] | add')" "rx bytes"
  assert_eq "$(cat "$BATS_TEST_TMPDIR/member.cli" "$BATS_TEST_TMPDIR/member.srv" | sort -n)" \
    "$(tool_out | jq -r 'select(.type == "connection") | .pid' | sort -nu)" "PIDs"
}

@test "tcp_bytes --mntnsmap counts only processes of the mount namespaces in the map" {
  local map keeper mntns
  pinned_set map
  start_bg keeper unshare -m sleep 60
  ns_entered "$keeper" mnt
  mntns=$(stat -L -c %i "/proc/$keeper/ns/mnt")
  bpftool map update pinned "$map" key hex $(le64 "$mntns") value hex $(le64 1)
  start_tool - tcp_bytes --json -i 60 --mntnsmap "$map"
  INNER=(nsenter -t "$keeper" -m)
  churn_in "$N2" 7 1013 member
  INNER=()
  churn_in "$N2" 11 1019 outsider
  stop_tool
  assert_eq $((7 * 1013)) "$(tool_out | jq -s '[.[] | select(.type == "connection") | .tx_bytes] | add')" "tx bytes"
  assert_eq $((7 * 1013)) "$(tool_out | jq -s '[.[] | select(.type == "connection") | .rx_bytes] | add')" "rx bytes"
}

@test "--cgroupmap and --mntnsmap refuse what is not a pinned hash map, and the path never becomes BPF text" {
  local map
  run --separate-stderr "$BCCNET_BIN/tcp_bytes" --cgroupmap /nonexistent/map
  assert_eq 2 "$status" "exit status"
  assert_eq "tcp_bytes: invalid --cgroupmap '/nonexistent/map': no such file (expected a pinned BPF hash map, e.g. made with bpftool map create)" "$stderr"
  run --separate-stderr "$BCCNET_BIN/tcp_bytes" --mntnsmap /etc/hostname
  assert_eq 2 "$status" "exit status"
  assert_eq "tcp_bytes: invalid --mntnsmap '/etc/hostname': not a pinned BPF object (expected a pinned BPF hash map, e.g. made with bpftool map create)" "$stderr"
  pinned_set map
  bpftool map create "$BPFFS/arr" type array key 4 value 8 entries 4 name bccnet_arr
  run --separate-stderr "$BCCNET_BIN/tcp_bytes" --cgroupmap "$BPFFS/arr"
  assert_eq 2 "$status" "exit status"
  assert_eq "tcp_bytes: invalid --cgroupmap '$BPFFS/arr': not a BPF hash map with 8-byte keys" "$stderr"
  run --separate-stderr "$BCCNET_BIN/tcp_bytes" --print-bpf --cgroupmap "$map" --mntnsmap "$map"
  assert_eq 0 "$status" "exit status"
  [[ "${lines[0]}" == *"-DFILTER_CGROUPMAP=1 -DCGROUPMAP_VALUE_SIZE=8 -DCGROUPMAP_FLAGS=0"* ]]
  [[ "$output" != *"$BPFFS"* ]]
}

# bad_netns TOOL ARG MESSAGE_TAIL
bad_netns() {
  run --separate-stderr timeout 30 "$BCCNET_BIN/$1" --netns "$2" "${@:4}"
  assert_eq 2 "$status" "exit status of $1 --netns $2"
  assert_eq "$1: invalid --netns '$2': $3 (expected a name in /run/netns, a namespace file, or pid:PID)" "$stderr" "stderr of $1"
  assert_eq "" "$output" "stdout of $1"
}

@test "bad --netns values exit 2 with one line in every tool" {
  local dead tool extra
  sleep 0 & dead=$!
  wait "$dead"
  for tool in tcp_connection tcp_bytes tcp_inerrs tun_ring_monitor nic_throughput; do
    extra=()
    [ "$tool" = nic_throughput ] && extra=(-n lo)
    bad_netns "$tool" "nosuchns$$" "no such namespace" "${extra[@]}"
    bad_netns "$tool" /etc/hostname "not a network namespace" "${extra[@]}"
    bad_netns "$tool" /proc/self/ns/mnt "not a network namespace" "${extra[@]}"
    bad_netns "$tool" "pid:$dead" "no such process" "${extra[@]}"
  done
}
