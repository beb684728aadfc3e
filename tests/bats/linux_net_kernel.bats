#!/usr/bin/env bats
# linux_net_kernel: real TCP flows between two namespaces joined by a veth
# pair (GRO off), segments of known sizes; every stage this kernel offers
# must report them in path order with exact SEQ, ACK, lengths, addresses
# and ports; filters, counts and the rate limit are checked against the
# kernel's own counters and the summary.
bats_require_minimum_version 1.5.0
load test_helper

TOOL=linux_net_kernel
PY=/usr/bin/python3 # the interpreter that has scapy
PORT=7311 PORT2=7312
SRV4=10.214.7.1 CLI4=10.214.7.2 CLI4B=10.214.7.3
SRV6=fd00:214:7::1 CLI6=fd00:214:7::2
SIZES=(101 211 307 401) # one segment each

# The receive stages in path order (kfree_skb is not on the path of a delivered segment).
RX_PATH='["netif_receive_skb","ip_rcv_finish","tcp_v4_do_rcv","tcp_v6_do_rcv","tcp_rcv_established","tcp_queue_rcv","sock_def_readable","skb_copy_datagram_iovec"]'

# setup_pair [tcp-only]: server and client namespaces, veth srv <-> cli with
# GRO off. tcp-only: no IPv6 and static neighbours, so the veths carry
# nothing but the test's TCP.
setup_pair() {
  make_ns SRV
  make_ns CLI
  ip link add lks netns "$SRV" type veth peer name lkc netns "$CLI"
  ip -n "$SRV" addr add "$SRV4/24" dev lks
  ip -n "$CLI" addr add "$CLI4/24" dev lkc
  ip -n "$CLI" addr add "$CLI4B/24" dev lkc
  if [ "${1:-}" = tcp-only ]; then
    in_ns "$SRV" sysctl -qw net.ipv6.conf.lks.disable_ipv6=1
    in_ns "$CLI" sysctl -qw net.ipv6.conf.lkc.disable_ipv6=1
  else
    ip -n "$SRV" addr add "$SRV6/64" dev lks nodad
    ip -n "$CLI" addr add "$CLI6/64" dev lkc nodad
  fi
  ip -n "$SRV" link set lks up
  ip -n "$CLI" link set lkc up
  in_ns "$SRV" ethtool -K lks gro off
  in_ns "$CLI" ethtool -K lkc gro off
  local srv_mac cli_mac
  srv_mac=$(ip -n "$SRV" -j link show lks | jq -r '.[0].address')
  cli_mac=$(ip -n "$CLI" -j link show lkc | jq -r '.[0].address')
  ip -n "$SRV" neigh replace "$CLI4" lladdr "$cli_mac" dev lks nud permanent
  ip -n "$SRV" neigh replace "$CLI4B" lladdr "$cli_mac" dev lks nud permanent
  ip -n "$CLI" neigh replace "$SRV4" lladdr "$srv_mac" dev lkc nud permanent
}

# start_server ADDR PORT [echo]: a server that accepts and reads until each
# connection closes (echo: answering one byte per read, for lnk_flow.py --echo).
start_server() {
  local out="$BATS_TEST_TMPDIR/server_${1//:/_}_$2" echo=()
  [ "${3:-}" = echo ] && echo=(--echo)
  start_bg _ in_ns "$SRV" "$PY" "$HELPERS/tcp_inerrs_server.py" "$1" "$2" "${echo[@]}" >"$out"
  wait_for_line "$out" ready
}

# flow SERVER PORT [ARGS...]: the client's segments; sets LPORT.
flow() {
  local json
  json=$(in_ns "$CLI" "$PY" "$HELPERS/lnk_flow.py" "$@")
  LPORT=$(jq -r .lport <<<"$json")
  [ -n "$LPORT" ] && [ "$LPORT" != null ]
}

events() { jq -c 'select(.type == "event")' "$BATS_TEST_TMPDIR/out"; }
summary() { jq -c 'select(.type == "summary")' "$BATS_TEST_TMPDIR/out"; }
start_info() { jq -c 'select(.type == "start")' "$BATS_TEST_TMPDIR/out"; }

# Stages the tool attached, in path order, that a delivered data segment of family F passes
# (ip_rcv_finish is IPv4's).
rx_stages() {
  local other='["tcp_v6_do_rcv"]'
  [ "$1" = 6 ] && other='["tcp_v4_do_rcv","ip_rcv_finish"]'
  start_info | jq -r --argjson path "$RX_PATH" --argjson other "$other" \
    '[.stages[] | select(.available) | .stage] as $on
     | $path[] | select(. as $s | $on | index($s)) | select(. as $s | $other | index($s) | not)'
}

# The client's data segments at one stage, by capture time: "seq len" lines.
data_at() {
  events | jq -s -r --arg st "$1" --argjson lp "$LPORT" \
    "sort_by(.ts_ns)[] | select(.stage == \$st and .sport == \$lp and .dport == $PORT and .len > 0)
     | \"\\(.seq) \\(.len)\""
}

# Checks one flow: every stage, exact SEQ/len/addresses, path order, the server's ACKs.
check_flow() {
  local ip=$1 srv=$2 cli=$3 stage seq0 expect got
  start_tool - "$TOOL" --json -p "$PORT"
  flow "$srv" "$PORT" "${SIZES[@]}" --echo
  sleep 0.5
  stop_tool
  assert_eq 0 "$TOOL_STATUS" "exit status"
  local stages=($(rx_stages "$ip"))
  [ "${#stages[@]}" -ge 4 ] || { echo "stages: ${stages[*]}" >&2; return 1; }
  seq0=$(data_at netif_receive_skb | head -1 | cut -d' ' -f1)
  expect=$(s=$seq0; for n in "${SIZES[@]}"; do echo "$s $n"; s=$(((s + n) % 4294967296)); done)
  for stage in "${stages[@]}"; do
    got=$(data_at "$stage")
    # A kprobe on a function its caller also has inlined sees nothing; the tool says so.
    if [ -z "$got" ] && [ "$(summary | jq --arg s "$stage" '.stages[$s].inlined')" = true ]; then
      grep -q "^$TOOL: warning: $stage: no segment reached its kprobe while" "$BATS_TEST_TMPDIR/err"
      continue
    fi
    assert_eq "$expect" "$got" "segments (seq len) at $stage"
  done
  # The same segments' addresses, ports and family at every stage.
  got=$(events | jq -s --argjson lp "$LPORT" \
    "[.[] | select(.sport == \$lp and .dport == $PORT and .len > 0)
     | select(.ip != $ip or .saddr != \"$cli\" or .daddr != \"$srv\")] | length")
  assert_eq 0 "$got" "data events with other addresses"
  assert_eq "${#SIZES[@]}" "$(events | jq -s -r --argjson lp "$LPORT" \
    "[.[] | select(.stage == \"skb_copy_datagram_iovec\" and .sport == \$lp and .len > 0 and .copied == .len)] | length")" \
    "copies of whole segments"
  check_path_order
  check_acks "$seq0"
}

# Each data segment meets the stages in path order, first seen at the first one.
check_path_order() {
  local bad
  bad=$(events | jq -s -r --argjson path "$RX_PATH" --argjson lp "$LPORT" \
    "[.[] | select(.sport == \$lp and .dport == $PORT and .len > 0 and (.stage as \$s | \$path | index(\$s)))]
     | group_by(.seq)[] | sort_by(.ts_ns)
     | select((map(.stage as \$s | \$path | index(\$s)) | . != sort)
              or .[0].since_first_us != 0 or .[0].stage != \"netif_receive_skb\"
              or (map(.since_first_us) | . != sort))
     | .[0].seq")
  assert_eq "" "$bad" "segments out of path order"
}

# Every data segment is acknowledged by the server with ACK = SEQ + length.
check_acks() {
  local acks want
  acks=$(events | jq -s -r --argjson lp "$LPORT" \
    "[.[] | select(.stage == \"netif_receive_skb\" and .sport == $PORT and .dport == \$lp) | .ack_seq] | unique[]")
  for want in $(s=$1; for n in "${SIZES[@]}"; do s=$(((s + n) % 4294967296)); echo "$s"; done); do
    grep -qx "$want" <<<"$acks" || { echo "no ACK $want in: $acks" >&2; return 1; }
  done
}

# bats test_tags=kernel
@test "an IPv4 flow: each segment at every stage in path order, SEQ steps = sizes, ACK = SEQ + length" {
  setup_pair
  start_server "$SRV4" "$PORT" echo
  check_flow 4 "$SRV4" "$CLI4"
}

# bats test_tags=kernel
@test "an IPv6 flow: each segment at every stage in path order, SEQ steps = sizes, ACK = SEQ + length" {
  setup_pair
  start_server "$SRV6" "$PORT" echo
  check_flow 6 "$SRV6" "$CLI6"
}

# bats test_tags=kernel
@test "--tx: each data segment from the sender's stages to the receiver's copy, one path, exact at every stage" {
  setup_pair
  start_server "$SRV4" "$PORT" echo
  start_tool - "$TOOL" --json --tx -p "$PORT"
  flow "$SRV4" "$PORT" "${SIZES[@]}" --echo
  sleep 0.5
  stop_tool
  local tx_path='["tcp_sendmsg_locked","tcp_transmit_skb","net_dev_queue","qdisc_dequeue","net_dev_start_xmit","net_dev_xmit"]'
  local path stages stage seq0 expect bad
  path=$(jq -c -n --argjson a "$tx_path" --argjson b "$RX_PATH" '$a + ($b - ["tcp_v6_do_rcv"])')
  # Every attached stage on the path; qdisc_dequeue only sees devices with a queue (a veth has none).
  stages=($(start_info | jq -r --argjson path "$path" \
    '[.stages[] | select(.available) | .stage] as $on | $path[] | select(. as $s | $on | index($s))
     | select(. != "qdisc_dequeue")'))
  [[ " ${stages[*]} " == *" net_dev_start_xmit "* ]]
  seq0=$(data_at net_dev_queue | head -1 | cut -d' ' -f1)
  expect=$(s=$seq0; for n in "${SIZES[@]}"; do echo "$s $n"; s=$(((s + n) % 4294967296)); done)
  for stage in "${stages[@]}"; do
    if [ "$(summary | jq --arg s "$stage" '.stages[$s].inlined')" = true ]; then continue; fi
    assert_eq "$expect" "$(data_at "$stage")" "segments (seq len) at $stage"
  done
  bad=$(events | jq -s -r --argjson path "$path" --argjson lp "$LPORT" \
    "[.[] | select(.sport == \$lp and .dport == $PORT and .len > 0 and (.stage as \$s | \$path | index(\$s)))]
     | group_by(.seq)[] | sort_by(.ts_ns)
     | select((map(.stage as \$s | \$path | index(\$s)) | . != sort) or .[0].since_first_us != 0
              or (map(.since_first_us) | . != sort) or (.[0].stage | IN(\"netif_receive_skb\")))
     | .[0].seq")
  assert_eq "" "$bad" "segments out of path order"
}

# bats test_tags=kernel
@test "stages without a tracepoint attach as kprobes where the kernel has them, else are named unavailable" {
  setup_pair
  start_server "$SRV4" "$PORT"
  start_tool - "$TOOL" --json -p "$PORT"
  flow "$SRV4" "$PORT" "${SIZES[@]}"
  sleep 0.5
  stop_tool
  local s why
  for s in ip_rcv_finish tcp_v4_do_rcv tcp_v6_do_rcv tcp_queue_rcv; do
    why=$(start_info | jq -r --arg s "$s" '.stages[] | select(.stage == $s) | if .available then .hook else .why end')
    if [ -e /sys/bus/event_source/devices/kprobe/type ]; then
      # Inlined on this kernel is the one acceptable reason a kprobe stage is missing.
      [[ "$why" == kprobe || "$why" == "inlined or renamed" ]] || { echo "$s: $why" >&2; return 1; }
    else
      assert_eq "no kprobes on this kernel" "$why" "$s"
    fi
  done
  grep -q "^Stages traced: netif_receive_skb, " "$BATS_TEST_TMPDIR/err"
  if [ -e /sys/bus/event_source/devices/kprobe/type ]; then
    # tcp_v4_do_rcv is never inlined: it is called through a pointer.
    assert_eq "${#SIZES[@]}" "$(data_at tcp_v4_do_rcv | wc -l)" "segments at tcp_v4_do_rcv"
  else
    grep -q "not available on this kernel: ip_rcv_finish, tcp_v4_do_rcv, tcp_v6_do_rcv, tcp_queue_rcv (no kprobes on this kernel)$" \
      "$BATS_TEST_TMPDIR/err"
  fi
}

@test "-p keeps exactly the flow of that port; -i keeps exactly the flow of that address" {
  setup_pair
  start_server "$SRV4" "$PORT"
  start_server "$SRV4" "$PORT2"
  start_tool - "$TOOL" --json -p "$PORT"
  flow "$SRV4" "$PORT" 101
  local lport1=$LPORT
  flow "$SRV4" "$PORT2" 211 --bind "$CLI4B"
  local lport2=$LPORT
  sleep 0.5
  stop_tool
  assert_eq 0 "$(events | jq -s "[.[] | select(.sport != $PORT and .dport != $PORT)] | length")" "other ports with -p"
  assert_eq 0 "$(events | jq -s "[.[] | select(.sport == $lport2 or .dport == $lport2)] | length")" "second flow with -p"
  [ "$(events | jq -s "[.[] | select(.sport == $lport1 and .len == 101)] | length")" -ge 3 ]

  start_tool - "$TOOL" --json -i "$CLI4B"
  flow "$SRV4" "$PORT" 101
  lport1=$LPORT
  flow "$SRV4" "$PORT2" 211 --bind "$CLI4B"
  lport2=$LPORT
  sleep 0.5
  stop_tool
  assert_eq 0 "$(events | jq -s "[.[] | select(.saddr != \"$CLI4B\" and .daddr != \"$CLI4B\")] | length")" "other addresses with -i"
  assert_eq 0 "$(events | jq -s "[.[] | select(.sport == $lport1 or .dport == $lport1)] | length")" "first flow with -i"
  [ "$(events | jq -s "[.[] | select(.sport == $lport2 and .len == 211)] | length")" -ge 3 ]
}

@test "--netns keeps exactly the segments of that namespace, and every event names it" {
  setup_pair
  start_server "$SRV4" "$PORT"
  start_tool - "$TOOL" --json -p "$PORT" --netns "$SRV"
  flow "$SRV4" "$PORT" "${SIZES[@]}"
  sleep 0.5
  stop_tool
  local ino
  ino=$(stat -L -c %i "/run/netns/$SRV")
  assert_eq 0 "$(events | jq -s "[.[] | select(.netns != $ino)] | length")" "events of other namespaces"
  # What the client namespace received (the server's segments) is not there; the server's side is.
  assert_eq 0 "$(events | jq -s "[.[] | select(.sport == $PORT and .dport == $LPORT)] | length")" "client-side receives"
  assert_eq "${#SIZES[@]}" "$(data_at netif_receive_skb | wc -l)" "data segments received by the server"
}

@test "-s counts every segment at netif_receive_skb: equal to the veths' RX packets" {
  setup_pair tcp-only
  start_server "$SRV4" "$PORT"
  local before after
  before=$(($(link_stat "$SRV" lks rx.packets) + $(link_stat "$CLI" lkc rx.packets)))
  start_tool - "$TOOL" -s --json -p "$PORT"
  flow "$SRV4" "$PORT" 101 211 307 --burst 29
  sleep 1 # the close handshake is over
  after=$(($(link_stat "$SRV" lks rx.packets) + $(link_stat "$CLI" lkc rx.packets)))
  stop_tool
  assert_eq 0 "$TOOL_STATUS" "exit status"
  assert_eq 0 "$(events | wc -l)" "rows in -s mode"
  [ $((after - before)) -gt 20 ]
  assert_eq "$((after - before))" "$(summary | jq '.stages.netif_receive_skb.packets')" "netif_receive_skb packets"
  # Every segment seen there is seen again on the way: latency samples at the next stage.
  [ "$(summary | jq '.stages.tcp_rcv_established.latency_samples')" -gt 0 ]
  [ "$(summary | jq '.stages.tcp_rcv_established.p99_us >= .stages.tcp_rcv_established.p50_us')" = true ]
}

@test "--rate-limit 100: events reported plus events rate-limited equal the events that matched" {
  setup_pair
  start_server "$SRV4" "$PORT"
  start_tool - "$TOOL" --json --rate-limit 100 -p "$PORT"
  flow "$SRV4" "$PORT" 100 --burst 300
  sleep 0.5
  stop_tool
  local s
  s=$(summary)
  assert_eq "$(events | wc -l)" "$(jq .events <<<"$s")" "event lines"
  assert_eq 0 "$(jq .lost_events <<<"$s")" "lost"
  assert_eq "$(jq .matched <<<"$s")" "$(jq '.events + .rate_limited' <<<"$s")" "reported + rate-limited"
  assert_eq "$(jq .matched <<<"$s")" "$(jq '[.stages[].packets] | add' <<<"$s")" "matched = per-stage packets"
  [ "$(jq .rate_limited <<<"$s")" -gt 0 ]
  # 50 per CPU per second on this 2-CPU budget split: never more than the limit per second.
  [ "$(jq .events <<<"$s")" -le $((100 * 10)) ]
}

# bats test_tags=kernel
@test "a segment with a bad checksum shows up at kfree_skb with the kernel's reason" {
  setup_pair
  start_server "$SRV4" "$PORT"
  local before after json lport
  before=$(in_ns "$SRV" nstat -asz TcpInCsumErrors | awk '$1 == "TcpInCsumErrors" { print $2 }')
  start_tool - "$TOOL" --json -p "$PORT"
  json=$(in_ns "$CLI" "$PY" "$HELPERS/tcp_inerrs_inject.py" lkc "$SRV4" "$PORT" 3 2 0 0)
  lport=$(jq -r .lport <<<"$json")
  sleep 0.5
  stop_tool
  after=$(in_ns "$SRV" nstat -asz TcpInCsumErrors | awk '$1 == "TcpInCsumErrors" { print $2 }')
  assert_eq 5 "$((after - before))" "TcpInCsumErrors delta"
  assert_eq 5 "$(events | jq -s "[.[] | select(.stage == \"kfree_skb\" and .sport == $lport and .dport == $PORT
     and .drop_reason == \"TCP_CSUM\" and .saddr == \"$CLI4\" and .daddr == \"$SRV4\")] | length")" "TCP_CSUM drops"
  assert_eq 3 "$(events | jq -s "[.[] | select(.stage == \"kfree_skb\" and .sport == $lport and .drop_reason == \"TCP_CSUM\" and .len == 100)] | length")" "long segments"
}

@test "prints the seed's start lines, header, rule and rows; -d adds the two debug lines" {
  setup_pair
  start_server "$SRV4" "$PORT"
  start_tool - "$TOOL" -p "$PORT" -i "$CLI4" -d
  flow "$SRV4" "$PORT" 101
  sleep 0.5
  stop_tool
  local out header rule row
  out=$(tool_out)
  assert_eq "Started TCP monitoring..." "$(sed -n 1p <<<"$out")"
  assert_eq "Filtering for IP: $CLI4" "$(sed -n 2p <<<"$out")"
  assert_eq "Filtering for Port: $PORT" "$(sed -n 3p <<<"$out")"
  header=$(printf '%-20s | %-17s | %-17s | %-10s | %-10s | %-14s | %-14s | %-26s' "KERNEL FUNCTION" \
    "SRC IP" "DST IP" "SRC PORT" "DST PORT" "SEQ" "ACK SEQ" "TIMESTAMP")
  assert_eq "$header" "$(sed -n 4p <<<"$out")" "header"
  assert_eq 149 "${#header}" "header width"
  rule=$(printf '%149s' '' | tr ' ' -)
  assert_eq "$rule" "$(sed -n 5p <<<"$out")" "rule"
  # The first data row at netif_receive_skb, field by field.
  row=$(grep -m1 "^\[netif_receive_skb\]  | $CLI4 *| $SRV4 *| $LPORT *| $PORT *| " <<<"$out")
  [[ "$row" =~ \|\ [0-9]{4}-[0-9]{2}-[0-9]{2}\ [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}\ {3}$ ]]
  [ "${#row}" -eq 149 ]
  grep -A2 -m1 "^\[netif_receive_skb\]" <<<"$out" | sed -n 2,3p >"$BATS_TEST_TMPDIR/debug"
  assert_eq "  Debug - Function name: 'netif_receive_skb' (tracepoint net:netif_receive_skb)
  Debug - Raw bytes: [110, 101, 116, 105, 102, 95, 114, 101, 99, 101, 105, 118, 101, 95, 115, 107, 98]" \
    "$(cat "$BATS_TEST_TMPDIR/debug")"
}

@test "SIGINT and SIGTERM: the seed's exit sequence, status 0, nothing left attached" {
  local sig num ids id i
  for sig in INT TERM; do
    start_tool - "$TOOL" -p "$PORT"
    ids=$(cat /proc/"$TOOL_PID"/fdinfo/* 2>/dev/null | awk '$1 == "prog_id:" { print $2 }' | sort -u)
    [ -n "$ids" ]
    stop_tool "$sig"
    assert_eq 0 "$TOOL_STATUS" "status after SIG$sig"
    num=$([ "$sig" = INT ] && echo 2 || echo 15)
    tool_out | tail -13 >"$BATS_TEST_TMPDIR/tail"
    assert_eq "
Received signal $num, cleaning up...


Monitoring Statistics:
Total events processed: 0
Error count: 0
Events suppressed by rate limit: 0
Events lost: 0

Detaching probes...
Cleaning BPF resources...
Monitoring stopped." "$(cat "$BATS_TEST_TMPDIR/tail")"
    local id
    # The kernel frees a released program after an RCU grace period: allow it 5 s.
    for id in $ids; do
      for ((i = 0; i < 50; i++)); do
        bpftool prog show id "$id" >/dev/null 2>&1 || break
        sleep 0.1
      done
      ! bpftool prog show id "$id" >/dev/null 2>&1 || { echo "program $id still loaded" >&2; return 1; }
    done
  done
}

@test "-s prints the statistics header and, at exit, a row per stage" {
  start_tool - "$TOOL" -s -p "$PORT"
  stop_tool
  assert_eq 0 "$TOOL_STATUS"
  assert_eq "TCP Event Monitoring - Statistics Mode" "$(tool_out | sed -n 3p)"
  assert_eq "----------------------------------------" "$(tool_out | sed -n 4p)"
  tool_out | grep -q "^STAGE  *HOOK  *PACKETS  *P50_US  *P99_US  *MAX_US$"
  tool_out | grep -q "^netif_receive_skb  *tracepoint  *0  *-  *-  *-$"
}

@test "refuses bad input with exit status 2 and one line naming the value" {
  run --separate-stderr timeout 30 "$BCCNET_BIN/$TOOL" -i 300.1.1.1
  assert_eq 2 "$status"
  assert_eq "$TOOL: invalid --ip '300.1.1.1': expected an IPv4 or IPv6 address" "$stderr"
  run --separate-stderr timeout 30 "$BCCNET_BIN/$TOOL" -p 70000
  assert_eq 2 "$status"
  assert_eq "$TOOL: invalid --port '70000': expected a port number 1-65535" "$stderr"
  run --separate-stderr timeout 30 "$BCCNET_BIN/$TOOL" --rate-limit 10k
  assert_eq 2 "$status"
  assert_eq "$TOOL: invalid --rate-limit '10k': expected events per second 0-100000000 (0: no limit)" "$stderr"
  assert_eq "" "$output"
}
