#!/usr/bin/env bats
# The compiled-program cache (common/progcache, common/bcc_compiler): a second
# run with the same options loads from the cache without LLVM; anything that
# changes the program is a miss; unsafe or corrupt entries are never used.
# Each test has its own cache directory (BCCNET_CACHE_DIR).

bats_require_minimum_version 1.5.0
load test_helper

TOOLS=(tun_ring_monitor nic_throughput tcp_connection tcp_bytes tcp_inerrs linux_net_kernel tcp-insight)
TC=tcp_connection
PORT=23311

args_for() { [ "$1" = nic_throughput ] && echo "-n lo"; true; }

setup() {
  unset BCCNET_NO_CACHE
  export BCCNET_CACHE_DIR="$BATS_TEST_TMPDIR/cache"
}

# once TOOL ARGS...: one short run with --verbose; stderr in $stderr, status checked.
once() {
  local t=$1; shift
  run --separate-stderr timeout "$TOOL_WAIT_S" "$BCCNET_BIN/$t" --verbose --duration 0.3 "$@"
  if [ "$status" != 0 ]; then
    echo "$t $*: status $status; stderr: $stderr" >&2
    return 1
  fi
}

# cache_lines: the --verbose cache lines of the last run, their paths dropped.
cache_lines() { grep -o 'program cache [a-z]*' <<<"$stderr" | tr '\n' ' '; }

entries() { find "$BCCNET_CACHE_DIR" -name '*.prog' | sort; }

# Compiles every tool on the running kernel: a tracepoint field one kernel lacks shows here.
# bats test_tags=kernel
@test "every tool loads from the cache on its second run and maps no LLVM" {
  local t
  for t in "${TOOLS[@]}"; do
    once "$t" $(args_for "$t")
    assert_eq "program cache miss program cache stored " "$(cache_lines)" "first run of $t"
    once "$t" $(args_for "$t")
    assert_eq "program cache hit " "$(cache_lines)" "second run of $t"
    start_tool - "$t" $(args_for "$t") --verbose
    grep -q 'program cache hit' "$BATS_TEST_TMPDIR/err"
    assert_eq 0 "$(grep -c -E 'libLLVM|libclang' "/proc/$TOOL_PID/maps")" "LLVM mappings of $t"
    stop_tool
    assert_eq 0 "$TOOL_STATUS" "status of $t"
  done
  assert_eq ${#TOOLS[@]} "$(entries | wc -l)" "entries"
}

# connect_n NS N: N connections to 127.0.0.1:$PORT inside NS (listener included).
connect_n() {
  in_ns "$1" python3 - "$2" "$PORT" <<'EOF'
import socket, sys
n, port = int(sys.argv[1]), int(sys.argv[2])
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); srv.bind(("127.0.0.1", port)); srv.listen(64)
for _ in range(n):
    c = socket.create_connection(("127.0.0.1", port)); a, _ = srv.accept(); a.close(); c.close()
EOF
}

# events: sorted "direction sport dport" of the last run's connection rows.
events() { jq -r 'select(.type == "connection") | "\(.direction) \(.sport) \(.dport)"' "$BATS_TEST_TMPDIR/out" | sort; }

@test "a run from the cache reports the same connections as a compiled run" {
  local ns first
  make_ns ns
  start_tool - $TC -P $PORT --json --verbose
  grep -q 'program cache miss' "$BATS_TEST_TMPDIR/err"
  connect_n "$ns" 7
  sleep 0.3
  stop_tool
  first=$(events)
  assert_eq 7 "$(grep -c '^accept' <<<"$first")" "accepts when compiled" # -P: local port
  start_tool - $TC -P $PORT --json --verbose
  grep -q 'program cache hit' "$BATS_TEST_TMPDIR/err"
  connect_n "$ns" 7
  sleep 0.3
  stop_tool
  assert_eq 7 "$(events | wc -l)" "rows from the cache"
  assert_eq "$(awk '{print $1}' <<<"$first" | sort | uniq -c)" "$(events | awk '{print $1}' | sort | uniq -c)"
}

@test "a different filter value or cflag is a miss" {
  once $TC -p 1
  once $TC -p 1
  assert_eq "program cache hit " "$(cache_lines)"
  once $TC -p 2
  assert_eq "program cache miss program cache stored " "$(cache_lines)" "-p 2"
  once $TC -p 2 -4
  assert_eq "program cache miss program cache stored " "$(cache_lines)" "-4"
  assert_eq 3 "$(entries | wc -l)" "entries"
}

@test "--no-cache neither reads nor writes the cache" {
  once $TC --no-cache
  assert_eq "" "$(cache_lines)"
  assert_eq "" "$(entries)"
  once $TC
  once $TC --no-cache
  assert_eq "" "$(cache_lines)"
}

# refused WHAT: the run worked (compiled) and said exactly one line naming WHAT.
refused() {
  grep -q '^Tracing' <<<"$stderr"
  assert_eq "$TC: warning: refusing the program cache: $1; fix it or use --no-cache" \
    "$(grep -v '^Tracing' <<<"$stderr")"
}

@test "a cache directory or entry that others can write or own is refused with one line" {
  local e
  mkdir -m 0777 "$BCCNET_CACHE_DIR"
  run --separate-stderr timeout "$TOOL_WAIT_S" "$BCCNET_BIN/$TC" --duration 0.3
  assert_eq 0 "$status"
  refused "$BCCNET_CACHE_DIR is writable by others than root"
  assert_eq "" "$(entries)"
  chmod 0700 "$BCCNET_CACHE_DIR"
  chown 65534 "$BCCNET_CACHE_DIR"
  run --separate-stderr timeout "$TOOL_WAIT_S" "$BCCNET_BIN/$TC" --duration 0.3
  refused "$BCCNET_CACHE_DIR is not owned by root"
  chown 0 "$BCCNET_CACHE_DIR"
  once $TC
  e=$(entries)
  chmod 0622 "$e"
  run --separate-stderr timeout "$TOOL_WAIT_S" "$BCCNET_BIN/$TC" --duration 0.3
  refused "$e is writable by others than root"
  chmod 0600 "$e"
  chown 65534 "$e"
  run --separate-stderr timeout "$TOOL_WAIT_S" "$BCCNET_BIN/$TC" --duration 0.3
  refused "$e is not owned by root"
}

# corrupt_then_recover HOW CMD...: CMD damages the entry; the next run says
# how, compiles and replaces it; the run after that is a hit.
corrupt_then_recover() {
  local how=$1 e; shift
  once $TC
  e=$(entries)
  "$@" "$e"
  once $TC
  [[ "$stderr" == *"program cache miss (corrupt entry $e: $how"* ]] || {
    echo "expected '$how' for $e in: $stderr" >&2; return 1; }
  assert_eq "program cache miss program cache stored " "$(cache_lines)" "after: $how"
  once $TC
  assert_eq "program cache hit " "$(cache_lines)" "after the replacement ($how)"
}

flip_byte() { printf '\x5a' | dd of="$1" bs=1 seek=$(($(stat -c %s "$1") / 2)) conv=notrunc status=none; }
halve() { truncate -s $(($(stat -c %s "$1") / 2)) "$1"; }
empty() { : >"$1"; }

@test "a flipped, truncated or empty entry is detected, recompiled and replaced" {
  corrupt_then_recover "digest mismatch" flip_byte
  corrupt_then_recover "length" halve
  corrupt_then_recover "0 bytes, shorter than the header" empty
}

# GPL-only helpers: an entry whose license is not GPL verifies but does not load.
unlicense() {
  python3 - "$1" <<'EOF'
import hashlib, sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
hdr = 8 + 4 + 4 + 8 + 32 + 32
assert b[hdr + 8:hdr + 11] == b"GPL"
b[hdr + 8:hdr + 11] = b"XYZ"
b[hdr - 32:hdr] = hashlib.sha256(b[hdr:]).digest()
open(p, "wb").write(b)
EOF
}

@test "an entry the kernel refuses to load falls back to one fresh compile" {
  local e
  once $TC
  e=$(entries)
  unlicense "$e"
  once $TC
  [[ "$stderr" == *"loading from the program cache failed (load "*"): compiling afresh"* ]]
  grep -q '^Tracing' <<<"$stderr"
  once $TC
  assert_eq "program cache hit " "$(cache_lines)"
}

@test "two tools started at once with the same options both work" {
  local a b
  "$BCCNET_BIN/$TC" --verbose --duration 1 >/dev/null 2>"$BATS_TEST_TMPDIR/a" &
  a=$!
  "$BCCNET_BIN/$TC" --verbose --duration 1 >/dev/null 2>"$BATS_TEST_TMPDIR/b" &
  b=$!
  BCCNET_PIDS+=("$a" "$b")
  wait "$a"
  wait "$b"
  grep -q '^Tracing' "$BATS_TEST_TMPDIR/a"
  grep -q '^Tracing' "$BATS_TEST_TMPDIR/b"
  assert_eq 1 "$(entries | wc -l)" "entries"
  assert_eq "" "$(find "$BCCNET_CACHE_DIR" -name '.tmp*')" "temporary files"
  once $TC
  assert_eq "program cache hit " "$(cache_lines)"
}

# mtime_of FILE: its modification time, seconds since the epoch.
mtime_of() { stat -c %Y "$1"; }

@test "the cache keeps its 256 most recently used entries: a store removes the least recently used, a hit counts as a use" {
  local mine i hex old=978307200 # 2001-01-01
  once $TC
  mine=$(entries)
  for ((i = 0; i < 256; i++)); do # older than any real use, the first the oldest
    printf -v hex '%064x' "$i"
    echo x >"$BCCNET_CACHE_DIR/$hex.prog"
    touch -d "@$((old + 60 * i))" "$BCCNET_CACHE_DIR/$hex.prog"
  done
  touch -d "@$old" "$BCCNET_CACHE_DIR/notes.txt"
  touch -d "@$((old - 86400))" "$mine" # the oldest of all, until it is used
  once $TC
  assert_eq "program cache hit " "$(cache_lines)" "second run"
  [ "$(mtime_of "$mine")" -gt $((old + 60 * 256)) ] || { echo "a hit left the entry's time at $(mtime_of "$mine")" >&2; return 1; }
  once $TC -P 23312 # a new entry: 258, two beyond the bound
  assert_eq "program cache miss program cache stored " "$(cache_lines)" "new filter value"
  grep -q 'least recently used entries removed (256 kept)' <<<"$stderr"
  assert_eq 256 "$(entries | wc -l)" "entries"
  assert_eq "" "$(ls "$BCCNET_CACHE_DIR" | grep -E '^0{63}[01]\.prog$')" "the two least recently used"
  [ -e "$BCCNET_CACHE_DIR/$(printf '%064x' 2).prog" ] && [ -e "$mine" ] && [ -e "$BCCNET_CACHE_DIR/notes.txt" ]
}

# The key holds the running kernel: Debian's 6.1 booted by scripts/vmtest.sh reads this
# machine's cache directory (read-only over 9p) and compiles its own program.
@test "another kernel sharing the cache directory misses and compiles its own program" {
  [ "$(hostname)" != vmtest ] || skip "inside a vmtest guest: no nested QEMU"
  local dir="/var/cache/bccnet-test-$$-$BATS_TEST_NUMBER" out
  mkdir -m 0700 "$dir"
  BCCNET_CACHE_DIR=$dir once "$TC"
  assert_eq "program cache miss program cache stored " "$(cache_lines)" "host run"
  out=$("$BCCNET_ROOT/scripts/vmtest.sh" --kernel 6.1 -- env BCCNET_CACHE_DIR="$dir" \
    "$BCCNET_BIN/$TC" --verbose --duration 0.3 2>&1) || { rm -rf "$dir"; echo "$out" >&2; return 1; }
  rm -rf "$dir"
  grep -q 'program cache miss' <<<"$out" || { echo "$out" >&2; return 1; }
  grep -q '^Tracing TCP connections' <<<"$out"
  assert_eq 0 "$(grep -c 'program cache hit' <<<"$out")" "hits on 6.1"
}
