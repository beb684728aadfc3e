#!/usr/bin/env bats
# netwatch against real connections between two namespaces joined by a veth
# pair: a server (COMM nwsrv) on 10.241.0.2 / fd41::2 and a client (COMM
# nwcli) at 10.241.0.1 / fd41::1 that sends exactly N bytes and receives M.
# The tool runs in the root namespace with --netns of the client's or the
# server's namespace and port filters, so other tests' traffic cannot show.

bats_require_minimum_version 1.5.0
load test_helper

TOOL=netwatch
PEER="$HELPERS/netwatch_peer.py"
N=1013   # bytes the client sends
M=70019  # bytes the server answers (more than one window's worth of segments)
PORT4=24107
PORT6=24109
# free_port: a TCP port nothing listens on in the root namespace (the exporter and
# Prometheus listen there; other runs of this file may be going on at the same time).
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
PY=/usr/bin/python3 # the interpreter that has scapy

setup() {
  METRICS_PORT=$(free_port)
  PROM_PORT=$(free_port)
  make_ns CNS
  make_ns SNS
  ip link add nwc$$ netns "$CNS" type veth peer name nws$$ netns "$SNS"
  ip -n "$CNS" addr add 10.241.0.1/24 dev nwc$$
  ip -n "$SNS" addr add 10.241.0.2/24 dev nws$$
  ip -n "$CNS" addr add fd41::1/64 dev nwc$$ nodad
  ip -n "$SNS" addr add fd41::2/64 dev nws$$ nodad
  ip -n "$CNS" link set nwc$$ up
  ip -n "$SNS" link set nws$$ up
}

# exchange ADDR PORT [CONNS] [HOLD_S]: server then client; the client's JSON lines go to
# client.json. The client sends $N bytes and receives $M.
exchange() {
  local addr=$1 port=$2 conns=${3:-1} hold=${4:-0} t=$BATS_TEST_TMPDIR
  start_bg SRV_BG in_ns "$SNS" python3 "$PEER" server nwsrv "$addr" "$port" $N $M "$conns" >"$t/srv.out"
  wait_for_line "$t/srv.out" ready
  SRV_PID=$(awk '/^ready/ { print $2 }' "$t/srv.out")
  in_ns "$CNS" python3 "$PEER" client nwcli "$addr" "$port" $N $M "$conns" "$hold" >>"$t/client.json"
  wait_exit "$SRV_BG"
}

# covered FILE: bytes from the first segment's SEQ that [seq, payload] lines cover without a
# gap (retransmitted and overlapping segments once), or -1 if there is a gap.
covered() {
  jq -s '(.[0][0]) as $s0 | map({o: ((.[0] - $s0 + 4294967296) % 4294967296), e: ((.[0] - $s0 + 4294967296) % 4294967296 + .[1])})
    | sort_by(.o) | reduce .[] as $x ({end: 0, gap: false};
        (if $x.o > .end then .gap = true else . end) | .end = ([.end, $x.e] | max))
    | if .gap then -1 else .end end' "$1"
}

metrics() { curl -sS --max-time 10 "http://127.0.0.1:$METRICS_PORT/metrics"; }

# conn_events JQ_CONDITION: connection events matching.
conn_events() { tool_out | jq -c "select(.type == \"connection\") | select($1)"; }

check_family() {
  local addr=$1 port=$2 caddr=$3
  start_tool - $TOOL --json --netns "$CNS" -d "$port"
  exchange "$addr" "$port"
  stop_tool
  assert_eq 0 "$TOOL_STATUS" "exit status"
  local cport cpid
  cport=$(jq -r .lport "$BATS_TEST_TMPDIR/client.json")
  cpid=$(jq -r .pid "$BATS_TEST_TMPDIR/client.json")
  local want=".comm == \"nwcli\" and .pid == $cpid and .role == \"client\" and .saddr == \"$caddr\" and .sport == $cport and .daddr == \"$addr\" and .dport == $port"
  assert_eq 1 "$(conn_events ".event == \"open\" and $want" | wc -l)" "open event"
  assert_eq 1 "$(conn_events ".event == \"close\" and $want and .rx_bytes == $M and .acked_bytes == $N" | wc -l)" "close event with exact bytes"
  assert_eq 2 "$(conn_events true | wc -l)" "connection events (only the filtered one)"
  local sock rx tx
  sock=$(conn_events '.event == "open"' | jq -r .sock)
  rx=$(tool_out | jq -s "[.[] | select(.type == \"packet\" and .sock == \"$sock\" and .rx == 1)] | length")
  tx=$(tool_out | jq -s "[.[] | select(.type == \"packet\" and .sock == \"$sock\" and .rx == 0)] | length")
  assert_eq "$rx" "$(conn_events '.event == "close"' | jq .rx_packets)" "received segments: events vs the connection's count"
  assert_eq "$tx" "$(conn_events '.event == "close"' | jq .tx_packets)" "sent segments: events vs the connection's count"
  [ "$rx" -ge 3 ] && [ "$tx" -ge 3 ]
  tool_out | jq -c "select(.type == \"packet\" and .sock == \"$sock\" and .rx == 1 and .payload_bytes > 0) | [.seq, .payload_bytes]" >"$BATS_TEST_TMPDIR/rxsegs"
  assert_eq "$M" "$(covered "$BATS_TEST_TMPDIR/rxsegs")" "bytes covered without a gap by the received segments: $(tr '\n' ' ' <"$BATS_TEST_TMPDIR/rxsegs")"
  assert_eq 0 "$(tool_out | jq -s '.[] | select(.type == "summary") | .lost_events')" "lost events"
}

# bats test_tags=e2e
@test "a client sending N and receiving M bytes over IPv4: its process, role, ends, segments and exact bytes" {
  check_family 10.241.0.2 $PORT4 10.241.0.1
}

# bats test_tags=kernel
@test "a client sending N and receiving M bytes over IPv6: its process, role, ends, segments and exact bytes" {
  check_family fd41::2 $PORT6 fd41::1
}

# bats test_tags=kernel
@test "the server side: accept() gives the server's PID and COMM; console rows in the original's columns" {
  start_tool - $TOOL --netns "$SNS" -s $PORT4
  exchange 10.241.0.2 $PORT4
  stop_tool
  assert_eq 0 "$TOOL_STATUS" "exit status"
  assert_eq "SOCK                   SEQ        ACK        MAC_TIME   IP_TIME    TCP_TIME   RX    HTTP" \
    "$(tool_out | head -1)" "header"
  local cport
  cport=$(jq -r .lport "$BATS_TEST_TMPDIR/client.json")
  tool_out | grep -q "^\[+\] accept: sock = 0x[0-9a-f]*, pid = $SRV_PID, comm = nwsrv, role = server, src = 10.241.0.2:$PORT4, dst = 10.241.0.1:$cport$"
  tool_out | grep -q "^\[-\] close: sock = 0x[0-9a-f]*, pid = $SRV_PID, comm = nwsrv, role = server"
  # packet rows: SOCK SEQ ACK - - - RX -
  local rows
  rows=$(tool_out | grep -cE '^0x[0-9a-f]+ +[0-9]+ +[0-9]+ +- +- +- +[01] +-$')
  [ "$rows" -ge 6 ]
  assert_eq "$rows" "$(tool_out | grep -c '^0x')" "every packet row in the original's layout"
}

# bats test_tags=e2e
@test "the exporter: exact bytes while open and after close, HELP/TYPE for every family, promtool finds nothing" {
  start_tool - $TOOL --netns "$SNS" -s $PORT4 -l $METRICS_PORT
  exchange 10.241.0.2 $PORT4 1 3 &
  local bg=$! i body
  for ((i = 0; i < 300; i++)); do # bounded; peers start slowly under emulation
    body=$(metrics)
    grep -q "netwatch_connection_bytes_received_total{.*comm=\"nwsrv\".*} $N\$" <<<"$body" && break
    kill -0 "$bg" 2>/dev/null || break
    sleep 0.1
  done
  grep -q "netwatch_connection_bytes_received_total{src=\"10.241.0.2:$PORT4\",dst=\"10.241.0.1:[0-9]*\",pid=\"[0-9]*\",comm=\"nwsrv\",role=\"server\",netns=\"[0-9]*\"} $N\$" <<<"$body"
  grep -q 'netwatch_connection_open{.*comm="nwsrv".*} 1$' <<<"$body"
  wait "$bg"
  body=$(metrics)
  grep -q "netwatch_connection_bytes_received_total{.*comm=\"nwsrv\".*} $N\$" <<<"$body"
  grep -q "netwatch_connection_bytes_acked_total{.*comm=\"nwsrv\".*} $M\$" <<<"$body"
  grep -q 'netwatch_connection_open{.*comm="nwsrv".*} 0$' <<<"$body"
  assert_eq "" "$(metrics | grep 'comm="nwsrv"')" "a closed connection's series after its one scrape"
  promtool check metrics <<<"$body"
  local fams
  fams=$(grep -c '^# TYPE ' <<<"$body")
  assert_eq "$fams" "$(grep -c '^# HELP ' <<<"$body")" "HELP lines"
  assert_eq "" "$(grep -v '^#' <<<"$body" | awk '{print $1}' | sed 's/{.*//; s/_bucket$//; s/_sum$//; s/_count$//' | sort -u | while read -r m; do grep -q "^# TYPE $m " <<<"$body" || echo "$m"; done)" "samples without a TYPE"
  grep -q '^netwatch_build_info{version="[^"]*",kernel="[^"]*"} 1$' <<<"$body"
  grep -q '^netwatch_lost_events_total 0$' <<<"$body"
  grep -q '^netwatch_bpf_program_runs_total{program="raw_tracepoint__netif_receive_skb"} [0-9]*$' <<<"$body"
  stop_tool
  assert_eq 0 "$TOOL_STATUS" "exit status"
}

@test "-a keeps closed connections in /metrics and connects.log" {
  local dir=$BATS_TEST_TMPDIR/data
  mkdir "$dir"
  start_tool - $TOOL --netns "$SNS" -s $PORT4 -a -x -l $METRICS_PORT --data-dir "$dir"
  exchange 10.241.0.2 $PORT4 3
  local i
  for ((i = 0; i < 100; i++)); do
    [ "$(grep -c 'is_server="1"' "$dir/connects.log")" = 3 ] && break
    sleep 0.1
  done
  assert_eq 3 "$(metrics | grep -c "netwatch_connection_bytes_received_total{.*comm=\"nwsrv\".*} $N\$")" "first scrape"
  assert_eq 3 "$(metrics | grep -c "netwatch_connection_bytes_received_total{.*comm=\"nwsrv\".*} $N\$")" "second scrape"
  assert_eq 3 "$(grep -c "rx_bytes=\"1.013K\",tx_bytes=\"70.019K\"" "$dir/connects.log")" "connects.log byte columns"
  stop_tool
}

@test "--data-dir writes the original's three files, one label set in every mode" {
  local dir=$BATS_TEST_TMPDIR/data names
  mkdir "$dir"
  start_tool - $TOOL --netns "$SNS" -s $PORT4 --data-dir "$dir"
  exchange 10.241.0.2 $PORT4 1 3 & # held open 3 s: connects.log lists open connections
  local bg=$! i
  for ((i = 0; i < 300; i++)); do # bounded; peers start slowly under emulation
    grep -q "src=\"10.241.0.2:$PORT4\"" "$dir/connects.log" 2>/dev/null && break
    kill -0 "$bg" 2>/dev/null || break
    sleep 0.1
  done
  names=$(sed 's/="[^"]*"//g' "$dir/connects.log" | sort -u)
  grep -qE "^connection\{pid=\"[0-9]+\",sock=\"0x[0-9a-f]+\",src=\"10.241.0.2:$PORT4\",dst=\"10.241.0.1:[0-9]+\",is_server=\"1\",backlog=\"-\",maxbacklog=\"-\",rwnd=\"-\",cwnd=\"-\",ssthresh=\"-\",sndbuf=\"-\",wmem_queued=\"-\",rx_bytes=\"-\",tx_bytes=\"-\",srtt=\"-\",duration=\"-\",total_retrans=\"-\",fast_retrans=\"-\",timeout_retrans=\"-\"\} 0$" "$dir/connects.log"
  wait "$bg"
  stop_tool
  [ -s "$dir/packets.log" ]
  assert_eq "$(wc -l <"$dir/packets.log")" "$(grep -cE '^packet\{sock="0x[0-9a-f]+",seq="[0-9]+",ack="[0-9]+",mac_time="-",ip_time="-",tcp_time="-",http_info="-",rx="[01]"\} 0$' "$dir/packets.log")" "packet lines"
  assert_eq "$(tool_out | grep -c '^0x')" "$(wc -l <"$dir/packets.log")" "a line per console row"
  [ -e "$dir/err.log" ]
  # The same label names with -x -r: only values change.
  start_tool - $TOOL --netns "$SNS" -s $PORT4 -x -r --data-dir "$dir"
  exchange 10.241.0.2 $PORT4 1 3 &
  bg=$!
  for ((i = 0; i < 300; i++)); do
    grep -q 'cwnd="[0-9]' "$dir/connects.log" 2>/dev/null && break
    kill -0 "$bg" 2>/dev/null || break
    sleep 0.1
  done
  assert_eq "$names" "$(sed 's/="[^"]*"//g' "$dir/connects.log" | sort -u)" "label names with -x -r"
  grep -q 'srtt="[0-9]*",duration="[0-9]*",total_retrans="0",fast_retrans="0",timeout_retrans="0"} 0$' "$dir/connects.log" ||
    { echo "# connects.log: $(cat "$dir/connects.log")" >&3; return 1; }
  wait "$bg"
  stop_tool
}

@test "the exporter answers only GET/HEAD /metrics and /, and refuses the rest" {
  start_tool - $TOOL --netns "$SNS" -l $METRICS_PORT
  local u=http://127.0.0.1:$METRICS_PORT
  assert_eq 200 "$(curl -s -o /dev/null -w '%{http_code}' $u/metrics)" "GET /metrics"
  assert_eq "text/plain; version=0.0.4; charset=utf-8" "$(curl -s -o /dev/null -w '%{content_type}' $u/metrics)" "content type"
  assert_eq 200 "$(curl -s -o /dev/null -w '%{http_code}' -I $u/metrics)" "HEAD /metrics"
  curl -s $u/ | grep -q 'href="/metrics"'
  assert_eq 404 "$(curl -s -o /dev/null -w '%{http_code}' $u/nothing)" "unknown path"
  assert_eq 405 "$(curl -s -o /dev/null -w '%{http_code}' -X POST -d x=1 $u/metrics)" "POST"
  assert_eq 405 "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE $u/metrics)" "DELETE"
  # Bound to 127.0.0.1 only.
  ! ss -ltnH "sport = :$METRICS_PORT" | grep -v '127.0.0.1:' | grep -q .
  stop_tool
  assert_eq 0 "$TOOL_STATUS" "exit status"
}

@test "bad options exit 2 with one line" {
  local args
  for args in "-d 0" "-s 70000" "-d abc" "--max-conns 0" "-l 99999" "-l nohost:80" "--bogus" "extra" "--duration -1"; do
    run --separate-stderr "$BCCNET_BIN/$TOOL" $args
    assert_eq 2 "$status" "status of '$args'"
    assert_eq 1 "$(printf '%s\n' "$stderr" | grep -c .)" "stderr lines of '$args': $stderr"
    assert_eq "" "$output" "stdout of '$args'"
  done
}

@test "--help, -? and --usage print to stdout and exit 0" {
  run --separate-stderr "$BCCNET_BIN/$TOOL" --help
  assert_eq 0 "$status"
  [[ "$output" == "Usage: netwatch"* && "$output" == *EXAMPLES* ]]
  run --separate-stderr "$BCCNET_BIN/$TOOL" -?
  assert_eq 0 "$status"
  [[ "$output" == "Usage: netwatch"* ]]
  run --separate-stderr "$BCCNET_BIN/$TOOL" --usage
  assert_eq 0 "$status"
  [[ "$output" == "Usage: netwatch ["* ]]
}

# our_prog_ids: IDs of the BPF programs the running tool holds.
our_prog_ids() { cat /proc/"$TOOL_PID"/fdinfo/* 2>/dev/null | awk '$1 == "prog_id:" { print $2 }' | sort -u; }

@test "SIGTERM and SIGINT end it cleanly: exit 0, nothing left attached, the port free" {
  local ids sig id
  for sig in TERM INT; do
    start_tool - $TOOL --netns "$SNS" -e -r -t -x -l $METRICS_PORT
    ids=$(our_prog_ids)
    [ "$(wc -l <<<"$ids")" -ge 10 ]
    stop_tool $sig
    assert_eq 0 "$TOOL_STATUS" "exit status after SIG$sig"
    for id in $ids; do
      ! bpftool prog show id "$id" >/dev/null 2>&1
    done
    ! ss -ltnH "sport = :$METRICS_PORT" | grep -q .
  done
}

# ---- -i: HTTP/1.x lines ----

# A python3 http.server in the server namespace, files of 5 bytes and 1 MiB.
start_http_server() {
  local www=$BATS_TEST_TMPDIR/www
  mkdir -p "$www"
  printf 'tiny\n' >"$www/small.txt"
  head -c 1048576 /dev/zero >"$www/big.bin"
  (cd "$www" && exec ip netns exec "$SNS" python3 -m http.server --bind 10.241.0.2 $PORT4 \
    >"$BATS_TEST_TMPDIR/http.log" 2>&1) &
  BCCNET_PIDS+=("$!")
  local i
  for ((i = 0; i < 100; i++)); do
    in_ns "$SNS" ss -ltnH "sport = :$PORT4" | grep -q . && return 0
    sleep 0.1
  done
  return 1
}

# http_rows JQ_CONDITION: HTTP events matching.
http_rows() { tool_out | jq -c "select(.type == \"http\") | select($1)"; }

# bats test_tags=kernel
@test "-i: request and status lines of a small and a 1 MiB response, in both directions, on the right connection" {
  start_http_server
  start_tool - $TOOL --json -i --netns "$CNS" -d $PORT4
  local f size
  for f in small.txt big.bin; do
    size=$(in_ns "$CNS" curl -sS -o /dev/null -w '%{size_download}' "http://10.241.0.2:$PORT4/$f")
    [ "$size" -gt 0 ]
  done
  stop_tool
  assert_eq 0 "$TOOL_STATUS" "exit status"
  local f port
  for f in small.txt big.bin; do
    port=$(http_rows ".rx == 0 and .line == \"GET /$f HTTP/1.1\" and .role == \"client\"" | jq -r .sport)
    assert_eq 1 "$(wc -l <<<"$port")" "request lines written for $f"
    assert_eq 1 "$(http_rows ".sport == $port and .rx == 1 and .line == \"HTTP/1.0 200 OK\" and .role == \"client\"" | wc -l)" "status line read on the same connection ($f)"
    assert_eq 1 "$(conn_events ".event == \"open\" and .sport == $port and .comm == \"curl\" and .dport == $PORT4" | wc -l)" "the connection is curl's"
    assert_eq 2 "$(http_rows ".sport == $port" | wc -l)" "HTTP lines on that connection ($f): none from the body"
  done
  assert_eq 4 "$(http_rows true | wc -l)" "HTTP lines in all"
}

@test "-i: the server side sees the request, also when it arrives in pieces; the exporter counts methods and codes" {
  start_http_server
  start_tool - $TOOL -i --netns "$SNS" -s $PORT4 -l $METRICS_PORT
  in_ns "$CNS" curl -sS -o /dev/null "http://10.241.0.2:$PORT4/small.txt"
  # "GE", a pause, then the rest: two segments and two reads on the server.
  in_ns "$CNS" python3 -c '
import socket, time
s = socket.create_connection(("10.241.0.2", '$PORT4'))
s.sendall(b"GE"); time.sleep(0.3)
s.sendall(b"T /small.txt HTTP/1.1\r\nHost: x\r\n\r\n")
while s.recv(65536): pass
'
  local body
  body=$(metrics)
  grep -q '^netwatch_http_requests_total{method="GET",role="server"} 2$' <<<"$body"
  grep -q '^netwatch_http_responses_total{code="200",role="server"} 2$' <<<"$body"
  stop_tool
  assert_eq 2 "$(tool_out | grep -cE '^0x[0-9a-f]+ +- +- +- +- +- +1 +GET /small.txt HTTP/1.1$')" "request rows read by the server"
  assert_eq 2 "$(tool_out | grep -cE '^0x[0-9a-f]+ +- +- +- +- +- +0 +HTTP/1.0 200 OK$')" "status rows written by the server"
}

# ---- -e: bad segments (shared detection with tcp_inerrs) ----

# inject ARGS...: tcp_inerrs_inject.py from the client namespace; retried when its sniffer
# missed its own first segment (it starts asynchronously; under load it can be late).
inject() {
  local i out
  for i in 1 2 3; do
    out=$(in_ns "$CNS" $PY "$HELPERS/tcp_inerrs_inject.py" nwc$$ 10.241.0.2 $PORT4 "$@" 2>"$BATS_TEST_TMPDIR/inject.err") &&
      { printf '%s\n' "$out"; return 0; }
    grep -q 'did not see our own segment' "$BATS_TEST_TMPDIR/inject.err" || break
  done
  cat "$BATS_TEST_TMPDIR/inject.err" >&2
  return 1
}

csum_errors() {
  in_ns "$SNS" nstat -asz TcpInCsumErrors | awk '$1 == "TcpInCsumErrors" { print $2 }'
}

# check_errors [OPTIONS]: 3 long and 2 short bad-checksum segments, 7 beyond the window
# and 3 before it, injected into a tracked connection: each reported once.
check_errors() {
  $PY -c 'import scapy' || skip "python3-scapy missing"
  start_bg _ in_ns "$SNS" python3 "$HELPERS/tcp_inerrs_server.py" 10.241.0.2 $PORT4 >"$BATS_TEST_TMPDIR/srv.out"
  wait_for_line "$BATS_TEST_TMPDIR/srv.out" ready
  local before after json lport
  before=$(csum_errors)
  start_tool - $TOOL --json -e -s $PORT4 -l $METRICS_PORT "$@"
  json=$(inject 3 2 7 3)
  lport=$(jq -r .lport <<<"$json")
  local body
  body=$(metrics)
  stop_tool
  after=$(csum_errors)
  assert_eq 5 "$((after - before))" "TcpInCsumErrors delta"
  local sock
  sock=$(conn_events ".event == \"open\" and .dport == $lport" | jq -r .sock)
  [ -n "$sock" ]
  assert_eq "$((after - before))" "$(tool_out | jq -s "[.[] | select(.type == \"error\" and .sock == \"$sock\" and .reason == \"bad_checksum\")] | length")" "checksum errors"
  assert_eq 10 "$(tool_out | jq -s "[.[] | select(.type == \"error\" and .sock == \"$sock\" and .reason == \"invalid_seq\")] | length")" "invalid SEQ (7 beyond the window, 3 before it)"
  assert_eq 15 "$(tool_out | jq -s "[.[] | select(.type == \"error\" and .sock == \"$sock\")] | length")" "errors on the connection"
  [ "$1" = --netns ] || return 0 # without it, other runs' namespaces count too
  assert_eq 15 "$(tool_out | jq -s '[.[] | select(.type == "error")] | length')" "errors in all"
  grep -q '^netwatch_packet_errors_total{reason="bad_checksum"} 5$' <<<"$body"
  grep -q '^netwatch_packet_errors_total{reason="invalid_seq"} 10$' <<<"$body"
}

# bats test_tags=kernel
@test "-e: crafted bad-checksum and out-of-window segments on a tracked connection, each reported once" {
  check_errors --netns "$SNS"
}

# bats test_tags=kernel
@test "-e --tcp-probe: the same without rx_sk and without --netns (the way of kernels before 6.8)" {
  check_errors --tcp-probe
}

@test "-e console: the original's error lines" {
  $PY -c 'import scapy' || skip "python3-scapy missing"
  start_bg _ in_ns "$SNS" python3 "$HELPERS/tcp_inerrs_server.py" 10.241.0.2 $PORT4 >"$BATS_TEST_TMPDIR/srv.out"
  wait_for_line "$BATS_TEST_TMPDIR/srv.out" ready
  local dir=$BATS_TEST_TMPDIR/data
  mkdir "$dir"
  start_tool - $TOOL -e --netns "$SNS" -s $PORT4 --data-dir "$dir"
  inject 1 0 2 0 >/dev/null
  stop_tool
  assert_eq 1 "$(tool_out | grep -c '^\[X\] invalid checksum: sock = 0x[0-9a-f]*$')" "checksum line"
  assert_eq 2 "$(tool_out | grep -c '^\[X\] invalid SEQ: sock = 0x[0-9a-f]*,seq= [0-9]*,ack = [0-9]*$')" "SEQ lines"
  assert_eq 1 "$(grep -c '^error{sock="0x[0-9a-f]*",seq="[0-9]*",ack="[0-9]*",reason="Invalid checksum"} 0$' "$dir/err.log")" "err.log checksum"
  assert_eq 2 "$(grep -c '^error{sock="0x[0-9a-f]*",seq="[0-9]*",ack="[0-9]*",reason="Invalid SEQ"} 0$' "$dir/err.log")" "err.log SEQ"
}

# ---- -r: retransmits, cross-checked with the kernel's counters ----

# nstat_val NS COUNTER: the namespace's absolute counter value.
nstat_val() { in_ns "$1" nstat -asz "$2" | awk -v c="$2" '$1 == c { print $2 }'; }

RETRANS_COUNTERS=(TcpRetransSegs TcpExtTCPSackRecovery TcpExtTCPRenoRecovery TcpExtTCPTimeouts)

# counters_snapshot VAR_PREFIX: the client namespace's retransmit counters into PREFIX_<name>.
counters_snapshot() {
  local c
  for c in "${RETRANS_COUNTERS[@]}"; do printf -v "$1_$c" '%s' "$(nstat_val "$CNS" "$c")"; done
}

# drop_rule NFT_MATCH: drops the client's segments to the server matching, in the server's input.
drop_rule() {
  in_ns "$SNS" nft add table inet nwloss
  in_ns "$SNS" nft add chain inet nwloss input '{ type filter hook input priority 0; }'
  in_ns "$SNS" nft add rule inet nwloss input "tcp dport $PORT4 $1 drop"
}

need_retrans_hooks() {
  command -v nft >/dev/null || skip "nftables (nft) missing"
  [ -e /sys/kernel/tracing/events/tcp/tcp_cong_state_set ] || skip "tracepoint tcp:tcp_cong_state_set missing (kernel older than 5.19)"
}

# bats test_tags=kernel
@test "-r: deterministic loss (nftables numgen) gives fast retransmits; counts equal nstat's" {
  need_retrans_hooks
  in_ns "$CNS" ethtool -K nwc$$ tso off gso off >/dev/null # one segment per skb, as nstat counts
  drop_rule 'meta length > 200 numgen inc mod 29 == 13'
  start_tool - $TOOL --json -r --netns "$CNS" -d $PORT4
  local b_TcpRetransSegs b_TcpExtTCPSackRecovery b_TcpExtTCPRenoRecovery b_TcpExtTCPTimeouts
  local a_TcpRetransSegs a_TcpExtTCPSackRecovery a_TcpExtTCPRenoRecovery a_TcpExtTCPTimeouts
  counters_snapshot b
  N=3000017 M=11 exchange 10.241.0.2 $PORT4
  counters_snapshot a
  stop_tool
  local close
  close=$(conn_events '.event == "close" and .role == "client"')
  assert_eq 1 "$(wc -l <<<"$close")" "the client's connection"
  local segs=$((a_TcpRetransSegs - b_TcpRetransSegs))
  local recov=$((a_TcpExtTCPSackRecovery - b_TcpExtTCPSackRecovery + a_TcpExtTCPRenoRecovery - b_TcpExtTCPRenoRecovery))
  [ "$recov" -ge 1 ]
  assert_eq "$recov" "$(jq .fast_retrans <<<"$close")" "fast retransmits (entered Recovery) vs TCPSackRecovery + TCPRenoRecovery"
  assert_eq "$segs" "$(jq .retrans_segs <<<"$close")" "retransmitted segments vs TcpRetransSegs"
  assert_eq "$segs" "$(jq .total_retrans <<<"$close")" "tcp_sock.total_retrans vs TcpRetransSegs"
  assert_eq "$((a_TcpExtTCPTimeouts - b_TcpExtTCPTimeouts))" "$(jq .timeout_retrans <<<"$close")" "timeouts"
}

# bats test_tags=kernel
@test "-r: a segment lost with nothing after it is recovered by a timeout; counts equal nstat's" {
  need_retrans_hooks
  in_ns "$CNS" sysctl -qw net.ipv4.tcp_early_retrans=0 # no tail loss probe: only the RTO is left
  drop_rule 'meta length > 200 numgen inc mod 100000 == 0' # the first data segment only
  local dir=$BATS_TEST_TMPDIR/data
  mkdir "$dir"
  start_tool - $TOOL --json -r --netns "$CNS" -d $PORT4 --data-dir "$dir"
  local b_TcpRetransSegs b_TcpExtTCPSackRecovery b_TcpExtTCPRenoRecovery b_TcpExtTCPTimeouts
  local a_TcpRetransSegs a_TcpExtTCPSackRecovery a_TcpExtTCPRenoRecovery a_TcpExtTCPTimeouts
  counters_snapshot b
  # The client holds the connection open 3 s after the exchange: connects.log shows it
  # while it is open (bounded wait; peers start slowly under emulation).
  exchange 10.241.0.2 $PORT4 1 3 &
  local bg=$! i
  for ((i = 0; i < 300; i++)); do
    grep -q 'timeout_retrans="1"' "$dir/connects.log" 2>/dev/null && break
    kill -0 "$bg" 2>/dev/null || break
    sleep 0.1
  done
  grep -q 'total_retrans="-",fast_retrans="0",timeout_retrans="1"} 0$' "$dir/connects.log" ||
    { echo "# connects.log: $(cat "$dir/connects.log")" >&3; return 1; }
  wait "$bg"
  counters_snapshot a
  stop_tool
  local close
  close=$(conn_events '.event == "close" and .role == "client"')
  assert_eq 1 "$((a_TcpExtTCPTimeouts - b_TcpExtTCPTimeouts))" "TcpExtTCPTimeouts delta"
  assert_eq 1 "$(jq .timeout_retrans <<<"$close")" "timeout retransmits"
  assert_eq 0 "$(jq .fast_retrans <<<"$close")" "fast retransmits"
  assert_eq "$((a_TcpRetransSegs - b_TcpRetransSegs))" "$(jq .retrans_segs <<<"$close")" "retransmitted segments vs TcpRetransSegs"
}

# ---- Prometheus ----


# doc_block NAME: the yaml block after "<!-- NAME -->" in docs/prometheus.md.
doc_block() {
  awk -v n="<!-- $1 -->" '$0 == n { on = 1; next } on && /^```yaml$/ { inside = 1; next }
    inside && /^```$/ { exit } inside { print }' "$BCCNET_ROOT/docs/prometheus.md"
}

@test "docs/prometheus.md: the fleet config and alert rules are valid and pass their promtool unit tests" {
  command -v promtool >/dev/null || skip "promtool (Debian package prometheus) missing"
  local d=$BATS_TEST_TMPDIR/prom f
  mkdir "$d"
  for f in prometheus.yml netwatch-rules.yml netwatch-rules.test.yml; do
    doc_block "$f" >"$d/$f"
    [ -s "$d/$f" ]
  done
  (cd "$d" && promtool check config prometheus.yml && promtool check rules netwatch-rules.yml &&
    promtool test rules netwatch-rules.test.yml)
}

# promql QUERY: the first result's value through the HTTP API, or nothing.
promql() {
  curl -sS --max-time 5 -G "http://127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode "query=$1" |
    jq -r '.data.result[0].value[1] // empty'
}

@test "a real Prometheus server scrapes the exporter; PromQL returns the exact byte counts" {
  command -v prometheus >/dev/null || skip "prometheus (Debian package) missing"
  local d=$BATS_TEST_TMPDIR/prom
  mkdir -p "$d/data"
  cat >"$d/prometheus.yml" <<YML
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: netwatch
    static_configs:
      - targets: ['127.0.0.1:$METRICS_PORT']
YML
  start_bg _ prometheus --config.file="$d/prometheus.yml" --storage.tsdb.path="$d/data" \
    --web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn 2>"$d/log"
  local i
  for ((i = 0; i < 300; i++)); do
    curl -sf --max-time 1 "http://127.0.0.1:$PROM_PORT/-/ready" >/dev/null && break
    sleep 0.2
  done
  curl -sf "http://127.0.0.1:$PROM_PORT/-/ready" >/dev/null
  start_tool - $TOOL -a --netns "$SNS" -s $PORT4 -l $METRICS_PORT
  exchange 10.241.0.2 $PORT4
  local got=
  for ((i = 0; i < 150; i++)); do
    got=$(promql "netwatch_connection_bytes_received_total{job=\"netwatch\",comm=\"nwsrv\",role=\"server\",pid=\"$SRV_PID\"}")
    [ "$got" = "$N" ] && break
    sleep 0.2
  done
  assert_eq "$N" "$got" "bytes received by the server, through PromQL"
  assert_eq "$M" "$(promql "netwatch_connection_bytes_acked_total{comm=\"nwsrv\"}")" "bytes acked, through PromQL"
  assert_eq 1 "$(promql 'up{job="netwatch"}')" "the target is up"
  assert_eq 1 "$(promql 'netwatch_build_info')" "build info"
  curl -sS "http://127.0.0.1:$METRICS_PORT/metrics" | promtool check metrics
  stop_tool
}

# ---- the exporter under hostile clients ----

@test "the exporter survives 1000 concurrent, malformed, oversized and never-finished requests while tracing loses nothing" {
  start_tool - $TOOL --json -a --netns "$SNS" -s $PORT4 -l $METRICS_PORT
  python3 - "$METRICS_PORT" >"$BATS_TEST_TMPDIR/hostile.out" 2>&1 <<'PY' &
import socket, sys, time
port = int(sys.argv[1])
held = []
for i in range(1000):  # connections that never finish a request
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")  # no blank line: never ends
    held.append(s)
print("held", len(held), flush=True)
for bad in (b"\x00\xff garbage\r\n\r\n", b"GET /" + b"a" * 100000 + b" HTTP/1.1\r\n\r\n",
            b"GET /metrics HTTP/1.1\r\nX: " + b"b" * 200000 + b"\r\n\r\n", b"BREW /metrics HTTP/1.1\r\n\r\n"):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        s.sendall(bad)
        print("reply", s.recv(64)[:12], flush=True)
    except OSError as e:
        print("closed", e.errno, flush=True)
    s.close()
time.sleep(15)
PY
  local hostile=$!
  BCCNET_PIDS+=("$hostile")
  wait_for_line "$BATS_TEST_TMPDIR/hostile.out" "held 1000"
  # Traffic while they hang on: every connection and byte still seen.
  exchange 10.241.0.2 $PORT4 7
  assert_eq 200 "$(curl -s -o /dev/null --max-time 10 -w '%{http_code}' "http://127.0.0.1:$METRICS_PORT/metrics")" "/metrics answers"
  assert_eq 7 "$(metrics | grep -c "netwatch_connection_bytes_received_total{.*comm=\"nwsrv\".*} $N\$")" "the 7 connections in /metrics"
  wait_for_line "$BATS_TEST_TMPDIR/hostile.out" "BREW\|reply b'HTTP/1.1 405\|closed"
  kill "$hostile"
  stop_tool
  assert_eq 0 "$TOOL_STATUS" "exit status"
  assert_eq 7 "$(conn_events ".event == \"close\" and .role == \"server\" and .rx_bytes == $N" | wc -l)" "closed connections with exact bytes"
  assert_eq 0 "$(tool_out | jq -s '.[] | select(.type == "summary") | .lost_events')" "lost events"
}

# ---- -t: layer times ----

# bats test_tags=kernel
@test "-t: every segment of a flow has a time for each layer its path has a hook for, '-' elsewhere, plausible values" {
  start_tool - $TOOL --json -t --netns "$CNS" -d $PORT4
  local t0 t1
  t0=$(date +%s%N)
  exchange 10.241.0.2 $PORT4
  t1=$(date +%s%N)
  stop_tool
  local dur_us=$(((t1 - t0) / 1000))
  local pk='select(.type == "packet")'
  local n
  n=$(tool_out | jq -s "[.[] | $pk] | length")
  [ "$n" -ge 6 ]
  assert_eq 0 "$(tool_out | jq -s "[.[] | $pk | select(.rx == 0) | select(.layers_us[\"net_dev_queue..net_dev_start_xmit\"] == null or .layers_us[\"net_dev_start_xmit..net_dev_xmit\"] == null)] | length")" "sent segments without both layers"
  assert_eq 0 "$(tool_out | jq -s "[.[] | $pk | select(.rx == 1 and .payload_bytes > 0) | select(.layers_us[\"netif_receive_skb..tcp_probe\"] == null or .layers_us[\"tcp_probe..skb_copy_datagram_iovec\"] == null)] | length")" "received data segments without both layers"
  assert_eq 0 "$(tool_out | jq -s "[.[] | $pk | .layers_us[] | select(. < 0 or . > $dur_us)] | length")" "values outside 0..the flow's duration"
  tool_out | jq -c "$pk | select(.rx == 1 and .payload_bytes > 0) | [.seq, .payload_bytes]" >"$BATS_TEST_TMPDIR/rxsegs"
  assert_eq "$M" "$(covered "$BATS_TEST_TMPDIR/rxsegs")" "received payload covered: no segment lost on the way"
}

@test "-t console: received segments fill IP_TIME and TCP_TIME, sent ones MAC_TIME; '-' where no hook" {
  start_tool - $TOOL -t --netns "$CNS" -d $PORT4
  exchange 10.241.0.2 $PORT4
  stop_tool
  local rows
  rows=$(tool_out | grep '^0x')
  [ "$(grep -cE '^0x[0-9a-f]+ +[0-9]+ +[0-9]+ +[0-9]+ +- +- +0 +-$' <<<"$rows")" -ge 3 ]
  [ "$(grep -cE '^0x[0-9a-f]+ +[0-9]+ +[0-9]+ +- +[0-9]+ +[0-9]+ +1 +-$' <<<"$rows")" -ge 1 ]
  assert_eq 0 "$(grep -cE '18446744073709|-[0-9]' <<<"$rows")" "wrapped or negative values"
}

@test "--max-conns: connections beyond it are counted as evicted and tracked once there is room" {
  start_tool - $TOOL --json --netns "$SNS" -s $PORT4 --max-conns 3 -l $METRICS_PORT
  # 7 connections held open at once, then closed: only 3 fit in the table.
  in_ns "$SNS" python3 - $PORT4 <<'PY'
import socket, sys, threading
port = int(sys.argv[1])
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("10.241.0.2", port)); ls.listen(16)
cs = [socket.create_connection(("10.241.0.2", port)) for _ in range(7)]
ss = [ls.accept()[0] for _ in range(7)]
for c in cs: c.sendall(b"x" * 1013)
for s in ss:
    got = 0
    while got < 1013: got += len(s.recv(65536))
print("held", flush=True)
import time; time.sleep(1)
for s in cs + ss: s.close()
PY
  local body
  body=$(metrics)
  grep -q '^netwatch_connections_evicted_total [0-9]*$' <<<"$body"
  stop_tool
  assert_eq 3 "$(conn_events '.event == "open" and .role == "server"' | wc -l)" "connections tracked when established"
  assert_eq 4 "$(grep '^netwatch_connections_evicted_total ' <<<"$body" | awk '{print $2}')" "evicted"
  # Once the first 3 closed, the other 4 are tracked from the next segment they send.
  assert_eq 4 "$(conn_events '.event == "open" and .role == "unknown"' | wc -l)" "tracked later"
  assert_eq 7 "$(conn_events ".event == \"close\" and .rx_bytes == $N" | wc -l)" "closed connections with exact bytes"
  assert_eq 4 "$(grep '^netwatch_closed_connections_dropped_total ' <<<"$body" | awk '{print $2}')" "closed connections beyond --max-conns before a scrape"
}
