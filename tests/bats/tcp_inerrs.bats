#!/usr/bin/env bats
# tcp_inerrs: bad TCP segments crafted with scapy from the client side of a
# veth pair, injected into a real established connection, must each be
# reported once with the right reason, addresses, ports and state; the
# checksum count must equal the server namespace's TcpInCsumErrors delta.
bats_require_minimum_version 1.5.0
load test_helper

TOOL=tcp_inerrs
PY=/usr/bin/python3 # the interpreter that has scapy
PORT=5011
SRV4=10.211.7.1 CLI4=10.211.7.2
SRV6=fd00:211:7::1 CLI6=fd00:211:7::2

# Two namespaces joined by a veth pair, a draining server on both families.
setup_pair() {
  make_ns SRV
  make_ns CLI
  ip link add tis netns "$SRV" type veth peer name tic netns "$CLI"
  ip -n "$SRV" addr add "$SRV4/24" dev tis
  ip -n "$CLI" addr add "$CLI4/24" dev tic
  ip -n "$SRV" addr add "$SRV6/64" dev tis nodad
  ip -n "$CLI" addr add "$CLI6/64" dev tic nodad
  ip -n "$SRV" link set tis up
  ip -n "$CLI" link set tic up
  local addr out
  for addr in "$SRV4" "$SRV6"; do
    out="$BATS_TEST_TMPDIR/server_${addr//:/_}"
    start_bg _ in_ns "$SRV" "$PY" "$HELPERS/tcp_inerrs_server.py" "$addr" "$PORT" >"$out"
    wait_for_line "$out" ready
  done
}

csum_errors() {
  in_ns "$SRV" nstat -asz TcpInCsumErrors | awk '$1 == "TcpInCsumErrors" { print $2 }'
}

# inject SERVER N_CSUM_LONG N_CSUM_SHORT N_OOW N_OLD: sets LPORT (the client's port).
inject() {
  local json
  json=$(in_ns "$CLI" "$PY" "$HELPERS/tcp_inerrs_inject.py" tic "$1" "$PORT" "$2" "$3" "$4" "$5")
  LPORT=$(jq -r .lport <<<"$json")
  [ -n "$LPORT" ] && [ "$LPORT" != null ]
}

# count_events JQ_CONDITION: events of the connection on the server's side.
count_events() {
  jq -s "[.[] | select(.type == \"event\" and .dport == $LPORT and .sport == $PORT) | select($1)] | length" \
    "$BATS_TEST_TMPDIR/out"
}

# has_drop_reason NAME: the running kernel has this skb drop reason (its
# kfree_skb format lists the reasons it can print).
has_drop_reason() {
  grep -q "\"$1\"" /sys/kernel/tracing/events/skb/kfree_skb/format
}

# Checksum: 3 long segments (checked with the socket found: ESTABLISHED)
# and 2 short ones (checked before the socket lookup: no state); 7 beyond
# the window and 3 before it (the kernel's TCP_OLD_SEQUENCE, printed by the
# BTF-derived name "old seq"; kernels without that reason, like 6.1, drop
# them as TCP_INVALID_SEQUENCE). Prime counts, so doubles and misses show.
# check_family IP SERVER CLIENT [TOOL ARGS...]
check_family() {
  local ip=$1 srv=$2 cli=$3 before after old=3 invalid=7
  shift 3
  has_drop_reason TCP_OLD_SEQUENCE || { invalid=10 old=0; }
  before=$(csum_errors)
  start_tool - "$TOOL" --json "$@"
  inject "$srv" 3 2 7 3
  stop_tool
  after=$(csum_errors)
  assert_eq 0 "$TOOL_STATUS" "exit status"
  assert_eq 5 "$((after - before))" "TcpInCsumErrors delta"
  local tuple=".ip == $ip and .saddr == \"$srv\" and .daddr == \"$cli\""
  assert_eq "$((after - before))" "$(count_events "$tuple and .reason == \"checksum\"")" "checksum events"
  assert_eq 3 "$(count_events "$tuple and .reason == \"checksum\" and .state == \"ESTABLISHED\"")" "checksum, socket found"
  assert_eq 2 "$(count_events "$tuple and .reason == \"checksum\" and .state == \"-\" and .drop_reason == \"TCP_CSUM\"")" "checksum, before lookup"
  assert_eq "$invalid" "$(count_events "$tuple and .reason == \"invalid seq\" and .state == \"ESTABLISHED\" and .drop_reason == \"TCP_INVALID_SEQUENCE\"")" "out-of-window events"
  assert_eq "$old" "$(count_events "$tuple and .reason == \"old seq\" and .state == \"ESTABLISHED\" and .drop_reason == \"TCP_OLD_SEQUENCE\"")" "old-sequence events"
  assert_eq 15 "$(count_events true)" "all events of the connection"
  assert_eq "$(jq -s '.[-1] | [.type, .lost_events, .checksum_events == .bad_csum_traced] | @csv' "$BATS_TEST_TMPDIR/out")" \
    '"\"summary\",0,true"' "summary: nothing lost, every tcp_bad_csum reported once"
}

# bats test_tags=kernel
@test "reports each bad IPv4 segment once, and the checksum count equals TcpInCsumErrors" {
  setup_pair
  check_family 4 "$SRV4" "$CLI4"
}

# bats test_tags=kernel
@test "reports each bad IPv6 segment once, and the checksum count equals TcpInCsumErrors" {
  setup_pair
  check_family 6 "$SRV6" "$CLI6"
}

# bats test_tags=kernel
@test "--netns keeps the segments the namespace received, each with its inode, and none of another" {
  setup_pair
  check_family 4 "$SRV4" "$CLI4" --netns "$SRV"
  assert_eq 15 "$(jq -s "[.[] | select(.type == \"event\" and .netns == $(stat -L -c %i "/run/netns/$SRV"))] | length" \
    "$BATS_TEST_TMPDIR/out")" "events with the server namespace's inode"
  start_tool - "$TOOL" --json --netns "$CLI"
  inject "$SRV4" 3 2 7 3
  stop_tool
  assert_eq 0 "$(count_events true)" "events with --netns of the client's namespace"
}

# Kernels before 6.8 have no rx_sk in skb:kfree_skb: the state comes from
# tcp:tcp_probe there. --tcp-probe takes that way on any kernel.
# bats test_tags=kernel
@test "--tcp-probe finds the same socket states through tcp:tcp_probe (IPv4 and IPv6)" {
  [ -e /sys/kernel/tracing/events/tcp/tcp_probe ] || skip "this kernel has no tcp:tcp_probe tracepoint"
  setup_pair
  check_family 4 "$SRV4" "$CLI4" --tcp-probe
  check_family 6 "$SRV6" "$CLI6" --tcp-probe
}

@test "prints the original's header and rows: local end first, the interrupted task as PID" {
  setup_pair
  start_tool - "$TOOL"
  touch "$BATS_TEST_TMPDIR/go"
  start_bg INJ in_ns "$CLI" "$PY" "$HELPERS/tcp_inerrs_inject.py" tic "$SRV4" "$PORT" 1 0 1 0 "$BATS_TEST_TMPDIR/go" >"$BATS_TEST_TMPDIR/inj"
  wait "$INJ"
  LPORT=$(tail -1 "$BATS_TEST_TMPDIR/inj" | jq -r .lport)
  local pid
  pid=$(tail -1 "$BATS_TEST_TMPDIR/inj" | jq -r .pid)
  stop_tool
  assert_eq 'TIME      PID     COMM         IP SADDR:SPORT              > DADDR:DPORT              REASON       STATE' \
    "$(head -1 "$BATS_TEST_TMPDIR/out")" "header"
  local rows expected
  rows=$(grep -F "> $CLI4:$LPORT " "$BATS_TEST_TMPDIR/out" | cut -c11-)
  expected=$(printf '%-7s %-12s %-2s %-24s > %-24s %-12s %s\n' "$pid" python3 4 "$SRV4:$PORT" "$CLI4:$LPORT" checksum ESTABLISHED
             printf '%-7s %-12s %-2s %-24s > %-24s %-12s %s' "$pid" python3 4 "$SRV4:$PORT" "$CLI4:$LPORT" "invalid seq" ESTABLISHED)
  assert_eq "$expected" "$rows" "rows after the time column"
  grep -Eq '^[0-9]{2}:[0-9]{2}:[0-9]{2}  ' <<<"$(sed -n 2p "$BATS_TEST_TMPDIR/out")"
  # other namespaces' traffic may add rows: the summary's numbers are not fixed here
  grep -Eq '^[0-9]+ segments reported \([0-9]+ checksum; tcp:tcp_bad_csum saw [0-9]+\), 0 lost$' "$BATS_TEST_TMPDIR/err"
}

# filter_run ARGS...: both families injected (1 long checksum, 1 short, 3 out of window each).
filter_run() {
  start_tool - "$TOOL" --json "$@"
  inject "$SRV4" 1 1 3 0
  LPORT4=$LPORT
  inject "$SRV6" 1 1 3 0
  LPORT6=$LPORT
  stop_tool
  assert_eq 0 "$TOOL_STATUS" "exit status"
  LPORT=$LPORT4 V4=$(count_events ".saddr == \"$SRV4\"")
  LPORT=$LPORT6 V6=$(count_events ".saddr == \"$SRV6\"")
}

@test "-4 reports only the IPv4 segments" {
  setup_pair
  filter_run -4
  assert_eq 5 "$V4" "IPv4 events"
  assert_eq 0 "$V6" "IPv6 events"
  assert_eq 0 "$(jq -s '[.[] | select(.type == "event" and .ip != 4)] | length' "$BATS_TEST_TMPDIR/out")" "non-IPv4 events"
}

@test "-6 reports only the IPv6 segments" {
  setup_pair
  filter_run -6
  assert_eq 0 "$V4" "IPv4 events"
  assert_eq 5 "$V6" "IPv6 events"
  assert_eq 0 "$(jq -s '[.[] | select(.type == "event" and .ip != 6)] | length' "$BATS_TEST_TMPDIR/out")" "non-IPv6 events"
}

# The receive softirq runs when the injecting process's send enables bottom
# halves again, so that process is the "interrupted task" -p can match.
@test "-p reports only segments received while that process was interrupted" {
  setup_pair
  local go="$BATS_TEST_TMPDIR/go"
  start_bg INJ_A in_ns "$CLI" "$PY" "$HELPERS/tcp_inerrs_inject.py" tic "$SRV4" "$PORT" 3 0 2 0 "$go" >"$BATS_TEST_TMPDIR/a"
  start_bg INJ_B in_ns "$CLI" "$PY" "$HELPERS/tcp_inerrs_inject.py" tic "$SRV6" "$PORT" 3 0 2 0 "$go" >"$BATS_TEST_TMPDIR/b"
  wait_for_line "$BATS_TEST_TMPDIR/a" pid
  wait_for_line "$BATS_TEST_TMPDIR/b" pid
  local pid_a
  pid_a=$(head -1 "$BATS_TEST_TMPDIR/a" | jq -r .pid)
  start_tool - "$TOOL" --json -p "$pid_a"
  touch "$go"
  wait "$INJ_A"
  wait "$INJ_B"
  stop_tool
  LPORT=$(tail -1 "$BATS_TEST_TMPDIR/a" | jq -r .lport)
  assert_eq 5 "$(count_events ".saddr == \"$SRV4\" and .pid == $pid_a")" "events of process A"
  LPORT=$(tail -1 "$BATS_TEST_TMPDIR/b" | jq -r .lport)
  assert_eq 0 "$(count_events true)" "events of process B"
  assert_eq 0 "$(jq -s "[.[] | select(.type == \"event\" and .pid != $pid_a)] | length" "$BATS_TEST_TMPDIR/out")" "events of other processes"
}

@test "--duration ends the run by itself with a JSON summary" {
  start_tool - "$TOOL" --json --duration 1
  wait_tool
  assert_eq 0 "$TOOL_STATUS" "exit status"
  assert_eq summary "$(tail -1 "$BATS_TEST_TMPDIR/out" | jq -r .type)" "last line"
}

@test "refuses a PID that is not a number" {
  run --separate-stderr "$BCCNET_BIN/$TOOL" -p abc
  assert_eq 2 "$status" "status"
  assert_eq "tcp_inerrs: invalid --pid 'abc': expected a process ID 1-4194304" "$stderr" "message"
}

@test "refuses PID 0" {
  run --separate-stderr "$BCCNET_BIN/$TOOL" --pid 0
  assert_eq 2 "$status" "status"
  assert_eq "tcp_inerrs: invalid --pid '0': expected a process ID 1-4194304" "$stderr" "message"
}

@test "refuses -4 together with -6" {
  run --separate-stderr "$BCCNET_BIN/$TOOL" -4 -6
  assert_eq 2 "$status" "status"
  assert_eq "tcp_inerrs: -4/--ipv4 and -6/--ipv6 are mutually exclusive" "$stderr" "message"
}

@test "refuses an extra argument" {
  run --separate-stderr "$BCCNET_BIN/$TOOL" eth0
  assert_eq 2 "$status" "status"
  assert_eq "tcp_inerrs: unexpected argument 'eth0'; try 'tcp_inerrs --help'" "$stderr" "message"
}

@test "--help prints usage with examples to stdout and exits 0" {
  run --separate-stderr "$BCCNET_BIN/$TOOL" --help
  assert_eq 0 "$status" "status"
  grep -q '^EXAMPLES:' <<<"$output"
  grep -q -- '-p, --pid PID' <<<"$output"
  assert_eq "" "$stderr" "stderr"
}
