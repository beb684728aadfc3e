#!/usr/bin/env bats
# tun_ring_monitor against real TUN/TAP devices made inside a test namespace.
# Nobody reads the devices, so their rings fill after tx_queue_len packets.

bats_require_minimum_version 1.5.0
load test_helper

TRM=tun_ring_monitor

# events JQ_FILTER: number of reported events matching a jq condition.
events() { tool_out | jq -s "[.[] | select(.type == \"event\") | select($1)] | length"; }

setup() {
  make_ns NS
  make_tun "$NS" tun0 tun 1 77 v6
}

# The three flows the filter tests use (7 + 11 + 13 packets).
send_three_flows() {
  send "$NS" udp 10.77.0.1 5555 10.77.0.2 9000 7
  send "$NS" udp 10.77.0.5 6666 10.77.0.3 9001 11
  send "$NS" tcp 10.77.0.1 7777 10.77.0.2 9000 13
}

# count_with_filter EXPECTED FILTER_ARGS...: runs --all with the filters over the three flows.
count_with_filter() {
  local expected=$1; shift
  start_tool "$NS" $TRM --json --all -d tun0 "$@"
  send_three_flows
  stop_tool
  assert_eq "$expected" "$(events true)" "events with $*"
}

# The ring is netdev_priv(dev): dev->priv since 6.12, after the aligned net_device before.
# bats test_tags=kernel,e2e
@test "reports one ring-full event per packet the kernel dropped on a TUN nobody reads" {
  local before after
  before=$(link_stat "$NS" tun0 tx.dropped)
  start_tool "$NS" $TRM --json --device tun0
  send "$NS" udp 10.77.0.1 5555 10.77.0.2 9000 809
  stop_tool
  after=$(link_stat "$NS" tun0 tx.dropped)
  [ $((after - before)) -gt 0 ]
  assert_eq $((after - before)) "$(events '.ring_full')" "ring-full events vs tx.dropped"
  assert_eq 0 "$(events '.ring_full | not')" "non-full events without --all"
  assert_eq $((after - before)) "$(tool_out | jq -s '[.[] | select(.type == "queue_summary")][0].ring_full')" "summary ring_full"
  assert_eq 0 "$(tool_out | jq -s '.[] | select(.type == "summary") | .lost_events')" "lost events"
}

@test "reports the 5-tuple of a known UDP flow on a TUN device with --all" {
  start_tool "$NS" $TRM --json --all -d tun0
  send "$NS" udp 10.77.0.1 5555 10.77.0.2 9000 23
  stop_tool
  assert_eq 23 "$(events '.saddr == "10.77.0.1" and .sport == 5555 and .daddr == "10.77.0.2" and .dport == 9000 and .protocol == "UDP" and .family == 4')"
  # The flow's packets only: a tool that starts fast also sees the kernel's own (IPv6 router solicitations).
  assert_eq 23 "$(events '.sport == 5555 and .device == "tun0" and .queue == 0 and .ring_found and .ring_size == 500')"
}

@test "reports the 5-tuple of IPv4 and IPv6 TCP/UDP flows on a TAP device (Ethernet frames)" {
  make_tun "$NS" tap0 tap 1 78 v6
  start_tool "$NS" $TRM --json --all -d tap0
  send "$NS" udp 10.78.0.1 5555 10.78.0.2 9000 23
  send "$NS" tcp fd78::1 4444 fd78::2 443 19
  stop_tool
  assert_eq 23 "$(events '.device == "tap0" and .saddr == "10.78.0.1" and .sport == 5555 and .daddr == "10.78.0.2" and .dport == 9000 and .protocol == "UDP"')"
  assert_eq 19 "$(events '.device == "tap0" and .saddr == "fd78::1" and .sport == 4444 and .daddr == "fd78::2" and .dport == 443 and .protocol == "TCP" and .family == 6')"
}

@test "reports IPv6 flows on a TUN device" {
  start_tool "$NS" $TRM --json --all -d tun0 --protocol udp
  send "$NS" udp fd77::1 5353 fd77::2 9053 17
  stop_tool
  assert_eq 17 "$(events '.saddr == "fd77::1" and .sport == 5353 and .daddr == "fd77::2" and .dport == 9053 and .family == 6')"
  assert_eq 17 "$(events true)"
}

@test "--src-ip keeps only packets from that address" {
  count_with_filter 11 --src-ip 10.77.0.5
}

@test "--dst-ip keeps only packets to that address" {
  count_with_filter 20 --dst-ip 10.77.0.2
}

@test "--src-port keeps only packets from that port" {
  count_with_filter 7 --src-port 5555
}

@test "--dst-port keeps only packets to that port" {
  count_with_filter 20 --dst-port 9000
}

@test "--protocol tcp and udp keep only that protocol" {
  count_with_filter 13 --protocol tcp
  bccnet_teardown; setup
  count_with_filter 18 --protocol udp
}

@test "filters combine with AND" {
  count_with_filter 7 --dst-ip 10.77.0.2 --dst-port 9000 --protocol udp
  assert_eq 7 "$(events '.sport == 5555')"
}

@test "--device excludes other TUN devices, and no --device sees all of them" {
  make_tun "$NS" tap0 tap 1 78
  start_tool "$NS" $TRM --json --all -d tap0 --dst-port 9000
  send "$NS" udp 10.77.0.1 5555 10.77.0.2 9000 7
  send "$NS" udp 10.78.0.1 5555 10.78.0.2 9000 5
  stop_tool
  assert_eq 5 "$(events '.device == "tap0" and .daddr == "10.78.0.2"')"
  assert_eq 5 "$(events true)"
  start_tool "$NS" $TRM --json --all --dst-port 9000
  send "$NS" udp 10.77.0.1 5555 10.77.0.2 9000 7
  stop_tool
  assert_eq 7 "$(events '.device == "tun0"')"
  assert_eq 7 "$(events true)"
}

@test "reports the right queue and its own ring on a 4-queue device" {
  make_tun "$NS" mq0 tap 4 78
  start_tool "$NS" $TRM --json --all -v -d mq0 --protocol udp
  local port
  for port in $(seq 20000 20022); do
    send "$NS" udp 10.78.0.1 "$port" 10.78.0.2 9000 3
  done
  stop_tool
  assert_eq 69 "$(events true)"
  assert_eq 0 "$(events '.queue >= 4 or .tfile_queue_index != .queue or .tun_numqueues != 4')"
  [ "$(tool_out | jq -s '[.[] | select(.type == "event") | .queue] | unique | length')" -ge 2 ]
  # Nobody reads, so each queue's producer index advances by one per packet
  # of that queue: p, p+1, p+2, ... (reading another queue's ring would break it).
  local bad
  bad=$(tool_out | jq -s '[.[] | select(.type == "event")] | group_by(.queue)
        | map(. as $q | [range(0; $q | length)] != ($q | map(.producer - $q[0].producer)))
        | map(select(.)) | length')
  assert_eq 0 "$bad" "queues whose producer sequence is not consecutive"
  assert_eq 69 "$(tool_out | jq -s '[.[] | select(.type == "queue_summary") | .packets] | add')"
}

@test "JSON events carry every documented field" {
  start_tool "$NS" $TRM --json --all -d tun0 --protocol udp
  send "$NS" udp 10.77.0.1 5555 10.77.0.2 9000 1
  stop_tool
  local keys
  keys=$(tool_out | jq -c -s '[.[] | select(.type == "event")][0] | keys')
  assert_eq '["comm","consumer_head","consumer_tail","daddr","device","dport","event","family","netns","pid","producer","protocol","queue","queue_producer_ptr","ring_found","ring_full","ring_size","saddr","skb","sport","tid","time","ts_ns","type","used_pct"]' "$keys"
  tool_out | jq -e -s '[.[] | select(.type == "event")][0] | (.time | test("^[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}$")) and (.skb | test("^0x[0-9a-f]+$")) and .comm == "python3" and .event == "status"'
}

@test "prints the README's console block with wall-clock time" {
  make_tun "$NS" tun1 tun 1 79 # no IPv6: nothing else reaches its ring first
  start_tool "$NS" $TRM --all -d tun1
  send "$NS" udp 10.79.0.1 5555 10.79.0.2 9000 1
  stop_tool
  run tool_out
  [[ "$output" == *"📡 Device filter: tun1"* ]]
  [[ "$output" == *"📈 Mode: Monitoring ALL TUN transmit events"* ]]
  [[ "$output" == *"$(printf '=%.0s' {1..80})"$'\n'"📊 TUN Ring Status"$'\n'"Time: "* ]]
  [[ "$output" == *$'Device: tun1\nQueue: 0\nSKB Address: 0x'* ]]
  [[ "$output" == *$'5-Tuple Info:\n  Source: 10.79.0.1:5555\n  Destination: 10.79.0.2:9000\n  Protocol: UDP\n\nPTR Ring Details:\n  Size: 500\n  Producer: 0\n  Consumer Head: 0\n  Consumer Tail: 0\n  Queue[Producer] Ptr: 0x0\n  Status: ✅ Available (queue[producer] == NULL), 0% used'* ]]
  [[ "$output" == *"👋 Monitoring stopped."* ]]
  local shown now
  shown=$(tool_out | sed -n 's/^Time: \([0-9:]*\)\..*/\1/p' | head -1)
  now=$(date +%s)
  # Wall clock, not uptime: within a minute of now.
  [ $(( now - $(date -d "$shown" +%s) )) -lt 60 ]
}

@test "a device that exists but is not TUN/TAP is refused" {
  ip -n "$NS" link add vethx type veth peer name vethy
  local dev
  for dev in lo vethx; do
    run --separate-stderr timeout 20 ip netns exec "$NS" "$BCCNET_BIN/$TRM" --device $dev
    assert_eq 2 "$status" "status for $dev"
    assert_eq "tun_ring_monitor: invalid --device '$dev': not a TUN/TAP device" "$stderr"
  done
}

@test "a device not in this namespace is watched in every namespace, and the tool says so in one line" {
  run --separate-stderr timeout "$TOOL_WAIT_S" "$BCCNET_BIN/$TRM" --device vnet999 --duration 0.2
  assert_eq 0 "$status"
  assert_eq "tun_ring_monitor: warning: device vnet999 is not in this network namespace: watching vnet999 in every namespace (--netns NS: only in NS)" "${stderr_lines[0]}"
}

@test "bad values exit 2 with one line naming the value" {
  local -a cases=(
    "--device a/b|invalid --device 'a/b': expected an interface name of 1-15 bytes without '/', ':' or whitespace"
    "--device sixteen-bytes-xx|invalid --device 'sixteen-bytes-xx': expected an interface name of 1-15 bytes without '/', ':' or whitespace"
    "--src-ip 10.0.0|invalid --src-ip '10.0.0': expected an IPv4 or IPv6 address"
    "--dst-ip fd77:::1|invalid --dst-ip 'fd77:::1': expected an IPv4 or IPv6 address"
    "--src-port 0|invalid --src-port '0': expected a port number 1-65535"
    "--dst-port 65536|invalid --dst-port '65536': expected a port number 1-65535"
    "--dst-port 80x|invalid --dst-port '80x': expected a port number 1-65535"
    "--protocol icmp|invalid --protocol 'icmp': expected tcp or udp"
    "--duration 0|invalid --duration '0': expected seconds from 0.001 to 3.1536e+07"
    "extra|unexpected argument 'extra'; try 'tun_ring_monitor --help'"
  )
  local c
  for c in "${cases[@]}"; do
    run --separate-stderr timeout 30 "$BCCNET_BIN/$TRM" ${c%%|*}
    assert_eq 2 "$status" "status of ${c%%|*}"
    assert_eq "tun_ring_monitor: ${c#*|}" "$stderr"
  done
  run --separate-stderr timeout 30 "$BCCNET_BIN/$TRM" --bogus
  assert_eq 2 "$status"
  assert_eq "tun_ring_monitor: try 'tun_ring_monitor --help' for the accepted options" "${stderr_lines[1]}"
}

@test "--help prints usage with examples to stdout and exits 0" {
  run --separate-stderr timeout 30 "$BCCNET_BIN/$TRM" --help
  assert_eq 0 "$status"
  [[ "$output" == "Usage: tun_ring_monitor"* ]]
  [[ "$output" == *"EXAMPLES:"* ]]
}

@test "--print-bpf shows filters as numbers and loads nothing" {
  run --separate-stderr timeout 30 "$BCCNET_BIN/$TRM" --print-bpf -d tun0 --dst-port 9000 --src-ip 10.77.0.1
  assert_eq 0 "$status"
  [[ "${lines[0]}" == *"-DFILTER_DPORT=9000"* ]]
  [[ "${lines[0]}" == *"-DFILTER_SRC_FAMILY=4 -DFILTER_SRC_W0=0x1004d0a"* ]]
  [[ "${lines[0]}" == *"-DFILTER_DEV_W0=0x306e7574ULL"* ]] # "tun0" as a little-endian word
  [[ "$output" != *"10.77.0.1"* ]]
  [[ "$output" == *"TRACEPOINT_PROBE(net, net_dev_start_xmit)"* ]]
  assert_eq 0 "$(bpf_prog_loads "$BCCNET_BIN/$TRM" --print-bpf -d tun0)" "programs loaded"
}

@test "SIGINT and SIGTERM end the tool cleanly with no BPF program left" {
  local sig ids id
  for sig in INT TERM; do
    start_tool "$NS" $TRM -d tun0
    ids=$(tool_prog_ids)
    [ -n "$ids" ]
    stop_tool $sig
    assert_eq 0 "$TOOL_STATUS" "exit status after SIG$sig"
    for id in $ids; do
      ! prog_alive "$id" || { echo "program $id still loaded after SIG$sig" >&2; return 1; }
    done
  done
}
