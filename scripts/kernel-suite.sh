#!/usr/bin/env bash
# The bats suite as the kernel matrix and CI run it (on any kernel; through
# scripts/vmtest.sh on Debian's 6.1 and 6.12):
#   scripts/kernel-suite.sh             every test of every tests/bats/*.bats
#   scripts/kernel-suite.sh --selection only the tests tagged `kernel` (they touch a
#                                       kernel difference: kprobe paths, tracepoint
#                                       fields and their fallbacks) or `e2e` (one
#                                       end-to-end test per tool); a file with
#                                       neither tag runs whole, so no tool goes untested
#   --tap                               TAP output, each file after a "# file: F" line
#                                       (scripts/kernel-matrix.sh reads it)
#   FILE ...                            only these bats files (default: tests/bats/*.bats)
# Tag a test with a line `# bats test_tags=kernel` (or e2e) right above it.
set -uo pipefail
cd "$(dirname "$0")/.."

selection=0 tap=0 files=()
for a in "$@"; do
  case "$a" in
    --selection) selection=1 ;;
    --tap) tap=1 ;;
    tests/bats/*.bats) [ -f "$a" ] || { echo "kernel-suite.sh: no such file '$a'" >&2; exit 2; }; files+=("$a") ;;
    *) echo "kernel-suite.sh: unknown argument '$a' (--selection, --tap, tests/bats/FILE.bats)" >&2; exit 2 ;;
  esac
done
[ ${#files[@]} -gt 0 ] || files=(tests/bats/*.bats)

tagged() { grep -Eq '^# bats test_tags=.*\b(kernel|e2e)\b' "$1"; }

rc=0
echo "# kernel $(uname -r)"
for f in "${files[@]}"; do
  args=()
  if [ "$selection" = 1 ]; then
    if tagged "$f"; then
      args=(--filter-tags kernel --filter-tags e2e)
    else
      echo "# $f has no kernel or e2e tag: running all of it"
    fi
  fi
  if [ "$tap" = 1 ]; then
    echo "# file: $f"
    bats --tap "${args[@]}" "$f" || rc=1
  else
    bats --timing "${args[@]}" "$f" || rc=1
  fi
done
exit $rc
