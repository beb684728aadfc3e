#!/usr/bin/env bash
# Demo: build bccnet, then two scenes, each beside the kernel's own counters.
#  1. a TUN device in a namespace of its own that nobody reads gets 600 UDP
#     packets; tun_ring_monitor catches the ring filling up (vs TX dropped);
#  2. a client namespace fetches a file over HTTP from a server namespace
#     (veth pair, curl and python3's http.server): tcp_connection, tcp-insight,
#     linux_net_kernel and netwatch (with its Prometheus /metrics) watch it.
# All traffic stays inside the demo's namespaces. Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh

ns=bccnet-demo-$$
srv=bccnet-demo-srv-$$
cli=bccnet-demo-cli-$$
holder=""
pids=()
cleanup() {
  [ -n "$holder" ] && kill "$holder" 2>/dev/null || true
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for n in "$ns" "$srv" "$cli"; do ip netns del "$n" 2>/dev/null || true; done
  rm -rf "${work:-}"
}
trap cleanup EXIT INT TERM

ip netns add "$ns"
ip netns exec "$ns" python3 tests/bats/helpers/tun_hold.py tun0 tun 1 >/dev/null &
holder=$!
for _ in $(seq 50); do ip -n "$ns" link show tun0 >/dev/null 2>&1 && break; sleep 0.1; done
ip netns exec "$ns" sysctl -qw net.ipv6.conf.tun0.disable_ipv6=1
ip -n "$ns" addr add 10.99.0.1/24 dev tun0
ip -n "$ns" link set tun0 up
before=$(ip -n "$ns" -j -s link show tun0 | jq '.[0].stats64.tx.dropped')

out=$(mktemp)
ip netns exec "$ns" build/tun_ring_monitor --device tun0 --duration 4 >"$out" &
monitor=$!
sleep 2 # compile + attach; the tool prints "Tracing ..." on stderr when ready
echo "== sending 600 UDP packets to 10.99.0.2 through tun0 (ring size 500, nobody reads)"
ip netns exec "$ns" python3 tests/bats/helpers/pkt_send.py udp 10.99.0.1 5555 10.99.0.2 9000 600
wait "$monitor"
after=$(ip -n "$ns" -j -s link show tun0 | jq '.[0].stats64.tx.dropped')

echo "== tun_ring_monitor output (first ring-full block, then the summary)"
awk -v rule="$(printf '=%.0s' {1..80})" '$0 == rule && ++n == 3 { exit } { print }' "$out"
sed -n '/Monitoring stopped/,$p' "$out"
echo "== kernel: tun0 TX dropped went from $before to $after ($((after - before)) packets)"
echo "== tun_ring_monitor reported $(grep -c 'TUN RING FULL DETECTED' "$out") ring-full events"
rm -f "$out"

echo
echo "== scene 2: HTTP between two namespaces"
work=$(mktemp -d)
ip netns add "$srv"
ip netns add "$cli"
ip link add demo-srv netns "$srv" type veth peer name demo-cli netns "$cli"
ip -n "$srv" addr add 10.98.0.1/24 dev demo-srv
ip -n "$cli" addr add 10.98.0.2/24 dev demo-cli
for n in "$srv" "$cli"; do ip -n "$n" link set lo up; done
ip -n "$srv" link set demo-srv up
ip -n "$cli" link set demo-cli up
head -c 300000 /dev/urandom >"$work/file.bin"
(cd "$work" && exec ip netns exec "$srv" python3 -m http.server -b 10.98.0.1 8080) >/dev/null 2>&1 &
pids+=($!)

# start_tool NAME CMD...: runs a tool in the background, waits for its "Tracing" line.
start_tool() {
  local name=$1; shift
  "$@" >"$work/$name.out" 2>"$work/$name.err" &
  pids+=($!)
  for _ in $(seq 600); do
    grep -q '^Tracing' "$work/$name.err" && return 0
    kill -0 "${pids[-1]}" 2>/dev/null || { cat "$work/$name.err" >&2; return 1; }
    sleep 0.1
  done
  echo "demo: $name did not start" >&2; return 1
}
start_tool tcp_connection build/tcp_connection --netns "$cli" --duration 60
start_tool tcp-insight build/tcp-insight --netns "$srv" -e 0x63 --duration 60
start_tool linux_net_kernel build/linux_net_kernel --netns "$srv" -p 8080 -s --duration 60
start_tool netwatch build/netwatch --netns "$srv" -s 8080 -i -l 127.0.0.1:9435 --duration 60
for _ in $(seq 50); do ip netns exec "$srv" ss -ltn | grep -q ':8080 ' && break; sleep 0.1; done

rx_before=$(ip -n "$srv" -j -s link show demo-srv | jq '.[0].stats64.rx.packets')
echo "== curl fetches http://10.98.0.1:8080/file.bin (300000 bytes) three times from $cli"
for _ in 1 2 3; do
  ip netns exec "$cli" curl -s -o /dev/null -w '   HTTP %{http_code}, %{size_download} bytes\n' http://10.98.0.1:8080/file.bin
done
sleep 1
rx_after=$(ip -n "$srv" -j -s link show demo-srv | jq '.[0].stats64.rx.packets')
echo "== netwatch's /metrics (bytes the client acked per connection, HTTP responses)"
curl -s http://127.0.0.1:9435/metrics | grep -E '^netwatch_(connection_bytes_acked_total|http_responses_total)' || true
for p in "${pids[@]:1}"; do kill -INT "$p" 2>/dev/null || true; done
sleep 2
echo "== tcp_connection (client side: curl's three connect() calls)"
cat "$work/tcp_connection.out"
echo "== tcp-insight -e 0x63 (server side: ACCEPT, CLOSE, RESET)"
cat "$work/tcp-insight.out"
echo "== netwatch -i (HTTP lines on the server's connections)"
grep -E 'GET|HTTP/' "$work/netwatch.out" | head -6 || true
echo "== linux_net_kernel -s (server side, port 8080: packets and latency per stage)"
cat "$work/linux_net_kernel.out"
echo "== kernel: demo-srv received $((rx_after - rx_before)) packets (ip -s link)"
