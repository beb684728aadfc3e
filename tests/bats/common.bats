#!/usr/bin/env bats
# Behaviour every tool shares (common/): privileges, help, --print-bpf.

bats_require_minimum_version 1.5.0
load test_helper

TOOLS=(tun_ring_monitor nic_throughput tcp_connection tcp_bytes tcp_inerrs linux_net_kernel tcp-insight netwatch)

# Arguments each tool needs to get past option checks.
args_for() { [ "$1" = nic_throughput ] && echo "-n lo"; true; }


@test "an unprivileged user gets exit status 1 and the fix, with nothing loaded" {
  local t
  for t in "${TOOLS[@]}"; do
    run --separate-stderr timeout 30 setpriv --reuid=65534 --regid=65534 --clear-groups \
      "$BCCNET_BIN/$t" $(args_for "$t") --duration 0.2
    assert_eq 1 "$status" "status of $t"
    if [ "$t" = tun_ring_monitor ]; then
      assert_eq "$t: tun_net_xmit not in /proc/kallsyms: addresses hidden (load the tun driver: modprobe tun; run as root)" "$stderr"
    else
      assert_eq "$t: loading BPF programs needs root (or CAP_BPF and CAP_PERFMON): run with sudo" "$stderr"
    fi
    assert_eq "" "$output" "stdout of $t"
    assert_eq 0 "$(bpf_prog_loads setpriv --reuid=65534 --regid=65534 --clear-groups \
      "$BCCNET_BIN/$t" $(args_for "$t") --duration 0.2)" "programs $t loaded"
  done
}

@test "every tool prints its help with examples on stdout and exits 0" {
  local t
  for t in "${TOOLS[@]}"; do
    run --separate-stderr "$BCCNET_BIN/$t" --help
    assert_eq 0 "$status" "status of $t --help"
    [[ "$output" == "Usage: $t"* ]]
    [[ "$output" == *"EXAMPLES"* || "$output" == *"Examples"* ]]
    assert_eq "" "$stderr"
  done
}

@test "--print-bpf shows the program with its -D numbers and loads nothing, for every tool" {
  local t
  for t in "${TOOLS[@]}"; do
    run --separate-stderr timeout 30 "$BCCNET_BIN/$t" $(args_for "$t") --print-bpf
    assert_eq 0 "$status" "status of $t --print-bpf"
    [[ "${lines[0]}" == "// cflags: -D"* ]]
    [[ "$output" == *"bccnet_lost"* ]] # the shared lost-event counter is in every program
    assert_eq 0 "$(bpf_prog_loads "$BCCNET_BIN/$t" $(args_for "$t") --print-bpf)" "programs $t loaded"
  done
}

# Kernel headers make clang warn on some kernels (6.12: "'nocf_check'
# attribute ignored", ...): the user sees those only with --verbose.
# bats test_tags=kernel
@test "compiler diagnostics from the kernel headers reach stderr only with --verbose" {
  local diag='(warning|note|error): |generated\.$'
  BCCNET_NO_CACHE=1 run --separate-stderr timeout "$TOOL_WAIT_S" "$BCCNET_BIN/tcp_connection" --duration 0.1
  assert_eq 0 "$status" "status"
  assert_eq "" "$(grep -E "$diag" <<<"$stderr")" "compiler lines without --verbose"
  [[ "$stderr" == "Tracing "* ]]
  BCCNET_NO_CACHE=1 run --separate-stderr timeout "$TOOL_WAIT_S" "$BCCNET_BIN/tcp_connection" --duration 0.1 --verbose
  assert_eq 0 "$status" "status with --verbose"
  # Whatever clang said (nothing on kernels whose headers compile cleanly) is shown.
  local shown
  shown=$(grep -cE "$diag" <<<"$stderr" || true)
  echo "# $shown compiler lines with --verbose on $(uname -r)" >&3
}
