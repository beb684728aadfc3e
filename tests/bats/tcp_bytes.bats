#!/usr/bin/env bats
# tcp_bytes against real TCP transfers over loopback inside a test namespace:
# a client sends exactly 100000 bytes and receives 5000 (after peeking at
# them, which must not count), the server reads the 100000 in one
# MSG_WAITALL recv (tcptop's tcp_cleanup_rbuf counting over-counts that).
# The tool runs in the root namespace and sees every namespace; assertions
# select our processes by PID, or rely on the tool's own -p/-4/-6 filters.

bats_require_minimum_version 1.5.0
load test_helper

TB=tcp_bytes
PEER="$HELPERS/tcp_bytes_peer.py"

setup() { make_ns NS; }

# prepare_transfer FAMILY TAG: a listening server and a client that waits for
# its go file. Sets <TAG>_SPID, <TAG>_SPORT, <TAG>_CPID.
prepare_transfer() {
  local family=$1 tag=$2 d="$BATS_TEST_TMPDIR/$2" spid sport
  start_bg _ ip netns exec "$NS" python3 "$PEER" server --family "$family" \
    --comm tcpbytes-server --ready "$d.ready"
  wait_file "$d.ready"
  read -r spid sport <"$d.ready"
  start_bg _ ip netns exec "$NS" python3 "$PEER" client --family "$family" \
    --comm tcpbytes-client --port "$sport" --pidfile "$d.cpid" --portfile "$d.cport" \
    --go "$d.go" --done "$d.done" --release "$d.release"
  wait_file "$d.cpid"
  printf -v "${tag}_SPID" '%s' "$spid"
  printf -v "${tag}_SPORT" '%s' "$sport"
  printf -v "${tag}_CPID" '%s' "$(cat "$d.cpid")"
}

# run_transfer TAG: lets the client go, records the kernel's own per-socket
# byte counters (ss -ti) while the connection is still open, then ends both
# peers. Sets <TAG>_CPORT.
run_transfer() {
  local tag=$1 d="$BATS_TEST_TMPDIR/$1" spid_var="${1}_SPID" i
  touch "$d.go"
  wait_file "$d.done"
  printf -v "${tag}_CPORT" '%s' "$(cat "$d.cport")"
  in_ns "$NS" ss -tinH >"$d.ss"
  touch "$d.release"
  for ((i = 0; i < 100; i++)); do kill -0 "${!spid_var}" 2>/dev/null || return 0; sleep 0.05; done
  echo "# server of $tag did not finish" >&3
  return 1
}

# transfer FAMILY TAG: both steps.
transfer() { prepare_transfer "$1" "$2" && run_transfer "$2"; }

# sum_bytes PID FIELD: FIELD summed over every interval's rows of PID.
sum_bytes() {
  tool_out | jq -s "[.[] | select(.type == \"connection\" and .pid == $1) | .$2] | add // 0"
}

# conns PID: the distinct connections reported for PID, one line each.
conns() {
  tool_out | jq -rs "[.[] | select(.type == \"connection\" and .pid == $1)
    | \"\(.comm) \(.family) \(.saddr) \(.sport) \(.daddr) \(.dport)\"] | unique | .[]"
}

# ss_bytes TAG LOCAL_PORT FIELD: a byte counter the kernel keeps for the socket
# (bytes_received, bytes_sent) as ss -ti printed it during the transfer.
ss_bytes() {
  awk -v port="$2" -v field="$3" '
    /^ESTAB/ { split($4, a, ":"); mine = (a[length(a)] == port) }
    mine && $0 ~ field ":" { for (i = 1; i <= NF; i++) if (index($i, field ":") == 1) { sub(field ":", "", $i); print $i } }
  ' "$BATS_TEST_TMPDIR/$1.ss"
}

# check_transfer_json FAMILY ADDR [TOOL ARGS...]: one transfer, both ends
# exact, with the kernel's own counters agreeing.
check_transfer_json() {
  local family=$1 addr=$2
  shift 2
  start_tool - $TB --json -i 1 "$@"
  transfer "$family" T
  stop_tool
  assert_eq 0 "$TOOL_STATUS" "exit status"
  assert_eq "tcpbytes-client $family $addr $T_CPORT $addr $T_SPORT" "$(conns "$T_CPID")" "client rows"
  assert_eq 100000 "$(sum_bytes "$T_CPID" tx_bytes)" "client tx_bytes"
  assert_eq 5000 "$(sum_bytes "$T_CPID" rx_bytes)" "client rx_bytes"
  assert_eq "tcpbytes-server $family $addr $T_SPORT $addr $T_CPORT" "$(conns "$T_SPID")" "server rows"
  assert_eq 100000 "$(sum_bytes "$T_SPID" rx_bytes)" "server rx_bytes"
  assert_eq 5000 "$(sum_bytes "$T_SPID" tx_bytes)" "server tx_bytes"
  assert_eq "$(ss_bytes T "$T_SPORT" bytes_received)" "$(sum_bytes "$T_SPID" rx_bytes)" "server rx vs kernel bytes_received"
  assert_eq "$(ss_bytes T "$T_CPORT" bytes_received)" "$(sum_bytes "$T_CPID" rx_bytes)" "client rx vs kernel bytes_received"
  # bytes_sent counts retransmitted bytes again (spurious RTOs happen on slow emulated kernels).
  local sent retrans
  sent=$(ss_bytes T "$T_CPORT" bytes_sent)
  retrans=$(ss_bytes T "$T_CPORT" bytes_retrans)
  assert_eq "$((sent - ${retrans:-0}))" "$(sum_bytes "$T_CPID" tx_bytes)" "client tx vs kernel bytes_sent - bytes_retrans"
  assert_eq '{"type":"summary","lost_updates":0}' \
    "$(tool_out | tail -n 1 | jq -c '{type, lost_updates}')" "summary line"
}

# The sock tracepoints (6.3+) where the kernel has them, kprobes before.
# bats test_tags=kernel,e2e
@test "reports exactly the bytes both ends of an IPv4 connection sent and received, as the kernel counted them" {
  check_transfer_json 4 127.0.0.1
}

@test "reports exactly the bytes both ends of an IPv6 connection sent and received, as the kernel counted them" {
  check_transfer_json 6 ::1
}

@test "prints floored KB in the original's IPv4 and IPv6 tables with the comm as text" {
  local v4 v6
  start_tool - $TB -i 60
  transfer 4 A
  transfer 6 B
  stop_tool # the last, partial interval is printed at exit
  assert_eq 0 "$TOOL_STATUS" "exit status"
  v4="%-7s %-12s %-21s %-21s %6s %6s"
  v6="%-7s %-12s %-40s %-40s %6s %6s"
  grep -Fxq "$(printf "$v4" PID COMM SADDR DADDR RX_KB TX_KB)" "$BATS_TEST_TMPDIR/out"
  grep -Fxq "$(printf "$v6" PID COMM SADDR6 DADDR6 RX_KB TX_KB)" "$BATS_TEST_TMPDIR/out"
  grep -Fxq "$(printf "$v4" "$A_CPID" tcpbytes-cli "127.0.0.1:$A_CPORT" "127.0.0.1:$A_SPORT" 4 97)" "$BATS_TEST_TMPDIR/out"
  grep -Fxq "$(printf "$v4" "$A_SPID" tcpbytes-ser "127.0.0.1:$A_SPORT" "127.0.0.1:$A_CPORT" 97 4)" "$BATS_TEST_TMPDIR/out"
  grep -Fxq "$(printf "$v6" "$B_CPID" tcpbytes-cli "::1:$B_CPORT" "::1:$B_SPORT" 4 97)" "$BATS_TEST_TMPDIR/out"
  grep -Fxq "$(printf "$v6" "$B_SPID" tcpbytes-ser "::1:$B_SPORT" "::1:$B_CPORT" 97 4)" "$BATS_TEST_TMPDIR/out"
  # every interval: an asctime line first, 60 dashes last
  head -n 1 "$BATS_TEST_TMPDIR/out" | grep -Eq '^[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} [0-9]{4}$'
  assert_eq "$(printf -- '-%.0s' {1..60})" "$(tail -n 1 "$BATS_TEST_TMPDIR/out")" "last line"
}

@test "-p reports only the given process" {
  prepare_transfer 4 A
  prepare_transfer 6 B
  start_tool - $TB --json -i 1 -p "$A_CPID"
  run_transfer A
  run_transfer B
  stop_tool
  assert_eq "$A_CPID" "$(tool_out | jq -s '[.[] | select(.type == "connection") | .pid] | unique | .[]')" "PIDs reported"
  assert_eq "tcpbytes-client 4 127.0.0.1 $A_CPORT 127.0.0.1 $A_SPORT" "$(conns "$A_CPID")" "rows"
  assert_eq 100000 "$(sum_bytes "$A_CPID" tx_bytes)" "tx_bytes"
  assert_eq 5000 "$(sum_bytes "$A_CPID" rx_bytes)" "rx_bytes"
}

# check_family_filter OPTION FAMILY: -4 or -6 over one IPv4 and one IPv6 transfer.
check_family_filter() {
  local opt=$1 family=$2 mine other
  start_tool - $TB --json -i 1 "$opt"
  transfer 4 A
  transfer 6 B
  stop_tool
  assert_eq "$family" "$(tool_out | jq -s '[.[] | select(.type == "connection") | .family] | unique | .[]')" "families reported"
  if [ "$family" = 4 ]; then mine=A other=B; else mine=B other=A; fi
  local cpid_var="${mine}_CPID" spid_var="${mine}_SPID" ocpid="${other}_CPID" ospid="${other}_SPID"
  assert_eq 100000 "$(sum_bytes "${!cpid_var}" tx_bytes)" "client tx_bytes"
  assert_eq 100000 "$(sum_bytes "${!spid_var}" rx_bytes)" "server rx_bytes"
  assert_eq "" "$(conns "${!ocpid}")$(conns "${!ospid}")" "rows of the other family"
}

@test "-4 reports only IPv4 connections" {
  check_family_filter -4 4
}

@test "-6 reports only IPv6 connections" {
  check_family_filter -6 6
}

@test "--duration ends the tool by itself with a summary" {
  start_tool - $TB --json -i 0.5 --duration 1.2 -p $$ # a PID without TCP traffic: no final partial interval
  wait_tool
  assert_eq 0 "$TOOL_STATUS" "exit status"
  assert_eq 2 "$(tool_out | jq -s '[.[] | select(.type == "interval")] | length')" "intervals"
  assert_eq '{"type":"summary","intervals":2,"lost_updates":0}' "$(tool_out | tail -n 1)" "summary"
}

@test "-C is accepted for tcptop habits" {
  start_tool - $TB -C --duration 0.3
  wait_tool
  assert_eq 0 "$TOOL_STATUS" "exit status"
}

@test "a bad PID is refused with exit status 2" {
  run --separate-stderr "$BCCNET_BIN/$TB" -p 12ab
  assert_eq 2 "$status" "status"
  assert_eq "tcp_bytes: invalid --pid '12ab': expected a process ID 1-4194304" "$stderr" "message"
  assert_eq "" "$output" "stdout"
}

@test "an interval of 0 is refused with exit status 2" {
  run --separate-stderr "$BCCNET_BIN/$TB" -i 0
  assert_eq 2 "$status" "status"
  assert_eq "tcp_bytes: invalid --interval '0': expected seconds from 0.01 to 86400" "$stderr" "message"
}

@test "-4 together with -6 is refused with exit status 2" {
  run --separate-stderr "$BCCNET_BIN/$TB" -4 -6
  assert_eq 2 "$status" "status"
  assert_eq "tcp_bytes: -4/--ipv4 and -6/--ipv6 are mutually exclusive" "$stderr" "message"
}

# The sock tracepoints are Linux 6.3+; where they are missing only the kprobe
# path is built (and the tool uses it).
# bats test_tags=kernel
@test "the kprobe path and the tracepoint path (where the kernel has it) compile and pass the verifier" {
  local expected="verified kprobe programs: tcp_sendmsg_entry tcp_sendmsg_return tcp_recvmsg_entry tcp_recvmsg_return"
  if [ -e /sys/kernel/tracing/events/sock/sock_send_length ] && [ -e /sys/kernel/tracing/events/sock/sock_recv_length ]; then
    expected="verified tracepoint programs: tracepoint__sock__sock_send_length tracepoint__sock__sock_recv_length
$expected"
  fi
  run --separate-stderr "$BCCNET_BIN/$TB" --load-only
  assert_eq 0 "$status" "status"
  assert_eq "$expected" "$output" "stdout"
}

# bats test_tags=kernel
@test "--kprobes on a kernel without kprobes says why and exits 1" {
  [ ! -e /sys/bus/event_source/devices/kprobe/type ] || skip "this kernel has kprobes"
  run --separate-stderr "$BCCNET_BIN/$TB" --kprobes --duration 1
  assert_eq 1 "$status" "status"
  assert_eq "tcp_bytes: --kprobes: this kernel has no kprobes (CONFIG_KPROBES is off); run without --kprobes to use the sock tracepoints" "$stderr" "message"
}

# The same exact numbers as the tracepoint tests, through kprobes on
# tcp_sendmsg/tcp_recvmsg (the path of kernels before 6.3).
# bats test_tags=kernel
@test "the kprobe path (--kprobes) counts exactly the bytes both ends of IPv4 and IPv6 connections sent and received" {
  [ -e /sys/bus/event_source/devices/kprobe/type ] ||
    skip "this kernel has no kprobes (CONFIG_KPROBES off): the kprobe path is only compiled and verifier-loaded (--load-only test)"
  check_transfer_json 4 127.0.0.1 --kprobes
  grep -q '(kprobes)' "$BATS_TEST_TMPDIR/err"
  rm -f "$BATS_TEST_TMPDIR"/T.* # the second transfer's peers wait for files of their own
  check_transfer_json 6 ::1 --kprobes
}

@test "counts and reports byte counts lost when the connection map is full" {
  local d="$BATS_TEST_TMPDIR/fan" pid
  start_bg _ ip netns exec "$NS" python3 "$PEER" fanout --family 4 --conns 23 --up 1000 \
    --comm tcpbytes-fanout --pidfile "$d.pid" --go "$d.go" --done "$d.done"
  wait_file "$d.pid"
  pid=$(cat "$d.pid")
  start_tool - $TB --json -i 60 -p "$pid" --max-conns 1
  touch "$d.go"
  wait_file "$d.done"
  stop_tool
  # 23 connections, one send each: the first has the one map entry, 22 are lost.
  assert_eq 1000 "$(sum_bytes "$pid" tx_bytes)" "bytes recorded"
  assert_eq 1 "$(tool_out | jq -s '[.[] | select(.type == "connection")] | length')" "rows"
  assert_eq '{"type":"summary","intervals":1,"lost_updates":22}' "$(tool_out | tail -n 1)" "summary"
  assert_eq "tcp_bytes: warning: 22 byte counts lost: the connection map (--max-conns 1) was full; raise --max-conns" \
    "$(grep warning "$BATS_TEST_TMPDIR/err")" "warning"
}

@test "a bad --max-conns is refused with exit status 2" {
  run --separate-stderr "$BCCNET_BIN/$TB" --max-conns 0
  assert_eq 2 "$status" "status"
  assert_eq "tcp_bytes: invalid --max-conns '0': expected a number of connections 1-1048576" "$stderr" "message"
}
