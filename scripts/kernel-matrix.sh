#!/usr/bin/env bash
# docs/kernels.md from real runs: boots each kernel (scripts/vmtest.sh), runs
# the whole bats suite there with TAP output (scripts/kernel-suite.sh --tap)
# and the hook census (scripts/kernel-hooks.sh), and renders a tool x kernel
# table (pass / fail / skip with the reason), the hooks each tool attached on
# each kernel, and how long each part took.
# Usage: sudo scripts/kernel-matrix.sh [--kernels "host 6.1 6.12"] [--out docs/kernels.md]
# Raw output: $VMTEST_CACHE/matrix-<kernel>.tap (default /var/cache/bccnet-vmtest).
set -euo pipefail
cd "$(dirname "$0")/.."

kernels="host 6.1 6.12" out=docs/kernels.md
while [ $# -gt 0 ]; do
  case "$1" in
    --kernels) kernels=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "kernel-matrix.sh: unknown argument '$1' (--kernels LIST, --out FILE)" >&2; exit 2 ;;
  esac
done

cache=${VMTEST_CACHE:-/var/cache/bccnet-vmtest}
mkdir -p "$cache"
scripts/build.sh >/dev/null
files=()
for k in $kernels; do
  tap="$cache/matrix-$k.tap"
  s=$(date +%s)
  scripts/vmtest.sh --kernel "$k" -- true
  boot=$(( $(date +%s) - s ))
  s=$(date +%s)
  scripts/vmtest.sh --kernel "$k" -- sh -c 'scripts/kernel-hooks.sh; scripts/kernel-suite.sh --tap' >"$tap" || true
  printf '# timing: boot %s s, hooks + suite %s s\n' "$boot" "$(( $(date +%s) - s ))" >>"$tap"
  files+=("$k=$tap")
done
python3 scripts/kernel-matrix-render.py "${files[@]}" >"$out"
echo "kernel-matrix.sh: wrote $out" >&2
