#!/usr/bin/env bash
# Which kernel hooks each tool attaches on the running kernel, as the kernel
# itself reports them (bpftool perf list: the tool's attached tracepoints, raw
# tracepoints and kprobes), one line per tool and variant:
#   # hooks: TOOL<TAB>ARGS<TAB>hook hook ...
# Run as root (scripts/kernel-matrix.sh runs it on each kernel through vmtest.sh).
set -uo pipefail
cd "$(dirname "$0")/.."
bin=${BCCNET_BIN:-build}

# The variants worth showing: the tool's default, and the forced fallbacks.
variants() {
  case "$1" in
    nic_throughput) echo "-n lo" ;;
    tcp_bytes) echo ""; echo "--kprobes" ;;
    tcp_inerrs) echo ""; echo "--tcp-probe" ;;
    *) echo "" ;;
  esac
}

hooks_of() { # PID
  bpftool perf list -j | jq -r --argjson p "$1" '.[] | select(.pid == $p)
    | if .fd_type == "tracepoint" then "tp:" + .tracepoint
      elif .fd_type == "raw_tracepoint" then "raw_tp:" + .tracepoint
      elif .fd_type == "kprobe" or .fd_type == "kretprobe" then .fd_type + ":" + .func
      else .fd_type end' | sort -u | paste -sd' '
}

err=$(mktemp)
for src in tools/*.c; do
  tool=$(basename "$src" .c)
  [ -x "$bin/$tool" ] || continue
  while IFS= read -r args; do
    # shellcheck disable=SC2086
    "$bin/$tool" $args --duration 300 >/dev/null 2>"$err" &
    pid=$! hooks=""
    for ((i = 0; i < 1200; i++)); do
      grep -q '^Tracing' "$err" && { hooks=$(hooks_of "$pid"); break; }
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    [ -n "$hooks" ] || hooks="(did not start: $(grep -v '^Tracing' "$err" | tail -n1))"
    kill -INT "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    printf '# hooks: %s\t%s\t%s\n' "$tool" "$args" "$hooks"
  done < <(variants "$tool")
done
rm -f "$err"
