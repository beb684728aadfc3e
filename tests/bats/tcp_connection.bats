#!/usr/bin/env bats
# tcp_connection against real connections between two namespaces joined by a
# veth pair: a server (COMM tcsrv) on 10.231.0.2:23017 and [fd23::2]:23029,
# a client (COMM tccli) at 10.231.0.1 / fd23::1 making 23 connections to each.
# Both make their socket calls from a second thread, so thread ID != TGID.
# The tool runs in the root namespace (BPF sees every namespace), so rows of
# other processes may appear; assertions select our PIDs or hold for all rows.

bats_require_minimum_version 1.5.0
load test_helper

TC=tcp_connection
N=23
V4_PORT=23017
V6_PORT=23029

setup() {
  make_ns CNS
  make_ns SNS
  veth_pair "$CNS" "$SNS" tc 10.231.0 fd23
}

# start_peers: server listening and client waiting for the go file; sets SRV_PID, CLI_PID.
start_peers() {
  local t=$BATS_TEST_TMPDIR
  start_bg SRV_BG ip netns exec "$SNS" python3 "$HELPERS/tcp_connection_peer.py" server tcsrv \
    "$t/srv.pid" $((2 * N)) 10.231.0.2:$V4_PORT "[fd23::2]:$V6_PORT"
  start_bg CLI_BG ip netns exec "$CNS" python3 "$HELPERS/tcp_connection_peer.py" client tccli \
    "$t/cli.pid" "$t/go" $N 10.231.0.2:$V4_PORT "[fd23::2]:$V6_PORT" >"$t/client.json"
  wait_file "$t/srv.pid"
  wait_file "$t/cli.pid"
  SRV_PID=$(cat "$t/srv.pid")
  CLI_PID=$(cat "$t/cli.pid")
}

# run_peers: lets the client connect, waits until both peers are done, stops the tool.
run_peers() {
  touch "$BATS_TEST_TMPDIR/go"
  wait_exit "$CLI_BG"
  wait_exit "$SRV_BG"
  stop_tool
  assert_eq 0 "$TOOL_STATUS" "tool exit status"
}

# rows JQ_CONDITION: number of connection rows matching a condition.
rows() { tool_out | jq -s "[.[] | select(.type == \"connection\") | select($1)] | length"; }

# tuples JQ_CONDITION: the client's view ("ip saddr sport daddr dport") of matching rows, sorted.
client_view() {
  tool_out | jq -r "select(.type == \"connection\") | select($1) |
    if .direction == \"connect\" then \"\(.ip) \(.saddr) \(.sport) \(.daddr) \(.dport)\"
    else \"\(.ip) \(.daddr) \(.dport) \(.saddr) \(.sport)\" end" | sort
}

# client_made [IP]: what the client itself saw, same form, sorted.
client_made() {
  jq -r "select(${1:-true}) | \"\(.ip) \(.saddr) \(.sport) \(.daddr) \(.dport)\"" \
    "$BATS_TEST_TMPDIR/client.json" | sort
}

# bats test_tags=e2e
@test "reports each of 23 IPv4 and 23 IPv6 connections once per side with the caller's PID, COMM, addresses and ports" {
  start_peers
  start_tool - $TC --json
  run_peers
  assert_eq $((2 * N)) "$(client_made | wc -l)" "connections the client made"
  assert_eq "$(client_made)" "$(client_view ".pid == $CLI_PID and .direction == \"connect\"")" "connect rows"
  assert_eq "$(client_made)" "$(client_view ".pid == $SRV_PID and .direction == \"accept\"")" "accept rows"
  assert_eq $((2 * N)) "$(rows ".pid == $CLI_PID and .comm == \"tccli\" and .direction == \"connect\"")" "client rows"
  assert_eq $((2 * N)) "$(rows ".pid == $SRV_PID and .comm == \"tcsrv\" and .direction == \"accept\"")" "server rows"
  assert_eq 0 "$(rows "(.pid == $CLI_PID or .pid == $SRV_PID) and .tid == .pid")" "rows with the main thread's ID (the calls run in a second thread)"
  assert_eq 0 "$(rows ".pid == $CLI_PID and .direction == \"accept\"")" "accept rows of the client"
  assert_eq 0 "$(rows ".pid == $SRV_PID and .direction == \"connect\"")" "connect rows of the server"
  assert_eq $N "$(rows ".pid == $SRV_PID and .ip == 4 and .saddr == \"10.231.0.2\" and .sport == $V4_PORT and .daddr == \"10.231.0.1\"")" "IPv4 accepts"
  assert_eq $N "$(rows ".pid == $SRV_PID and .ip == 6 and .saddr == \"fd23::2\" and .sport == $V6_PORT and .daddr == \"fd23::1\"")" "IPv6 accepts"
  assert_eq 0 "$(tool_out | jq -s '.[] | select(.type == "summary") | .lost_events')" "lost events"
}

@test "prints the original console header and one row per connection in its columns" {
  start_peers
  start_tool - $TC -p "$CLI_PID"
  run_peers
  local expected
  expected=$(jq -r '"\(.ip) \(.daddr) \(.dport) \(.saddr) \(.sport)"' "$BATS_TEST_TMPDIR/client.json" |
    while read -r ip daddr dport saddr sport; do
      printf '%-7s %-12s %-2s %-16s %-5s %-16s %-5s %10s\n' "$CLI_PID" tccli "$ip" "$daddr" "$dport" "$saddr" "$sport" connect
    done | sort)
  assert_eq "TIME      PID     COMM         IP DADDR            DPORT SADDR            SPORT  DIRECTION" \
    "$(tool_out | head -1)" "header"
  assert_eq "$expected" "$(tool_out | tail -n +2 | cut -c11- | sort)" "rows after the time column"
  assert_eq $((2 * N)) "$(tool_out | tail -n +2 | grep -c '^[0-2][0-9]:[0-5][0-9]:[0-5][0-9]  ')" "HH:MM:SS times"
}

@test "-p keeps only the connections of that process (TGID)" {
  start_peers
  start_tool - $TC --json -p "$SRV_PID"
  run_peers
  assert_eq $((2 * N)) "$(rows true)" "rows"
  assert_eq $((2 * N)) "$(rows ".pid == $SRV_PID and .direction == \"accept\"")" "server accept rows"
  assert_eq "$(client_made)" "$(client_view true)" "accepted connections"
}

@test "-r connect keeps only connections made with connect()" {
  start_peers
  start_tool - $TC --json -r connect
  run_peers
  assert_eq 0 "$(rows '.direction != "connect"')" "non-connect rows"
  assert_eq "$(client_made)" "$(client_view ".pid == $CLI_PID")" "client rows"
  assert_eq 0 "$(rows ".pid == $SRV_PID")" "server rows"
}

@test "-r accept keeps only connections returned by accept() and accept4()" {
  start_peers
  start_tool - $TC --json --direction accept
  run_peers
  assert_eq 0 "$(rows '.direction != "accept"')" "non-accept rows"
  assert_eq "$(client_made)" "$(client_view ".pid == $SRV_PID")" "server rows"
  assert_eq 0 "$(rows ".pid == $CLI_PID")" "client rows"
}

@test "-4 keeps only IPv4 connections, both sides" {
  start_peers
  start_tool - $TC --json -4
  run_peers
  assert_eq 0 "$(rows '.ip != 4')" "non-IPv4 rows"
  assert_eq "$(client_made '.ip == 4')" "$(client_view ".pid == $CLI_PID")" "client rows"
  assert_eq "$(client_made '.ip == 4')" "$(client_view ".pid == $SRV_PID")" "server rows"
}

@test "-6 keeps only IPv6 connections, both sides" {
  start_peers
  start_tool - $TC --json --ipv6
  run_peers
  assert_eq 0 "$(rows '.ip != 6')" "non-IPv6 rows"
  assert_eq "$(client_made '.ip == 6')" "$(client_view ".pid == $CLI_PID")" "client rows"
  assert_eq "$(client_made '.ip == 6')" "$(client_view ".pid == $SRV_PID")" "server rows"
}

@test "-P keeps only connections whose local port is in the list" {
  start_peers
  start_tool - $TC --json -P $V6_PORT
  run_peers
  assert_eq 0 "$(rows ".sport != $V6_PORT")" "rows of other local ports"
  assert_eq "$(client_made '.ip == 6')" "$(client_view ".pid == $SRV_PID")" "server rows"
  assert_eq 0 "$(rows ".pid == $CLI_PID")" "client rows (ephemeral local ports)"
}

@test "-P with a list and -p combine with AND" {
  start_peers
  start_tool - $TC --json --port 9,$V4_PORT,$V6_PORT -p "$SRV_PID"
  run_peers
  assert_eq $((2 * N)) "$(rows true)" "rows"
  assert_eq "$(client_made)" "$(client_view ".pid == $SRV_PID")" "server rows"
}

# bad_input STATUS MESSAGE ARGS...
bad_input() {
  local want_status=$1 message=$2; shift 2
  run --separate-stderr "$BCCNET_BIN/$TC" "$@"
  assert_eq "$want_status" "$status" "exit status of $*"
  assert_eq "$message" "$stderr" "stderr of $*"
  assert_eq "" "$output" "stdout of $*"
}

@test "refuses bad input with exit status 2 and one line naming the value" {
  bad_input 2 "tcp_connection: invalid --direction 'sideways': expected connect or accept" -r sideways
  bad_input 2 "tcp_connection: invalid --pid '12ab': expected a process ID 1-4194304" -p 12ab
  bad_input 2 "tcp_connection: invalid --pid '0': expected a process ID 1-4194304" --pid 0
  bad_input 2 "tcp_connection: invalid --port '80,0': expected up to 64 comma-separated ports 1-65535" -P 80,0
  bad_input 2 "tcp_connection: invalid --port '80,,81': expected up to 64 comma-separated ports 1-65535" --port 80,,81
  bad_input 2 "tcp_connection: -4/--ipv4 and -6/--ipv6 are mutually exclusive" -4 -6
  bad_input 2 "tcp_connection: unexpected argument 'extra'; try 'tcp_connection --help'" extra
  bad_input 2 "tcp_connection: invalid --duration 'x': expected seconds from 0.001 to 3.1536e+07" --duration x
}

@test "--help prints the options and examples on stdout and exits 0" {
  run --separate-stderr "$BCCNET_BIN/$TC" --help
  assert_eq 0 "$status" "exit status"
  [[ "$output" == *"-r, --direction DIR"* ]]
  [[ "$output" == *"tcp_connection -r accept   # only accepted connections"* ]]
  assert_eq "" "$stderr" "stderr"
}

@test "passes filters as -D numbers and ports through a map, never as text" {
  run --separate-stderr "$BCCNET_BIN/$TC" --print-bpf -p 4242 -P 80,81 -r accept -6
  assert_eq 0 "$status" "exit status"
  [[ "$output" == *"-DFILTER_PID=4242"* ]]
  [[ "$output" == *"-DFILTER_DIRECTION=1"* ]]
  [[ "$output" == *"-DFILTER_FAMILY=10"* ]]
  [[ "$output" == *"-DFILTER_PORTS=1"* ]]
  [[ "$output" != *"80,81"* ]]
}

@test "--duration ends the tool by itself with status 0 and a JSON summary" {
  start_tool - $TC --json --duration 1 -p 4194304
  wait_tool
  assert_eq 0 "$TOOL_STATUS" "exit status"
  assert_eq '{"type":"summary","connections":0,"lost_events":0,"untracked_connects":0,"untracked_accepts":0}' "$(tool_out)" "output"
}
