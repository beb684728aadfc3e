#!/usr/bin/env bash
# bccnet benchmark: every built tool beside its Python/BCC peers (issue 3).
#
#   sudo scripts/bench/run.sh [--quick] [--build DIR] [--tools a,b] [--only PARTS]
#
# --build DIR   where the bccnet binaries are (default: $BCCNET_BIN or ./build)
# --quick       ~3 minutes instead of ~8: fewer runs, shorter workloads
# --tools LIST  only these tools (default: every tool built in DIR)
# --only PARTS  only some of startup,cost,overhead,loss
#
# Creates its own network namespace (lo, a tun device nobody reads, an idle
# veth pair), sends traffic only inside it, removes it on exit. Prints a
# markdown report on stdout; progress goes to stderr; raw results and strace
# logs stay in a temporary directory named on stderr.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${BCCNET_BIN:-$root/build}
args=()
while (($#)); do
  case $1 in
    --build) build=$2; shift 2 ;;
    --quick) args+=(--quick); shift ;;
    --tools|--only) args+=("$1" "$2"); shift 2 ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown option '$1'; try --help" >&2; exit 2 ;;
  esac
done

if ((EUID != 0)); then
  echo "run.sh: must run as root (BPF, namespaces)" >&2
  exit 1
fi
for cmd in bpftool iperf3 strace python3 ip; do
  command -v "$cmd" >/dev/null || { echo "run.sh: $cmd not found (scripts/install-deps.sh)" >&2; exit 1; }
done

ns=bccbench-$$
tmp=$(mktemp -d /tmp/bccbench.XXXXXX)
stats_before=$(sysctl -n kernel.bpf_stats_enabled)
cleanup() {
  ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  sysctl -q kernel.bpf_stats_enabled="$stats_before" || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "run.sh: results and logs in $tmp" >&2
python3 "$here/bench.py" --build "$build" --ns "$ns" --tmp "$tmp" "${args[@]}"
