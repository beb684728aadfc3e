#!/usr/bin/env bats
# nic_throughput against traffic between two namespaces joined by a veth pair
# with 4 TX and 4 RX queues on each end: A (nta<pid>, 10.232.0.1, fd32::1) in
# namespace NA and B (ntb<pid>, 10.232.0.2, fd32::2) in NB. Neighbours are
# permanent and router solicitation is off, so once the link is quiet the only
# packets are the ones a test sends. The tool runs inside a namespace and
# follows one device there; its sums are checked against the kernel's own
# counters of that device (`ip -s link`).

bats_require_minimum_version 1.5.0
load test_helper

NT=nic_throughput
TRAFFIC="$HELPERS/nic_traffic.py"
PORT=23032

setup() {
  A=nta$$
  B=ntb$$
  make_ns NA
  make_ns NB
  for ns in "$NA" "$NB"; do
    in_ns "$ns" sysctl -qw net.ipv6.conf.default.accept_ra=0 net.ipv6.conf.default.dad_transmits=0 \
      net.ipv6.conf.default.router_solicitations=0
  done
  ip -n "$NA" link add "$A" numtxqueues 4 numrxqueues 4 type veth \
    peer name "$B" numtxqueues 4 numrxqueues 4 netns "$NB"
  ip -n "$NA" addr add 10.232.0.1/24 dev "$A"
  ip -n "$NB" addr add 10.232.0.2/24 dev "$B"
  ip -n "$NA" addr add fd32::1/64 dev "$A" nodad
  ip -n "$NB" addr add fd32::2/64 dev "$B" nodad
  local mac_a mac_b
  mac_a=$(ip -n "$NA" -j link show dev "$A" | jq -r '.[0].address')
  mac_b=$(ip -n "$NB" -j link show dev "$B" | jq -r '.[0].address')
  ip -n "$NA" neigh add 10.232.0.2 lladdr "$mac_b" dev "$A" nud permanent
  ip -n "$NA" neigh add fd32::2 lladdr "$mac_b" dev "$A" nud permanent
  ip -n "$NB" neigh add 10.232.0.1 lladdr "$mac_a" dev "$B" nud permanent
  ip -n "$NB" neigh add fd32::1 lladdr "$mac_a" dev "$B" nud permanent
  ip -n "$NA" link set "$A" up
  ip -n "$NB" link set "$B" up
}

# wait_quiet NS DEV: bounded wait until the device's packet counters stand still for
# 1.5 s (the link-up MLD reports are over).
wait_quiet() {
  local last="" now i same=0
  for ((i = 0; i < 60; i++)); do
    now=$(ip -n "$1" -j -s link show dev "$2" | jq -c '.[0].stats64 | [.rx.packets, .tx.packets]')
    if [ "$now" = "$last" ]; then
      same=$((same + 1))
      [ "$same" -ge 3 ] && return 0
    else
      same=0
    fi
    last=$now
    sleep 0.5
  done
  echo "# $2 never went quiet" >&3
  return 1
}

# counters NS DEV: "rx_packets rx_bytes tx_packets tx_bytes" as the kernel keeps them.
counters() {
  ip -n "$1" -j -s link show dev "$2" |
    jq -r '.[0].stats64 | "\(.rx.packets) \(.rx.bytes) \(.tx.packets) \(.tx.bytes)"'
}

# deltas BEFORE AFTER: the difference of two `counters` lines, as JSON.
deltas() {
  local -a b=($1) a=($2)
  printf '{"rx_packets":%d,"rx_bytes":%d,"tx_packets":%d,"tx_bytes":%d}\n' \
    $((a[0] - b[0])) $((a[1] - b[1])) $((a[2] - b[2])) $((a[3] - b[3]))
}

# sink NS: a UDP socket on [::]:$PORT in NS, so datagrams get no ICMP answer.
sink() {
  local ready=$BATS_TEST_TMPDIR/sink.$1 i
  start_bg SINK_PID ip netns exec "$1" python3 "$TRAFFIC" sink $PORT "$ready"
  for ((i = 0; i < 100; i++)); do [ -s "$ready" ] && return 0; sleep 0.05; done
  echo "# the sink in $1 never got ready" >&3
  return 1
}

# udp NS DST FIRST_SPORT FLOWS SIZE: one datagram from each of FLOWS source ports.
udp() { ip netns exec "$1" python3 "$TRAFFIC" udp "$2" $PORT "$3" "$4" "$5" >/dev/null; }

# run_sum FILE JQ_PATH: the sum over all interval objects of one number.
run_sum() {
  jq -s "[.[] | select(.type == \"interval\") | $2] | add" "$1"
}

# per_queue FILE DIR: {"queue": packets} summed over the run, queues with traffic only.
per_queue() {
  jq -s -c "[.[] | select(.type == \"interval\") | .$2[]] | group_by(.queue) |
    map({key: (.[0].queue | tostring), value: (map(.packets) | add)}) |
    map(select(.value > 0)) | from_entries" "$1"
}

# start_nt LABEL NS ARGS...: a second, independent tool instance (stdout LABEL.out,
# stderr LABEL.err) waited on until it traces; sets NT_PID.
start_nt() {
  local label=$1 ns=$2 i
  shift 2
  ip netns exec "$ns" "$BCCNET_BIN/$NT" "$@" >"$BATS_TEST_TMPDIR/$label.out" \
    2>"$BATS_TEST_TMPDIR/$label.err" &
  NT_PID=$!
  BCCNET_PIDS+=("$NT_PID")
  for ((i = 0; i < TOOL_WAIT_S * 10; i++)); do
    grep -q '^Tracing' "$BATS_TEST_TMPDIR/$label.err" && return 0
    kill -0 "$NT_PID" 2>/dev/null || { cat "$BATS_TEST_TMPDIR/$label.err" >&3; return 1; }
    sleep 0.1
  done
  return 1
}

# stop_nt PID: SIGINT, bounded wait; fails unless the tool exits 0.
stop_nt() {
  local i status=0
  kill -INT "$1"
  for ((i = 0; i < 100; i++)); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  wait "$1" || status=$?
  assert_eq 0 "$status" "exit status of $NT"
}

# Which RX raw tracepoints exist, and their arguments, differ between kernels (checked in BTF).
# bats test_tags=kernel,e2e
@test "TX and RX packets and bytes over the run equal the device's own counters (IPv4 and IPv6 UDP over several queues)" {
  sink "$NA"
  sink "$NB"
  wait_quiet "$NA" "$A"
  start_tool "$NA" $NT -n "$A" -i 0.5 --json
  local before after
  before=$(counters "$NA" "$A")
  udp "$NA" 10.232.0.2 41000 23 100  # A -> B, IPv4
  udp "$NA" fd32::2 42000 29 300     # A -> B, IPv6
  udp "$NB" 10.232.0.1 43000 31 200  # B -> A, IPv4
  udp "$NB" fd32::1 44000 37 700     # B -> A, IPv6
  sleep 0.3
  after=$(counters "$NA" "$A")
  stop_tool
  assert_eq 0 "$TOOL_STATUS" "exit status"

  local out=$BATS_TEST_TMPDIR/out d
  d=$(deltas "$before" "$after")
  # The traffic itself: 52 frames out, 68 in, each Ethernet + IP + UDP headers + payload.
  assert_eq $((23 + 29)) "$(jq .tx_packets <<<"$d")" "device TX packets"
  assert_eq $((31 + 37)) "$(jq .rx_packets <<<"$d")" "device RX packets"
  assert_eq $((23 * (14 + 20 + 8 + 100) + 29 * (14 + 40 + 8 + 300))) "$(jq .tx_bytes <<<"$d")" "device TX bytes"
  assert_eq $((31 * (14 + 20 + 8 + 200) + 37 * (14 + 40 + 8 + 700))) "$(jq .rx_bytes <<<"$d")" "device RX bytes"

  assert_eq "$(jq .tx_packets <<<"$d")" "$(run_sum "$out" .tx_total.packets)" "TX packets"
  assert_eq "$(jq .tx_bytes <<<"$d")" "$(run_sum "$out" .tx_total.bytes)" "TX bytes"
  assert_eq "$(jq .rx_packets <<<"$d")" "$(run_sum "$out" .rx_total.packets)" "RX packets"
  assert_eq "$(jq .rx_bytes <<<"$d")" "$(run_sum "$out" .rx_total.bytes)" "RX bytes (link-layer header included)"
  assert_eq 0 "$(run_sum "$out" .tx_total.dropped)" "TX dropped"

  # The summary repeats the run's totals; every interval's rows add up to its Total.
  assert_eq "$(jq -c '[.tx_packets, .tx_bytes, .rx_packets, .rx_bytes]' <<<"$d")" \
    "$(jq -c 'select(.type == "summary") | [.tx_packets, .tx_bytes, .rx_packets, .rx_bytes]' "$out")" "summary"
  assert_eq 0 "$(jq 'select(.type == "summary") | .missed_events' "$out")" "missed events"
  assert_eq 0 "$(jq -s '[.[] | select(.type == "interval") |
    select(([.tx[].packets] | add) != .tx_total.packets or ([.rx[].bytes] | add) != .rx_total.bytes)] | length' "$out")" \
    "intervals whose rows do not add up"
  # Four rows per direction, queues 0-3, in every interval.
  assert_eq '[[0,1,2,3]]' "$(jq -s -c '[.[] | select(.type == "interval") | [.tx[].queue], [.rx[].queue]] | unique' "$out")" "queue rows"
  # 52 flows hash onto more than one of the 4 TX queues.
  local used
  used=$(per_queue "$out" tx | jq length)
  [ "$used" -ge 2 ] || { echo "TX traffic on $used queue(s): $(per_queue "$out" tx)" >&2; return 1; }
}

@test "RX rows use the queue the skb recorded: on veth, the sender's TX queue read back by skb_get_rx_queue()" {
  sink "$NB"
  wait_quiet "$NA" "$A"
  start_nt a "$NA" -n "$A" -i 0.5 --json
  local pid_a=$NT_PID
  start_nt b "$NB" -n "$B" -i 0.5 --json
  local pid_b=$NT_PID
  local before_b after_b
  before_b=$(counters "$NB" "$B")
  udp "$NA" 10.232.0.2 45000 41 64
  udp "$NA" fd32::2 46000 43 64
  sleep 0.3
  after_b=$(counters "$NB" "$B")
  stop_nt "$pid_a"
  stop_nt "$pid_b"

  local a=$BATS_TEST_TMPDIR/a.out b=$BATS_TEST_TMPDIR/b.out d
  d=$(deltas "$before_b" "$after_b")
  assert_eq 84 "$(jq .rx_packets <<<"$d")" "B's device RX packets"
  assert_eq 84 "$(run_sum "$b" .rx_total.packets)" "B's RX packets"
  assert_eq "$(jq .rx_bytes <<<"$d")" "$(run_sum "$b" .rx_total.bytes)" "B's RX bytes"
  assert_eq "$(run_sum "$a" .tx_total.bytes)" "$(run_sum "$b" .rx_total.bytes)" "A's TX bytes = B's RX bytes"
  # veth hands the skb over with its TX queue_mapping q untouched (it records no RX
  # queue); the kernel reads that as "RX queue q-1 recorded", or none (0) for q = 0.
  local expected
  expected=$(per_queue "$a" tx | jq -c 'to_entries | map({q: ([(.key | tonumber) - 1, 0] | max), n: .value}) |
    group_by(.q) | map({key: (.[0].q | tostring), value: (map(.n) | add)}) | from_entries')
  assert_eq "$expected" "$(per_queue "$b" rx)" "B's RX packets per queue"
}

@test "a TCP transfer (GSO packets) is counted per packet as the device counts it" {
  local ready=$BATS_TEST_TMPDIR/tcp.ready i
  start_bg SRV ip netns exec "$NB" python3 "$TRAFFIC" tcp-server $PORT "$ready"
  for ((i = 0; i < 100; i++)); do [ -s "$ready" ] && break; sleep 0.05; done
  wait_quiet "$NA" "$A"
  start_tool "$NA" $NT -n "$A" -i 0.5 --json
  local before after
  before=$(counters "$NA" "$A")
  ip netns exec "$NA" python3 "$TRAFFIC" tcp-client 10.232.0.2 $PORT 3000017 >/dev/null
  sleep 0.3
  after=$(counters "$NA" "$A")
  stop_tool
  assert_eq 0 "$TOOL_STATUS" "exit status"

  local out=$BATS_TEST_TMPDIR/out d
  d=$(deltas "$before" "$after")
  assert_eq "$(jq .tx_packets <<<"$d")" "$(run_sum "$out" .tx_total.packets)" "TX packets"
  assert_eq "$(jq .tx_bytes <<<"$d")" "$(run_sum "$out" .tx_total.bytes)" "TX bytes"
  assert_eq "$(jq .rx_packets <<<"$d")" "$(run_sum "$out" .rx_total.packets)" "RX packets"
  assert_eq "$(jq .rx_bytes <<<"$d")" "$(run_sum "$out" .rx_total.bytes)" "RX bytes"
  # 3 MB left in packets larger than a 1514-byte frame: GSO packets, one count each.
  local avg
  avg=$(jq -n "$(run_sum "$out" .tx_total.bytes) / $(run_sum "$out" .tx_total.packets) | floor")
  [ "$avg" -gt 1514 ] || { echo "average TX packet $avg bytes: no GSO?" >&2; return 1; }
}

@test "through veth's NAPI path packets still equal, and veth's RX bytes leave out the 14-byte Ethernet header" {
  # GRO on B and no TSO on A make veth deliver through NAPI (napi_gro_receive) instead of
  # netif_rx; veth then counts RX bytes after eth_type_trans(), without the Ethernet header.
  ip netns exec "$NB" python3 "$TRAFFIC" feature "$B" gro on >/dev/null
  ip netns exec "$NA" python3 "$TRAFFIC" feature "$A" tso off >/dev/null
  local ready=$BATS_TEST_TMPDIR/tcp.ready i
  start_bg SRV ip netns exec "$NB" python3 "$TRAFFIC" tcp-server $PORT "$ready"
  for ((i = 0; i < 100; i++)); do [ -s "$ready" ] && break; sleep 0.05; done
  wait_quiet "$NB" "$B"
  start_tool "$NB" $NT -n "$B" -i 0.5 --json
  local before after
  before=$(counters "$NB" "$B")
  ip netns exec "$NA" python3 "$TRAFFIC" tcp-client 10.232.0.2 $PORT 1000003 >/dev/null
  sleep 0.3
  after=$(counters "$NB" "$B")
  stop_tool
  assert_eq 0 "$TOOL_STATUS" "exit status"

  local out=$BATS_TEST_TMPDIR/out d packets
  d=$(deltas "$before" "$after")
  packets=$(run_sum "$out" .rx_total.packets)
  # 1 MB in frames of at most 1514 bytes: hundreds of packets, not a few GSO ones.
  [ "$packets" -gt 680 ] || { echo "only $packets RX packets: NAPI path not taken?" >&2; return 1; }
  assert_eq "$(jq .rx_packets <<<"$d")" "$packets" "RX packets"
  assert_eq "$(jq .rx_bytes <<<"$d")" "$(($(run_sum "$out" .rx_total.bytes) - 14 * packets))" \
    "RX bytes minus 14 per packet"
  assert_eq "$(jq .tx_packets <<<"$d")" "$(run_sum "$out" .tx_total.packets)" "TX packets"
  assert_eq "$(jq .tx_bytes <<<"$d")" "$(run_sum "$out" .tx_total.bytes)" "TX bytes"
}

# py_row ID AVG_BYTES PACKETS SECS: a row as the original's Python printed it.
py_row() {
  python3 - "$@" <<'EOF'
import sys
def to_str(x):
    if x > 1000000: return str(round(x / 1048576.0, 2)) + "M"
    if x > 1000: return str(round(x / 1024.0, 2)) + "K"
    if isinstance(x, float): return str(round(x, 2))
    return str(x)
qid, size, pkts, secs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
avg = size * pkts / pkts if pkts else 0  # float, or the int 0 as in the original
head = " Total      " if qid == "Total" else " %-11d" % int(qid)
print(head + "%-11s%-11s%-11s" % (to_str(avg), to_str(size * pkts / secs), to_str(pkts / secs)))
EOF
}

@test "console output keeps the original layout and number formatting" {
  sink "$NB"
  wait_quiet "$NA" "$A"
  # 23 frames of 142 bytes, all inside the one 3 s interval: the sender is up before the go
  start_bg UDP_BG ip netns exec "$NA" python3 "$TRAFFIC" udp 10.232.0.2 $PORT 47000 23 100 "$BATS_TEST_TMPDIR/go" >/dev/null
  start_tool "$NA" $NT -n "$A" -i 3 --duration 3
  touch "$BATS_TEST_TMPDIR/go"
  wait_exit "$UDP_BG"
  wait_tool
  assert_eq 0 "$TOOL_STATUS" "exit status"

  local -a lines
  mapfile -t lines < "$BATS_TEST_TMPDIR/out"
  assert_eq 17 "${#lines[@]}" "lines (one block)"
  [[ "${lines[0]}" =~ ^(Mon|Tue|Wed|Thu|Fri|Sat|Sun)\ (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\ [\ 1-3][0-9]\ [0-2][0-9]:[0-5][0-9]:[0-6][0-9]\ [0-9]{4}$ ]] ||
    { echo "time line: '${lines[0]}'" >&2; return 1; }
  local header=" QueueID    avg_size   BPS        PPS        "
  assert_eq "TX" "${lines[1]}" "line 2"
  assert_eq "$header" "${lines[2]}" "TX header"
  assert_eq "$(py_row Total 142 23 3)" "${lines[7]}" "TX Total"
  # Each TX queue row is the original's row for some share of the 23 frames.
  local q k total=0 found
  for q in 0 1 2 3; do
    found=
    for ((k = 0; k <= 23; k++)); do
      if [ "$(py_row $q 142 $k 3)" = "${lines[$((3 + q))]}" ]; then found=$k; break; fi
    done
    [ -n "$found" ] || { echo "TX row $q: '${lines[$((3 + q))]}'" >&2; return 1; }
    total=$((total + found))
  done
  assert_eq 23 "$total" "frames in the TX rows"
  assert_eq "" "${lines[8]}" "blank line"
  assert_eq "RX" "${lines[9]}" "line 10"
  assert_eq "$header" "${lines[10]}" "RX header"
  for q in 0 1 2 3; do
    assert_eq " $q          0          0.0        0.0        " "${lines[$((11 + q))]}" "RX row $q"
  done
  assert_eq " Total      0          0.0        0.0        " "${lines[15]}" "RX Total"
  assert_eq "------------------------------------------------------------" "${lines[16]}" "separator"
}

@test "a device of the same name and ifindex in another namespace is not counted" {
  local NC ND
  make_ns NC
  make_ns ND
  ip -n "$NC" link add "$A" numtxqueues 4 numrxqueues 4 type veth peer name "$B" netns "$ND"
  ip -n "$NC" addr add 10.232.0.1/24 dev "$A"
  ip -n "$ND" addr add 10.232.0.2/24 dev "$B"
  ip -n "$NC" link set "$A" up
  ip -n "$ND" link set "$B" up
  assert_eq "$(ip -n "$NA" -j link show dev "$A" | jq .[0].ifindex)" \
    "$(ip -n "$NC" -j link show dev "$A" | jq .[0].ifindex)" "ifindex in both namespaces"
  wait_quiet "$NA" "$A"
  start_tool "$NA" $NT -n "$A" -i 0.5 --json
  local before after
  before=$(counters "$NC" "$A")
  udp "$NC" 10.232.0.2 48000 19 100
  sleep 0.3
  after=$(counters "$NC" "$A")
  stop_tool
  assert_eq 0 "$TOOL_STATUS" "exit status"
  local d
  d=$(deltas "$before" "$after")
  [ "$(jq .tx_packets <<<"$d")" -ge 19 ] || { echo "no traffic in the other namespace: $d" >&2; return 1; }
  assert_eq 0 "$(run_sum "$BATS_TEST_TMPDIR/out" .tx_total.packets)" "TX packets counted"
  assert_eq 0 "$(run_sum "$BATS_TEST_TMPDIR/out" .rx_total.packets)" "RX packets counted"
}

@test "a nonexistent, too long or missing name is refused with exit status 2" {
  run --separate-stderr in_ns "$NA" "$BCCNET_BIN/$NT" -n nosuchnic0
  assert_eq 2 "$status" "status (nonexistent)"
  assert_eq "nic_throughput: invalid --name 'nosuchnic0': no such network interface in this network namespace (see: ip link)" \
    "$stderr" "message (nonexistent)"
  assert_eq "" "$output" "stdout (nonexistent)"

  # B exists, but in the other namespace.
  run --separate-stderr in_ns "$NA" "$BCCNET_BIN/$NT" -n "$B"
  assert_eq 2 "$status" "status (other namespace)"
  assert_eq "nic_throughput: invalid --name '$B': no such network interface in this network namespace (see: ip link)" \
    "$stderr" "message (other namespace)"

  run --separate-stderr "$BCCNET_BIN/$NT" --name abcdefghijklmnop
  assert_eq 2 "$status" "status (16 bytes)"
  assert_eq "nic_throughput: invalid --name 'abcdefghijklmnop': expected an interface name of 1-15 bytes without '/', ':' or whitespace" \
    "$stderr" "message (16 bytes)"

  run --separate-stderr "$BCCNET_BIN/$NT"
  assert_eq 2 "$status" "status (no name)"
  assert_eq "nic_throughput: missing --name: give the network interface to watch, e.g. -n eth0" "$stderr" "message (no name)"

  run --separate-stderr "$BCCNET_BIN/$NT" -n lo -i 0
  assert_eq 2 "$status" "status (interval 0)"
  assert_eq "nic_throughput: invalid --interval '0': expected seconds from 0.001 to 86400" "$stderr" "message (interval 0)"
}

@test "SIGTERM ends the tool cleanly with a last report and the summary" {
  wait_quiet "$NA" "$A"
  start_tool "$NA" $NT -n "$A" -i 60 --json
  udp "$NA" 10.232.0.2 49000 7 10
  stop_tool TERM
  assert_eq 0 "$TOOL_STATUS" "exit status"
  assert_eq 7 "$(run_sum "$BATS_TEST_TMPDIR/out" .tx_total.packets)" "TX packets in the last, partial report"
  assert_eq 1 "$(jq -s '[.[] | select(.type == "summary")] | length' "$BATS_TEST_TMPDIR/out")" "summaries"
  assert_eq "" "$(tool_err | grep -v '^Tracing' || true)" "stderr"
}
